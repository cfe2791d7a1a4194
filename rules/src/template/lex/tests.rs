use super::*;

fn kinds(input: &str) -> Vec<(Kind, String)> {
    lex(input).into_iter().map(|t| (t.kind, t.val)).collect()
}

#[test]
fn splits_text_and_action_tokens() {
    assert_eq!(
        kinds("a{{ $x := .Labels.job | printf \"%s\" }}b"),
        vec![
            (Kind::Text, "a".to_owned()),
            (Kind::LeftDelim, "{{".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::Variable, "$x".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::Declare, ":=".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::Field, ".Labels".to_owned()),
            (Kind::Field, ".job".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::Pipe, "|".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::Identifier, "printf".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::String, "\"%s\"".to_owned()),
            (Kind::Space, " ".to_owned()),
            (Kind::RightDelim, "}}".to_owned()),
            (Kind::Text, "b".to_owned()),
            (Kind::Eof, String::new()),
        ]
    );
}

#[test]
fn trim_markers_remove_surrounding_whitespace_and_comments_vanish() {
    assert_eq!(
        kinds("a \n {{- 3 -}} \n b{{/* c */}}c {{- /* d */ -}} d"),
        vec![
            (Kind::Text, "a".to_owned()),
            (Kind::LeftDelim, "{{".to_owned()),
            (Kind::Number, "3".to_owned()),
            (Kind::RightDelim, "}}".to_owned()),
            (Kind::Text, "b".to_owned()),
            (Kind::Text, "c".to_owned()),
            (Kind::Text, "d".to_owned()),
            (Kind::Eof, String::new()),
        ]
    );
    // "{{-3}}" is the number -3, not a trim marker.
    assert_eq!(kinds("{{-3}}")[1], (Kind::Number, "-3".to_owned()));
}

#[test]
fn errors_end_the_token_stream() {
    let last = |s: &str| lex(s).pop().map(|t| (t.kind, t.val));
    assert_eq!(last("{{"), Some((Kind::Error, "unclosed action".to_owned())));
    assert_eq!(last("{{ \"abc }}"), Some((Kind::Error, "unterminated quoted string".to_owned())));
    assert_eq!(last("{{/* x }}"), Some((Kind::Error, "unclosed comment".to_owned())));
    assert_eq!(
        last("{{/* x */ }}"),
        Some((Kind::Error, "comment ends before closing delimiter".to_owned()))
    );
    assert_eq!(
        last("{{\u{a0}}}"),
        Some((Kind::Error, "unrecognized character in action: U+00A0".to_owned()))
    );
    assert_eq!(last("{{ $x=1 }}"), Some((Kind::Error, "bad character U+003D '='".to_owned())));
    assert_eq!(last("{{ 3x }}"), Some((Kind::Error, "bad number syntax: \"3x\"".to_owned())));
    assert_eq!(last("{{ (1 }}"), Some((Kind::Error, "unclosed left paren".to_owned())));
    assert_eq!(last("{{ 1) }}"), Some((Kind::Error, "unexpected right paren".to_owned())));
}

#[test]
fn tokens_carry_their_starting_line() {
    let tokens = lex("a\nb{{\n.x\n}}");
    let field = tokens.iter().find(|t| t.kind == Kind::Field).map(|t| (t.pos, t.line));
    assert_eq!(field, Some((6, 3)));
}

use super::*;

fn g(v: f64, prec: i32) -> String {
    format_float(v, b'g', prec)
}

#[test]
fn shortest_g_switches_to_exponent_at_21_digits_like_go_v() {
    assert_eq!(g(0.1, -1), "0.1");
    assert_eq!(g(100.0, -1), "100");
    assert_eq!(g(100000.0, -1), "100000");
    assert_eq!(g(1e6, -1), "1e+06");
    assert_eq!(g(1234567.0, -1), "1.234567e+06");
    assert_eq!(g(123456.7, -1), "123456.7");
    assert_eq!(g(0.0001, -1), "0.0001");
    assert_eq!(g(0.00001, -1), "1e-05");
    assert_eq!(g(1e21, -1), "1e+21");
    assert_eq!(g(-0.0, -1), "-0");
    assert_eq!(g(0.0, -1), "0");
    assert_eq!(g(9.223372036854776e18, -1), "9.223372036854776e+18");
    assert_eq!(g(1e100, -1), "1e+100");
}

#[test]
fn precision_g_rounds_to_significant_digits_without_trailing_zeros() {
    assert_eq!(g(1234567.0, 4), "1.235e+06");
    assert_eq!(g(1.2345, 4), "1.234");
    assert_eq!(g(12.345, 4), "12.35");
    assert_eq!(g(100.0, 4), "100");
    assert_eq!(g(1e5, 4), "1e+05");
    assert_eq!(g(1234.5, 4), "1234");
    assert_eq!(g(0.0001234, 4), "0.0001234");
    assert_eq!(g(0.00001234, 4), "1.234e-05");
    assert_eq!(g(1.5, 4), "1.5");
    assert_eq!(g(0.0, 4), "0");
    assert_eq!(g(2.5, 0), "2");
    assert_eq!(g(f64::INFINITY, 4), "+Inf");
    assert_eq!(g(f64::NAN, 4), "NaN");
}

#[test]
fn e_and_f_use_six_digits_by_default_and_two_digit_exponents() {
    assert_eq!(format_float(1234.5678, b'e', 6), "1.234568e+03");
    assert_eq!(format_float(0.0, b'e', 2), "0.00e+00");
    assert_eq!(format_float(1e-300, b'E', 1), "1.0E-300");
    assert_eq!(format_float(1.23456, b'f', 2), "1.23");
    assert_eq!(format_float(0.125, b'f', 2), "0.12");
    assert_eq!(format_float(-2.5, b'f', 0), "-2");
    assert_eq!(format_float(1e21, b'f', -1), "1000000000000000000000");
    assert_eq!(format_float(1234.5, b'e', -1), "1.2345e+03");
}

#[test]
fn precisions_past_the_exact_digits_of_a_float_are_zeros() {
    let f = format_float(0.5, b'f', 100_000);
    assert_eq!(f.len(), 100_002);
    assert!(f.starts_with("0.5000") && f.ends_with("0000"));
    let e = format_float(0.5, b'e', 100_000);
    assert_eq!(e.len(), 100_006);
    assert!(e.starts_with("5.000") && e.ends_with("0e-01"));
    // 2^-1074, the smallest float: its exact expansion ends at the 1074th digit after the point.
    let tiny = format_float(f64::from_bits(1), b'f', 2_000);
    assert!(tiny.starts_with("0.000"));
    assert_eq!(tiny.trim_end_matches('0').len(), 2 + 1074);
    assert!(tiny.trim_end_matches('0').ends_with("625"));
}

#[test]
fn parse_float_accepts_go_syntax_and_reports_go_errors() {
    assert_eq!(parse_float("1.5"), Ok(1.5));
    assert_eq!(parse_float(".12"), Ok(0.12));
    assert_eq!(parse_float("1e3"), Ok(1000.0));
    assert_eq!(parse_float("1_000.5"), Ok(1000.5));
    assert_eq!(parse_float("0x1p-2"), Ok(0.25));
    assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
    assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
    assert!(parse_float("NaN").is_ok_and(f64::is_nan));
    assert_eq!(parse_float("+NaN"), Err(NumError::Syntax));
    assert_eq!(parse_float("one"), Err(NumError::Syntax));
    assert_eq!(parse_float(""), Err(NumError::Syntax));
    assert_eq!(parse_float("1__0"), Err(NumError::Syntax));
    assert_eq!(parse_float("0x1"), Err(NumError::Syntax));
    assert_eq!(parse_float("1e400"), Err(NumError::Range));
    assert_eq!(
        NumError::Syntax.message("ParseFloat", "one"),
        r#"strconv.ParseFloat: parsing "one": invalid syntax"#
    );
}

#[test]
fn parse_int_literal_follows_go_base_prefixes() {
    assert_eq!(parse_int_literal("42", false), Ok(42));
    assert_eq!(parse_int_literal("-0x1F", false), Ok(-31));
    assert_eq!(parse_int_literal("017", false), Ok(15));
    assert_eq!(parse_int_literal("0b101", false), Ok(5));
    assert_eq!(parse_int_literal("1_000", false), Ok(1000));
    assert_eq!(parse_int_literal("-1", true), Err(NumError::Syntax));
    assert_eq!(parse_int_literal("089", false), Err(NumError::Syntax));
    assert_eq!(parse_int_literal("9223372036854775808", false), Err(NumError::Range));
    assert_eq!(parse_int_literal("9223372036854775808", true), Ok(9_223_372_036_854_775_808));
    assert_eq!(parse_int_literal("1.5", false), Err(NumError::Syntax));
}

#[test]
fn quote_and_unquote_round_trip_go_escapes() {
    assert_eq!(quote("a\"b\\c\n\u{1}é", false), r#""a\"b\\c\n\x01é""#);
    assert_eq!(quote("é", true), r#""\u00e9""#);
    assert_eq!(quote_rune('\'', false), r"'\''");
    assert_eq!(unquote(r#""a\tb\x41\u00e9\101\"""#), Ok("a\tbAéA\"".to_owned()));
    assert_eq!(unquote("`raw\\n\r`"), Ok("raw\\n".to_owned()));
    assert_eq!(unquote(r#""\'""#), Err(NumError::Syntax));
    assert_eq!(unquote(r#""\q""#), Err(NumError::Syntax));
    assert!(can_backquote("a\tb"));
    assert!(!can_backquote("a`b"));
}

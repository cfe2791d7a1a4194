use std::collections::BTreeMap;
use std::rc::Rc;

use super::*;

fn f(format: &str, args: &[Value]) -> String {
    sprintf(format, args)
}

#[test]
fn float_verbs_follow_go() {
    let v = Value::Float(1.23456);
    assert_eq!(f("%.2f", std::slice::from_ref(&v)), "1.23");
    assert_eq!(f("%f", std::slice::from_ref(&v)), "1.234560");
    assert_eq!(
        f("%8.3f|%-8.3f|%08.3f", &[v.clone(), v.clone(), v.clone()]),
        "   1.235|1.235   |0001.235"
    );
    assert_eq!(f("%+.1f % .1f", &[v.clone(), v.clone()]), "+1.2  1.2");
    assert_eq!(f("%e %E", &[v.clone(), v.clone()]), "1.234560e+00 1.234560E+00");
    assert_eq!(
        f("%g %.3g %G", &[Value::Float(1e21), v.clone(), Value::Float(1e-7)]),
        "1e+21 1.23 1E-07"
    );
    assert_eq!(f("%v", &[Value::Float(1e6)]), "1e+06");
    assert_eq!(f("%0.2f", &[Value::Float(3720.01)]), "3720.01");
    assert_eq!(f("%08.2f", &[Value::Float(-3.5)]), "-0003.50");
    assert_eq!(
        f("%5.1f|%05v", &[Value::Float(f64::INFINITY), Value::Float(f64::NAN)]),
        " +Inf|  NaN"
    );
    assert_eq!(
        f("%#g %#.3g %#.0f", &[Value::Float(1.0), Value::Float(2.0), Value::Float(3.0)]),
        "1.00000 2.00 3."
    );
}

#[test]
fn integer_and_string_verbs_follow_go() {
    let n = Value::Int(255);
    assert_eq!(
        f(
            "%d %5d %-5d| %05d %x %X %#x %o %#o %O %b",
            &[
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ]
        ),
        "255   255 255  | 00255 ff FF 0xff 377 0377 0o377 11111111"
    );
    assert_eq!(
        f("%c %q %U %#U", &[Value::Int(65), Value::Int(65), Value::Int(65), Value::Int(233)]),
        "A 'A' U+0041 U+00E9 'é'"
    );
    assert_eq!(f("%.3d %+d", &[Value::Int(7), Value::Int(7)]), "007 +7");
    assert_eq!(f("%.2U %.6U", &[Value::Int(65), Value::Int(65)]), "U+0041 U+000041");
    // Go allows precisions up to 1e6; Rust's formatter alone would panic past 65535.
    assert_eq!(f("%.70000U", &[Value::Int(65)]).len(), 70_002);
    assert_eq!(f("%.70000f", &[Value::Float(1.5)]).len(), 70_002);
    let s = Value::str("héllo");
    assert_eq!(
        f(
            "%s|%10s|%-10s|%.2s|%q|%x|% X",
            &[
                s.clone(),
                s.clone(),
                s.clone(),
                s.clone(),
                s.clone(),
                Value::str("hi"),
                Value::str("hi")
            ]
        ),
        "héllo|     héllo|héllo     |hé|\"héllo\"|6869|68 69"
    );
    assert_eq!(f("%t %v", &[Value::Bool(true), Value::Bool(false)]), "true false");
    assert_eq!(f("%5.1q", &[Value::str("abc")]), "  \"a\"");
}

#[test]
fn mismatches_and_missing_arguments_print_go_markers() {
    assert_eq!(f("%d", &[Value::Float(3.0)]), "%!d(float64=3)");
    assert_eq!(f("%s", &[Value::Float(1.5)]), "%!s(float64=1.5)");
    assert_eq!(f("%f", &[Value::Int(1)]), "%!f(int=1)");
    assert_eq!(f("%d", &[Value::Nil]), "%!d(<nil>)");
    assert_eq!(f("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
    assert_eq!(f("%d", &[Value::Int(1), Value::str("x")]), "1%!(EXTRA string=x)");
    assert_eq!(f("100%%", &[]), "100%");
    assert_eq!(f("%", &[]), "%!(NOVERB)");
    assert_eq!(f("%z", &[Value::Int(1)]), "%!z(int=1)");
    assert_eq!(f("%[2]d %[1]d", &[Value::Int(1), Value::Int(2)]), "2 1");
    assert_eq!(f("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
    assert_eq!(
        f("%*d|%.*f", &[Value::Int(4), Value::Int(7), Value::Int(1), Value::Float(2.25)]),
        "   7|2.2"
    );
    assert_eq!(
        f("%T %T %T", &[Value::Float(1.0), Value::str("a"), Value::Nil]),
        "float64 string <nil>"
    );
}

#[test]
fn maps_and_structs_print_like_go_print() {
    let labels: BTreeMap<String, String> = [("job", "node"), ("instance", "localhost")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let m = Value::StrMap(Rc::new(labels));
    assert_eq!(sprint(std::slice::from_ref(&m)), "map[instance:localhost job:node]");
    assert_eq!(sprint(&[Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)]), "1 2a3");
    assert_eq!(sprintln(&[Value::str("a"), Value::Int(1)]), "a 1\n");
    assert_eq!(print_template_value(&Value::Nil), "<no value>");
    assert_eq!(print_template_value(&Value::Float(0.1)), "0.1");
    assert_eq!(print_template_value(&Value::Float(100.0)), "100");
}

use super::*;

#[test]
fn humanize_uses_metric_prefixes() {
    assert_eq!(humanize(0.0), "0");
    assert_eq!(humanize(1.0), "1");
    assert_eq!(humanize(1234567.0), "1.235M");
    assert_eq!(humanize(0.12), "120m");
    assert_eq!(humanize(0.00123), "1.23m");
    assert_eq!(humanize(-1.0), "-1");
    assert_eq!(humanize(9.223_372_036_854_776e18), "9.223E");
    assert_eq!(humanize(1.8446744073709552e19), "18.45E");
    assert_eq!(humanize(1e30), "1e+06Y");
    assert_eq!(humanize(f64::NEG_INFINITY), "-Inf");
}

#[test]
fn humanize_1024_uses_binary_prefixes() {
    assert_eq!(humanize_1024(0.12), "0.12");
    assert_eq!(humanize_1024(2048.0), "2ki");
    assert_eq!(humanize_1024(1048576.0), "1Mi");
    assert_eq!(humanize_1024(1234567.0), "1.177Mi");
    assert_eq!(humanize_1024(9.223_372_036_854_776e18), "8Ei");
    assert_eq!(humanize_1024(1.8446744073709552e19), "16Ei");
}

#[test]
fn humanize_duration_matches_prometheus() {
    let cases = [
        (0.0, "0s"),
        (1.0, "1s"),
        (60.0, "1m 0s"),
        (3600.0, "1h 0m 0s"),
        (3661.0, "1h 1m 1s"),
        (86400.0, "1d 0h 0m 0s"),
        (-(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0), "-2d 3h 4m 5s"),
        (899.99, "14m 59s"),
        (0.1, "100ms"),
        (0.0001, "100us"),
        (0.12345, "123.5ms"),
        (60.1, "1m 0s"),
        (1.2345, "1.234s"),
        (12.345, "12.35s"),
        (1234567.0, "14d 6h 56m 7s"),
    ];
    for (input, want) in cases {
        assert_eq!(humanize_duration(input), want, "humanizeDuration {input}");
    }
}

#[test]
fn percentage_and_timestamps_match_prometheus() {
    assert_eq!(humanize_percentage(0.1234), "12.34%");
    assert_eq!(humanize_percentage(-0.22222), "-22.22%");
    assert_eq!(humanize_percentage(1234567.0), "1.235e+08%");
    assert_eq!(
        humanize_timestamp(1435065584.128),
        Ok("2015-06-23 13:19:44.128 +0000 UTC".to_owned())
    );
    assert_eq!(humanize_timestamp(-1.0), Ok("1969-12-31 23:59:59 +0000 UTC".to_owned()));
    assert_eq!(
        humanize_timestamp(-9.223_372_036_854_776e18),
        Err("-9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"
            .to_owned())
    );
    assert_eq!(
        float_to_time(1657155181.0).map(GoTime::to_go_string),
        Ok("2022-07-07 00:53:01 +0000 UTC".to_owned())
    );
}

#[test]
fn parse_duration_follows_prometheus_syntax() {
    assert_eq!(parse_duration("1h2m10ms"), Ok(3720.01));
    assert_eq!(parse_duration("-1m"), Err("not a valid duration string: \"-1m\"".to_owned()));
    assert_eq!(parse_duration("0"), Ok(0.0));
    assert_eq!(parse_duration("1w1d"), Ok(691200.0));
    assert_eq!(parse_duration("1m1h"), Err("not a valid duration string: \"1m1h\"".to_owned()));
    assert_eq!(parse_duration("1x"), Err("unknown unit \"x\" in duration \"1x\"".to_owned()));
    assert_eq!(parse_duration(""), Err("empty duration string".to_owned()));
}

#[test]
fn strings_and_urls() {
    assert_eq!(title("aa bb CC"), "Aa Bb CC");
    assert_eq!(title("foo-bar o'neil hello_world"), "Foo-Bar O'neil Hello_world");
    assert_eq!(map_chars("aA ß", true), "AA ß");
    assert_eq!(map_chars("AÉ", false), "aé");
    assert_eq!(url_path("http://testhost:9090/path/prefix"), "/path/prefix");
    assert_eq!(url_path("http://testhost:9090"), "");
    assert_eq!(url_path("https://h/a%20b?x=1"), "/a b");
}

use super::*;

#[test]
fn time_string_matches_go() {
    assert_eq!(
        GoTime::unix(1_435_065_584, 128_000_000).to_go_string(),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(GoTime::unix(-1, 0).to_go_string(), "1969-12-31 23:59:59 +0000 UTC");
    assert_eq!(GoTime::unix(0, -500_000_000).to_go_string(), "1969-12-31 23:59:59.5 +0000 UTC");
    assert_eq!(GoTime::unix(9_223_372_036, 0).to_go_string(), "2262-04-11 23:47:16 +0000 UTC");
    assert_eq!(GoTime::unix(951_782_400, 0).to_go_string(), "2000-02-29 00:00:00 +0000 UTC");
}

#[test]
fn format_follows_go_reference_layout() {
    let t = GoTime::unix(1_435_065_584, 128_000_000);
    assert_eq!(t.format("2006"), "2015");
    assert_eq!(t.format("Mon Jan _2 15:04:05 MST 2006"), "Tue Jun 23 13:19:44 UTC 2015");
    assert_eq!(t.format("2006-01-02T15:04:05.000Z07:00"), "2015-06-23T13:19:44.128Z");
    assert_eq!(
        t.format("Monday, January 2, 2006 3:04PM -0700"),
        "Tuesday, June 23, 2015 1:19PM +0000"
    );
    assert_eq!(t.format("06/1/2 03:4:5 pm .999999 002 __2"), "15/6/23 01:19:44 pm .128 174 174");
    assert_eq!(t.format("Janet"), "Janet");
}

#[test]
fn duration_string_matches_go() {
    assert_eq!(duration_string(0), "0s");
    assert_eq!(duration_string(1_500_000_000), "1.5s");
    assert_eq!(duration_string(3_723_000_000_000), "1h2m3s");
    assert_eq!(duration_string(60_000_000_000), "1m0s");
    assert_eq!(duration_string(1_500_000), "1.5ms");
    assert_eq!(duration_string(1_500), "1.5µs");
    assert_eq!(duration_string(7), "7ns");
    assert_eq!(duration_string(-90_000_000_000), "-1m30s");
}

#![allow(clippy::unwrap_used)]

use arrow_array::builder::{MapBuilder, StringBuilder};
use proptest::prelude::*;

use super::*;

/// Rows of (body, attributes as (key, value)).
type Rows = Vec<(Option<String>, Vec<(String, Option<String>)>)>;

fn arrays(rows: &Rows) -> (StringArray, MapArray) {
    let bodies: StringArray = rows.iter().map(|(body, _)| body.as_deref()).collect();
    let mut maps = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for (_, attributes) in rows {
        for (key, value) in attributes {
            maps.keys().append_value(key);
            maps.values().append_option(value.as_deref());
        }
        maps.append(true).unwrap();
    }
    (bodies, maps.finish())
}

fn access_log() -> Rows {
    let attribute = |key: &str, value: &str| (key.to_owned(), Some(value.to_owned()));
    vec![(
        Some(r#"10.0.3.7 - - [27/Nov/2026:10:00:01 +0000] "GET /api/v1/cart/42 HTTP/1.1" 200 1143 "-" "okhttp/4.12.0" 0.012"#.to_owned()),
        vec![
            attribute("http.request.method", "GET"),
            attribute("url.path", "/api/v1/cart/42"),
            attribute("http.response.status_code", "200"),
            attribute("client.address", "10.0.3.7"),
            attribute("log.file.name", "access.log"),
        ],
    )]
}

#[test]
fn attribute_values_in_the_body_become_references_and_come_back() {
    let rows = access_log();
    let (bodies, attributes) = arrays(&rows);
    let referenced = reference_bodies(&bodies, &attributes).unwrap();
    assert_eq!(
        referenced.value(0),
        "\u{1a}3 - - [27/Nov/2026:10:00:01 +0000] \"\u{1a}0 \u{1a}1 HTTP/1.1\" \u{1a}2 1143 \"-\" \"okhttp/4.12.0\" 0.012"
    );
    assert_eq!(expand(&referenced, &attributes).unwrap(), bodies);
}

#[test]
fn a_mark_in_the_body_is_doubled_and_short_values_stay() {
    let rows: Rows = vec![(
        Some("a\u{1a}0 ok GET".to_owned()),
        vec![("m".into(), Some("ok".into())), ("n".into(), Some("GET".into()))],
    )];
    let (bodies, attributes) = arrays(&rows);
    let referenced = reference_bodies(&bodies, &attributes).unwrap();
    assert_eq!(referenced.value(0), "a\u{1a}\u{1a}0 ok \u{1a}1");
    assert_eq!(expand(&referenced, &attributes).unwrap(), bodies);
}

#[test]
fn a_reference_to_no_attribute_is_damage() {
    let (_, attributes) = arrays(&access_log());
    for stored in ["x \u{1a}5", "x \u{1a}", "\u{1a}é"] {
        let error = expand(&StringArray::from(vec![stored]), &attributes).unwrap_err();
        assert!(error.to_string().contains("row 0 holds a reference to no attribute"), "{error}");
    }
}

#[test]
fn a_batch_of_logs_round_trips_with_its_other_columns_untouched() {
    let batch = crate::test_rows::access_logs(&["frontend", "cart"], 1_000);
    let referenced = referenced(&batch).unwrap();
    assert_eq!(referenced.schema(), batch.schema());
    assert_eq!(expanded(&referenced).unwrap(), batch);
}

/// Text drawn from a few characters, so that values often occur in bodies, marks included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'b', ' ', '\u{1a}', '0', 'é', '😀']),
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn rows() -> impl Strategy<Value = Rows> {
    let attribute = (text(), prop::option::weighted(0.9, text()));
    let row = (prop::option::weighted(0.95, text()), prop::collection::vec(attribute, 0..70));
    prop::collection::vec(row, 0..20).prop_map(|rows| {
        // A body made of its own attribute values, often: the case the references are for.
        rows.into_iter()
            .map(|(body, attributes)| {
                let body = body.map(|body| {
                    let values = attributes.iter().filter_map(|(_, v)| v.as_deref());
                    values.take(3).fold(body, |body, value| format!("{value}{body}{value}"))
                });
                (body, attributes)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_body_comes_back_as_sent(rows in rows()) {
        let (bodies, attributes) = arrays(&rows);
        let referenced = reference_bodies(&bodies, &attributes).unwrap();
        prop_assert_eq!(expand(&referenced, &attributes).unwrap(), bodies);
    }
}

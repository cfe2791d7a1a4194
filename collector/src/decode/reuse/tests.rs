use std::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::*;
use crate::otlp::arbitrary::{
    log_record, logs_request, metric, metrics_request, span, traces_request,
};
use crate::otlp::common::v1::any_value::Value;

/// Decodes `body` into `previous` and checks the outcome against prost's decoding of the same bytes: the same
/// request (compared as printed, where a changed byte's NaN equals itself), or an error from both.
fn check<R: Reuse + Debug>(previous: R, body: &[u8]) -> Result<(), TestCaseError> {
    let mut reused = previous;
    match (R::decode(body), decode_into(&mut reused, body)) {
        (Ok(expected), Ok(_)) => prop_assert_eq!(format!("{reused:?}"), format!("{expected:?}")),
        (Err(_), Err(_)) => {}
        (expected, decoded) => {
            prop_assert!(false, "prost: {expected:?}, decoded into an earlier request: {decoded:?}")
        }
    }
    Ok(())
}

/// A length-delimited field: `tag` and `body`.
fn field(tag: u32, body: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::new();
    encode_key(tag, WireType::LengthDelimited, &mut encoded);
    encode_varint(body.len() as u64, &mut encoded);
    encoded.extend_from_slice(body);
    encoded
}

/// One message encoded twice in a row: protobuf merges the second into the first (singular fields merge or
/// are replaced, repeated ones add up), which is what a reused message must do too.
fn twice(first: &impl Message, second: &impl Message) -> Vec<u8> {
    let mut encoded = first.encode_to_vec();
    second.encode_raw(&mut encoded);
    encoded
}

/// A request with one resource and one scope around `items`, encoded records, spans or metrics.
fn request_around(items: &[Vec<u8>]) -> Vec<u8> {
    let scope: Vec<u8> = items.iter().flat_map(|item| field(2, item)).collect();
    field(1, &field(2, &scope))
}

fn encoded<M: Message>(items: &[M]) -> Vec<Vec<u8>> {
    items.iter().map(Message::encode_to_vec).collect()
}

/// Into `previous`: `next`; `next` and `other` concatenated (protobuf merges them: the repeated fields add
/// up); a request around one record, span or metric encoded twice in a row (singular fields merge, oneofs
/// replace or merge).
fn check_merges<R: Reuse + Clone + Debug>(
    previous: R,
    next: &R,
    other: &R,
    item: (&impl Message, &impl Message),
) -> Result<(), TestCaseError> {
    check(previous.clone(), &next.encode_to_vec())?;
    check(previous.clone(), &twice(next, other))?;
    check(previous, &request_around(&[twice(item.0, item.1)]))
}

/// A request around `next` into one around `previous`, records, spans or metrics.
fn check_items<R: Reuse + Debug>(
    previous: &[impl Message],
    next: &[impl Message],
) -> Result<(), TestCaseError> {
    let previous = R::decode(&request_around(&encoded(previous))[..]).expect("valid");
    check(previous, &request_around(&encoded(next)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn logs_decode_into_an_earlier_request_as_prost_decodes_them(
        previous in logs_request(),
        next in logs_request(),
        other in logs_request(),
        records in (log_record(), log_record()),
    ) {
        check_merges(previous, &next, &other, (&records.0, &records.1))?;
    }

    #[test]
    fn traces_decode_into_an_earlier_request_as_prost_decodes_them(
        previous in traces_request(),
        next in traces_request(),
        other in traces_request(),
        spans in (span(), span()),
    ) {
        check_merges(previous, &next, &other, (&spans.0, &spans.1))?;
    }

    #[test]
    fn metrics_decode_into_an_earlier_request_as_prost_decodes_them(
        previous in metrics_request(),
        next in metrics_request(),
        other in metrics_request(),
        metrics in (metric(), metric()),
    ) {
        check_merges(previous, &next, &other, (&metrics.0, &metrics.1))?;
    }

    /// Many records, spans and metrics in one scope, so that most have one at the same place before: every
    /// field of each is decoded into the previous one's.
    #[test]
    fn records_spans_and_metrics_decode_into_the_previous_ones_as_prost_decodes_them(
        records in (vec(log_record(), 1..8), vec(log_record(), 1..8)),
        spans in (vec(span(), 1..8), vec(span(), 1..8)),
        metrics in (vec(metric(), 1..8), vec(metric(), 1..8)),
    ) {
        check_items::<ExportLogsServiceRequest>(&records.0, &records.1)?;
        check_items::<ExportTraceServiceRequest>(&spans.0, &spans.1)?;
        check_items::<ExportMetricsServiceRequest>(&metrics.0, &metrics.1)?;
    }

    /// Damaged bodies: bytes changed anywhere, or a body cut short, fail exactly where prost fails.
    #[test]
    fn damaged_bodies_fail_as_prost_fails(
        previous in logs_request(),
        next in logs_request(),
        changes in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let body = next.encode_to_vec();
        prop_assume!(!body.is_empty());
        let mut changed = body.clone();
        for (at, byte) in changes {
            changed[at.index(body.len())] = byte;
        }
        check(previous.clone(), &changed)?;
        check(previous, &body[..cut.index(body.len())])?;
    }
}

#[test]
fn values_nest_as_deep_as_prost_allows_and_no_deeper() {
    let mut previous = ExportLogsServiceRequest::default();
    for depth in [1, 50, 97, 98, 99, 100, 101, 150] {
        let mut value = AnyValue { value: Some(Value::StringValue("deepest".into())) };
        for _ in 0..depth {
            value = AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![value] })) };
        }
        let record = LogRecord { body: Some(value), ..LogRecord::default() };
        let body = request_around(&[record.encode_to_vec()]);
        let expected = ExportLogsServiceRequest::decode(&body[..]);
        let decoded = decode_into(&mut previous, &body);
        assert_eq!(decoded.is_ok(), expected.is_ok(), "{depth} levels: {decoded:?} {expected:?}");
        if let Ok(expected) = expected {
            assert_eq!(previous, expected);
        } else {
            previous = ExportLogsServiceRequest::default();
        }
    }
}

#[test]
fn a_reused_request_keeps_its_strings_and_counts_what_it_holds() {
    let record = |body: &str| LogRecord {
        body: Some(AnyValue { value: Some(Value::StringValue(body.into())) }),
        ..LogRecord::default()
    };
    let request = |bodies: &[&str]| ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: bodies.iter().map(|body| record(body)).collect(),
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let body_of = |request: &ExportLogsServiceRequest| match &request.resource_logs[0].scope_logs[0]
        .log_records[0]
        .body
    {
        Some(AnyValue { value: Some(Value::StringValue(text)) }) => text.as_ptr(),
        other => panic!("a string body, not {other:?}"),
    };
    let mut reused = ExportLogsServiceRequest::default();
    let first = decode_into(&mut reused, &request(&["a first body", "a second"]).encode_to_vec())
        .expect("decodes");
    let kept = body_of(&reused);
    let second =
        decode_into(&mut reused, &request(&["a later one"]).encode_to_vec()).expect("decodes");
    assert_eq!(reused, request(&["a later one"]));
    assert_eq!(body_of(&reused), kept, "the first record's body is decoded into its old string");
    assert!(first > 2 * size_of::<LogRecord>(), "{first} bytes held for two records");
    assert!(second < first, "one record holds less than two: {second} against {first}");
}

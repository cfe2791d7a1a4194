//! Arbitrary bytes into the decoding of the three OTLP request types as the gRPC and OTLP/HTTP-protobuf
//! receivers do it: into the request kept from the previous input (`decode::reuse`), checked against prost's
//! decoding of the same bytes. The same request, or an error from both, is expected; a panic, a difference, a
//! stack overflow or a runaway allocation is a bug.
#![no_main]

use std::cell::RefCell;
use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use sightline_collector::decode::reuse::{Reuse, decode_into};
use sightline_collector::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

thread_local! {
    static KEPT: RefCell<(ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest)> =
        RefCell::default();
}

fn check<R: Reuse + Debug>(kept: &mut R, body: &[u8]) {
    let expected = R::decode(body);
    let decoded = decode_into(kept, body);
    match (&expected, &decoded) {
        (Ok(expected), Ok(_)) => assert_eq!(format!("{kept:?}"), format!("{expected:?}")),
        (Err(_), Err(_)) => *kept = R::default(),
        // Past a message that prost merges itself (a singular field given twice), its nesting limit counts
        // afresh: nesting prost refuses may decode (bounded at twice its limit; see `decode::reuse`).
        (Err(error), Ok(_)) if error.to_string().contains("recursion limit") => {}
        _ => panic!("prost: {expected:?}, decoded into a kept request: {decoded:?}"),
    }
}

fuzz_target!(|body: &[u8]| {
    KEPT.with_borrow_mut(|(logs, metrics, traces)| {
        check(logs, body);
        check(metrics, body);
        check(traces, body);
    });
});

//! Arbitrary bytes into prost's decoding of the three OTLP request types, as the gRPC and
//! OTLP/HTTP-protobuf receivers do: errors are expected, panics and runaway allocations are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use sightline_collector::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

fuzz_target!(|body: &[u8]| {
    let _ = ExportLogsServiceRequest::decode(body);
    let _ = ExportMetricsServiceRequest::decode(body);
    let _ = ExportTraceServiceRequest::decode(body);
});

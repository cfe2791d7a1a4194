//! Arbitrary bytes into the three OTLP/JSON decoders: errors are expected, panics, stack overflows,
//! hangs and runaway allocations are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_collector::decode::json::{logs_from_json, metrics_from_json, traces_from_json};

fuzz_target!(|body: &[u8]| {
    let _ = logs_from_json(body);
    let _ = metrics_from_json(body);
    let _ = traces_from_json(body);
});

//! A criterion measurement of the benchmark thread's CPU time instead of wall time. The benchmark machine
//! is shared (other builds run beside it), and wall time then measures the scheduler as much as the code;
//! CPU time of the one thread doing the work is the per-core cost the ingest targets are stated in.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosecondFormatter
    }
}

/// Formats nanoseconds of CPU time, and elements per CPU-second.
struct NanosecondFormatter;

impl ValueFormatter for NanosecondFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1e3 {
            (1.0, "ns")
        } else if typical_ns < 1e6 {
            (1e-3, "µs")
        } else if typical_ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|value| *value *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Elements(count) | Throughput::ElementsAndBytes { elements: count, .. } => {
                count
            }
            Throughput::Bytes(count) | Throughput::BytesDecimal(count) => count,
            Throughput::Bits(count) => count,
        } as f64;
        let per_second = per_iteration * 1e9 / typical_ns;
        let (factor, unit) = if per_second < 1e3 {
            (1.0, "elem/s")
        } else if per_second < 1e6 {
            (1e-3, "Kelem/s")
        } else {
            (1e-6, "Melem/s")
        };
        values.iter_mut().for_each(|ns| *ns = per_iteration * 1e9 / *ns * factor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

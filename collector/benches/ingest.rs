//! Ingest throughput: OTLP protobuf decoding (prost) plus conversion to Arrow, per core, with the
//! system allocator, in CPU time of the benchmark thread.
//! Targets: ≥ 1,000,000 log records/s and ≥ 500,000 spans/s. Results: BENCHMARKS.md.
//!
//! `cargo bench -p sightline-collector --bench ingest`

mod common;

criterion::criterion_group! {
    name = benches;
    config = criterion::Criterion::default().with_measurement(common::thread_cpu_time::ThreadCpuTime);
    targets = common::logs, common::spans
}
criterion::criterion_main!(benches);

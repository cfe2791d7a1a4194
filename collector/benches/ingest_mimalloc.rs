//! The ingest benchmark with mimalloc as the global allocator: decoding allocates a `String` or `Vec` per
//! OTLP string, id and attribute, so the allocator weighs on ingest throughput (see BENCHMARKS.md).
//!
//! `cargo bench -p sightline-collector --bench ingest_mimalloc`

mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion::criterion_group! {
    name = benches;
    config = criterion::Criterion::default().with_measurement(common::thread_cpu_time::ThreadCpuTime);
    targets = common::logs, common::spans
}
criterion::criterion_main!(benches);

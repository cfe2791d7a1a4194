//! The `sightline` daemon: command line, configuration, and the wiring of collector, storage, rules and UI.
fn main() {}

//! End-to-end tests: one test binary that runs the real `sightline` executable.

mod config_check;

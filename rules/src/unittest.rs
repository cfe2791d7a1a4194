//! Rule unit tests in promtool's format (`promtool test rules`).

pub mod series;

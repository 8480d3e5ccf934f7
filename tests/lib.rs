//! End-to-end tests live in tests/*.rs; this library holds what they and `fuzz/` share.

pub mod fuzz_targets;

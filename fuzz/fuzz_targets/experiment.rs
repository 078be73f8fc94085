//! Fuzz target `experiment`: see `checks::experiment` (`fuzz/checks.rs`) for what it feeds and what must
//! hold.

#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::experiment(input));

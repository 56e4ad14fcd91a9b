#![no_main]
//! The pickle interpreter on arbitrary bytes, with small limits so that budgets are exercised too.
use bestiary_weights::pickle::{parse, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, &Limits::default());
    let small = Limits { max_nesting: 16, max_elements: 256, max_memo_entries: 64, max_stack_depth: 64, ..Limits::default() };
    let _ = parse(data, &small);
});

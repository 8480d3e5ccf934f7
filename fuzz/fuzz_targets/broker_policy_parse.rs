#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okms_e2e_tests::fuzz_targets::broker_policy_parse(data));

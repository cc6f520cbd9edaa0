#![no_main]
//! Fuzz target `timestamp_infer`: the body lives in `twsla::fuzzing` so that `cargo test` replays the corpus.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    twsla::fuzzing::timestamp_infer(data);
});

#![no_main]
//! Fuzz target `segment_open`: the body lives in `twsla::fuzzing` so that `cargo test` replays the corpus.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    twsla::fuzzing::segment_open(data);
});

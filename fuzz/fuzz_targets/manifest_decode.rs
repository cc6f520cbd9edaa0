#![no_main]
//! Fuzz target `manifest_decode`: the body lives in `twsla::fuzzing` so that `cargo test` replays the corpus.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    twsla::fuzzing::manifest_decode(data);
});

#![no_main]
//! Fuzz target `archive_read`: the body lives in `twsla::fuzzing` so that `cargo test` replays the corpus.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    twsla::fuzzing::archive_read(data);
});

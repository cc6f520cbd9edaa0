//! The `twsla` binary: parse arguments, run, map the outcome to an exit code.
//! Everything else lives in the library (`twsla::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    twsla::cli::main()
}

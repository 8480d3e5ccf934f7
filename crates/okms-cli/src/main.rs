//! The `okms-cli` binary: everything lives in the library half of the crate.

fn main() -> std::process::ExitCode {
    okms_cli::run()
}

//! `okms-broker`: see the crate's README.

fn main() -> std::process::ExitCode {
    eprintln!("okms-broker: the server is not wired yet (issue 22 in progress)");
    std::process::ExitCode::from(2)
}

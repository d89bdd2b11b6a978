//! `gatehouse`: run Gatehouse locally and administer clients and signing keys.

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}

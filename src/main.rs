//! The `flotilla` binary: parse, run, map errors to an exit code.

fn main() -> std::process::ExitCode {
    flotilla::cli::main()
}

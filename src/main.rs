//! The `pawmock` binary.

fn main() -> std::process::ExitCode {
    pawmock::main()
}

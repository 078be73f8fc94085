//! The `flowlab` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    flowlab::cli::main_with(flowlab::cli::Cli::parse())
}

//! The `flowlab` binary: parses the command line and hands over to the library: without a
//! subcommand to the workbench (`gui`), otherwise to the command line (`cli`).

use std::process::ExitCode;

use clap::Parser;
use flowlab::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg(feature = "gui")]
    if cli.command.is_none() {
        let screenshot = cli.screenshot.map(|path| flowlab::gui::ScreenshotRequest {
            path,
            after_iterations: cli.after_iterations,
            window_size: cli.window_size,
        });
        let opened = flowlab::gui::run(cli.file, cli.study, screenshot).map(|()| ExitCode::SUCCESS);
        return cli::exit_code(opened);
    }
    cli::main_with(cli)
}

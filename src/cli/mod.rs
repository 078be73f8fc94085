//! The command line (DESIGN §6): a thin parser and dispatcher for `run`, `check`, `gradcheck`,
//! `diagnose` and `export` (in [`commands`]); without a subcommand the workbench opens.
//!
//! Exit codes: 0 success, 1 a run that failed (e.g. diverged), 2 bad input.

mod commands;
mod study;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::experiment::Limits;

/// flowlab: a workbench for structure-preserving deep learning.
#[derive(Debug, Parser)]
#[command(name = "flowlab", version, about, long_about = None)]
pub struct Cli {
    /// An experiment file to open (without a subcommand).
    pub file: Option<PathBuf>,
    /// A study folder to open in the workbench (made by `flowlab study run` or `study slurm`).
    #[cfg(feature = "gui")]
    #[arg(long, value_name = "DIR")]
    pub study: Option<PathBuf>,
    /// Open the workbench, save a PNG of its window to PATH and exit (for README images and
    /// tests).
    #[cfg(feature = "gui")]
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: train this many iterations first, with the plots live.
    #[cfg(feature = "gui")]
    #[arg(long, value_name = "N", requires = "screenshot", default_value_t = 0)]
    pub after_iterations: usize,
    /// With --screenshot: the window's inner size in points, e.g. 1280x800.
    #[cfg(feature = "gui")]
    #[arg(long, value_name = "WxH", requires = "screenshot", value_parser = parse_window_size)]
    pub window_size: Option<[f32; 2]>,
    /// The memory budget: an experiment whose estimated memory exceeds it is refused (exit 2)
    /// before anything is allocated. A size such as 4G, 512MiB, 2GB or a number of bytes;
    /// default half of this machine's physical memory.
    #[arg(long, global = true, value_name = "SIZE", value_parser = crate::experiment::resources::parse_bytes)]
    pub max_memory: Option<u64>,
    /// What to do; without a subcommand the workbench opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an experiment headless; resumes it if the file has a checkpoint.
    Run {
        /// The experiment file.
        file: PathBuf,
        /// Folder for experiment.ron (with checkpoint), metrics.csv and params.npz.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Train until this many iterations in total (overrides the file).
        #[arg(long)]
        iterations: Option<usize>,
        /// Worker threads for the batch (results do not depend on it).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Also write SVG and PNG figures of the trained model to DIR/figures.
        #[arg(long)]
        figures: bool,
        /// Save a checkpoint to DIR/experiment.ron this often while training (seconds; 0: only
        /// at the end), so that a killed run resumes near where it was.
        #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
        checkpoint_every: f64,
    },
    /// Validate an experiment and print a summary.
    Check {
        /// The experiment file.
        file: PathBuf,
    },
    /// Compare DTO, OTD partner, OTD backward and central finite differences per block.
    Gradcheck {
        /// The experiment file.
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Compute the structure diagnostics of the model (at the file's checkpoint, or at the
    /// initial parameters) and print a summary.
    Diagnose {
        /// The experiment file.
        file: PathBuf,
        /// Print the report as JSON instead of the summary.
        #[arg(long)]
        json: bool,
        /// Write diagnostics.json and one CSV per series to this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write SVG and PNG figures to DIR/figures (default flowlab-out/<file stem>/figures).
        #[arg(long)]
        figures: bool,
    },
    /// Studies: grids of runs over settings and seeds, here or on a Slurm cluster.
    Study {
        /// What to do with the study.
        #[command(subcommand)]
        command: StudyCommand,
    },
    /// Write the trained (or initial) model, trajectories and gradients as .npz.
    Export {
        /// The experiment file.
        file: PathBuf,
        /// Where to write the .npz.
        #[arg(long)]
        npz: PathBuf,
    },
}

/// The study subcommands.
#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Expand a study into DIR/runs and run its runs here, N at a time (skips finished runs,
    /// resumes interrupted ones); then collect.
    Run {
        /// The study file.
        study: PathBuf,
        /// The study folder.
        #[arg(long)]
        out: PathBuf,
        /// Runs at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Expand more than 10 000 runs, or replace the runs of another study in DIR.
        #[arg(long)]
        force: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Seconds between each run's checkpoints.
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        checkpoint_every: f64,
    },
    /// Expand a study into DIR/runs and write DIR/study.sbatch, a Slurm job array that runs them.
    Slurm {
        /// The study file.
        study: PathBuf,
        /// The study folder (on a file system the cluster's nodes share).
        #[arg(long)]
        out: PathBuf,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per task, in Slurm's format (e.g. 30, 2:00:00).
        #[arg(long)]
        time: Option<String>,
        /// At most this many tasks at once.
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Slurm account.
        #[arg(long)]
        account: Option<String>,
        /// Submit it with sbatch and print the job id.
        #[arg(long)]
        submit: bool,
        /// Expand more than 10 000 runs, or replace the runs of another study in DIR.
        #[arg(long)]
        force: bool,
    },
    /// Count done, failed and pending runs of a study folder (and the array's queued tasks).
    Status {
        /// The study folder.
        dir: PathBuf,
    },
    /// Write DIR/results.csv, DIR/summary.csv and DIR/figures of a study folder.
    Collect {
        /// The study folder.
        dir: PathBuf,
    },
}

/// Bad input (exit 2) as opposed to a failed run (exit 1).
#[derive(Debug)]
pub(crate) struct BadInput(anyhow::Error);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

/// Marks an error as bad input (exit 2).
pub(crate) fn bad(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(BadInput(e.into()))
}

/// Runs a subcommand; returns the process exit code. Without a subcommand the file (or the
/// built-in default experiment) is trained headless: the binary opens the workbench instead
/// when it has one (`main.rs`).
pub fn main_with(cli: Cli) -> ExitCode {
    let limits = cli.limits();
    let result = match cli.command {
        Some(Command::Run {
            file,
            out,
            iterations,
            threads,
            quiet,
            figures,
            checkpoint_every,
        }) => commands::run(
            &file,
            out,
            iterations,
            limits.with_threads(threads),
            &commands::RunOptions {
                quiet,
                figures,
                checkpoint_every: (checkpoint_every.is_finite() && checkpoint_every > 0.0)
                    .then(|| std::time::Duration::from_secs_f64(checkpoint_every.min(1e9))),
            },
        ),
        Some(Command::Check { file }) => commands::check(&file, limits),
        Some(Command::Gradcheck { file, json }) => commands::gradcheck(&file, json, limits),
        Some(Command::Diagnose {
            file,
            json,
            out,
            figures,
        }) => commands::diagnose(&file, json, out.as_deref(), figures, limits),
        Some(Command::Export { file, npz }) => commands::export(&file, &npz, limits),
        Some(Command::Study { command }) => study::study(command, limits),
        None => commands::headless_default(cli.file.as_deref(), limits),
    };
    exit_code(result)
}

impl Cli {
    /// The limits of this invocation: `--max-memory`, or half of this machine's memory.
    #[must_use]
    pub fn limits(&self) -> Limits {
        let machine = Limits::machine();
        self.max_memory
            .map_or(machine, |bytes| machine.with_memory(bytes))
    }
}

/// The exit code of a command's result: its own on success; on failure the error is printed,
/// and the code is 2 for bad input, 1 otherwise.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Parses `1280x800` into a window size in points.
#[cfg(feature = "gui")]
fn parse_window_size(text: &str) -> Result<[f32; 2], String> {
    let parse = |s: &str| {
        s.trim()
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 200.0)
    };
    match text.split_once(['x', 'X']) {
        Some((w, h)) => match (parse(w), parse(h)) {
            (Some(w), Some(h)) => Ok([w, h]),
            _ => Err(format!(
                "{text:?}: width and height must be numbers of at least 200"
            )),
        },
        None => Err(format!("{text:?}: expected WIDTHxHEIGHT, e.g. 1280x800")),
    }
}

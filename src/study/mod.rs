//! Studies: grids of runs over settings and seeds, run on this machine or as a Slurm job array.
//!
//! A study file ([`spec::Study`]) names a base experiment and the settings that vary, by their
//! paths in the experiment file ([`settings`]). [`expand()`] turns it into ordinary experiment
//! files, every one checked before anything runs; [`folder`] lays them out in a study folder
//! (`study.json`, `runs/NNNN/experiment.ron`) and reads back how each run stands; [`local`]
//! runs them here, N at a time, each as `flowlab run` of its file (so run i is bit-identical to
//! `flowlab run` of it); [`slurm`] writes the job-array script that runs the same command on a
//! cluster; [`collect()`] gathers `results.csv`, `summary.csv` and the figures. The engine
//! knows nothing of studies.

pub mod collect;
pub mod expand;
pub mod folder;
pub mod local;
pub mod settings;
pub mod slurm;
pub mod spec;

use std::fmt::Write as _;
use std::path::PathBuf;

use thiserror::Error;

pub use collect::{Charts, Collected, Gathered, MetricChart, charts, collect, gather};
pub use expand::{AxisValues, Expansion, MAX_RUNS, Run, expand};
pub use folder::{RunState, StudyFolder};
pub use spec::{Axis, Base, Study, Values};

/// Why a study cannot be expanded or started: bad input, exit 2.
#[derive(Debug, Error)]
pub enum StudyError {
    /// Reading a file failed.
    #[error("cannot read the file ({message}): {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The study file is not valid RON of a study.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A study file of another format version.
    #[error("study format_version {0} is not one this build reads (it reads 1)")]
    Version(u32),
    /// An error in a file: its message followed by the path.
    #[error("{error} in {}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: Box<StudyError>,
    },
    /// The base experiment cannot be read.
    #[error("the base experiment: {0}")]
    Base(String),
    /// Problems of the axes: unknown settings, values that do not fit, empty or duplicate axes.
    #[error("{}", list("the study's axes", .0))]
    Axes(Vec<String>),
    /// Expanded runs that `check` refuses, with their indices and settings. Nothing started.
    #[error("{}", list("runs of the study are invalid; nothing was started", .0))]
    Runs(Vec<String>),
    /// More runs than [`MAX_RUNS`] without `--force`.
    #[error("the study expands to {runs} runs, more than {limit}; pass --force if that is meant")]
    TooMany {
        /// Runs of the expansion.
        runs: u128,
        /// [`MAX_RUNS`].
        limit: usize,
    },
    /// The output folder holds something else.
    #[error("{0}")]
    Folder(String),
}

/// `what (N problems):` and the problems, one a line (at most 20, then how many more).
fn list(what: &str, problems: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = format!(
        "{what} ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems.iter().take(SHOWN) {
        text.push_str("\n  - ");
        text.push_str(problem);
    }
    if problems.len() > SHOWN {
        let _ = write!(text, "\n  ... and {} more", problems.len() - SHOWN);
    }
    text
}

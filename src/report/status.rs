//! `status.json`: how a run of `flowlab run` ended, written last into its output folder. A
//! study reads it to tell finished runs from unfinished ones; a run that is killed leaves the
//! previous one (or none).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Error;
use crate::experiment::files::write_atomic;

/// The `format` of `status.json`.
pub const RUN_STATUS_FORMAT: &str = "flowlab-run-status";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Trained to its iteration count and wrote every output.
    Completed,
    /// Training failed (diverged, a solver did not converge) or an output could not be written.
    Failed,
}

/// The contents of `status.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    /// Always [`RUN_STATUS_FORMAT`].
    pub format: String,
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The process's exit code (0 or 1; 2 and crashes are recorded by whoever started it).
    pub exit_code: i32,
    /// Iterations done.
    pub iteration: usize,
    /// Iterations the run was to reach.
    pub iterations: usize,
    /// Why it failed (empty when it completed).
    #[serde(default)]
    pub message: String,
    /// Wall time of training and writing, in seconds, summed over the invocations that trained
    /// it (a resumed run adds to the time of the one before).
    pub wall_seconds: f64,
}

impl RunStatus {
    /// A status of `outcome`.
    #[must_use]
    pub fn new(
        outcome: RunOutcome,
        exit_code: i32,
        iteration: usize,
        iterations: usize,
        message: String,
        wall_seconds: f64,
    ) -> Self {
        Self {
            format: RUN_STATUS_FORMAT.to_owned(),
            outcome,
            exit_code,
            iteration,
            iterations,
            message,
            wall_seconds,
        }
    }

    /// Reads `path`; `None` when there is none or it is not a status flowlab wrote.
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str::<Self>(&text)
            .ok()
            .filter(|status| status.format == RUN_STATUS_FORMAT)
    }

    /// Writes `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let io = |error| Error::Io {
            path: path.to_owned(),
            operation: "write",
            error,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        write_atomic(path, text.as_bytes()).map_err(io)
    }
}

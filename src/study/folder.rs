//! A study folder: `study.json` (the study and its expansion), `runs/NNNN/` (one ordinary run
//! folder each, starting with its `experiment.ron`), and how each run stands, read from its
//! folder alone, so that a study run here, on a cluster, or interrupted is read the same way.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StudyError;
use super::expand::{AxisValues, Expansion};
use crate::experiment::{self, files};
use crate::report::{RunOutcome, RunStatus};

/// The `format` of `study.json`.
pub const MANIFEST_FORMAT: &str = "flowlab-study";

/// `study.json`: what a study folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Version of this document (1).
    pub format_version: u32,
    /// The study's name.
    pub name: String,
    /// The study's notes.
    #[serde(default)]
    pub notes: String,
    /// The base experiment (RON, as written before each run's settings).
    pub base: String,
    /// The varied settings.
    pub axes: Vec<ManifestAxis>,
    /// The figures' x axis (a setting or `h`), if the study names one.
    #[serde(default)]
    pub x: Option<String>,
    /// The figures' line settings, if the study names them.
    #[serde(default)]
    pub group: Option<Vec<String>>,
    /// The metrics the figures draw.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Every run: its index, folder (relative to the study folder) and settings.
    pub runs: Vec<ManifestRun>,
}

/// A varied setting in `study.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestAxis {
    /// Its path in the experiment file.
    pub setting: String,
    /// Its values (RON text).
    pub values: Vec<String>,
    /// Whether these are seeds.
    pub seeds: bool,
}

/// A run in `study.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestRun {
    /// Index from 0.
    pub index: usize,
    /// Folder relative to the study folder (`runs/0007`).
    pub folder: String,
    /// `[setting, value]` pairs in the order of the axes.
    pub settings: Vec<(String, String)>,
}

impl Manifest {
    /// The manifest of an expansion.
    #[must_use]
    pub fn of(expansion: &Expansion) -> Self {
        let total = expansion.runs.len();
        Self {
            format: MANIFEST_FORMAT.to_owned(),
            format_version: 1,
            name: expansion.study.name.clone(),
            notes: expansion.study.notes.clone(),
            base: experiment::to_ron_string(&expansion.base).unwrap_or_default(),
            axes: expansion
                .axes
                .iter()
                .map(
                    |AxisValues {
                         setting,
                         values,
                         seeds,
                     }| ManifestAxis {
                        setting: setting.clone(),
                        values: values.clone(),
                        seeds: *seeds,
                    },
                )
                .collect(),
            x: expansion.study.x.clone(),
            group: expansion.study.group.clone(),
            metrics: expansion.study.metrics.clone(),
            runs: expansion
                .runs
                .iter()
                .map(|run| ManifestRun {
                    index: run.index,
                    folder: run_folder_name(run.index, total),
                    settings: run.settings.clone(),
                })
                .collect(),
        }
    }

    /// Whether `other` is the same study: the same base and the same runs (names, notes and
    /// figure settings may differ).
    #[must_use]
    pub fn same_runs(&self, other: &Manifest) -> bool {
        self.base == other.base && self.runs == other.runs
    }
}

/// Digits of the run folders' numbers: 4, or more for a study of more runs.
#[must_use]
pub fn folder_digits(total: usize) -> usize {
    total.saturating_sub(1).to_string().len().max(4)
}

/// `runs/0007` for run 7 of a study of `total` runs.
#[must_use]
pub fn run_folder_name(index: usize, total: usize) -> String {
    format!("runs/{index:0width$}", width = folder_digits(total))
}

/// How a run stands, from its folder.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// Not started.
    Pending,
    /// Started and not finished: it resumes from its checkpoint at this iteration.
    Started {
        /// The checkpoint's iteration.
        iteration: usize,
    },
    /// Trained to the end.
    Done(RunStatus),
    /// Ended with a failure (diverged, not converged, bad input, crashed).
    Failed(RunStatus),
    /// Its folder cannot be read.
    Broken(String),
}

impl RunState {
    /// Whether the run needs no more work (done or failed).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self, RunState::Done(_) | RunState::Failed(_))
    }

    /// One word: `done`, `failed`, `started`, `pending`, `broken`.
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Started { .. } => "started",
            RunState::Done(_) => "done",
            RunState::Failed(_) => "failed",
            RunState::Broken(_) => "broken",
        }
    }
}

/// A study folder.
#[derive(Clone, Debug)]
pub struct StudyFolder {
    /// The folder.
    pub dir: PathBuf,
}

impl StudyFolder {
    /// The study folder at `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `study.json`.
    #[must_use]
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("study.json")
    }

    /// The folder of a run of the manifest.
    #[must_use]
    pub fn run_dir(&self, run: &ManifestRun) -> PathBuf {
        self.dir.join(&run.folder)
    }

    /// Reads `study.json`.
    pub fn manifest(&self) -> Result<Manifest, StudyError> {
        let path = self.manifest_path();
        let text = std::fs::read_to_string(&path).map_err(|e| StudyError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            StudyError::Folder(format!("{} is not a study manifest: {e}", path.display()))
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(StudyError::Folder(format!(
                "{} is not a study manifest (format {:?})",
                path.display(),
                manifest.format
            )));
        }
        Ok(manifest)
    }

    /// Lays the expansion out: `study.json` and each run's `experiment.ron` (a run folder that
    /// already has one keeps it: the same study resumes). A folder holding a different study is
    /// refused unless `force`, which removes its runs first. Every file is written atomically.
    pub fn prepare(&self, expansion: &Expansion, force: bool) -> Result<Manifest, StudyError> {
        let manifest = Manifest::of(expansion);
        let io = |path: &Path, e: &dyn std::fmt::Display| {
            StudyError::Folder(format!("cannot write {} ({e})", path.display()))
        };
        if self.manifest_path().exists() {
            match self.manifest() {
                Ok(existing) if existing.same_runs(&manifest) => {}
                Ok(_) | Err(_) if force => {
                    let runs = self.dir.join("runs");
                    if runs.exists() {
                        std::fs::remove_dir_all(&runs).map_err(|e| io(&runs, &e))?;
                    }
                }
                Ok(_) => {
                    return Err(StudyError::Folder(format!(
                        "{} holds a different study (other base or runs); use another --out, \
                         or --force to replace its runs",
                        self.dir.display()
                    )));
                }
                Err(e) => {
                    return Err(StudyError::Folder(format!(
                        "{e}; use another --out, or --force to replace it"
                    )));
                }
            }
        } else if self.dir.join("runs").exists() && !force {
            return Err(StudyError::Folder(format!(
                "{} has a runs folder but no study.json; use another --out, or --force",
                self.dir.display()
            )));
        }
        files::prepare_folder(&self.dir).map_err(|e| io(&self.dir, &e))?;
        for (run, entry) in expansion.runs.iter().zip(&manifest.runs) {
            let dir = self.run_dir(entry);
            let file = dir.join("experiment.ron");
            if file.exists() {
                continue;
            }
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
            let mut exp = run.experiment.clone();
            experiment::io::rebase_paths(&mut exp, &self.dir, &dir);
            experiment::save(&exp, &file).map_err(|e| io(&file, &e))?;
        }
        let text =
            serde_json::to_string_pretty(&manifest).map_err(|e| io(&self.manifest_path(), &e))?;
        files::write_atomic(&self.manifest_path(), text.as_bytes())
            .map_err(|e| io(&self.manifest_path(), &e))?;
        Ok(manifest)
    }

    /// How a run stands: its `status.json` if it finished, else its checkpoint.
    #[must_use]
    pub fn state(&self, run: &ManifestRun) -> RunState {
        let dir = self.run_dir(run);
        if let Some(status) = RunStatus::read(&dir.join("status.json")) {
            return match status.outcome {
                RunOutcome::Completed if status.iteration >= status.iterations => {
                    RunState::Done(status)
                }
                RunOutcome::Completed => RunState::Started {
                    iteration: status.iteration,
                },
                RunOutcome::Failed => RunState::Failed(status),
            };
        }
        let file = dir.join("experiment.ron");
        if !file.exists() {
            return RunState::Broken(format!("{} is missing", file.display()));
        }
        match experiment::load(&file) {
            Ok(exp) => match exp.checkpoint {
                Some(checkpoint) if checkpoint.iteration > 0 => RunState::Started {
                    iteration: checkpoint.iteration,
                },
                _ => RunState::Pending,
            },
            Err(e) => RunState::Broken(e.to_string()),
        }
    }

    /// Records a run that ended without writing its own status (bad input, a crash).
    pub fn record_failure(
        &self,
        run: &ManifestRun,
        exit_code: i32,
        message: String,
    ) -> Result<(), StudyError> {
        let path = self.run_dir(run).join("status.json");
        RunStatus::new(RunOutcome::Failed, exit_code, 0, 0, message, 0.0)
            .write(&path)
            .map_err(|e| StudyError::Folder(e.to_string()))
    }
}

/// Counts of run states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Done.
    pub done: usize,
    /// Failed.
    pub failed: usize,
    /// Started, not finished.
    pub started: usize,
    /// Not started.
    pub pending: usize,
    /// Unreadable.
    pub broken: usize,
}

impl Counts {
    /// The counts of `states`.
    #[must_use]
    pub fn of<'a>(states: impl IntoIterator<Item = &'a RunState>) -> Self {
        let mut counts = Counts::default();
        for state in states {
            match state {
                RunState::Pending => counts.pending += 1,
                RunState::Started { .. } => counts.started += 1,
                RunState::Done(_) => counts.done += 1,
                RunState::Failed(_) => counts.failed += 1,
                RunState::Broken(_) => counts.broken += 1,
            }
        }
        counts
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} done, {} failed, {} started, {} pending",
            self.done, self.failed, self.started, self.pending
        )?;
        if self.broken > 0 {
            write!(f, ", {} broken", self.broken)?;
        }
        Ok(())
    }
}

//! A run's diagnostics history, `diagnostics.jsonl`: one line per diagnosed snapshot
//! ([`history_line`]), the part of an earlier history a resumed run continues
//! ([`history_prefix`], [`earlier_history`]) and the [`HistoryRecorder`] that computes and
//! appends the lines while a run trains.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use super::Error;
use super::diagnostics::{DIAGNOSTICS_FORMAT_VERSION, Document};
use crate::data::Split;
use crate::diagnostics::{DiagnosticsReport, DiagnosticsSpec, Projection, RunAnalysis};
use crate::experiment::files::AtomicFile;
use crate::train::Snapshot;
use crate::train::background::Latest;

/// One line of `diagnostics.jsonl` (format `flowlab-diagnostics-history`): the report without
/// what grows with the grid or the probes (eigenvalues of `h·J`, the stability boundary,
/// per-probe divergence curves, the grid's classes, the trajectories' paths).
pub fn history_line(experiment: &str, report: &DiagnosticsReport) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(report)?;
    let mut remove = |pointer: &str, keys: &[&str]| {
        if let Some(serde_json::Value::Object(object)) = value.pointer_mut(pointer) {
            for key in keys {
                object.remove(*key);
            }
        }
    };
    remove("/spectrum/value", &["jacobian_eigenvalues"]);
    remove("/spectrum/value/stability", &["boundary"]);
    remove(
        "/divergence/value",
        &["random_per_probe", "worst_case_per_probe", "rows"],
    );
    remove("/decision_boundary/value", &["classes", "confidence"]);
    remove("/trajectories/value", &["paths", "rows", "labels"]);
    if let Some(serde_json::Value::Array(matrices)) = value.pointer_mut("/spectrum/value/matrices")
    {
        for matrix in matrices
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            matrix.remove("eigenvalues");
        }
    }
    serde_json::to_string(&Document {
        format: "flowlab-diagnostics-history",
        format_version: DIAGNOSTICS_FORMAT_VERSION,
        experiment,
        iteration: report.iteration,
        report: value,
    })
}

/// The part of an earlier diagnostics history that a resumed run continues.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryPrefix {
    /// The kept lines, exactly as they were written (without line breaks).
    pub lines: Vec<String>,
    /// Iteration of the last kept line.
    pub last_iteration: Option<usize>,
    /// The feature-trajectory projection of the first kept line that has one: a run draws its
    /// trajectories in one projection, resumed or not.
    pub projection: Option<Projection>,
}

/// Reads the history a run of `experiment` wrote (`diagnostics.jsonl`) up to and including
/// iteration `resumed_at`, the checkpoint a run resumes from; later lines (of a run that went on
/// past the checkpoint) are left out. Empty lines are skipped; any other line that is not a
/// `flowlab-diagnostics-history` entry of this version and experiment, in increasing
/// iterations, is an error naming the line.
pub fn history_prefix(
    path: &Path,
    experiment: &str,
    resumed_at: usize,
) -> Result<HistoryPrefix, Error> {
    let text = fs::read_to_string(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        operation: "read",
        error,
    })?;
    let mut prefix = HistoryPrefix::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let problem = |problem: String| Error::History {
            path: path.to_owned(),
            line: index + 1,
            problem,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| problem(format!("not JSON ({e})")))?;
        if value["format"] != "flowlab-diagnostics-history" {
            return Err(problem(format!(
                "format is {}, expected \"flowlab-diagnostics-history\"",
                value["format"]
            )));
        }
        if value["format_version"] != DIAGNOSTICS_FORMAT_VERSION {
            return Err(problem(format!(
                "format_version is {}, this flowlab writes {DIAGNOSTICS_FORMAT_VERSION}",
                value["format_version"]
            )));
        }
        if value["experiment"] != experiment {
            return Err(problem(format!(
                "written for the experiment {}, not \"{experiment}\"",
                value["experiment"]
            )));
        }
        let iteration = value["iteration"]
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| problem("no iteration number".to_owned()))?;
        if prefix.last_iteration.is_some_and(|last| iteration <= last) {
            return Err(problem(format!(
                "iteration {iteration} does not follow iteration {}",
                prefix.last_iteration.unwrap_or_default()
            )));
        }
        if iteration > resumed_at {
            break;
        }
        if prefix.projection.is_none()
            && let Some(projection) = value.pointer("/report/trajectories/value/projection")
        {
            prefix.projection = Some(
                serde_json::from_value(projection.clone())
                    .map_err(|e| problem(format!("unreadable projection ({e})")))?,
            );
        }
        prefix.lines.push(line.to_owned());
        prefix.last_iteration = Some(iteration);
    }
    Ok(prefix)
}

/// The history a run resumed at iteration `resumed_at` continues: the lines up to the checkpoint
/// of `out/diagnostics.jsonl` or, when there is none, of the `diagnostics.jsonl` in `file_dir`
/// (the experiment file's folder: the output folder of the run that wrote the checkpoint).
/// `Ok` with an empty prefix when there is nothing to continue; `Err` when a history exists but
/// cannot be used (the caller then starts a new one and says why).
pub fn earlier_history(
    experiment: &str,
    resumed_at: usize,
    out: &Path,
    file_dir: Option<&Path>,
) -> Result<HistoryPrefix, Error> {
    if resumed_at == 0 {
        return Ok(HistoryPrefix::default());
    }
    let candidates = [
        Some(out.join("diagnostics.jsonl")),
        file_dir.map(|dir| dir.join("diagnostics.jsonl")),
    ];
    match candidates.into_iter().flatten().find(|p| p.is_file()) {
        Some(path) => history_prefix(&path, experiment, resumed_at),
        None => Ok(HistoryPrefix::default()),
    }
}

/// What the recorder's thread did with one job.
type Recorded = Result<Option<DiagnosticsReport>, Error>;

/// A job of the recorder's thread.
enum Job {
    /// Diagnose a snapshot and append its line.
    Record(Arc<Snapshot>),
    /// Put the history in place of the file (the last job).
    Commit,
}

/// Computes the diagnostics of a run's snapshots on a named helper thread (a [`Latest`] fed
/// in turn, so no snapshot is skipped) and appends each report's line to the history. A
/// producer that is one snapshot ahead of the helper waits, so memory stays bounded.
///
/// The history is written to a temporary file that replaces the history file when the recorder
/// finishes (see [`crate::experiment::files`]): a run killed in the middle leaves the old
/// history whole.
pub struct HistoryRecorder {
    worker: Latest<Job, Recorded>,
    last: Option<DiagnosticsReport>,
    failure: Option<Error>,
}

impl std::fmt::Debug for HistoryRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryRecorder")
            .field("last", &self.last.as_ref().map(|r| r.iteration))
            .finish_non_exhaustive()
    }
}

impl HistoryRecorder {
    /// Starts the helper (`flowlab-diagnostics`); the file at `path` begins with the `earlier`
    /// lines a resumed run keeps. Snapshots at or before the last earlier line are skipped.
    pub fn start(
        experiment: &str,
        split: Split,
        spec: DiagnosticsSpec,
        path: &Path,
        earlier: HistoryPrefix,
    ) -> Result<Self, Error> {
        let io_error = |operation: &'static str| {
            let path = path.to_owned();
            move |error| Error::Io {
                path,
                operation,
                error,
            }
        };
        let mut file = AtomicFile::create(path).map_err(io_error("create"))?;
        for line in &earlier.lines {
            writeln!(file, "{line}").map_err(io_error("write"))?;
        }
        let mut writer = Some(file);
        let mut analysis = RunAnalysis::new(earlier.projection);
        let mut recorded = earlier.last_iteration;
        let name = experiment.to_owned();
        let file_path = path.to_owned();
        let compute = move |job: Job| -> Recorded {
            let write_error = |error| Error::Io {
                path: file_path.clone(),
                operation: "write",
                error,
            };
            // A failed write drops the file: the old history stays, and nothing more is done.
            let Some(file) = writer.as_mut() else {
                return Ok(None);
            };
            match job {
                Job::Commit => {
                    let file = writer.take().map(AtomicFile::commit);
                    file.transpose().map(|_| None).map_err(write_error)
                }
                Job::Record(snapshot) => {
                    if recorded.is_some_and(|i| snapshot.iteration <= i) {
                        return Ok(None);
                    }
                    let report = analysis.compute(&snapshot, &split, &spec);
                    let written = history_line(&name, &report)
                        .map_err(std::io::Error::other)
                        .and_then(|line| writeln!(file, "{line}"));
                    if let Err(error) = written {
                        writer = None;
                        return Err(write_error(error));
                    }
                    recorded = Some(report.iteration);
                    Ok(Some(report))
                }
            }
        };
        let worker =
            Latest::spawn("flowlab-diagnostics", compute, None).map_err(|error| Error::Io {
                path: path.to_owned(),
                operation: "start the thread that writes",
                error,
            })?;
        Ok(Self {
            worker,
            last: None,
            failure: None,
        })
    }

    /// Diagnoses `snapshot` after the snapshots before it (waits while the helper is one
    /// snapshot behind).
    pub fn record(&mut self, snapshot: Arc<Snapshot>) {
        let arrived = self.worker.take_results();
        self.absorb(arrived);
        self.worker.submit_in_turn(Job::Record(snapshot));
    }

    fn absorb(&mut self, results: Vec<Recorded>) {
        absorb(results, &mut self.last, &mut self.failure);
    }

    /// Waits for the last snapshot's report: the newest report recorded (`None` when none was),
    /// or why the history is incomplete.
    pub fn finish(self) -> Result<Option<DiagnosticsReport>, Error> {
        let Self {
            mut worker,
            mut last,
            mut failure,
        } = self;
        worker.submit_in_turn(Job::Commit);
        absorb(worker.finish(), &mut last, &mut failure);
        match failure {
            Some(error) => Err(error),
            None => Ok(last),
        }
    }
}

/// Keeps the newest report and the first failure of `results`.
fn absorb(
    results: Vec<Recorded>,
    last: &mut Option<DiagnosticsReport>,
    failure: &mut Option<Error>,
) {
    for result in results {
        match result {
            Ok(Some(report)) => *last = Some(report),
            Ok(None) => {}
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
}

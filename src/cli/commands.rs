//! What each subcommand does: load and check the file, build the session from its plan, and
//! hand the work to the engine and to `report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::bad;
use crate::diagnostics::{self, DiagnosticsReport};
use crate::experiment::{self, Experiment, Limits, Plan};
use crate::report::{self, HistoryRecorder, RunOutcome, RunStatus};
use crate::train::{Checkpoint, EventSink, RunControl, RunnerOptions, Session, TrainEvent, runner};

/// Loads an experiment file; errors are bad input.
fn load(file: &Path) -> Result<Experiment> {
    experiment::io::load(file).map_err(bad)
}

/// Checks an experiment within `limits` and builds its session (data paths relative to the
/// file's folder, `limits.threads` workers); problems are bad input.
fn plan_and_session(
    exp: &Experiment,
    file: Option<&Path>,
    limits: Limits,
) -> Result<(Plan, Session)> {
    let plan = experiment::check_with(exp, limits).map_err(bad)?;
    let session = plan
        .session(file.and_then(Path::parent), limits.threads)
        .map_err(bad)?;
    Ok((plan, session))
}

/// The default output folder of an experiment file: `flowlab-out/<file stem>`.
fn default_out(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from("flowlab-out").join(stem)
}

/// Without a subcommand, trains the file (or the built-in default) headless and says so (a
/// binary without the `gui` feature; one with it opens the workbench instead).
pub(super) fn headless_default(file: Option<&Path>, limits: Limits) -> Result<ExitCode> {
    eprintln!(
        "flowlab: no subcommand and no graphical workbench (feature `gui`); training {} \
         headless instead.",
        file.map_or_else(
            || "the default experiment".to_string(),
            |f| f.display().to_string()
        )
    );
    if let Some(f) = file {
        run(f, None, None, limits, &RunOptions::default())
    } else {
        let exp = experiment::from_ron_str(experiment::DEFAULT_EXPERIMENT).map_err(bad)?;
        train_and_write(
            &exp,
            None,
            Path::new("flowlab-out/default"),
            limits,
            &RunOptions::default(),
        )
    }
}

/// `flowlab run`: trains to the end (`iterations` overrides the file's count) and writes the
/// outputs.
pub(super) fn run(
    file: &Path,
    out: Option<PathBuf>,
    iterations: Option<usize>,
    limits: Limits,
    options: &RunOptions,
) -> Result<ExitCode> {
    let mut exp = load(file)?;
    if let Some(n) = iterations {
        exp.train.iterations = n;
    }
    let out = out.unwrap_or_else(|| default_out(file));
    train_and_write(&exp, Some(file), &out, limits, options)
}

/// How `flowlab run` trains and writes.
#[derive(Clone, Debug, Default)]
pub(super) struct RunOptions {
    /// No progress bar and no closing lines.
    pub quiet: bool,
    /// Also write figures.
    pub figures: bool,
    /// Save a checkpoint this often while training.
    pub checkpoint_every: Option<Duration>,
}

/// Saves the checkpoints a run sends while it trains (`--checkpoint-every`) to
/// `out/experiment.ron`, as the run itself does at the end.
struct CheckpointSaver {
    experiment: Experiment,
    file_dir: Option<PathBuf>,
    out: PathBuf,
}

impl CheckpointSaver {
    fn save(&self, checkpoint: Checkpoint) {
        let mut saved = self.experiment.with_checkpoint(checkpoint);
        if let Some(dir) = &self.file_dir {
            experiment::io::rebase_paths(&mut saved, dir, &self.out);
        }
        if let Err(e) = experiment::io::save(&saved, &self.out.join("experiment.ron")) {
            eprintln!("warning: could not save a checkpoint: {e}");
        }
    }
}

/// Progress bar sink for the command line; remembers a failure and saves checkpoints.
struct ProgressSink {
    bar: ProgressBar,
    failure: Option<String>,
    started: Instant,
    saver: Option<CheckpointSaver>,
}

impl ProgressSink {
    fn new(total: usize, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        };
        Self {
            bar,
            failure: None,
            started: Instant::now(),
            saver: None,
        }
    }
}

impl EventSink for ProgressSink {
    fn send(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Started { iteration, total } => {
                self.bar.set_length(total as u64);
                self.bar.set_position(iteration as u64);
                self.started = Instant::now();
            }
            TrainEvent::Step(report) => {
                let r = &report.record;
                self.bar.set_position(r.iteration as u64);
                let acc = r
                    .train_accuracy
                    .map(|a| format!("  train acc {:.1}%", 100.0 * a))
                    .unwrap_or_default();
                let test = r
                    .test_accuracy
                    .map(|a| format!("  test acc {:.1}%", 100.0 * a))
                    .unwrap_or_default();
                if r.train_accuracy.is_some() || r.iteration % 10 == 0 {
                    self.bar
                        .set_message(format!("loss {:.4e}{acc}{test}", r.loss));
                }
            }
            TrainEvent::Failed { error, .. } => self.failure = Some(error.to_string()),
            TrainEvent::Finished { .. } => self.bar.finish(),
            TrainEvent::Checkpoint(checkpoint) => {
                if let Some(saver) = &self.saver {
                    saver.save(*checkpoint);
                }
            }
            TrainEvent::Snapshot(_) => {}
        }
    }
}

fn train_and_write(
    exp: &Experiment,
    file: Option<&Path>,
    out: &Path,
    limits: Limits,
    options: &RunOptions,
) -> Result<ExitCode> {
    let RunOptions { quiet, figures, .. } = *options;
    let (plan, mut session) = plan_and_session(exp, file, limits)?;
    // An output folder that cannot take the results is bad input, found before any work.
    experiment::files::prepare_folder(out).map_err(|e| {
        bad(anyhow::anyhow!(
            "cannot write to the output folder ({e}): {}",
            out.display()
        ))
    })?;
    let mut sink = ProgressSink::new(plan.training.iterations, quiet);
    sink.saver = Some(CheckpointSaver {
        experiment: exp.clone(),
        file_dir: file.and_then(Path::parent).map(Path::to_path_buf),
        out: out.to_path_buf(),
    });
    let earlier_wall = RunStatus::read(&out.join("status.json"))
        .filter(|status| status.iteration <= session.iteration() && session.iteration() > 0)
        .map_or(0.0, |status| status.wall_seconds);
    let final_report = train_recording(
        &plan,
        &mut session,
        &mut sink,
        out,
        file,
        options.checkpoint_every,
    )?;
    let elapsed = sink.started.elapsed().as_secs_f64();

    // The outputs, each on its own: one that cannot be written is reported and the others are
    // still written. The checkpoint and the metrics first, so that they hold whatever was
    // trained.
    let mut written = Vec::new();
    let mut failed = Vec::new();
    let mut note = |name: &'static str, result: Result<()>| match result {
        Ok(()) => written.push(name),
        Err(e) => failed.push(format!("could not write {name}: {e:#}")),
    };
    let mut saved = exp.with_checkpoint(session.checkpoint());
    if let Some(dir) = file.and_then(Path::parent) {
        experiment::io::rebase_paths(&mut saved, dir, out);
    }
    note(
        "experiment.ron",
        experiment::io::save(&saved, &out.join("experiment.ron")).map_err(Into::into),
    );
    note(
        "metrics.csv",
        report::write_metrics_csv(session.history(), &out.join("metrics.csv")).map_err(Into::into),
    );
    note(
        "params.npz",
        report::export_npz(&mut session, &plan, &out.join("params.npz")).map_err(Into::into),
    );
    if plan.diagnostics.every > 0 && out.join("diagnostics.jsonl").is_file() {
        written.push("diagnostics.jsonl");
    }
    if !quiet {
        if let Some(last) = session.history().last() {
            eprintln!(
                "iteration {}: loss {:.4e}{}{} ({elapsed:.1} s)",
                last.iteration,
                last.loss,
                last.train_accuracy
                    .map(|a| format!(", train accuracy {:.1}%", 100.0 * a))
                    .unwrap_or_default(),
                last.test_accuracy
                    .map(|a| format!(", test accuracy {:.1}%", 100.0 * a))
                    .unwrap_or_default(),
            );
        }
        if !written.is_empty() {
            eprintln!("wrote {} to {}", written.join(", "), out.display());
        }
    }
    if figures {
        let report = final_report.unwrap_or_else(|| {
            diagnostics::compute(&session.snapshot(), session.split(), &plan.diagnostics)
        });
        if let Err(e) = write_figures_of(&report, &session, &out.join("figures"), quiet) {
            failed.push(format!("could not write the figures: {e:#}"));
        }
    }
    // Why training stopped comes first; what could not be written after it.
    let mut messages: Vec<String> = sink.failure.iter().cloned().collect();
    messages.extend(failed.iter().cloned());
    for message in &messages {
        eprintln!("error: {message}");
    }
    // Last, how it ended: a study tells finished runs by this file.
    let status = RunStatus::new(
        if messages.is_empty() {
            RunOutcome::Completed
        } else {
            RunOutcome::Failed
        },
        i32::from(!messages.is_empty()),
        session.iteration(),
        plan.training.iterations,
        messages.join("; "),
        earlier_wall + sink.started.elapsed().as_secs_f64(),
    );
    if let Err(e) = status.write(&out.join("status.json")) {
        eprintln!("error: could not write status.json: {e}");
        return Ok(ExitCode::from(1));
    }
    Ok(if messages.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Forwards every event to the progress bar and snapshots to the history recorder.
struct RecordingSink<'a> {
    progress: &'a mut ProgressSink,
    recorder: &'a mut HistoryRecorder,
}

impl EventSink for RecordingSink<'_> {
    fn send(&mut self, event: TrainEvent) {
        if let TrainEvent::Snapshot(snapshot) = &event {
            // Waits while the recorder is one snapshot behind, so the history is complete.
            self.recorder.record(std::sync::Arc::clone(snapshot));
        }
        self.progress.send(event);
    }
}

/// Trains to the end. With `diagnostics.every > 0` the first snapshot, one every `every`
/// iterations and the last go to a [`HistoryRecorder`] writing `out/diagnostics.jsonl`;
/// returns the report of the final parameters when one was computed. A failure of the history
/// is a warning: the training results are still written.
fn train_recording(
    plan: &Plan,
    session: &mut Session,
    sink: &mut ProgressSink,
    out: &Path,
    file: Option<&Path>,
    checkpoint_interval: Option<Duration>,
) -> Result<Option<DiagnosticsReport>> {
    let every = plan.diagnostics.every;
    let control = RunControl::new();
    if every == 0 {
        let options = RunnerOptions {
            snapshot_every: 0,
            checkpoint_interval,
            ..RunnerOptions::default()
        };
        runner::run_loop(session, sink, &control, options);
        return Ok(None);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let earlier = report::earlier_history(
        &plan.name,
        session.iteration(),
        out,
        file.and_then(Path::parent),
    )
    .unwrap_or_else(|e| {
        eprintln!("warning: starting a new diagnostics history: {e}");
        report::HistoryPrefix::default()
    });
    let mut recorder = HistoryRecorder::start(
        &plan.name,
        session.split().clone(),
        plan.diagnostics.clone(),
        &out.join("diagnostics.jsonl"),
        earlier,
    )?;
    let mut recording = RecordingSink {
        progress: sink,
        recorder: &mut recorder,
    };
    recording.send(TrainEvent::Snapshot(session.snapshot()));
    // The recorder computes the diagnostics of every snapshot (and holds training back when it
    // lags, so the history is complete).
    let options = RunnerOptions {
        snapshot_every: every,
        snapshot_interval: Duration::ZERO,
        checkpoint_interval,
    };
    runner::run_loop(session, &mut recording, &control, options);
    match recorder.finish() {
        Ok(last) => Ok(last.filter(|r| r.iteration == session.iteration())),
        Err(e) => {
            eprintln!("warning: the diagnostics history is incomplete: {e:#}");
            Ok(None)
        }
    }
}

/// `flowlab check`: the summary of a valid experiment.
pub(super) fn check(file: &Path, limits: Limits) -> Result<ExitCode> {
    let exp = load(file)?;
    let (plan, session) = plan_and_session(&exp, Some(file), limits)?;
    print!("{}", report::check_summary(&plan, &session));
    Ok(ExitCode::SUCCESS)
}

/// `flowlab export --npz`.
pub(super) fn export(file: &Path, npz: &Path, limits: Limits) -> Result<ExitCode> {
    let exp = load(file)?;
    let (plan, mut session) = plan_and_session(&exp, Some(file), limits)?;
    report::export_npz(&mut session, &plan, npz)?;
    eprintln!("wrote {}", npz.display());
    Ok(ExitCode::SUCCESS)
}

/// `flowlab gradcheck`: DTO, OTD partner, OTD backward and finite differences per block.
pub(super) fn gradcheck(file: &Path, json: bool, limits: Limits) -> Result<ExitCode> {
    let exp = load(file)?;
    let (plan, session) = plan_and_session(&exp, Some(file), limits)?;
    let report = crate::train::gradcheck::gradcheck(&session, &plan.name).map_err(bad)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `flowlab diagnose`: the report of the file's checkpoint (or initial parameters) as a summary
/// or JSON, optionally with tables and figures.
pub(super) fn diagnose(
    file: &Path,
    json: bool,
    out: Option<&Path>,
    figures: bool,
    limits: Limits,
) -> Result<ExitCode> {
    let exp = load(file)?;
    let (plan, session) = plan_and_session(&exp, Some(file), limits)?;
    let report = diagnostics::compute(&session.snapshot(), session.split(), &plan.diagnostics);
    if json {
        println!("{}", report::report_json(&plan.name, &report)?);
    } else {
        print!(
            "{}",
            report::diagnostics_summary(&plan.name, &report, session.split())
        );
    }
    if let Some(dir) = out {
        let written = report::write_diagnostics(&plan.name, &report, session.split(), dir)?;
        eprintln!("wrote {} files to {}", written.len(), dir.display());
    }
    if figures {
        let dir = out.map_or_else(|| default_out(file), Path::to_path_buf);
        write_figures_of(&report, &session, &dir.join("figures"), false)?;
    }
    let failed = report::failed_parts(&report);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: diagnostics failed: {}", failed.join("; "));
        Ok(ExitCode::from(1))
    }
}

/// Writes the figures of a report and says what was written and what was left out.
fn write_figures_of(
    report: &DiagnosticsReport,
    session: &Session,
    dir: &Path,
    quiet: bool,
) -> Result<()> {
    let figures = report::write_figures(report, session.history(), session.split(), dir)?;
    if !quiet {
        eprintln!(
            "wrote {} figures (SVG and PNG) to {}",
            figures.written.len() / 2,
            dir.display()
        );
        for skipped in &figures.skipped {
            eprintln!("  no {} figure: {}", skipped.name, skipped.reason);
        }
    }
    Ok(())
}

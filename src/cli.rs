//! The command line (DESIGN §6): `run`, `check`, `gradcheck`, `diagnose`, `export`.
//!
//! Exit codes: 0 success, 1 a run that failed (e.g. diverged), 2 bad input.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::diagnostics::{self, DiagnosticsReport, RunAnalysis};
use crate::experiment::{self, Experiment};
use crate::report;
use crate::train::{EventSink, RunControl, RunnerOptions, Session, Snapshot, TrainEvent};

/// The experiment `cargo run` opens: a ResNet on two spirals.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../experiments/resnet_euler_spirals.ron");

/// flowlab: a workbench for structure-preserving deep learning.
#[derive(Debug, Parser)]
#[command(name = "flowlab", version, about, long_about = None)]
pub struct Cli {
    /// An experiment file to open (without a subcommand).
    pub file: Option<PathBuf>,
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
    /// Write the trained (or initial) model, trajectories and gradients as .npz.
    Export {
        /// The experiment file.
        file: PathBuf,
        /// Where to write the .npz.
        #[arg(long)]
        npz: PathBuf,
    },
}

/// Bad input (exit 2) as opposed to a failed run (exit 1).
#[derive(Debug)]
struct BadInput(anyhow::Error);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(BadInput(e.into()))
}

/// Runs the command line; returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Some(Command::Run {
            file,
            out,
            iterations,
            threads,
            quiet,
            figures,
        }) => run(&file, out, iterations, threads, quiet, figures),
        Some(Command::Check { file }) => check(&file),
        Some(Command::Gradcheck { file, json }) => gradcheck(&file, json),
        Some(Command::Diagnose {
            file,
            json,
            out,
            figures,
        }) => diagnose(&file, json, out.as_deref(), figures),
        Some(Command::Export { file, npz }) => export(&file, &npz),
        #[cfg(feature = "gui")]
        None => workbench(
            cli.file,
            cli.screenshot,
            cli.after_iterations,
            cli.window_size,
        ),
        #[cfg(not(feature = "gui"))]
        None => headless_default(cli.file.as_deref()),
    };
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

/// Loads an experiment file; errors are bad input.
fn load(file: &Path) -> Result<Experiment> {
    experiment::io::load(file).map_err(bad)
}

/// Builds a session for an experiment file (data paths relative to its folder).
fn session_for(exp: &Experiment, file: Option<&Path>, threads: usize) -> Result<Session> {
    let base = file.and_then(Path::parent);
    Session::new(exp, base, threads).map_err(bad)
}

/// Opens the workbench on `file` (or the default experiment); with `screenshot`, trains
/// `after_iterations` iterations, saves a PNG of the window there and exits.
#[cfg(feature = "gui")]
fn workbench(
    file: Option<PathBuf>,
    screenshot: Option<PathBuf>,
    after_iterations: usize,
    window_size: Option<[f32; 2]>,
) -> Result<ExitCode> {
    let started = std::time::SystemTime::now();
    let request = screenshot.map(|path| crate::gui::ScreenshotRequest {
        path,
        after_iterations,
        window_size,
    });
    let target = request.as_ref().map(|r| r.path.clone());
    crate::gui::run(file, request)?;
    if let Some(path) = target {
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= started);
        if !written {
            anyhow::bail!("the screenshot was not written: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
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

/// Without the `gui` feature, `flowlab [FILE]` trains the file (or the built-in default)
/// headless and says so.
#[cfg(not(feature = "gui"))]
fn headless_default(file: Option<&Path>) -> Result<ExitCode> {
    eprintln!(
        "flowlab: this build has no graphical workbench (feature `gui`); training {} headless \
         instead.",
        file.map_or_else(
            || "the default experiment".to_string(),
            |f| f.display().to_string()
        )
    );
    if let Some(f) = file {
        run(f, None, None, 1, false, false)
    } else {
        let exp = experiment::io::from_ron_str(DEFAULT_EXPERIMENT).map_err(bad)?;
        train_and_write(
            exp,
            None,
            Path::new("flowlab-out/default"),
            None,
            1,
            false,
            false,
        )
    }
}

fn run(
    file: &Path,
    out: Option<PathBuf>,
    iterations: Option<usize>,
    threads: usize,
    quiet: bool,
    figures: bool,
) -> Result<ExitCode> {
    let exp = load(file)?;
    let out = out.unwrap_or_else(|| default_out(file));
    train_and_write(exp, Some(file), &out, iterations, threads, quiet, figures)
}

/// Progress bar sink for the command line; remembers a failure.
struct ProgressSink {
    bar: ProgressBar,
    failure: Option<String>,
    started: Instant,
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
            TrainEvent::Failed { error, .. } => self.failure = Some(error),
            TrainEvent::Finished { .. } => self.bar.finish(),
            TrainEvent::Metrics { .. } | TrainEvent::Snapshot(_) | TrainEvent::Diagnostics(_) => {}
        }
    }
}

fn train_and_write(
    exp: Experiment,
    file: Option<&Path>,
    out: &Path,
    iterations: Option<usize>,
    threads: usize,
    quiet: bool,
    figures: bool,
) -> Result<ExitCode> {
    let mut session = session_for(&exp, file, threads)?;
    if let Some(n) = iterations {
        session.set_total_iterations(n);
    }
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(session.experiment().train.iterations as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let sink = ProgressSink {
        bar,
        failure: None,
        started: Instant::now(),
    };
    let mut sink = sink;
    let final_report = train_recording(&mut session, &mut sink, out, file)?;
    let elapsed = sink.started.elapsed().as_secs_f64();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut saved = session.to_experiment();
    if let Some(dir) = file.and_then(Path::parent) {
        experiment::io::rebase_paths(&mut saved, dir, out);
    }
    experiment::io::save(&saved, &out.join("experiment.ron"))?;
    report::metrics::write_metrics_csv(session.history(), &out.join("metrics.csv"))?;
    report::npz::export_npz(&mut session, &out.join("params.npz"))?;
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
        eprintln!(
            "wrote experiment.ron, metrics.csv, params.npz{} to {}",
            if session.experiment().diagnostics.every > 0 {
                ", diagnostics.jsonl"
            } else {
                ""
            },
            out.display()
        );
    }
    if figures {
        let report = final_report.unwrap_or_else(|| {
            diagnostics::compute(
                &session.snapshot(),
                session.split(),
                &session.experiment().diagnostics,
            )
        });
        write_figures_of(&report, &session, &out.join("figures"), quiet)?;
    }
    if let Some(failure) = sink.failure {
        eprintln!("error: {failure}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn check(file: &Path) -> Result<ExitCode> {
    let exp = load(file)?;
    let session = session_for(&exp, Some(file), 1)?;
    print!("{}", summary(&session));
    Ok(ExitCode::SUCCESS)
}

/// A readable summary of a session's experiment.
#[must_use]
pub fn summary(session: &Session) -> String {
    use std::fmt::Write as _;
    let exp = session.experiment();
    let net = session.network();
    let split = session.split();
    let mut s = String::new();
    let _ = writeln!(s, "{}: valid", exp.name);
    let _ = writeln!(
        s,
        "  data         {} — {} train / {} test points, {} features, {} classes{}",
        exp.data.source.name(),
        split.train.len(),
        split.test.len(),
        split.train.n_features(),
        split.train.n_classes,
        if exp.data.standardize {
            ", standardised"
        } else {
            ""
        }
    );
    let acts: Vec<String> = net.activations().iter().map(|a| a.name()).collect();
    let _ = writeln!(
        s,
        "  model        {:?}, σ = {}, d = {}, m = {}, K = {}, T = {}, h = {}",
        net.field.kind,
        acts.join(" / "),
        net.field.width,
        net.field.hidden,
        net.layers,
        net.final_time,
        net.h
    );
    let mut constraint = format!("A: {}", net.constraints[0].name());
    if net.field.second_matrix() {
        let _ = write!(constraint, ", A2: {}", net.constraints[1].name());
    }
    let _ = writeln!(s, "  constraint   {constraint}");
    let _ = writeln!(s, "  lift, head   {:?}, {:?}", net.lift, net.head);
    let _ = writeln!(
        s,
        "  integrator   {} (order {}{})",
        net.integrator.name(),
        net.integrator.order(),
        if net.integrator.is_symplectic() {
            ", symplectic"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "  gradient     {}", net.gradient.name());
    let _ = writeln!(
        s,
        "  training     {}, {} iterations, {:?}, weight decay {}, time smoothness {}",
        exp.train.optimizer.name(),
        exp.train.iterations,
        exp.train.batch,
        exp.train.weight_decay,
        exp.train.time_smoothness
    );
    let _ = writeln!(s, "  parameters   {}", net.layout.len());
    if session.iteration() > 0 {
        let _ = writeln!(s, "  checkpoint   iteration {}", session.iteration());
    }
    s
}

fn export(file: &Path, npz: &Path) -> Result<ExitCode> {
    let exp = load(file)?;
    let mut session = session_for(&exp, Some(file), 1)?;
    report::npz::export_npz(&mut session, npz)?;
    eprintln!("wrote {}", npz.display());
    Ok(ExitCode::SUCCESS)
}

fn gradcheck(file: &Path, json: bool) -> Result<ExitCode> {
    let exp = load(file)?;
    let report = crate::train::gradcheck::gradcheck(&exp, file.parent()).map_err(bad)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Diagnostics: `flowlab diagnose`, the diagnostics history of `flowlab run` and the figures.

/// The default output folder of an experiment file: `flowlab-out/<file stem>`.
fn default_out(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from("flowlab-out").join(stem)
}

/// `flowlab diagnose`: the report of the file's checkpoint (or initial parameters) as a summary
/// or JSON, optionally with tables and figures.
fn diagnose(file: &Path, json: bool, out: Option<&Path>, figures: bool) -> Result<ExitCode> {
    let exp = load(file)?;
    let session = session_for(&exp, Some(file), 1)?;
    let report = diagnostics::compute(
        &session.snapshot(),
        session.split(),
        &session.experiment().diagnostics,
    );
    if json {
        println!(
            "{}",
            report::report_json(&session.experiment().name, &report)?
        );
    } else {
        print!(
            "{}",
            report::diagnostics_summary(&session.experiment().name, &report, session.split())
        );
    }
    if let Some(dir) = out {
        let written =
            report::write_diagnostics(&session.experiment().name, &report, session.split(), dir)?;
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

/// Computes the diagnostics of the snapshots of a run on a named helper thread and appends
/// each report's key series to `diagnostics.jsonl`. Training waits when the helper is one
/// snapshot behind (a channel of one), so memory stays bounded.
struct DiagnosticsRecorder {
    sender: SyncSender<Arc<Snapshot>>,
    handle: JoinHandle<Result<Option<DiagnosticsReport>, String>>,
}

impl DiagnosticsRecorder {
    /// Starts the helper; the history file begins with the `earlier` lines a resumed run keeps.
    fn start(session: &Session, path: &Path, earlier: report::HistoryPrefix) -> Result<Self> {
        let mut file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        for line in &earlier.lines {
            writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))?;
        }
        let split = session.split().clone();
        let spec = session.experiment().diagnostics.clone();
        let name = session.experiment().name.clone();
        let path = path.to_owned();
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Arc<Snapshot>>(1);
        let handle = std::thread::Builder::new()
            .name("flowlab-diagnostics".into())
            .spawn(move || {
                let mut writer = std::io::BufWriter::new(file);
                let mut analysis = RunAnalysis::new(earlier.projection);
                let mut recorded = earlier.last_iteration;
                let mut last: Option<DiagnosticsReport> = None;
                for snapshot in receiver {
                    if recorded.is_some_and(|i| snapshot.iteration <= i) {
                        continue;
                    }
                    let report = analysis.compute(&snapshot, &split, &spec);
                    let line = report::history_line(&name, &report).map_err(|e| e.to_string())?;
                    writeln!(writer, "{line}")
                        .and_then(|()| writer.flush())
                        .map_err(|e| format!("cannot write ({e}): {}", path.display()))?;
                    recorded = Some(report.iteration);
                    last = Some(report);
                }
                Ok(last)
            })
            .context("starting the diagnostics thread")?;
        Ok(Self { sender, handle })
    }

    /// Waits for the last snapshot's report; `None` when none was recorded.
    fn finish(self) -> Result<Option<DiagnosticsReport>> {
        drop(self.sender);
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("the diagnostics thread panicked"))?
            .map_err(anyhow::Error::msg)
    }
}

/// The history a run resumed from a checkpoint continues: the lines up to the checkpoint of
/// `out/diagnostics.jsonl` or, when there is none, of the `diagnostics.jsonl` next to the
/// experiment file (the output folder of the run that wrote the checkpoint). A history that
/// cannot be used is left behind with a warning that says why: the run starts a new one.
fn earlier_history(session: &Session, out: &Path, file: Option<&Path>) -> report::HistoryPrefix {
    let resumed_at = session.iteration();
    if resumed_at == 0 {
        return report::HistoryPrefix::default();
    }
    let candidates = [
        Some(out.join("diagnostics.jsonl")),
        file.and_then(Path::parent)
            .map(|dir| dir.join("diagnostics.jsonl")),
    ];
    let Some(path) = candidates.into_iter().flatten().find(|p| p.is_file()) else {
        return report::HistoryPrefix::default();
    };
    match report::history_prefix(&path, &session.experiment().name, resumed_at) {
        Ok(prefix) => prefix,
        Err(e) => {
            eprintln!("warning: starting a new diagnostics history: {e}");
            report::HistoryPrefix::default()
        }
    }
}

/// Forwards every event to the progress bar and snapshots to the diagnostics recorder.
struct RecordingSink<'a> {
    progress: &'a mut ProgressSink,
    snapshots: SyncSender<Arc<Snapshot>>,
}

impl EventSink for RecordingSink<'_> {
    fn send(&mut self, event: TrainEvent) {
        if let TrainEvent::Snapshot(snapshot) = &event {
            // Blocks while the helper is busy with the previous snapshot; an error means the
            // helper stopped, which `DiagnosticsRecorder::finish` reports.
            let _ = self.snapshots.send(Arc::clone(snapshot));
        }
        self.progress.send(event);
    }
}

/// Trains to the end. With `diagnostics.every > 0` the first snapshot, one every `every`
/// iterations and the last go to a [`DiagnosticsRecorder`] writing `out/diagnostics.jsonl`;
/// returns the report of the final parameters when one was computed. A failure of the history
/// is a warning: the training results are still written.
fn train_recording(
    session: &mut Session,
    sink: &mut ProgressSink,
    out: &Path,
    file: Option<&Path>,
) -> Result<Option<DiagnosticsReport>> {
    let every = session.experiment().diagnostics.every;
    let control = RunControl::new();
    if every == 0 {
        let options = RunnerOptions {
            snapshot_every: 0,
            ..RunnerOptions::default()
        };
        crate::train::runner::run_loop(session, sink, &control, options);
        return Ok(None);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let earlier = earlier_history(session, out, file);
    let recorder = DiagnosticsRecorder::start(session, &out.join("diagnostics.jsonl"), earlier)?;
    let mut recording = RecordingSink {
        progress: sink,
        snapshots: recorder.sender.clone(),
    };
    recording.send(TrainEvent::Snapshot(session.snapshot()));
    // The recorder computes the diagnostics of every snapshot itself (and holds training back
    // when it lags, so the history is complete), instead of the runner's skip-when-busy analysis.
    let options = RunnerOptions {
        snapshot_every: every,
        snapshot_interval: Duration::ZERO,
        diagnostics: false,
    };
    crate::train::runner::run_loop(session, &mut recording, &control, options);
    drop(recording);
    match recorder.finish() {
        Ok(last) => Ok(last.filter(|r| r.iteration == session.iteration())),
        Err(e) => {
            eprintln!("warning: the diagnostics history is incomplete: {e:#}");
            Ok(None)
        }
    }
}

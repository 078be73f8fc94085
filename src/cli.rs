//! The command line (DESIGN §6): `run`, `check`, `gradcheck`, `export`.
//!
//! Exit codes: 0 success, 1 a run that failed (e.g. diverged), 2 bad input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::experiment::{self, Experiment};
use crate::report;
use crate::train::{EventSink, RunControl, RunnerOptions, Session, TrainEvent};

/// The experiment `cargo run` opens: a ResNet on two spirals.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../experiments/resnet_euler_spirals.ron");

/// flowlab: a workbench for structure-preserving deep learning.
#[derive(Debug, Parser)]
#[command(name = "flowlab", version, about, long_about = None)]
pub struct Cli {
    /// An experiment file to open (without a subcommand).
    pub file: Option<PathBuf>,
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
        }) => run(&file, out, iterations, threads, quiet),
        Some(Command::Check { file }) => check(&file),
        Some(Command::Gradcheck { file, json }) => gradcheck(&file, json),
        Some(Command::Export { file, npz }) => export(&file, &npz),
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

/// Until the workbench exists, `flowlab [FILE]` trains the file (or the built-in default)
/// headless and says so.
fn headless_default(file: Option<&Path>) -> Result<ExitCode> {
    eprintln!(
        "flowlab: the graphical workbench is not built yet; training {} headless instead.",
        file.map_or_else(
            || "the default experiment".to_string(),
            |f| f.display().to_string()
        )
    );
    if let Some(f) = file {
        run(f, None, None, 1, false)
    } else {
        let exp = experiment::io::from_ron_str(DEFAULT_EXPERIMENT).map_err(bad)?;
        train_and_write(exp, None, Path::new("flowlab-out/default"), None, 1, false)
    }
}

fn run(
    file: &Path,
    out: Option<PathBuf>,
    iterations: Option<usize>,
    threads: usize,
    quiet: bool,
) -> Result<ExitCode> {
    let exp = load(file)?;
    let out = out.unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("flowlab-out").join(stem)
    });
    train_and_write(exp, Some(file), &out, iterations, threads, quiet)
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
            TrainEvent::Metrics { .. } | TrainEvent::Snapshot(_) => {}
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
    let control = RunControl::new();
    let mut sink = sink;
    crate::train::runner::run_loop(
        &mut session,
        &mut sink,
        &control,
        RunnerOptions {
            snapshot_every: 0,
            ..RunnerOptions::default()
        },
    );
    let elapsed = sink.started.elapsed().as_secs_f64();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    experiment::io::save(&session.to_experiment(), &out.join("experiment.ron"))?;
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
            "wrote experiment.ron, metrics.csv, params.npz to {}",
            out.display()
        );
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

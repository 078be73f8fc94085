//! `flowlab study run | slurm | status | collect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{StudyCommand, bad};
use crate::experiment::Limits;
use crate::study::folder::{Counts, Manifest};
use crate::study::local::{self, LocalOptions};
use crate::study::slurm::{self, SlurmOptions};
use crate::study::{self, Collected, StudyFolder};

/// Dispatches a study subcommand.
pub(super) fn study(command: StudyCommand, limits: Limits) -> Result<ExitCode> {
    match command {
        StudyCommand::Run {
            study,
            out,
            jobs,
            force,
            quiet,
            checkpoint_every,
        } => run(&study, &out, jobs, force, quiet, checkpoint_every, limits),
        StudyCommand::Slurm {
            study,
            out,
            partition,
            time,
            max_parallel,
            account,
            submit,
            force,
        } => slurm_command(
            &study,
            &out,
            &SlurmOptions {
                partition,
                time,
                account,
                max_parallel,
            },
            submit,
            force,
            limits,
        ),
        StudyCommand::Status { dir } => status(&dir),
        StudyCommand::Collect { dir } => {
            let collected = collect(&StudyFolder::new(dir))?;
            Ok(exit_of(&collected))
        }
    }
}

/// Loads, expands and lays out a study in `out`; errors are bad input.
fn prepare(
    file: &Path,
    out: &Path,
    force: bool,
    limits: Limits,
) -> Result<(StudyFolder, Manifest)> {
    let spec = study::spec::load(file).map_err(bad)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    // Each run trains on one thread.
    let expansion = study::expand(&spec, dir, limits.with_threads(1), force).map_err(bad)?;
    let folder = StudyFolder::new(out);
    let manifest = folder.prepare(&expansion, force).map_err(bad)?;
    eprintln!(
        "study \"{}\": {} runs in {}",
        manifest.name,
        manifest.runs.len(),
        out.join("runs").display()
    );
    Ok((folder, manifest))
}

/// The flowlab binary running now (the runs run the same one).
fn this_binary() -> Result<PathBuf> {
    std::env::current_exe().context("cannot tell where the flowlab binary is")
}

fn run(
    file: &Path,
    out: &Path,
    jobs: Option<usize>,
    force: bool,
    quiet: bool,
    checkpoint_every: f64,
    limits: Limits,
) -> Result<ExitCode> {
    if jobs == Some(0) {
        return Err(bad(anyhow::anyhow!("--jobs must be at least 1")));
    }
    let (folder, manifest) = prepare(file, out, force, limits)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let bar = local::Bar::new(manifest.runs.len(), quiet);
    let options = LocalOptions {
        jobs,
        exe: this_binary()?,
        checkpoint_every,
        stop: None,
    };
    let report = local::run_local(&folder, &manifest, &options, &bar).map_err(bad)?;
    bar.finish();
    if report.skipped > 0 {
        eprintln!(
            "{} runs had finished before and were skipped",
            report.skipped
        );
    }
    if !report.interrupted.is_empty() {
        eprintln!(
            "{} runs were interrupted; run the study again to resume them",
            report.interrupted.len()
        );
    }
    let collected = collect(&folder)?;
    Ok(exit_of(&collected))
}

fn slurm_command(
    file: &Path,
    out: &Path,
    options: &SlurmOptions,
    submit: bool,
    force: bool,
    limits: Limits,
) -> Result<ExitCode> {
    if options.max_parallel == Some(0) {
        return Err(bad(anyhow::anyhow!("--max-parallel must be at least 1")));
    }
    let (folder, manifest) = prepare(file, out, force, limits)?;
    let script = slurm::write_script(&folder, &manifest, &this_binary()?, options).map_err(bad)?;
    eprintln!("wrote {}", script.display());
    if submit {
        let id = slurm::submit(&folder).map_err(|e| anyhow::anyhow!(e))?;
        println!("{id}");
        eprintln!(
            "submitted job array {id}; follow it with: flowlab study status {}",
            out.display()
        );
    } else {
        eprintln!("submit it with: sbatch {}", script.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn status(dir: &Path) -> Result<ExitCode> {
    let folder = StudyFolder::new(dir);
    let manifest = folder.manifest().map_err(bad)?;
    let states: Vec<_> = manifest.runs.iter().map(|run| folder.state(run)).collect();
    let counts = Counts::of(states.iter());
    println!("{}: {} runs: {counts}", manifest.name, manifest.runs.len());
    for (run, state) in manifest.runs.iter().zip(&states) {
        match state {
            study::RunState::Failed(status) => println!(
                "  run {} failed ({}): {}",
                run.index,
                study::expand::describe(&run.settings),
                status.message.lines().last().unwrap_or_default()
            ),
            study::RunState::Broken(message) => {
                println!("  run {} broken: {message}", run.index);
            }
            _ => {}
        }
    }
    if let Some(job) = slurm::job_id(&folder)
        && let Some(tasks) = slurm::queued_tasks(&job)
    {
        println!("Slurm job {job}: {} tasks in the queue", tasks.len());
        for task in tasks {
            println!("  task {task}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Collects and says what was written and what is missing.
fn collect(folder: &StudyFolder) -> Result<Collected> {
    let collected = study::collect(folder).map_err(bad)?;
    eprintln!("{}", collected.counts);
    let missing = collected.missing();
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(20)
            .map(|(i, state)| format!("{i} ({state})"))
            .collect();
        eprintln!(
            "not done: {}{}",
            shown.join(", "),
            if missing.len() > 20 { ", ..." } else { "" }
        );
    }
    for skipped in &collected.skipped_figures {
        eprintln!("warning: figure {skipped}");
    }
    eprintln!(
        "wrote results.csv, summary.csv and {} figure files to {}",
        collected.written.len().saturating_sub(2),
        folder.dir.display()
    );
    Ok(collected)
}

/// 0 when every run is done, 1 when some failed or are not done.
fn exit_of(collected: &Collected) -> ExitCode {
    if collected.counts.done == collected.rows.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

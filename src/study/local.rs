//! Running a study on this machine: each unfinished run as its own `flowlab run` process (the
//! command a Slurm task runs), N at a time, single-threaded. A run that fails is recorded and
//! the study goes on; a run interrupted (Ctrl-C, kill, power loss) resumes from its checkpoint
//! the next time.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::StudyError;
use super::folder::{Counts, Manifest, ManifestRun, RunState, StudyFolder};

/// How to run a study here.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Runs at once (≥ 1).
    pub jobs: usize,
    /// The flowlab binary that runs each run.
    pub exe: PathBuf,
    /// Seconds between the checkpoints of a run (`flowlab run --checkpoint-every`).
    pub checkpoint_every: f64,
    /// Set to stop: no run starts after it, and the runs running are ended as an interruption
    /// would end them (they resume from their checkpoints the next time). `None`: the runs are
    /// only waited for (the command line, where Ctrl-C reaches every process).
    pub stop: Option<Arc<AtomicBool>>,
}

impl LocalOptions {
    /// Whether [`LocalOptions::stop`] is set.
    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }
}

/// What happened to the runs of one [`run_local`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalReport {
    /// Runs started now.
    pub started: usize,
    /// Runs finished earlier and skipped.
    pub skipped: usize,
    /// How every run stands afterwards.
    pub counts: Counts,
    /// Runs that ended by a signal (interrupted): left to resume.
    pub interrupted: Vec<usize>,
}

/// What the progress display hears.
pub trait Progress: Sync {
    /// A run started or ended; the counts so far and the runs running now.
    fn update(&self, counts: Counts, running: usize);
}

/// No progress display.
impl Progress for () {
    fn update(&self, _: Counts, _: usize) {}
}

/// Lines of a failed run's stderr kept as its message.
const MESSAGE_LINES: usize = 6;

/// Runs every unfinished run of the study in `folder` (prepared: [`StudyFolder::prepare`]).
pub fn run_local(
    folder: &StudyFolder,
    manifest: &Manifest,
    options: &LocalOptions,
    progress: &dyn Progress,
) -> Result<LocalReport, StudyError> {
    if options.jobs == 0 {
        return Err(StudyError::Folder("--jobs must be at least 1".to_owned()));
    }
    let states: Vec<RunState> = manifest.runs.iter().map(|run| folder.state(run)).collect();
    let todo: Vec<&ManifestRun> = manifest
        .runs
        .iter()
        .zip(&states)
        .filter(|(_, state)| !state.is_finished())
        .map(|(run, _)| run)
        .collect();
    let skipped = manifest.runs.len() - todo.len();
    let states = Mutex::new(states);
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let interrupted = Mutex::new(Vec::new());
    let first_error = Mutex::new(None);
    let report = |states: &Mutex<Vec<RunState>>| {
        let counts = Counts::of(states.lock().map(|s| s.clone()).unwrap_or_default().iter());
        progress.update(counts, running.load(Ordering::SeqCst));
    };
    report(&states);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(todo.len()) {
            scope.spawn(|| {
                loop {
                    if options.stopping() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(run) = todo.get(i) else {
                        return;
                    };
                    running.fetch_add(1, Ordering::SeqCst);
                    report(&states);
                    let outcome = run_one(folder, run, options);
                    running.fetch_sub(1, Ordering::SeqCst);
                    match outcome {
                        Ok(Ended::Interrupted) => {
                            if let Ok(mut list) = interrupted.lock() {
                                list.push(run.index);
                            }
                        }
                        Ok(Ended::Finished) => {}
                        Err(e) => {
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            return;
                        }
                    }
                    if let Ok(mut states) = states.lock() {
                        states[run.index] = folder.state(run);
                    }
                    report(&states);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let states = states.into_inner().unwrap_or_default();
    let mut interrupted = interrupted.into_inner().unwrap_or_default();
    interrupted.sort_unstable();
    Ok(LocalReport {
        started: todo.len(),
        skipped,
        counts: Counts::of(states.iter()),
        interrupted,
    })
}

/// How one run's process ended.
enum Ended {
    /// It exited (0, 1, or with a failure recorded here).
    Finished,
    /// A signal ended it: the run resumes next time.
    Interrupted,
}

/// Runs one run as `flowlab run FILE --out DIR --quiet`; records an exit that did not write its
/// own status (bad input, a crash).
fn run_one(
    folder: &StudyFolder,
    run: &ManifestRun,
    options: &LocalOptions,
) -> Result<Ended, StudyError> {
    let dir = folder.run_dir(run);
    let spawn_error = |e: std::io::Error| {
        StudyError::Folder(format!(
            "cannot start {} for run {} ({e})",
            options.exe.display(),
            run.index
        ))
    };
    let mut child = Command::new(&options.exe)
        .arg("run")
        .arg(dir.join("experiment.ron"))
        .arg("--out")
        .arg(&dir)
        .arg("--quiet")
        .arg("--threads")
        .arg("1")
        .arg("--checkpoint-every")
        .arg(options.checkpoint_every.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let stderr = child.stderr.take();
    let mut killed = false;
    let (status, tail) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| stderr.map(last_lines).unwrap_or_default());
        let status = match &options.stop {
            None => child.wait(),
            Some(stop) => loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) if stop.load(Ordering::SeqCst) => {
                        // Ended as an interruption ends it; `wait` reaps it below.
                        let _ = child.kill();
                        killed = true;
                        break child.wait();
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    Err(e) => break Err(e),
                }
            },
        };
        (status, reader.join().unwrap_or_default())
    });
    let status = status.map_err(spawn_error)?;
    let message = tail.into_iter().collect::<Vec<_>>().join("\n");
    if killed {
        return Ok(Ended::Interrupted);
    }
    match status.code() {
        None => Ok(Ended::Interrupted),
        Some(0 | 1) if matches!(folder.state(run), RunState::Done(_) | RunState::Failed(_)) => {
            Ok(Ended::Finished)
        }
        Some(code) => {
            let message = if message.is_empty() {
                format!("flowlab run exited with code {code} and no message")
            } else {
                message
            };
            folder.record_failure(run, code, message)?;
            Ok(Ended::Finished)
        }
    }
}

/// The last [`MESSAGE_LINES`] lines of what a run writes to stderr, however much it writes.
fn last_lines(mut stderr: impl Read) -> VecDeque<String> {
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut text = String::new();
    let mut buffer = [0_u8; 8192];
    while let Ok(n) = stderr.read(&mut buffer) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        while let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            tail.push_back(line.trim_end().to_owned());
            if tail.len() > MESSAGE_LINES {
                tail.pop_front();
            }
        }
    }
    if !text.trim().is_empty() {
        tail.push_back(text.trim_end().to_owned());
        if tail.len() > MESSAGE_LINES {
            tail.pop_front();
        }
    }
    tail
}

/// A progress display on the terminal: done / failed / running, elapsed, estimate.
pub struct Bar {
    inner: indicatif::ProgressBar,
    started: Instant,
    first_done: Mutex<Option<usize>>,
}

impl Bar {
    /// A bar over `total` runs (hidden when `quiet`).
    #[must_use]
    pub fn new(total: usize, quiet: bool) -> Self {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} {pos}/{len} runs  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        };
        Self {
            inner: bar,
            started: Instant::now(),
            first_done: Mutex::new(None),
        }
    }

    /// Ends the display.
    pub fn finish(&self) {
        self.inner.finish();
    }
}

impl Progress for Bar {
    fn update(&self, counts: Counts, running: usize) {
        let finished = counts.done + counts.failed;
        self.inner.set_position(finished as u64);
        // The estimate counts only runs finished during this invocation.
        let mut first = self.first_done.lock().ok();
        let base = first
            .as_mut()
            .map_or(finished, |slot| *slot.get_or_insert(finished));
        let total = usize::try_from(self.inner.length().unwrap_or(0)).unwrap_or(usize::MAX);
        let new = finished.saturating_sub(base);
        let estimate = if new > 0 {
            let per_run = self.started.elapsed().as_secs_f64() / new as f64;
            let left = total.saturating_sub(finished) as f64 * per_run;
            format!(", about {} left", format_seconds(left))
        } else {
            String::new()
        };
        self.inner.set_message(format!(
            "done {}, failed {}, running {running}{estimate}",
            counts.done, counts.failed
        ));
    }
}

/// `1 h 03 min`, `4 min 10 s`, `12 s`.
fn format_seconds(seconds: f64) -> String {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a duration in seconds, not negative, far below u64::MAX"
    )]
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

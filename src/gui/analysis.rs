//! Work on a background thread: the workbench hands it the newest job (a snapshot of the model
//! with its data), the thread computes and sends the result back with a wake-up. Only the
//! newest job waits: a job that was not started when a newer one arrives is dropped, so the
//! thread never falls behind training and the UI thread never computes.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use eframe::egui::TextureHandle;

use crate::data::Split;
use crate::diagnostics::{self, DiagnosticsReport, Projection};
use crate::experiment::DiagnosticsSpec;
use crate::train::Snapshot;

/// The slot holding the next job, and whether the owner is gone.
struct Slot<J> {
    job: Option<(u64, J)>,
    closed: bool,
}

/// A background thread that computes `R` from jobs `J`, newest job first.
pub struct Background<J, R> {
    slot: Arc<(Mutex<Slot<J>>, Condvar)>,
    results: Receiver<(u64, Result<R, String>)>,
    thread: Option<JoinHandle<()>>,
    next_id: u64,
    pending: Option<u64>,
}

impl<J, R> std::fmt::Debug for Background<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> Background<J, R> {
    /// Starts a thread named `name` that runs `compute` on each job and calls `waker` after
    /// each result.
    pub fn spawn(
        name: &str,
        compute: impl Fn(J) -> Result<R, String> + Send + 'static,
        waker: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let slot = Arc::new((
            Mutex::new(Slot {
                job: None,
                closed: false,
            }),
            Condvar::new(),
        ));
        let (sender, results) = std::sync::mpsc::channel();
        let thread_slot = Arc::clone(&slot);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || worker_loop(&thread_slot, &compute, &sender, &*waker))?;
        Ok(Self {
            slot,
            results,
            thread: Some(thread),
            next_id: 0,
            pending: None,
        })
    }

    /// Replaces the waiting job (if any) by `job`.
    pub fn submit(&mut self, job: J) {
        let (lock, wake) = &*self.slot;
        let mut slot = lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.next_id += 1;
        slot.job = Some((self.next_id, job));
        self.pending = Some(self.next_id);
        wake.notify_all();
    }

    /// The newest finished result, if one arrived since the last call.
    pub fn poll(&mut self) -> Option<Result<R, String>> {
        let mut newest = None;
        while let Ok((id, result)) = self.results.try_recv() {
            if self.pending == Some(id) {
                self.pending = None;
            }
            newest = Some(result);
        }
        newest
    }

    /// Whether a job was submitted whose result has not arrived yet.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }
}

fn worker_loop<J, R>(
    slot: &(Mutex<Slot<J>>, Condvar),
    compute: &impl Fn(J) -> Result<R, String>,
    sender: &Sender<(u64, Result<R, String>)>,
    waker: &(dyn Fn() + Send + Sync),
) {
    let (lock, wake) = slot;
    loop {
        let (id, job) = {
            let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if guard.closed {
                    return;
                }
                if let Some(job) = guard.job.take() {
                    break job;
                }
                guard = wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let result = compute(job);
        if sender.send((id, result)).is_err() {
            return;
        }
        waker();
    }
}

impl<J, R> Drop for Background<J, R> {
    fn drop(&mut self) {
        let (lock, wake) = &*self.slot;
        if let Ok(mut slot) = lock.lock() {
            slot.closed = true;
            slot.job = None;
        }
        wake.notify_all();
        // Not joined: a long computation may still be running; it ends on its own and its
        // result goes nowhere.
        drop(self.thread.take());
    }
}

// ------------------------------------------------------------------------------------------------
// Diagnostics of the current model.

/// While training, diagnostics are asked for at most this often: a fast run would otherwise
/// keep the diagnostics thread busy all the time, and on a 2-core machine the UI thread would
/// wait for a core behind it and the trainer. Four pictures a second still look live.
pub const MIN_INTERVAL_WHILE_TRAINING: std::time::Duration = std::time::Duration::from_millis(250);

/// One diagnostics computation: a snapshot of a model of one run.
pub struct DiagnosticsJob {
    snapshot: Arc<Snapshot>,
    split: Arc<Split>,
    spec: DiagnosticsSpec,
    projection: Option<Projection>,
    generation: u64,
    run: Option<usize>,
}

/// A finished computation, tagged like its job.
pub struct DiagnosticsResult {
    report: DiagnosticsReport,
    generation: u64,
    run: Option<usize>,
}

/// The diagnostics the panels show, and the background thread that computes them from the
/// runner's snapshots.
pub struct DiagnosticsState {
    background: Result<Background<DiagnosticsJob, DiagnosticsResult>, String>,
    /// The newest report of the current model.
    pub report: Option<Arc<DiagnosticsReport>>,
    /// The newest report of each run (by run number), for overlays.
    pub by_run: BTreeMap<usize, Arc<DiagnosticsReport>>,
    /// The feature-trajectory projection of the current model's first report (kept so the
    /// picture does not rotate while training).
    projection: Option<Projection>,
    /// Bumped when the model changes: results of older models are dropped.
    generation: u64,
    last_requested: Option<usize>,
    /// When the last computation was asked for (the rate limit while training).
    last_requested_at: Option<Instant>,
    /// The decision boundary as a texture, with the report iteration it shows.
    pub boundary_texture: Option<(usize, TextureHandle)>,
    /// The layer shown by the feature-trajectories panel (at most the last; `usize::MAX` until
    /// the user picks one, so a new model shows its final layer).
    pub layer: usize,
    /// Whether the feature-trajectories panel plays through the layers.
    pub playing: bool,
    /// When the playing layer last advanced.
    pub last_tick: Option<Instant>,
    /// Whether diagnostics are computed at all (View ▸ Live diagnostics).
    live: bool,
}

impl std::fmt::Debug for DiagnosticsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagnosticsState")
            .field("iteration", &self.report.as_ref().map(|r| r.iteration))
            .field("busy", &self.is_busy())
            .finish_non_exhaustive()
    }
}

impl DiagnosticsState {
    /// Starts the diagnostics thread (`flowlab-diagnostics`); `waker` asks for a frame.
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        let background = Background::spawn(
            "flowlab-diagnostics",
            |job: DiagnosticsJob| {
                let report = diagnostics::compute_with_projection(
                    &job.snapshot,
                    &job.split,
                    &job.spec,
                    job.projection.as_ref(),
                );
                Ok(DiagnosticsResult {
                    report,
                    generation: job.generation,
                    run: job.run,
                })
            },
            waker,
        )
        .map_err(|e| format!("could not start the diagnostics thread: {e}"));
        Self {
            background,
            report: None,
            by_run: BTreeMap::new(),
            projection: None,
            generation: 0,
            last_requested: None,
            last_requested_at: None,
            boundary_texture: None,
            layer: usize::MAX,
            playing: false,
            last_tick: None,
            live: true,
        }
    }

    /// Switches the computation on or off; returns whether it was switched on (the caller then
    /// asks for the current model's diagnostics).
    pub fn set_live(&mut self, live: bool) -> bool {
        if live == self.live {
            return false;
        }
        self.live = live;
        if !live {
            self.generation += 1;
            self.report = None;
            self.boundary_texture = None;
            self.last_requested = None;
        }
        live
    }

    /// Forgets the current model's report (a new model is current).
    pub fn reset_model(&mut self) {
        self.generation += 1;
        self.report = None;
        self.projection = None;
        self.last_requested = None;
        self.boundary_texture = None;
        self.layer = usize::MAX;
        self.playing = false;
    }

    /// Why there are no diagnostics at all (switched off, or the thread could not start).
    #[must_use]
    pub fn unavailable(&self) -> Option<&str> {
        if self.live {
            self.background.as_ref().err().map(String::as_str)
        } else {
            Some("diagnostics are switched off (View ▸ Live diagnostics)")
        }
    }

    /// Whether a computation is on its way.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.background.as_ref().is_ok_and(Background::is_busy)
    }

    /// Computes the diagnostics of `snapshot` (replacing a computation that has not started).
    pub fn request(
        &mut self,
        snapshot: &Arc<Snapshot>,
        split: &Arc<Split>,
        spec: &DiagnosticsSpec,
        run: Option<usize>,
    ) {
        let Ok(background) = &mut self.background else {
            return;
        };
        if !self.live {
            return;
        }
        background.submit(DiagnosticsJob {
            snapshot: Arc::clone(snapshot),
            split: Arc::clone(split),
            spec: spec.clone(),
            projection: self.projection.clone(),
            generation: self.generation,
            run,
        });
        self.last_requested = Some(snapshot.iteration);
        self.last_requested_at = Some(Instant::now());
    }

    /// Computes the diagnostics of `snapshot` when due: every `spec.every` iterations while
    /// training but at most every [`MIN_INTERVAL_WHILE_TRAINING`], and whenever training rests
    /// at an iteration not yet diagnosed.
    pub fn request_if_due(
        &mut self,
        snapshot: &Arc<Snapshot>,
        split: &Arc<Split>,
        spec: &DiagnosticsSpec,
        run: Option<usize>,
        training: bool,
    ) {
        let iteration = snapshot.iteration;
        let due = match self.last_requested {
            None => true,
            Some(last) if training => {
                spec.every > 0
                    && iteration >= last + spec.every
                    && self
                        .last_requested_at
                        .is_none_or(|t| t.elapsed() >= MIN_INTERVAL_WHILE_TRAINING)
            }
            Some(last) => iteration != last,
        };
        if due {
            self.request(snapshot, split, spec, run);
        }
    }

    /// Takes a finished report, if one arrived; returns whether the panels changed.
    pub fn poll(&mut self) -> bool {
        let Ok(background) = &mut self.background else {
            return false;
        };
        let Some(Ok(result)) = background.poll() else {
            return false;
        };
        if result.generation != self.generation {
            return false;
        }
        let report = Arc::new(result.report);
        if self.projection.is_none()
            && let Some(trajectories) = report.trajectories.computed()
        {
            self.projection = Some(trajectories.projection.clone());
        }
        if let Some(run) = result.run {
            self.by_run.insert(run, Arc::clone(&report));
        }
        self.report = Some(report);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn results_come_back_and_only_the_newest_waiting_job_runs() {
        let mut bg = Background::spawn(
            "flowlab-test-background",
            |x: u32| {
                std::thread::sleep(Duration::from_millis(20));
                Ok(x * 2)
            },
            Arc::new(|| {}),
        )
        .expect("thread");
        for x in 0..10 {
            bg.submit(x);
        }
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < Duration::from_secs(5) {
            if let Some(r) = bg.poll() {
                last = Some(r);
            }
            if last == Some(Ok(18)) && !bg.is_busy() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(last, Some(Ok(18)));
        assert!(!bg.is_busy());
    }
}

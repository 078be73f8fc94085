//! The diagnostics the panels show, computed on a background thread from the runner's
//! snapshots: the workbench hands it the newest job (a snapshot of the model with its data);
//! a job that was not started when a newer one arrives is dropped ([`Latest`]), so the thread
//! never falls behind training and the UI thread never computes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui::TextureHandle;

use crate::data::Split;
use crate::diagnostics::{self, DiagnosticsReport, DiagnosticsSpec, Projection};
use crate::train::Snapshot;
use crate::train::background::{Latest, Waker};

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
    background: Result<Latest<DiagnosticsJob, DiagnosticsResult>, String>,
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
    pub fn new(waker: Waker) -> Self {
        let background = Latest::spawn(
            "flowlab-diagnostics",
            |job: DiagnosticsJob| {
                let report = diagnostics::compute_with_projection(
                    &job.snapshot,
                    &job.split,
                    &job.spec,
                    job.projection.as_ref(),
                );
                DiagnosticsResult {
                    report,
                    generation: job.generation,
                    run: job.run,
                }
            },
            Some(waker),
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
        self.background.as_ref().is_ok_and(Latest::is_busy)
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
        let Some(result) = background.poll() else {
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

//! What the worker reports: the run state, the runs list entries, the training clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use eframe::egui::Color32;

use crate::train::Record;

/// Where the current model stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// The experiment has problems: no model.
    Invalid,
    /// A model is ready and has not trained in this window yet (fresh or reopened).
    Ready,
    /// Training on the runner thread.
    Running,
    /// The runner waits (Resume or Step).
    Paused,
    /// Stop was asked for; the runner finishes its iteration.
    Stopping,
    /// The run was stopped; Train continues it.
    Stopped,
    /// The iteration count was reached.
    Completed,
    /// The run failed (diverged, an implicit solve did not converge); the last good parameters
    /// are kept.
    Failed,
}

impl RunState {
    /// The word the status bar shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Invalid => "invalid settings",
            Self::Ready => "ready",
            Self::Running => "training",
            Self::Paused => "paused",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Whether a runner thread exists.
    #[must_use]
    pub fn is_active(self) -> bool {
        matches!(self, Self::Running | Self::Paused | Self::Stopping)
    }
}

/// One model trained in this window: its settings, colour and history.
#[derive(Clone, Debug)]
pub struct Run {
    /// 1-based number in the runs list.
    pub number: usize,
    /// Short description of its settings (field, integrator, constraint, ...).
    pub label: String,
    /// Colour of its curves.
    pub color: Color32,
    /// The history (one record per iteration; accuracies where evaluated).
    pub history: Vec<Record>,
    /// Whether its curves are overlaid on the comparison plots.
    pub visible: bool,
    /// How it ended, once it has ("completed", "stopped at 120", "failed: ...").
    pub outcome: Option<String>,
}

impl Run {
    /// The last record with a training accuracy.
    #[must_use]
    pub fn last_accuracy(&self) -> (Option<f64>, Option<f64>) {
        let last = self
            .history
            .iter()
            .rev()
            .find(|r| r.train_accuracy.is_some());
        (
            last.and_then(|r| r.train_accuracy),
            last.and_then(|r| r.test_accuracy),
        )
    }
}

/// Wall time spent training and a recent iteration rate.
#[derive(Debug, Default)]
pub(super) struct Clock {
    elapsed: Duration,
    since: Option<Instant>,
    samples: VecDeque<(Instant, usize)>,
}

impl Clock {
    pub(super) fn start(&mut self) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
        }
    }

    pub(super) fn stop(&mut self) {
        if let Some(since) = self.since.take() {
            self.elapsed += since.elapsed();
        }
        self.samples.clear();
    }

    pub(super) fn reset(&mut self) {
        *self = Self::default();
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.elapsed + self.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    pub(super) fn record(&mut self, iteration: usize) {
        let now = Instant::now();
        self.samples.push_back((now, iteration));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(2))
        {
            self.samples.pop_front();
        }
    }

    pub(super) fn rate(&self) -> Option<f64> {
        self.since?;
        let (t0, i0) = self.samples.front()?;
        let (t1, i1) = self.samples.back()?;
        let dt = t1.duration_since(*t0).as_secs_f64();
        (dt > 0.05).then(|| (i1 - i0) as f64 / dt)
    }
}

//! The bridge to the engine's trainer: owns the [`Session`] while nothing trains, the
//! [`Runner`] while something does, drains its events with a time budget and keeps the runs
//! list (every model trained in this window, with its history and colour).
//!
//! Stopping is not losing: a stopped run gives its session back, and Train continues it. Saving
//! or exporting while a run trains stops it, uses the session and starts it again, so the run goes
//! on from exactly where it was.

mod state;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::data::Split;
use crate::train::{
    ChannelSink, FinishReason, Record, RunControl, Runner, RunnerOptions, Session, Snapshot,
    TrainError, TrainEvent,
};
use state::Clock;
pub use state::{Run, RunState};

/// Room in the event channel; steps beyond it are dropped (the history is refreshed from the
/// session when the run gives it back).
const CHANNEL_CAPACITY: usize = 4096;

/// How long a synchronous stop may take before the workbench gives up waiting (a step of a
/// large model with an implicit integrator can take a while).
const RECLAIM_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the current model's run failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Failure {
    /// Training failed (diverged, an implicit solve did not converge); the last good parameters
    /// are kept.
    #[error("{0}")]
    Run(TrainError),
    /// The trainer thread ended without giving its session back.
    #[error("the trainer thread panicked (a bug in flowlab)")]
    TrainerPanicked,
}

/// The trainer bridge: session or runner, events, state, runs.
pub struct Worker {
    waker: Arc<dyn Fn() + Send + Sync>,
    session: Option<Session>,
    runner: Option<Runner>,
    events: Option<Receiver<TrainEvent>>,
    state: RunState,
    failure: Option<Failure>,
    iteration: usize,
    total: usize,
    snapshot: Option<Arc<Snapshot>>,
    split: Option<Arc<Split>>,
    clock: Clock,
    runs: Vec<Run>,
    current: Option<usize>,
    next_number: usize,
    label: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("state", &self.state)
            .field("iteration", &self.iteration)
            .field("runs", &self.runs.len())
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with no model; `waker` is called from the trainer thread after each event.
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            waker,
            session: None,
            runner: None,
            events: None,
            state: RunState::Invalid,
            failure: None,
            iteration: 0,
            total: 0,
            snapshot: None,
            split: None,
            clock: Clock::default(),
            runs: Vec::new(),
            current: None,
            next_number: 1,
            label: String::new(),
        }
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> RunState {
        self.state
    }

    /// Iterations done by the current model.
    #[must_use]
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// The iteration count the run trains to.
    #[must_use]
    pub fn total(&self) -> usize {
        self.total
    }

    /// The last failure, while the failed model is current.
    #[must_use]
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The newest copy of the model (the initial one before training).
    #[must_use]
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// The current model's data.
    #[must_use]
    pub fn split(&self) -> Option<&Arc<Split>> {
        self.split.as_ref()
    }

    /// Wall time spent training the current model in this window.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// Iterations per second over the last two seconds, while training.
    #[must_use]
    pub fn rate(&self) -> Option<f64> {
        self.clock.rate()
    }

    /// Every run, oldest first (the current one last).
    #[must_use]
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Every run, to toggle their overlays.
    pub fn runs_mut(&mut self) -> &mut [Run] {
        &mut self.runs
    }

    /// The current model's run.
    #[must_use]
    pub fn current_run(&self) -> Option<&Run> {
        self.current.and_then(|i| self.runs.get(i))
    }

    /// The current model's history.
    #[must_use]
    pub fn history(&self) -> &[Record] {
        self.current_run().map_or(&[], |r| r.history.as_slice())
    }

    /// Whether a model exists that has trained (a run that would be lost by rebuilding it).
    #[must_use]
    pub fn has_progress(&self) -> bool {
        self.state.is_active() || self.iteration > 0
    }

    /// Whether Train would do something.
    #[must_use]
    pub fn can_train(&self) -> bool {
        matches!(
            self.state,
            RunState::Ready | RunState::Stopped | RunState::Failed | RunState::Completed
        ) && self.iteration < self.total
    }

    /// Whether Pause/Resume would do something.
    #[must_use]
    pub fn can_pause(&self) -> bool {
        matches!(self.state, RunState::Running | RunState::Paused)
    }

    /// Whether Step would do something.
    #[must_use]
    pub fn can_step(&self) -> bool {
        (self.state == RunState::Paused || self.can_train()) && self.iteration < self.total
    }

    /// Whether Stop would do something.
    #[must_use]
    pub fn can_stop(&self) -> bool {
        matches!(self.state, RunState::Running | RunState::Paused)
    }

    /// Makes `session` the current model, ending (and keeping in the list) the current run.
    /// `label` describes its settings for the runs list.
    pub fn install(&mut self, session: Session, label: String) {
        self.discard_current();
        self.iteration = session.iteration();
        self.total = session.training().iterations;
        self.snapshot = Some(session.snapshot());
        self.split = Some(Arc::new(session.split().clone()));
        self.state = if self.iteration > 0 && self.iteration >= self.total {
            RunState::Completed
        } else {
            RunState::Ready
        };
        self.failure = None;
        self.clock.reset();
        self.label = label;
        if !session.history().is_empty() {
            self.open_run(session.history().to_vec());
        }
        self.session = Some(session);
    }

    /// No model (the experiment has problems); the current run stays in the list.
    pub fn clear(&mut self) {
        self.discard_current();
        self.state = RunState::Invalid;
        self.failure = None;
        self.iteration = 0;
        self.total = 0;
        self.snapshot = None;
        self.split = None;
        self.clock.reset();
    }

    /// Ends the current model: stops its runner, marks its run finished and forgets the session.
    fn discard_current(&mut self) {
        if self.runner.is_some() {
            self.reclaim();
        }
        if let Some(run) = self.current.and_then(|i| self.runs.get_mut(i))
            && run.outcome.is_none()
        {
            run.outcome = Some(format!("ended at iteration {}", self.iteration));
        }
        self.current = None;
        self.session = None;
    }

    fn open_run(&mut self, history: Vec<Record>) {
        let number = self.next_number;
        self.next_number += 1;
        let color = super::palette::nth(number - 1);
        self.runs.push(Run {
            number,
            label: self.label.clone(),
            color,
            history,
            visible: true,
            outcome: None,
        });
        self.current = Some(self.runs.len() - 1);
    }

    /// Sets the iteration count of the current model (the training settings' Iterations).
    pub fn set_total_iterations(&mut self, iterations: usize) {
        self.with_session(|s| s.set_total_iterations(iterations));
        self.total = iterations;
        if self.state == RunState::Completed && self.iteration < iterations {
            self.state = RunState::Stopped;
        }
    }

    /// Starts training (or continues a stopped, failed or reopened run) on the runner thread.
    pub fn train(&mut self) -> Result<(), String> {
        if !self.can_train() {
            return Err(self.why_not_train());
        }
        self.spawn(false)
    }

    /// Pauses a running run or resumes a paused one.
    pub fn toggle_pause(&mut self) {
        let Some(runner) = &self.runner else { return };
        match self.state {
            RunState::Running => {
                runner.control().pause();
                self.state = RunState::Paused;
                self.clock.stop();
            }
            RunState::Paused => {
                runner.control().resume();
                self.state = RunState::Running;
                self.clock.start();
            }
            _ => {}
        }
    }

    /// Does one iteration and pauses (starting a paused runner when nothing trains).
    pub fn step(&mut self) -> Result<(), String> {
        if self.state == RunState::Paused {
            if let Some(runner) = &self.runner {
                runner.control().step_once();
            }
            return Ok(());
        }
        if !self.can_train() {
            return Err(self.why_not_train());
        }
        self.spawn(true)?;
        if let Some(runner) = &self.runner {
            runner.control().step_once();
        }
        Ok(())
    }

    /// Asks the run to end after its current iteration.
    pub fn stop(&mut self) {
        if let Some(runner) = &self.runner
            && self.can_stop()
        {
            runner.control().stop();
            self.state = RunState::Stopping;
        }
    }

    fn why_not_train(&self) -> String {
        match self.state {
            RunState::Invalid => "the experiment has problems; fix them first".into(),
            s if s.is_active() => "a run is already in progress".into(),
            _ if self.iteration >= self.total => format!(
                "the run reached its {} iterations; raise Iterations to continue or Reset",
                self.total
            ),
            _ => "nothing to train".into(),
        }
    }

    fn spawn(&mut self, paused: bool) -> Result<(), String> {
        let Some(session) = self.session.take() else {
            return Err("no model to train".into());
        };
        if self.current.is_none() {
            self.open_run(session.history().to_vec());
        }
        if let Some(run) = self.current.and_then(|i| self.runs.get_mut(i)) {
            run.outcome = None;
        }
        let waker = Arc::clone(&self.waker);
        let (sink, events) = ChannelSink::new(CHANNEL_CAPACITY, Some(Box::new(move || waker())));
        let control = RunControl::new();
        if paused {
            control.pause();
        }
        // The workbench analyses snapshots on its own thread (which also serves models with no
        // run: a reopened checkpoint, a fresh initialisation).
        let options = RunnerOptions {
            snapshot_every: 1,
            snapshot_interval: Duration::from_millis(100),
            checkpoint_interval: None,
        };
        match Runner::spawn(session, sink, control, options) {
            Ok(runner) => {
                self.runner = Some(runner);
                self.events = Some(events);
                self.failure = None;
                self.state = if paused {
                    RunState::Paused
                } else {
                    self.clock.start();
                    RunState::Running
                };
                Ok(())
            }
            Err(e) => Err(format!("could not start the trainer thread: {e}")),
        }
    }

    /// Handles the runner's events for at most `budget`; returns the snapshots that arrived
    /// (newest last) and whether events are left for the next frame.
    pub fn poll(&mut self, budget: Duration) -> (Vec<Arc<Snapshot>>, bool) {
        let start = Instant::now();
        let mut snapshots = Vec::new();
        let mut more = false;
        let mut ended = false;
        if let Some(events) = &self.events {
            loop {
                if start.elapsed() > budget {
                    more = true;
                    break;
                }
                match events.try_recv() {
                    Ok(event) => {
                        ended |= matches!(
                            event,
                            TrainEvent::Finished { .. } | TrainEvent::Failed { .. }
                        );
                        Self::handle(
                            event,
                            &mut HandleTarget {
                                state: &mut self.state,
                                failure: &mut self.failure,
                                iteration: &mut self.iteration,
                                total: &mut self.total,
                                snapshot: &mut self.snapshot,
                                clock: &mut self.clock,
                                run: self.current.and_then(|i| self.runs.get_mut(i)),
                            },
                            &mut snapshots,
                        );
                        if ended {
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            }
        }
        if ended {
            self.join();
        }
        (snapshots, more)
    }

    fn handle(event: TrainEvent, t: &mut HandleTarget<'_>, snapshots: &mut Vec<Arc<Snapshot>>) {
        match event {
            TrainEvent::Started { iteration, total } => {
                *t.iteration = iteration;
                *t.total = total;
            }
            TrainEvent::Step(report) => {
                let record = report.record;
                *t.iteration = (*t.iteration).max(record.iteration);
                t.clock.record(record.iteration);
                if let Some(run) = t.run.as_deref_mut()
                    && run
                        .history
                        .last()
                        .is_none_or(|r| r.iteration < record.iteration)
                {
                    run.history.push(record);
                }
            }
            TrainEvent::Snapshot(snapshot) => {
                *t.iteration = (*t.iteration).max(snapshot.iteration);
                *t.snapshot = Some(Arc::clone(&snapshot));
                snapshots.push(snapshot);
            }
            // The workbench keeps its own recovery copy (gui/recovery.rs).
            TrainEvent::Checkpoint(_) => {}
            TrainEvent::Finished { reason, iteration } => {
                *t.iteration = iteration;
                t.clock.stop();
                let (state, outcome) = match reason {
                    FinishReason::Completed => (RunState::Completed, "completed".to_string()),
                    FinishReason::Stopped => (
                        RunState::Stopped,
                        format!("stopped at iteration {iteration}"),
                    ),
                };
                *t.state = state;
                if let Some(run) = t.run.as_deref_mut() {
                    run.outcome = Some(outcome);
                }
            }
            TrainEvent::Failed { error, iteration } => {
                *t.iteration = iteration;
                t.clock.stop();
                *t.state = RunState::Failed;
                if let Some(run) = t.run.as_deref_mut() {
                    run.outcome = Some(format!("failed: {error}"));
                }
                *t.failure = Some(Failure::Run(error));
            }
        }
    }

    /// Takes the session back from a runner whose thread has ended.
    fn join(&mut self) {
        self.events = None;
        let Some(runner) = self.runner.take() else {
            return;
        };
        if let Some(session) = runner.join() {
            if let Some(run) = self.current.and_then(|i| self.runs.get_mut(i)) {
                run.history = session.history().to_vec();
            }
            self.iteration = session.iteration();
            self.snapshot = Some(session.snapshot());
            self.session = Some(session);
        } else {
            self.state = RunState::Failed;
            self.failure = Some(Failure::TrainerPanicked);
        }
        if self.state.is_active() {
            // The thread ended without saying why (its channel closed).
            self.state = RunState::Stopped;
        }
        self.clock.stop();
    }

    /// Stops the runner and waits for the session, handling the events it sends meanwhile.
    fn reclaim(&mut self) -> Vec<Arc<Snapshot>> {
        let mut snapshots = Vec::new();
        let Some(runner) = &self.runner else {
            return snapshots;
        };
        runner.control().stop();
        let start = Instant::now();
        while self.runner.is_some() && start.elapsed() < RECLAIM_TIMEOUT {
            let (mut arrived, _) = self.poll(Duration::from_millis(50));
            snapshots.append(&mut arrived);
            if self.runner.is_some() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        snapshots
    }

    /// Runs `f` on the session, stopping and restarting a run in progress around it (it
    /// continues from the same iteration, paused if it was paused). `None` when there is no
    /// model.
    pub fn with_session<R>(&mut self, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let resume = match self.state {
            RunState::Running => Some(false),
            RunState::Paused => Some(true),
            _ => None,
        };
        let failure = self.failure.clone();
        let previous_state = self.state;
        let outcome = self
            .current
            .and_then(|i| self.runs.get(i))
            .and_then(|r| r.outcome.clone());
        if self.runner.is_some() {
            self.reclaim();
        }
        let result = self.session.as_mut().map(f);
        if let Some(paused) = resume
            && self.state == RunState::Stopped
            && self.iteration < self.total
        {
            let _ = self.spawn(paused);
        } else if resume.is_none() {
            // Nothing was running: leave the state and the outcome as they were.
            self.state = previous_state;
            self.failure = failure;
            if let Some(run) = self.current.and_then(|i| self.runs.get_mut(i)) {
                run.outcome = outcome;
            }
        }
        result
    }

    /// Stops a run in progress and waits for it (before the window closes or its model is
    /// replaced).
    pub fn shutdown(&mut self) {
        if self.runner.is_some() {
            self.reclaim();
        }
    }
}

/// The parts of the worker an event changes (borrowed apart from the event receiver).
struct HandleTarget<'a> {
    state: &'a mut RunState,
    failure: &'a mut Option<Failure>,
    iteration: &'a mut usize,
    total: &'a mut usize,
    snapshot: &'a mut Option<Arc<Snapshot>>,
    clock: &'a mut Clock,
    run: Option<&'a mut Run>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(runner) = &self.runner {
            // Let the thread end on its own; it owns nothing the window needs.
            runner.control().stop();
        }
    }
}

//! The runner: a [`Session`] looped on a named thread, steered by a [`RunControl`], reporting
//! through an [`EventSink`] that never blocks the trainer for routine events.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::checkpoint::Checkpoint;
use super::session::{Session, Snapshot, StepReport, TrainError};

/// Why a run ended without failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The experiment's iteration count was reached.
    Completed,
    /// [`RunControl::stop`] was called.
    Stopped,
}

/// What the runner reports.
#[derive(Clone, Debug)]
pub enum TrainEvent {
    /// The run started at `iteration` of `total`.
    Started {
        /// Iterations already done (a resumed checkpoint).
        iteration: usize,
        /// Iterations the run will reach.
        total: usize,
    },
    /// One step was taken.
    Step(StepReport),
    /// A copy of the model (for diagnostics and views).
    Snapshot(Arc<Snapshot>),
    /// Where the run stands, to save so that a killed run resumes from here
    /// ([`RunnerOptions::checkpoint_interval`]).
    Checkpoint(Box<Checkpoint>),
    /// The run ended.
    Finished {
        /// Why.
        reason: FinishReason,
        /// Iterations done.
        iteration: usize,
    },
    /// The run failed; the session keeps the last finite parameters.
    Failed {
        /// What went wrong, naming the iteration.
        error: TrainError,
        /// Iterations done successfully.
        iteration: usize,
    },
}

impl TrainEvent {
    /// Whether the event may be dropped when the consumer lags (steps); the end of a run and
    /// snapshots are always delivered.
    #[must_use]
    pub fn is_droppable(&self) -> bool {
        matches!(self, Self::Step(_))
    }
}

/// Where events go.
pub trait EventSink: Send {
    /// Delivers an event. Must not block for droppable events.
    fn send(&mut self, event: TrainEvent);
}

/// A sink into a bounded channel: droppable events are dropped when the channel is full, the
/// others wait for room. Calls the waker after each delivered event.
pub struct ChannelSink {
    sender: SyncSender<TrainEvent>,
    waker: Option<Box<dyn Fn() + Send>>,
    dropped: usize,
}

impl ChannelSink {
    /// A sink and its receiver, with room for `capacity` events.
    #[must_use]
    pub fn new(
        capacity: usize,
        waker: Option<Box<dyn Fn() + Send>>,
    ) -> (Self, Receiver<TrainEvent>) {
        let (sender, receiver) = std::sync::mpsc::sync_channel(capacity.max(1));
        (
            Self {
                sender,
                waker,
                dropped: 0,
            },
            receiver,
        )
    }

    /// Events dropped so far because the consumer lagged.
    #[must_use]
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

impl EventSink for ChannelSink {
    fn send(&mut self, event: TrainEvent) {
        let delivered = if event.is_droppable() {
            match self.sender.try_send(event) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    self.dropped += 1;
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            self.sender.send(event).is_ok()
        };
        if delivered && let Some(waker) = &self.waker {
            waker();
        }
    }
}

/// Pause, resume, single steps and stop, shared between the runner and its owner.
#[derive(Debug, Default)]
pub struct RunControl {
    paused: AtomicBool,
    stop: AtomicBool,
    steps: AtomicUsize,
    wake: (Mutex<()>, Condvar),
}

impl RunControl {
    /// A control that lets the run go.
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Pauses after the current step.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Resumes a paused run.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.notify();
    }

    /// Whether the run is paused.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// While paused: performs exactly one more step.
    pub fn step_once(&self) {
        self.steps.fetch_add(1, Ordering::SeqCst);
        self.notify();
    }

    /// Ends the run after the current step.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Whether a stop was requested.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn notify(&self) {
        let _guard = self.wake.0.lock();
        self.wake.1.notify_all();
    }

    /// Blocks until something changes or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        if let Ok(guard) = self.wake.0.lock() {
            let _ = self.wake.1.wait_timeout(guard, timeout);
        }
    }

    /// Takes one pending single-step request, if any.
    fn take_step(&self) -> bool {
        self.steps
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| s.checked_sub(1))
            .is_ok()
    }
}

/// How often the runner sends snapshots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunnerOptions {
    /// A snapshot at most every this many iterations (0: only at the end).
    pub snapshot_every: usize,
    /// ... and at most this often in wall time.
    pub snapshot_interval: Duration,
    /// A [`TrainEvent::Checkpoint`] at most this often in wall time (`None`: never; the
    /// session itself holds the last one at the end).
    pub checkpoint_interval: Option<Duration>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 1,
            snapshot_interval: Duration::from_millis(100),
            checkpoint_interval: None,
        }
    }
}

/// A session training on its own thread.
#[derive(Debug)]
pub struct Runner {
    handle: JoinHandle<Session>,
    control: Arc<RunControl>,
}

impl Runner {
    /// Starts training `session` on a thread named `flowlab-trainer`.
    pub fn spawn(
        session: Session,
        mut sink: impl EventSink + 'static,
        control: Arc<RunControl>,
        options: RunnerOptions,
    ) -> std::io::Result<Self> {
        let thread_control = Arc::clone(&control);
        let handle = std::thread::Builder::new()
            .name("flowlab-trainer".into())
            .spawn(move || {
                let mut session = session;
                run_loop(&mut session, &mut sink, &thread_control, options);
                session
            })?;
        Ok(Self { handle, control })
    }

    /// The control of this run.
    #[must_use]
    pub fn control(&self) -> &Arc<RunControl> {
        &self.control
    }

    /// Whether the thread has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the run to end and returns the session (with its last good parameters).
    /// `None` only if the trainer thread panicked, which is a bug.
    ///
    /// With a [`ChannelSink`], drain its receiver until [`TrainEvent::Finished`] (or drop it)
    /// before joining: snapshots and diagnostics are never dropped, so a runner whose channel is
    /// full waits for room.
    pub fn join(self) -> Option<Session> {
        self.handle.join().ok()
    }
}

/// The runner's loop, also usable on the calling thread (the command line).
pub fn run_loop(
    session: &mut Session,
    sink: &mut dyn EventSink,
    control: &RunControl,
    options: RunnerOptions,
) {
    sink.send(TrainEvent::Started {
        iteration: session.iteration(),
        total: session.training().iterations,
    });
    let mut last_snapshot = Instant::now();
    let mut last_checkpoint = Instant::now();
    loop {
        let reason = if control.is_stopped() {
            Some(FinishReason::Stopped)
        } else if session.is_finished() {
            Some(FinishReason::Completed)
        } else {
            None
        };
        if let Some(reason) = reason {
            sink.send(TrainEvent::Snapshot(session.snapshot()));
            sink.send(TrainEvent::Finished {
                reason,
                iteration: session.iteration(),
            });
            return;
        }
        if control.is_paused() && !control.take_step() {
            control.wait(Duration::from_millis(50));
            continue;
        }
        match session.step() {
            Ok(report) => {
                let iteration = report.record.iteration;
                sink.send(TrainEvent::Step(report));
                let due = options.snapshot_every > 0
                    && iteration % options.snapshot_every == 0
                    && last_snapshot.elapsed() >= options.snapshot_interval;
                if due || control.is_paused() {
                    sink.send(TrainEvent::Snapshot(session.snapshot()));
                    last_snapshot = Instant::now();
                }
                if options
                    .checkpoint_interval
                    .is_some_and(|interval| last_checkpoint.elapsed() >= interval)
                    && !session.is_finished()
                {
                    sink.send(TrainEvent::Checkpoint(Box::new(session.checkpoint())));
                    last_checkpoint = Instant::now();
                }
            }
            Err(error) => {
                sink.send(TrainEvent::Snapshot(session.snapshot()));
                sink.send(TrainEvent::Failed {
                    error,
                    iteration: session.iteration(),
                });
                return;
            }
        }
    }
}

//! Work off the caller's thread, on named threads, in the two shapes the command line and the
//! workbench need:
//!
//! - [`Latest`]: one long-lived thread that computes results from a stream of jobs, holding at
//!   most one job waiting. [`Latest::submit`] replaces the waiting job (the newest wins: a view
//!   that only shows the newest state never falls behind); [`Latest::submit_in_turn`] waits for
//!   room instead (a recorder that must not lose a job holds its producer back).
//! - [`OneShot`]: one piece of work whose result is picked up when it is ready (an export, the
//!   data and model a session is built from).
//!
//! Both call a *waker* after each result, so a user interface can ask for a frame without
//! polling; neither knows what a frame is.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Called on the worker thread after each result (e.g. to ask a user interface for a frame).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The thread of a [`OneShot`] ended without a result: the work panicked (a bug).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the background thread stopped without a result")]
pub struct NoResult;

/// The waiting job of a [`Latest`], and whether its owner is gone.
struct Slot<J> {
    job: Option<(u64, J)>,
    closed: bool,
}

/// The slot and the condition variable both sides wait on (a job arrives, the slot empties).
type Shared<J> = Arc<(Mutex<Slot<J>>, Condvar)>;

fn lock<J>(shared: &(Mutex<Slot<J>>, Condvar)) -> MutexGuard<'_, Slot<J>> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A thread that computes `R` from jobs `J`, one at a time, with at most one job waiting.
pub struct Latest<J, R> {
    shared: Shared<J>,
    results: Receiver<(u64, R)>,
    thread: Option<JoinHandle<()>>,
    next_id: u64,
    /// The newest job submitted whose result has not arrived.
    pending: Option<u64>,
}

impl<J, R> std::fmt::Debug for Latest<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latest")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> Latest<J, R> {
    /// Starts a thread named `name` that runs `compute` on each job and calls `waker` (if any)
    /// after each result.
    pub fn spawn(
        name: &str,
        mut compute: impl FnMut(J) -> R + Send + 'static,
        waker: Option<Waker>,
    ) -> std::io::Result<Self> {
        let shared: Shared<J> = Arc::new((
            Mutex::new(Slot {
                job: None,
                closed: false,
            }),
            Condvar::new(),
        ));
        let (sender, results) = std::sync::mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work_loop(&thread_shared, &mut compute, &sender, waker.as_deref()))?;
        Ok(Self {
            shared,
            results,
            thread: Some(thread),
            next_id: 0,
            pending: None,
        })
    }

    /// Hands `job` to the thread, replacing the waiting job if there is one (which is then
    /// never computed).
    pub fn submit(&mut self, job: J) {
        let shared = Arc::clone(&self.shared);
        let mut slot = lock(&shared);
        self.put(&mut slot, job);
    }

    /// Hands `job` to the thread after the waiting job (if any) was taken up: every job is
    /// computed, in order, and the caller waits while the thread is one job behind.
    pub fn submit_in_turn(&mut self, job: J) {
        let shared = Arc::clone(&self.shared);
        let mut slot = lock(&shared);
        while slot.job.is_some() {
            slot = shared.1.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
        self.put(&mut slot, job);
    }

    fn put(&mut self, slot: &mut Slot<J>, job: J) {
        self.next_id += 1;
        slot.job = Some((self.next_id, job));
        self.pending = Some(self.next_id);
        self.shared.1.notify_all();
    }

    /// The newest result that arrived since the last call, if any (older ones are dropped).
    pub fn poll(&mut self) -> Option<R> {
        self.take_results().pop()
    }

    /// Every result that arrived since the last call, oldest first.
    pub fn take_results(&mut self) -> Vec<R> {
        let mut arrived = Vec::new();
        while let Ok((id, result)) = self.results.try_recv() {
            if self.pending == Some(id) {
                self.pending = None;
            }
            arrived.push(result);
        }
        arrived
    }

    /// Whether a job was submitted whose result has not arrived yet.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Lets the thread compute the job it has and the waiting one, waits for it to end and
    /// returns every result not yet polled, oldest first.
    pub fn finish(mut self) -> Vec<R> {
        lock(&self.shared).closed = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in `compute` leaves the results it sent before.
            let _ = thread.join();
        }
        self.results.try_iter().map(|(_, result)| result).collect()
    }
}

fn work_loop<J, R>(
    shared: &(Mutex<Slot<J>>, Condvar),
    compute: &mut impl FnMut(J) -> R,
    sender: &Sender<(u64, R)>,
    waker: Option<&(dyn Fn() + Send + Sync)>,
) {
    loop {
        let (id, job) = {
            let mut slot = lock(shared);
            loop {
                if let Some(job) = slot.job.take() {
                    // Room for the next job: wake a producer waiting in `submit_in_turn`.
                    shared.1.notify_all();
                    break job;
                }
                if slot.closed {
                    return;
                }
                slot = shared.1.wait(slot).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let result = compute(job);
        if sender.send((id, result)).is_err() {
            return;
        }
        if let Some(waker) = waker {
            waker();
        }
    }
}

impl<J, R> Drop for Latest<J, R> {
    fn drop(&mut self) {
        {
            let mut slot = lock(&self.shared);
            slot.closed = true;
            slot.job = None;
        }
        self.shared.1.notify_all();
        // Not joined: a long computation may still be running; it ends on its own and its
        // result goes nowhere.
        drop(self.thread.take());
    }
}

/// One piece of work on a named thread; its result is picked up with [`OneShot::poll`] once it
/// is there.
#[derive(Debug)]
pub struct OneShot<T> {
    receiver: Receiver<T>,
}

impl<T: Send + 'static> OneShot<T> {
    /// Starts `work` on a thread named `name`; `waker` (if any) is called after it sent its
    /// result.
    pub fn spawn(
        name: &str,
        waker: Option<Waker>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                if sender.send(work()).is_ok()
                    && let Some(waker) = waker
                {
                    waker();
                }
            })?;
        Ok(Self { receiver })
    }

    /// The result once it is there (`Err` when the work panicked); `None` while it runs.
    pub fn poll(&self) -> Option<Result<T, NoResult>> {
        match self.receiver.try_recv() {
            Ok(result) => Some(Ok(result)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(NoResult)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_newest_waiting_job_wins_and_its_result_comes_back() {
        let mut latest = Latest::spawn(
            "flowlab-test-latest",
            |x: u32| {
                std::thread::sleep(Duration::from_millis(20));
                x * 2
            },
            None,
        )
        .expect("thread");
        for x in 0..10 {
            latest.submit(x);
        }
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < Duration::from_secs(5) {
            if let Some(r) = latest.poll() {
                last = Some(r);
            }
            if last == Some(18) && !latest.is_busy() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(last, Some(18));
        assert!(!latest.is_busy());
    }

    #[test]
    fn jobs_submitted_in_turn_are_all_computed_in_order() {
        let mut latest =
            Latest::spawn("flowlab-test-in-turn", |x: u32| x * 10, None).expect("thread");
        for x in 0..50 {
            latest.submit_in_turn(x);
        }
        let results = latest.finish();
        assert_eq!(results, (0..50).map(|x| x * 10).collect::<Vec<_>>());
    }

    #[test]
    fn a_one_shot_result_arrives_after_its_waker_is_called() {
        let (tx, rx) = std::sync::mpsc::channel();
        let waker: Waker = Arc::new(move || {
            let _ = tx.send(());
        });
        let job = OneShot::spawn("flowlab-test-one-shot", Some(waker), || 6 * 7).expect("thread");
        rx.recv_timeout(Duration::from_secs(5)).expect("woken");
        assert_eq!(job.poll(), Some(Ok(42)));
        let panicking = OneShot::spawn("flowlab-test-one-shot-panic", None, || -> u32 {
            panic!("a bug in the work")
        })
        .expect("thread");
        let start = Instant::now();
        let mut result = None;
        while result.is_none() && start.elapsed() < Duration::from_secs(5) {
            result = panicking.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(result, Some(Err(NoResult)));
    }
}

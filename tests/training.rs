//! Determinism, resumption, thread independence, divergence handling of training.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::session;
use flowlab::experiment::{self, BatchSpec, Experiment};
use flowlab::report::{HistoryPrefix, HistoryRecorder};
use flowlab::train::optimizer::OptimizerSpec;
use flowlab::train::{
    ChannelSink, EventSink, RunControl, Runner, RunnerOptions, Session, TrainError, TrainEvent,
    runner,
};

fn base() -> Experiment {
    let mut exp = common::default_experiment();
    exp.data.size = 300;
    exp.model.layers = 8;
    exp.model.final_time = 2.0;
    exp.train.iterations = 20;
    exp
}

fn losses(session: &Session) -> Vec<u64> {
    session.history().iter().map(|r| r.loss.to_bits()).collect()
}

fn train(exp: &Experiment, threads: usize, iterations: usize) -> Session {
    let mut session = session(exp, None, threads);
    for _ in 0..iterations {
        session.step().unwrap();
    }
    session
}

#[test]
fn the_same_file_gives_bit_identical_histories() {
    for batch in [BatchSpec::Full, BatchSpec::MiniBatch(50)] {
        let mut exp = base();
        exp.train.batch = batch;
        let a = train(&exp, 1, 20);
        let b = train(&exp, 1, 20);
        assert_eq!(losses(&a), losses(&b));
        assert_eq!(a.params(), b.params());
    }
}

#[test]
fn thread_count_does_not_change_the_result() {
    let mut exp = base();
    // Enough points for several blocks per thread.
    exp.data.size = 700;
    let one = train(&exp, 1, 10);
    let two = train(&exp, 2, 10);
    let three = train(&exp, 3, 10);
    assert_eq!(losses(&one), losses(&two));
    assert_eq!(losses(&one), losses(&three));
    assert_eq!(one.params(), two.params());
}

#[test]
fn resuming_from_a_saved_file_is_bit_identical() {
    for (batch, optimizer) in [
        (BatchSpec::Full, None),
        (
            BatchSpec::MiniBatch(64),
            Some(OptimizerSpec::Sgd {
                lr: 0.05,
                momentum: 0.9,
            }),
        ),
        (
            BatchSpec::Full,
            Some(OptimizerSpec::Armijo {
                initial_step: 1.0,
                shrink: 0.5,
                c: 1e-4,
                grow: 2.0,
                max_backtracks: 40,
            }),
        ),
    ] {
        let mut exp = base();
        exp.train.batch = batch;
        if let Some(o) = optimizer {
            exp.train.optimizer = o;
        }
        let straight = train(&exp, 1, 20);

        let first = train(&exp, 1, 10);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("half.ron");
        experiment::io::save(&exp.with_checkpoint(first.checkpoint()), &path).unwrap();
        let loaded = experiment::io::load(&path).unwrap();
        let mut resumed = session(&loaded, None, 1);
        assert_eq!(resumed.iteration(), 10);
        for _ in 0..10 {
            resumed.step().unwrap();
        }
        assert_eq!(losses(&straight), losses(&resumed), "{batch:?}");
        assert_eq!(straight.params(), resumed.params());
    }
}

#[test]
fn training_reduces_the_loss() {
    let exp = base();
    let session = train(&exp, 1, 20);
    let h = session.history();
    assert!(h.last().unwrap().loss < h[0].loss);
}

#[test]
fn a_diverging_run_stops_with_the_iteration_and_keeps_finite_parameters() {
    let mut exp = base();
    exp.train.optimizer = OptimizerSpec::Sgd {
        lr: 1e3,
        momentum: 0.0,
    };
    // Without a saturating activation the states grow like exp(T‖A‖) and overflow.
    exp.model.activation = flowlab::model::Activation::Identity;
    exp.model.final_time = 8.0;
    let mut session = session(&exp, None, 1);
    let mut failure = None;
    for _ in 0..50 {
        match session.step() {
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("the run should diverge");
    let TrainError::Diverged { iteration, .. } = &failure else {
        panic!("expected divergence, got {failure}");
    };
    assert_eq!(*iteration, session.iteration() + 1);
    assert!(
        failure
            .to_string()
            .contains(&format!("iteration {iteration}"))
    );
    assert!(session.params().iter().all(|p| p.is_finite()));
}

#[test]
fn runner_pauses_steps_once_and_stops() {
    let mut exp = base();
    exp.train.iterations = 1_000_000;
    let session = session(&exp, None, 1);
    let (sink, events) = ChannelSink::new(1024, None);
    let control = RunControl::new();
    control.pause();
    let runner = Runner::spawn(session, sink, control.clone(), RunnerOptions::default()).unwrap();
    let started = events.recv().unwrap();
    assert!(matches!(started, TrainEvent::Started { iteration: 0, .. }));
    std::thread::sleep(std::time::Duration::from_millis(100));
    control.step_once();
    let mut steps = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while steps.is_empty() && std::time::Instant::now() < deadline {
        if let Ok(TrainEvent::Step(r)) = events.recv_timeout(std::time::Duration::from_millis(50)) {
            steps.push(r.record.iteration);
        }
    }
    assert_eq!(steps, vec![1]);
    // Paused: no further steps arrive.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(events.try_iter().all(|e| !matches!(e, TrainEvent::Step(_))));
    control.resume();
    std::thread::sleep(std::time::Duration::from_millis(100));
    control.stop();
    // Drain until `Finished` before joining: snapshots are never dropped, so a runner whose
    // channel is full waits for its consumer.
    let finished = events
        .iter()
        .find(|e| matches!(e, TrainEvent::Finished { .. }))
        .unwrap();
    let session = runner.join().unwrap();
    assert!(session.iteration() > 1);
    assert!(matches!(
        finished,
        TrainEvent::Finished {
            reason: flowlab::train::FinishReason::Stopped,
            ..
        }
    ));
}

/// Sends snapshots to a history recorder, like `flowlab run` does.
struct Recording<'a>(&'a mut HistoryRecorder);

impl EventSink for Recording<'_> {
    fn send(&mut self, event: TrainEvent) {
        if let TrainEvent::Snapshot(snapshot) = event {
            self.0.record(snapshot);
        }
    }
}

#[test]
fn the_history_recorder_diagnoses_every_snapshot_in_order() {
    let mut exp = base();
    exp.train.iterations = 30;
    exp.diagnostics.every = 10;
    let plan = experiment::check(&exp).unwrap();
    let mut session = session(&exp, None, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("diagnostics.jsonl");
    let mut recorder = HistoryRecorder::start(
        &plan.name,
        session.split().clone(),
        plan.diagnostics.clone(),
        &path,
        HistoryPrefix::default(),
    )
    .unwrap();
    recorder.record(session.snapshot());
    let options = RunnerOptions {
        snapshot_every: 10,
        snapshot_interval: std::time::Duration::ZERO,
        checkpoint_interval: None,
    };
    runner::run_loop(
        &mut session,
        &mut Recording(&mut recorder),
        &RunControl::new(),
        options,
    );
    let last = recorder.finish().unwrap().expect("a report");
    assert!(last.spectrum.computed().is_some());
    assert_eq!(last.iteration, session.iteration());
    let iterations: Vec<u64> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["iteration"].as_u64().unwrap()
        })
        .collect();
    // Every snapshot (the first, every 10 iterations, the last once) and none twice.
    assert_eq!(iterations, vec![0, 10, 20, 30]);
}

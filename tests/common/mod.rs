//! What the integration tests share: the `flowlab` binary and the way from a document to its
//! session or network (check it, then build from the plan).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use flowlab::experiment::{self, Experiment};
use flowlab::train::{Network, Session};

/// Runs the `flowlab` binary with `args`.
pub fn flowlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowlab"))
        .args(args)
        .output()
        .expect("the flowlab binary runs")
}

/// What a run of the binary wrote to stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A small, quick experiment (120 moons, 4 layers, 20 iterations) for tests that run many.
pub const TINY_EXPERIMENT: &str = r#"(
    format_version: 1,
    name: "tiny",
    data: (source: Moons, size: 120, noise: 0.1),
    model: (field: ResNet, activation: Tanh, width: 2, layers: 4, final_time: 2.0),
    integrator: Euler,
    train: (optimizer: Adam(lr: 0.05), iterations: 20, eval_every: 5),
    diagnostics: (every: 10, probes: 4, grid: 8, gradient_points: 4),
)"#;

/// The built-in default experiment.
pub fn default_experiment() -> Experiment {
    experiment::from_ron_str(experiment::DEFAULT_EXPERIMENT).expect("the default experiment")
}

/// The session of `exp` (checked, data relative to `base`), or what stood in the way.
pub fn try_session(
    exp: &Experiment,
    base: Option<&Path>,
    threads: usize,
) -> Result<Session, String> {
    let plan = experiment::check(exp).map_err(|e| format!("check: {e}"))?;
    plan.session(base, threads)
        .map_err(|e| format!("session: {e}"))
}

/// The session of a valid `exp` (data relative to `base`).
pub fn session(exp: &Experiment, base: Option<&Path>, threads: usize) -> Session {
    try_session(exp, base, threads).unwrap_or_else(|e| panic!("{e}"))
}

/// The network of a valid `exp` for data with `inputs` features and `classes` classes.
pub fn network(exp: &Experiment, inputs: usize, classes: usize) -> Network {
    let plan = experiment::check(exp).unwrap_or_else(|e| panic!("{e}"));
    Network::new(&plan.architecture, inputs, classes).expect("the network fits the data")
}

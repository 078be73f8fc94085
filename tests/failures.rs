//! How a run fails, told truthfully: each failure exits with the right code and a message that
//! names what happened, and whatever the message says was kept is in the saved file, which
//! loads, checks and resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{flowlab, stderr};
use flowlab::experiment;

/// A small experiment whose settings the cases below change.
const SMALL: &str = r#"(
    format_version: 1,
    name: "small",
    data: (source: TwoSpirals, size: 120, noise: 0.02),
    model: (field: ResNet, activation: Tanh, width: 3, layers: 4, final_time: 1.0),
    integrator: Rk4,
    train: (optimizer: Adam(lr: 0.02), iterations: 6, eval_every: 3),
    diagnostics: (every: 0),
)"#;

/// Writes `text` as `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `flowlab run FILE --out DIR --quiet`: the exit code and stderr.
fn run(file: &Path, out: &Path) -> (Option<i32>, String) {
    let o = flowlab(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    (o.status.code(), stderr(&o))
}

/// Loads `DIR/experiment.ron`, asserts it checks, builds a session from it (its checkpoint
/// included) and that every saved parameter is finite; returns the checkpoint's iteration.
fn saved_and_loadable(out: &Path) -> usize {
    let saved = experiment::load(&out.join("experiment.ron")).unwrap();
    let checkpoint = saved.checkpoint.clone().expect("a checkpoint");
    assert!(checkpoint.params.iter().all(|p| p.is_finite()));
    let plan = experiment::check(&saved).unwrap_or_else(|e| panic!("the saved file: {e}"));
    let session = plan
        .session(Some(out), 1)
        .unwrap_or_else(|e| panic!("the saved file: {e}"));
    assert_eq!(session.iteration(), checkpoint.iteration);
    // The metrics hold one row per iteration of the history.
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        1 + checkpoint.history.len(),
        "{metrics}"
    );
    checkpoint.iteration
}

#[test]
fn a_non_finite_loss_is_divergence_and_the_last_finite_state_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL
        .replace("activation: Tanh", "activation: Identity")
        .replace("final_time: 1.0", "final_time: 8.0")
        .replace("Adam(lr: 0.02)", "Sgd(lr: 1000.0)")
        .replace("iterations: 6", "iterations: 50");
    let file = write(dir.path(), "loss.ron", &text);
    let out = dir.path().join("out");
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(1), "{e}");
    let iteration = saved_and_loadable(&out);
    assert!(
        e.contains(&format!("diverged at iteration {}", iteration + 1))
            && e.contains("last finite parameters were kept"),
        "{e}"
    );
}

#[test]
fn a_gradient_whose_norm_overflows_is_divergence_and_the_optimiser_state_stays_valid() {
    // Finite gradient entries whose squares overflow: Adam's second moment would be infinite.
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL
        .replace(
            "activation: Tanh, width: 3, layers: 4",
            "activation: Identity, width: 2, layers: 1, head: LinearMse, init_scale: 1e70",
        )
        .replace("integrator: Rk4", "integrator: Euler");
    let file = write(dir.path(), "norm.ron", &text);
    let out = dir.path().join("out");
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.contains("diverged at iteration 1: the gradient norm is inf"),
        "{e}"
    );
    assert_eq!(saved_and_loadable(&out), 0);
}

#[test]
fn non_finite_initial_parameters_are_bad_input_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace("final_time: 1.0)", "final_time: 1.0, init_scale: 1.7e308)");
    let file = write(dir.path(), "init.ron", &text);
    let out = dir.path().join("out");
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("initial parameters are not finite") && e.contains("init_scale"),
        "{e}"
    );
    assert!(!out.join("experiment.ron").exists());
}

#[test]
fn an_implicit_solve_that_fails_in_training_names_iteration_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL
        .replace("field: ResNet", "field: GradientFlow")
        .replace("final_time: 1.0", "final_time: 400.0")
        .replace(
            "integrator: Rk4",
            "integrator: ImplicitMidpoint(tolerance: 1e-14, max_iterations: 2)",
        );
    let file = write(dir.path(), "implicit.ron", &text);
    let out = dir.path().join("out");
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.contains("iteration 1: layer 0: the implicit midpoint solve did not converge"),
        "{e}"
    );
    // The export evaluates the same model and fails the same way: said after why training
    // stopped, and the checkpoint and metrics are written all the same.
    let training = e.find("iteration 1: layer").unwrap();
    let export = e
        .find("could not write params.npz")
        .expect("the export's failure");
    assert!(training < export, "{e}");
    assert_eq!(saved_and_loadable(&out), 0);
}

#[test]
fn an_output_that_cannot_be_written_does_not_hide_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let out = dir.path().join("out");
    // A folder where the archive should go.
    std::fs::create_dir_all(out.join("params.npz")).unwrap();
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("could not write params.npz"), "{e}");
    assert!(!e.contains("diverged"), "{e}");
    assert_eq!(saved_and_loadable(&out), 6);
}

#[test]
fn an_output_folder_that_cannot_be_written_is_bad_input_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let blocked = write(dir.path(), "not-a-folder", "x");
    let out = blocked.join("out");
    let (code, e) = run(&file, &out);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("cannot write to the output folder"), "{e}");
}

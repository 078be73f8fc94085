//! `kill -9` at any moment of `flowlab run` leaves every output either the old complete file or
//! the new complete one. A folder holding the outputs of an earlier, shorter run is run into
//! again and the process is killed at moments spread over the whole run; a test hook makes each
//! write wait before its file is put in place, so that many kills land inside writes.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const EXPERIMENT: &str = r#"(
    format_version: 1,
    name: "killed",
    data: (source: TwoSpirals, size: 200, noise: 0.02),
    model: (field: ResNet, activation: Tanh, width: 3, layers: 6, final_time: 1.5),
    integrator: Rk4,
    train: (optimizer: Adam(lr: 0.02), iterations: 40, eval_every: 5),
    diagnostics: (every: 10),
)"#;

const FILES: [&str; 3] = ["experiment.ron", "metrics.csv", "params.npz"];

fn run(file: &Path, out: &Path, iterations: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_flowlab"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--iterations", iterations, "--quiet"])
        .env("FLOWLAB_TEST_WRITE_DELAY_MS", "40")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The iterations of a diagnostics history, every line parsed (a half-written line fails).
fn history(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a broken line ({e}) in {}", path.display()));
            value["iteration"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn every_output_is_the_old_file_or_the_new_one_whenever_the_run_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("killed.ron");
    std::fs::write(&file, EXPERIMENT).unwrap();
    // The old outputs (20 iterations) and the new ones (40), each from a whole run.
    let old = dir.path().join("old");
    let new = dir.path().join("new");
    assert!(run(&file, &old, "20").wait().unwrap().success());
    let started = Instant::now();
    assert!(run(&file, &new, "40").wait().unwrap().success());
    let whole = started.elapsed();
    let read = |folder: &Path, name: &str| std::fs::read(folder.join(name)).unwrap();

    let trials = 24;
    let mut mixed = 0;
    for trial in 0..trials {
        let out = dir.path().join(format!("trial{trial}"));
        std::fs::create_dir_all(&out).unwrap();
        for name in FILES.iter().chain(&["diagnostics.jsonl"]) {
            std::fs::copy(old.join(name), out.join(name)).unwrap();
        }
        let mut child = run(&file, &out, "40");
        // Moments spread over the whole run, the writes at its end included.
        std::thread::sleep(
            whole.mul_f64(f64::from(trial) / f64::from(trials - 1)) + Duration::from_millis(2),
        );
        let _ = child.kill();
        let _ = child.wait();
        let mut which = Vec::new();
        for name in FILES {
            let bytes = read(&out, name);
            if bytes == read(&old, name) {
                which.push("old");
            } else if bytes == read(&new, name) {
                which.push("new");
            } else {
                panic!("trial {trial}: {name} is neither the old file nor the new one");
            }
        }
        let lines = history(&out.join("diagnostics.jsonl"));
        assert!(
            lines == history(&old.join("diagnostics.jsonl"))
                || lines == history(&new.join("diagnostics.jsonl")),
            "trial {trial}: the history holds {lines:?}"
        );
        // Whatever is there loads.
        let saved = flowlab::experiment::load(&out.join("experiment.ron")).unwrap();
        flowlab::experiment::check(&saved).unwrap();
        if which.contains(&"old") && which.contains(&"new") {
            mixed += 1;
        }
    }
    // Some kills landed between the writes of the end (some files new, some still old).
    assert!(
        mixed > 0,
        "no kill landed inside the writes of the end of a run"
    );
}

//! The command line: exit codes and messages for good and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{flowlab, stderr};

const SMALL: &str = r#"(
    format_version: 1,
    name: "small",
    data: (source: TwoSpirals, size: 120, noise: 0.02),
    model: (field: ResNet, activation: Tanh, width: 3, layers: 4, final_time: 1.0),
    integrator: Rk4,
    train: (optimizer: Adam(lr: 0.02), iterations: 6, eval_every: 3),
)"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_trains_and_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let out = dir.path().join("out");
    let o = flowlab(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["experiment.ron", "metrics.csv", "params.npz"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The saved experiment resumes: running it to 10 iterations continues from 6.
    let saved = out.join("experiment.ron");
    let out2 = dir.path().join("out2");
    let o = flowlab(&[
        "run",
        saved.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--iterations",
        "10",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics = std::fs::read_to_string(out2.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 10, "{metrics}");
}

#[test]
fn check_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("valid") && text.contains("RK4") && text.contains("h = 0.25"),
        "{text}"
    );
}

#[test]
fn syntax_errors_name_line_and_column_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let broken = SMALL.replace("width: 3,", "width: 3,,");
    let file = write(dir.path(), "broken.ron", &broken);
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("line 5"), "{e}");
    assert!(e.contains("column"), "{e}");
    assert!(e.contains("broken.ron"), "{e}");
}

#[test]
fn unknown_fields_and_newer_versions_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write(
        dir.path(),
        "typo.ron",
        &SMALL.replace("width: 3", "widht: 3"),
    );
    let o = flowlab(&["check", typo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("widht"), "{}", stderr(&o));

    let newer = write(
        dir.path(),
        "newer.ron",
        &SMALL.replace("format_version: 1", "format_version: 7"),
    );
    let o = flowlab(&["run", newer.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains('7') && e.contains('1'), "{e}");
}

#[test]
fn invalid_combinations_are_all_listed_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL
        .replace("width: 3", "width: 0")
        .replace("integrator: Rk4", "integrator: StormerVerlet")
        .replace("final_time: 1.0", "final_time: -1.0");
    let file = write(dir.path(), "invalid.ron", &text);
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("model.width"), "{e}");
    assert!(e.contains("final_time"), "{e}");
    assert!(e.contains("StormerVerlet") || e.contains("Störmer"), "{e}");
}

#[test]
fn a_broken_csv_row_names_line_and_column_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "points.csv",
        "x,y,label\n0.1,0.2,a\n0.3,oops,b\n0.5,0.6,a\n",
    );
    let text = SMALL.replace(
        "source: TwoSpirals, size: 120, noise: 0.02",
        r#"source: Csv((path: "points.csv", label: Name("label")))"#,
    );
    let file = write(dir.path(), "csv.ron", &text);
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("line 3") && e.contains("column 2"), "{e}");
}

#[test]
fn a_missing_csv_file_is_named_once_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace(
        "source: TwoSpirals, size: 120, noise: 0.02",
        r#"source: Csv((path: "absent.csv", label: Name("label")))"#,
    );
    let file = write(dir.path(), "csv.ron", &text);
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("absent.csv"), "{e}");
    // Once: the chain of errors does not repeat the causes their messages already hold.
    assert_eq!(e.matches("cannot read the CSV file").count(), 1, "{e}");
    assert_eq!(e.matches("absent.csv").count(), 1, "{e}");
}

#[test]
fn a_run_of_csv_data_saves_a_file_that_finds_the_data_from_its_new_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    for i in 0..40 {
        let t = f64::from(i) / 40.0;
        let label = if i % 2 == 0 { "a" } else { "b" };
        writeln!(rows, "{t},{},{label}", 1.0 - t).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    write(
        &dir.path().join("data"),
        "points.csv",
        &format!("x,y,label\n{rows}"),
    );
    let text = SMALL.replace(
        "source: TwoSpirals, size: 120, noise: 0.02",
        r#"source: Csv((path: "data/points.csv", label: Name("label")))"#,
    );
    let file = write(dir.path(), "csv.ron", &text);
    let out = dir.path().join("runs").join("csv");
    let o = flowlab(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let saved = std::fs::read_to_string(out.join("experiment.ron")).unwrap();
    assert!(
        saved.contains(r#"path: "../../data/points.csv""#),
        "{saved}"
    );
    let saved = out.join("experiment.ron");
    for command in ["check", "diagnose"] {
        let o = flowlab(&[command, saved.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{command}: {}", stderr(&o));
    }
    let o = flowlab(&[
        "run",
        saved.to_str().unwrap(),
        "--iterations",
        "9",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "resume: {}", stderr(&o));
}

#[test]
fn a_diverging_run_exits_1_naming_the_iteration_and_saves_the_last_good_state() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL
        .replace("activation: Tanh", "activation: Identity")
        .replace("final_time: 1.0", "final_time: 8.0")
        .replace("Adam(lr: 0.02)", "Sgd(lr: 1000.0)")
        .replace("iterations: 6", "iterations: 50");
    let file = write(dir.path(), "diverge.ron", &text);
    let out = dir.path().join("out");
    let o = flowlab(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("diverged at iteration"), "{e}");
    let saved = flowlab::experiment::io::load(&out.join("experiment.ron")).unwrap();
    let cp = saved.checkpoint.unwrap();
    assert!(cp.params.iter().all(|p| p.is_finite()));
}

#[test]
fn gradcheck_json_parses_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let o = flowlab(&["gradcheck", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = &v["total"];
    assert!(
        total["dto_vs_finite_differences"].as_f64().unwrap() < 1e-6,
        "{v}"
    );
    assert!(total["partner_vs_dto"].as_f64().unwrap() < 1e-10, "{v}");
    assert!(total["backward_vs_dto"].as_f64().unwrap() > 1e-12, "{v}");
}

#[test]
fn export_writes_an_npz() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let npz = dir.path().join("model.npz");
    let o = flowlab(&[
        "export",
        file.to_str().unwrap(),
        "--npz",
        npz.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata(&npz).unwrap().len() > 1000);
}

#[test]
fn a_missing_file_is_bad_input() {
    let o = flowlab(&["check", "/nonexistent/flowlab.ron"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/flowlab.ron"));
}

#[test]
fn an_experiment_over_the_memory_budget_is_bad_input_naming_what_would_fit() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "small.ron", SMALL);
    let o = flowlab(&["check", file.to_str().unwrap(), "--max-memory", "300kB"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("memory budget of 300 kB") && e.contains("it would fit with"),
        "{e}"
    );
    // The same file within the default budget: valid, with its estimate.
    let o = flowlab(&["check", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("of memory (training"));
    let o = flowlab(&["run", file.to_str().unwrap(), "--max-memory", "lots"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn absurd_sizes_are_bad_input_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("layers: 4", "layers: 9223372036854775808"),
        ("width: 3", "width: 18446744073709551615"),
        ("width: 3", "width: 100000"),
        ("size: 120", "size: 1000000000"),
    ] {
        let file = write(dir.path(), "absurd.ron", &SMALL.replace(from, to));
        for command in ["check", "run", "diagnose", "export", "gradcheck"] {
            let mut args = vec![command, file.to_str().unwrap()];
            let npz = dir.path().join("x.npz");
            if command == "export" {
                args.extend(["--npz", npz.to_str().unwrap()]);
            }
            if command == "run" {
                args.extend(["--out", dir.path().to_str().unwrap(), "--quiet"]);
            }
            let o = flowlab(&args);
            assert_eq!(o.status.code(), Some(2), "{command} {to}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        }
    }
}

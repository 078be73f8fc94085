//! Studies: expansion (grid, zip, ranges, seeds, nested settings, every refusal), a study's run
//! equal to `flowlab run` of its file bit for bit, resume after an interruption, collect's
//! statistics, the Slurm script, and (ignored; `.ci/run` starts a one-node cluster first) a
//! real Slurm job array that must give the same results as the local runner.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{flowlab, stderr};
use flowlab::experiment::Limits;
use flowlab::study::slurm::{self, SlurmOptions};
use flowlab::study::{self, StudyError, StudyFolder};

/// A small, quick base experiment.
const BASE: &str = common::TINY_EXPERIMENT;

/// A study of `axes` (RON) on the inline [`BASE`].
fn study_text(axes: &str) -> String {
    format!(
        "(format_version: 1, name: \"test study\", base: Inline({BASE}), axes: [{axes}], x: \"h\")"
    )
}

fn expand_text(text: &str) -> Result<study::Expansion, StudyError> {
    let spec = study::spec::from_ron_str(text)?;
    study::expand(&spec, Path::new("."), Limits::machine(), false)
}

/// `flowlab study run FILE --out OUT --quiet EXTRA...`.
fn study_run(file: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "study",
        "run",
        file.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    flowlab(&args)
}

/// Writes a study file into `dir`.
fn write_study(dir: &Path, name: &str, axes: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, study_text(axes)).expect("the study file is written");
    path
}

#[test]
fn a_grid_expands_last_axis_fastest_with_nested_settings() {
    let expansion = expand_text(&study_text(
        r#"Vary("integrator", List([Euler, Rk4])),
           Vary("train.optimizer.lr", Range(0.01, 0.03, 3)),
           Vary("train.seeds.init", Seeds(2))"#,
    ))
    .unwrap();
    assert_eq!(expansion.runs.len(), 12);
    let run = &expansion.runs[7];
    // 7 = 1·6 + 0·2 + 1: Rk4, lr 0.01, seed 1.
    assert_eq!(
        run.settings,
        [
            ("integrator".into(), "Rk4".into()),
            ("train.optimizer.lr".into(), "0.01".into()),
            ("train.seeds.init".into(), "1".into())
        ]
    );
    let exp = &run.experiment;
    assert_eq!(exp.train.seeds.init, 1);
    assert!(matches!(
        exp.integrator,
        flowlab::experiment::IntegratorSpec::Rk4
    ));
    assert!(format!("{:?}", exp.train.optimizer).contains("lr: 0.01"));
    assert!(exp.name.contains("integrator=Rk4"), "{}", exp.name);
    // Everything not varied is the base's.
    assert_eq!(exp.model.layers, 4);
    assert_eq!(exp.data.size, 120);
    // The middle of the range.
    assert_eq!(expansion.runs[2].settings[1].1, "0.02");
    assert!(expansion.axes[2].seeds);
}

#[test]
fn zipped_axes_advance_together() {
    let expansion = expand_text(&study_text(
        r#"Zip([Vary("model.field", List([GradientFlow, ResNet])),
                Vary("model.constraint", List([NegDef(eps: 0.1), Skew(gamma: 0.0)]))]),
           Vary("model.final_time", LogRange(1.0, 4.0, 3))"#,
    ))
    .unwrap();
    assert_eq!(expansion.runs.len(), 6);
    let pairs: Vec<(String, String)> = expansion
        .runs
        .iter()
        .map(|r| (r.settings[0].1.clone(), r.settings[1].1.clone()))
        .collect();
    assert_eq!(pairs[0], ("GradientFlow".into(), "NegDef(eps: 0.1)".into()));
    assert_eq!(pairs[5], ("ResNet".into(), "Skew(gamma: 0.0)".into()));
    assert_eq!(expansion.runs[1].settings[2].1, "2");
    assert_eq!(expansion.runs[2].experiment.model.final_time, 4.0);
}

#[test]
fn bad_axes_are_refused_naming_the_setting() {
    let message = |axes: &str| expand_text(&study_text(axes)).unwrap_err().to_string();
    let unknown = message(r#"Vary("model.widht", List([2]))"#);
    assert!(
        unknown.contains("model.widht") && unknown.contains("nearest: model.width"),
        "{unknown}"
    );
    let misfit = message(r#"Vary("model.layers", List([2.5]))"#);
    assert!(
        misfit.contains("model.layers = 2.5") && misfit.contains("does not fit"),
        "{misfit}"
    );
    let variant = message(r#"Vary("integrator", List([Rk5]))"#);
    assert!(variant.contains("integrator = Rk5"), "{variant}");
    assert!(message(r#"Vary("model.layers", List([]))"#).contains("no values"));
    let duplicate = message(r#"Vary("model.layers", List([2])), Vary("model.layers", List([4]))"#);
    assert!(duplicate.contains("varied by two axes"), "{duplicate}");
    let zip = message(
        r#"Zip([Vary("model.layers", List([2, 4])), Vary("model.final_time", List([1.0]))])"#,
    );
    assert!(zip.contains("as many values"), "{zip}");
    assert!(message("").contains("no axes"));
    assert!(message(r#"Vary("model.final_time", Range(1.0, 2.0, 0))"#).contains("count 0"));
}

#[test]
fn invalid_runs_are_named_before_anything_starts() {
    let error = expand_text(&study_text(
        r#"Vary("model.constraint", List([None, Skew(gamma: 0.0)])),
           Vary("model.hidden", List([2, 3]))"#,
    ))
    .unwrap_err();
    let StudyError::Runs(problems) = &error else {
        panic!("{error}")
    };
    // ResNet needs hidden = width: every run with hidden 3 (runs 1 and 3).
    assert!(
        problems.iter().any(|p| p.starts_with("run 1 (")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("run 3 (")),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.starts_with("run 0 (")),
        "{problems:?}"
    );
    assert!(error.to_string().contains("nothing was started"));
}

#[test]
fn more_than_ten_thousand_runs_need_force() {
    let text = study_text(
        r#"Vary("train.seeds.init", Seeds(101)), Vary("train.seeds.batch", Seeds(100))"#,
    );
    let spec = study::spec::from_ron_str(&text).unwrap();
    let error = study::expand(&spec, Path::new("."), Limits::machine(), false).unwrap_err();
    assert!(
        matches!(error, StudyError::TooMany { runs: 10_100, .. }),
        "{error}"
    );
}

/// The bytes of every output file of a run folder that must not depend on how it ran (the
/// diagnostics history without its timings).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = ["metrics.csv", "params.npz", "experiment.ron"]
        .iter()
        .filter_map(|name| {
            std::fs::read(dir.join(name))
                .ok()
                .map(|b| ((*name).to_owned(), b))
        })
        .collect();
    if let Ok(text) = std::fs::read_to_string(dir.join("diagnostics.jsonl")) {
        let mut lines = Vec::new();
        for line in text.lines() {
            let mut value: serde_json::Value =
                serde_json::from_str(line).expect("diagnostics.jsonl holds JSON lines");
            if let Some(report) = value.get_mut("report").and_then(|r| r.as_object_mut()) {
                report.remove("elapsed_secs");
            }
            lines.push(value.to_string());
        }
        files.insert("diagnostics.jsonl".into(), lines.join("\n").into_bytes());
    }
    files
}

/// `results.csv` without the wall-time column.
fn results_without_time(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("results.csv")).expect("results.csv is written");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let wall = header
        .iter()
        .position(|h| *h == "wall_seconds")
        .expect("a wall_seconds column");
    text.lines()
        .map(|line| {
            line.split(',')
                .enumerate()
                .filter(|(i, _)| *i != wall)
                .map(|(_, f)| f)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn a_study_run_is_flowlab_run_of_its_file_and_collect_summarises_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_study(
        dir.path(),
        "s.ron",
        r#"Vary("integrator", List([Euler, Rk4])), Vary("train.seeds.init", Seeds(3))"#,
    );
    let out = dir.path().join("study");
    let output = study_run(&file, &out, &["--jobs", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Run 4 (Rk4, seed 1) again by hand from its own file: the same bits.
    let run = out.join("runs/0004");
    let by_hand = dir.path().join("by-hand");
    std::fs::create_dir_all(&by_hand).unwrap();
    let manifest = StudyFolder::new(&out).manifest().unwrap();
    let exp = &manifest.runs[4];
    assert_eq!(exp.settings[1].1, "1");
    let original = by_hand.join("experiment.ron");
    // The run's file without its checkpoint is the expanded file.
    let mut expanded = flowlab::experiment::load(&run.join("experiment.ron")).unwrap();
    expanded.checkpoint = None;
    flowlab::experiment::save(&expanded, &original).unwrap();
    let output = flowlab(&[
        "run",
        original.to_str().unwrap(),
        "--out",
        by_hand.join("out").to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let study_files = outputs(&run);
    let hand_files = outputs(&by_hand.join("out"));
    for name in ["metrics.csv", "params.npz", "diagnostics.jsonl"] {
        assert_eq!(
            study_files.get(name),
            hand_files.get(name),
            "{name} differs"
        );
    }

    // results.csv: one row per run; summary.csv: the mean over seeds, computed here directly.
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(results.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| &r[column("status")] == "done"));
    let losses: Vec<f64> = rows
        .iter()
        .filter(|r| &r[column("integrator")] == "Rk4")
        .map(|r| r[column("final_loss")].parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 3);
    let mean = losses.iter().sum::<f64>() / 3.0;
    let std = (losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let line = summary
        .lines()
        .find(|l| l.starts_with("Rk4,final_loss,"))
        .unwrap_or_else(|| panic!("{summary}"));
    let cells: Vec<&str> = line.split(',').collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
    assert!(close(cells[2].parse().unwrap(), mean), "{line} vs {mean}");
    assert!(close(cells[3].parse().unwrap(), std), "{line} vs {std}");
    assert_eq!(cells[6], "3");
    // The final loss is the last row of the run's metrics.csv.
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
    assert_eq!(
        rows[4][column("final_loss")].parse::<f64>().unwrap(),
        last[1].parse::<f64>().unwrap()
    );
    // Figures, SVG and PNG.
    for name in ["final_loss_vs_h", "test_accuracy_vs_h", "loss_curves"] {
        for ext in ["svg", "png"] {
            let path = out.join("figures").join(format!("{name}.{ext}"));
            assert!(path.is_file(), "{} missing", path.display());
        }
    }

    // The same study again: everything skipped, the same results.
    let before = results_without_time(&out);
    let output = study_run(&file, &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("6 runs had finished before"),
        "{}",
        stderr(&output)
    );
    assert_eq!(results_without_time(&out), before);

    // Another study into the same folder is refused.
    let other = write_study(
        dir.path(),
        "other.ron",
        r#"Vary("train.seeds.init", Seeds(2))"#,
    );
    let output = study_run(&other, &out, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("different study"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_interrupted_study_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let axes = r#"Vary("model.layers", List([4, 8])), Vary("train.seeds.init", Seeds(3))"#;
    let file = write_study(dir.path(), "s.ron", axes);
    let whole = dir.path().join("whole");
    let output = study_run(&file, &whole, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // The same study, killed (the runner and its runs) once two runs have finished; each run
    // is slowed inside its writes so that the kill lands while runs are busy.
    let cut = dir.path().join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowlab"))
        .args([
            "study",
            "run",
            file.to_str().expect("a UTF-8 path"),
            "--out",
            cut.to_str().unwrap(),
        ])
        .args(["--quiet", "--jobs", "1", "--checkpoint-every", "0.01"])
        .env("FLOWLAB_TEST_WRITE_DELAY_MS", "30")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let done = |dir: &Path| {
        std::fs::read_dir(dir.join("runs")).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("status.json").is_file())
                .count()
        })
    };
    while done(&cut) < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // The whole process group: the runner and the run it started.
    kill_tree(child.id());
    let _ = child.wait();
    let finished = done(&cut);
    assert!(
        (2..6).contains(&finished),
        "{finished} runs finished before the kill"
    );

    let output = study_run(&file, &cut, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(results_without_time(&cut), results_without_time(&whole));
    for run in ["runs/0000", "runs/0005"] {
        let (a, b) = (outputs(&whole.join(run)), outputs(&cut.join(run)));
        for name in ["metrics.csv", "params.npz"] {
            assert_eq!(a.get(name), b.get(name), "{run}/{name} differs");
        }
    }
}

/// Kills the process `pid` and its children with `kill -9` (found by their parent, `pgrep -P`).
fn kill_tree(pid: u32) {
    let children = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    for child in children.split_whitespace() {
        let _ = Command::new("kill").args(["-9", child]).status();
    }
}

#[test]
fn bad_study_input_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let unknown = write_study(dir.path(), "u.ron", r#"Vary("model.depth", List([2]))"#);
    let output = flowlab(&["study", "run", unknown.to_str().unwrap(), "--out", out]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("model.depth"),
        "{}",
        stderr(&output)
    );
    let good = write_study(dir.path(), "g.ron", r#"Vary("train.seeds.init", Seeds(2))"#);
    let output = flowlab(&[
        "study",
        "run",
        good.to_str().unwrap(),
        "--out",
        out,
        "--jobs",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    std::fs::write(dir.path().join("broken.ron"), "(format_version: 1, name: ").unwrap();
    let output = flowlab(&[
        "study",
        "run",
        dir.path().join("broken.ron").to_str().unwrap(),
        "--out",
        out,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("line 1"), "{}", stderr(&output));
    // Nothing was started by any of them.
    assert!(!Path::new(out).join("runs").exists());
    let output = flowlab(&["study", "collect", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn collect_reports_broken_and_missing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_study(dir.path(), "s.ron", r#"Vary("train.seeds.init", Seeds(3))"#);
    let out = dir.path().join("study");
    let output = flowlab(&[
        "study",
        "slurm",
        file.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Nothing ran; run 1's folder is damaged, run 2's file is not RON.
    std::fs::remove_file(out.join("runs/0001/experiment.ron")).unwrap();
    std::fs::write(out.join("runs/0002/experiment.ron"), "garbage").unwrap();
    std::fs::write(out.join("runs/0002/metrics.csv"), "iteration,loss\n1,x\n").unwrap();
    let output = flowlab(&["study", "collect", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("0 (pending)") && text.contains("1 (broken)"),
        "{text}"
    );
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 4, "{results}");
    assert!(
        results.lines().nth(2).unwrap().contains("broken"),
        "{results}"
    );
    let status = flowlab(&["study", "status", out.to_str().unwrap()]);
    assert!(status.status.success());
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .contains("0 done, 0 failed, 0 started, 1 pending, 2 broken"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn the_slurm_script_is_a_job_array_of_flowlab_runs() {
    let expansion = expand_text(&study_text(r#"Vary("train.seeds.init", Seeds(12))"#)).unwrap();
    let manifest = study::folder::Manifest::of(&expansion);
    let options = SlurmOptions {
        partition: Some("short".into()),
        time: Some("0:10:00".into()),
        account: Some("proj-1".into()),
        max_parallel: Some(4),
    };
    let script = slurm::script(
        &manifest,
        Path::new("/data/my study"),
        Path::new("/opt/flowlab/bin/flowlab"),
        &options,
    );
    for line in [
        "#!/bin/bash",
        "#SBATCH --array=0-11%4",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --ntasks=1",
        "#SBATCH --output=/data/my study/slurm/%A_%a.out",
        "#SBATCH --partition=short",
        "#SBATCH --time=0:10:00",
        "#SBATCH --account=proj-1",
        "study='/data/my study'",
        "flowlab='/opt/flowlab/bin/flowlab'",
        "run=\"$study/runs/$(printf '%04d' \"$SLURM_ARRAY_TASK_ID\")\"",
        "exec \"$flowlab\" run \"$run/experiment.ron\" --out \"$run\" --quiet --threads 1",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "missing {line:?} in\n{script}"
        );
    }
    let plain = slurm::script(
        &manifest,
        Path::new("/s"),
        Path::new("/f"),
        &SlurmOptions::default(),
    );
    assert!(plain.contains("#SBATCH --array=0-11\n"));
    assert!(!plain.contains("--partition") && !plain.contains("--account"));
    // The script is valid shell.
    let check = Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(check.success());
}

/// A real Slurm cluster (`scripts/slurm-local up`, as `.ci/run` does) runs a study as a job
/// array; collected, its results equal the local runner's, bit for bit in the losses; Slurm's
/// per-task output files prove Slurm ran the tasks.
#[test]
#[ignore = "needs a Slurm cluster: scripts/slurm-local up"]
fn slurm_runs_the_study_as_the_local_runner_does() {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let file = write_study(
        dir.path(),
        "s.ron",
        r#"Vary("integrator", List([Euler, Rk4])), Vary("train.seeds.init", Seeds(3))"#,
    );
    let local = dir.path().join("local");
    let output = study_run(&file, &local, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    let cluster = dir.path().join("cluster");
    let output = flowlab(&[
        "study",
        "slurm",
        file.to_str().expect("a UTF-8 path"),
        "--out",
        cluster.to_str().unwrap(),
        "--submit",
        "--max-parallel",
        "2",
        "--time",
        "10",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let job = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        !job.is_empty() && job.chars().all(|c| c.is_ascii_digit()),
        "job id {job:?}"
    );
    // Wait (bounded) until the array has left the queue.
    let started = Instant::now();
    loop {
        let queue = Command::new("squeue")
            .args(["-h", "-j", &job])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&queue.stdout).trim().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the array did not finish"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // One output file per task, written by Slurm, naming the task.
    for task in 0..6 {
        let path = cluster.join("slurm").join(format!("{job}_{task}.out"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.contains(&format!("flowlab study task {task} on ")),
            "{text}"
        );
    }
    let output = flowlab(&["study", "collect", cluster.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(results_without_time(&cluster), results_without_time(&local));
}

#[test]
fn a_stopped_local_run_ends_its_runs_as_interrupted_and_they_resume() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    // Runs long enough to be running when the stop comes.
    let axes = r#"Vary("train.iterations", List([200000])), Vary("train.seeds.init", Seeds(3))"#;
    let file = write_study(dir.path(), "s.ron", axes);
    let spec = study::spec::load(&file).unwrap();
    let expansion = study::expand(&spec, dir.path(), Limits::machine(), false).unwrap();
    let folder = StudyFolder::new(dir.path().join("out"));
    let manifest = folder.prepare(&expansion, false).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let options = study::local::LocalOptions {
        jobs: 2,
        exe: env!("CARGO_BIN_EXE_flowlab").into(),
        checkpoint_every: 0.05,
        stop: Some(Arc::clone(&stop)),
    };
    let stopper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            stop.store(true, Ordering::SeqCst);
        })
    };
    let started = Instant::now();
    let report = study::local::run_local(&folder, &manifest, &options, &()).unwrap();
    stopper.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the stop did not end the runs"
    );
    // The two runs running were ended as an interruption ends them; the third never started.
    assert_eq!(report.interrupted, [0, 1]);
    assert_eq!(report.counts.failed, 0, "{report:?}");
    assert_eq!(report.counts.done, 0, "{report:?}");
    for run in &manifest.runs[..2] {
        assert!(
            matches!(folder.state(run), study::RunState::Started { .. }),
            "run {}: {:?}",
            run.index,
            folder.state(run)
        );
    }
    assert!(matches!(
        folder.state(&manifest.runs[2]),
        study::RunState::Pending
    ));
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The ready-made experiments in `experiments/`: every file loads, validates, builds a session
//! and trains a few steps; the twins differ only in the setting they are meant to compare; and
//! the main ones reach the accuracy their notes promise, with the iteration count they set.

mod common;

use std::path::{Path, PathBuf};

use flowlab::experiment::{self, Experiment};
use flowlab::train::Session;

/// The test fails if the folder holds fewer experiment files than this.
const MIN_EXPERIMENTS: usize = 8;

/// Steps trained per file in the smoke test.
const SMOKE_STEPS: usize = 3;

/// Files the documentation and the workbench refer to by name.
const REQUIRED: [&str; 11] = [
    "resnet_euler_spirals.ron",
    "gradflow_negdef_donut.ron",
    "resnet_skew_swissroll.ron",
    "hamiltonian_verlet_spirals.ron",
    "secondorder_symplectic_donut.ron",
    "rk4_peaks.ron",
    "euler_peaks.ron",
    "implicit_midpoint_gradflow.ron",
    "dto_vs_otd_dto.ron",
    "dto_vs_otd_backward.ron",
    "csv_linked_rings.ron",
];

fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments")
}

/// Every `*.ron` file directly in `experiments/`, sorted.
fn experiment_files() -> Vec<PathBuf> {
    let dir = experiments_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "ron"))
        .collect();
    files.sort();
    files
}

fn load(name: &str) -> (PathBuf, Experiment) {
    let path = experiments_dir().join(name);
    let exp =
        experiment::io::load(&path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    (path, exp)
}

fn session(path: &Path, exp: &Experiment) -> Session {
    common::try_session(exp, path.parent(), 1)
        .unwrap_or_else(|e| panic!("building a session for {}: {e}", path.display()))
}

/// Loads, validates, builds a session and trains a few steps; the problem if any.
fn smoke(path: &Path) -> Result<(), String> {
    let exp = experiment::io::load(path).map_err(|e| format!("load: {e}"))?;
    let plan = experiment::check(&exp).map_err(|e| format!("check: {e}"))?;
    if exp.name.trim().is_empty() {
        return Err("empty name".into());
    }
    if !exp.notes.contains("Reaches") {
        return Err("the notes do not say what accuracy the experiment reaches".into());
    }
    let mut session = plan
        .session(path.parent(), 1)
        .map_err(|e| format!("session: {e}"))?;
    for _ in 0..SMOKE_STEPS {
        let report = session.step().map_err(|e| format!("step: {e}"))?;
        if !report.record.loss.is_finite() {
            return Err(format!(
                "iteration {}: loss {}",
                report.record.iteration, report.record.loss
            ));
        }
    }
    Ok(())
}

#[test]
fn every_experiment_loads_validates_and_trains() {
    let files = experiment_files();
    assert!(
        files.len() >= MIN_EXPERIMENTS,
        "expected at least {MIN_EXPERIMENTS} experiments in {}, found {}: {files:?}",
        experiments_dir().display(),
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            smoke(path)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_documented_experiments_exist() {
    let files = experiment_files();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|name| !names.iter().any(|n| n == name))
        .collect();
    assert!(missing.is_empty(), "missing experiments: {missing:?}");
}

/// Loads both files and asserts they are equal once `align` copies the differing setting (and
/// the name and notes) from the first into the second.
fn assert_twins(first: &str, second: &str, align: impl Fn(&Experiment, &mut Experiment)) {
    let (_, a) = load(first);
    let (_, mut b) = load(second);
    assert_ne!(a, b, "{first} and {second} are identical");
    align(&a, &mut b);
    b.name.clone_from(&a.name);
    b.notes.clone_from(&a.notes);
    assert_eq!(
        a, b,
        "{first} and {second} should differ only in the setting they compare"
    );
}

#[test]
fn twins_differ_only_in_what_they_compare() {
    assert_twins("euler_peaks.ron", "rk4_peaks.ron", |a, b| {
        b.integrator = a.integrator.clone();
    });
    assert_twins("dto_vs_otd_dto.ron", "dto_vs_otd_backward.ron", |a, b| {
        b.gradient = a.gradient.clone();
    });
    assert_twins(
        "resnet_euler_spirals.ron",
        "resnet_smooth_spirals.ron",
        |a, b| {
            b.train.time_smoothness = a.train.time_smoothness;
        },
    );
}

/// The train accuracy the notes promise ("Reaches ≈ 98% train / ..."), as a fraction.
fn documented_train_accuracy(notes: &str) -> f64 {
    let rest = &notes[notes.find("Reaches").expect("notes say \"Reaches\"")..];
    let percent = rest.find("% train").expect("notes say \"N% train\"");
    let number: String = rest[..percent]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    number.parse::<f64>().expect("a number before \"% train\"") / 100.0
}

/// Trains the file's own iteration count and returns the final train accuracy.
fn train_accuracy(name: &str) -> f64 {
    trained(name)
        .evaluate()
        .unwrap_or_else(|e| panic!("{name}: evaluation failed: {e}"))
        .train
        .accuracy()
}

/// A session of the file trained for the file's own iteration count.
fn trained(name: &str) -> Session {
    let (path, exp) = load(name);
    let mut session = session(&path, &exp);
    while !session.is_finished() {
        let report = session
            .step()
            .unwrap_or_else(|e| panic!("{name}: training failed: {e}"));
        assert!(
            report.record.loss.is_finite(),
            "{name}: {:?}",
            report.record
        );
    }
    assert_eq!(session.iteration(), exp.train.iterations, "{name}");
    session
}

/// Trains the file and asserts the train accuracy is at least `min`, which must in turn be at
/// most what the notes promise (observed values are in the notes, `min` a little below). Returns
/// the accuracy.
fn assert_reaches(name: &str, min: f64) -> f64 {
    let (_, exp) = load(name);
    let documented = documented_train_accuracy(&exp.notes);
    assert!(
        min <= documented,
        "{name}: the test demands {min} but the notes only promise {documented}"
    );
    let accuracy = train_accuracy(name);
    assert!(
        accuracy >= min,
        "{name}: train accuracy {accuracy} after {} iterations, below {min} (notes: {documented})",
        exp.train.iterations
    );
    accuracy
}

#[test]
fn resnet_euler_spirals_reaches_its_accuracy() {
    // Observed: 100% train after 600 iterations.
    assert_reaches("resnet_euler_spirals.ron", 0.97);
}

#[test]
fn hamiltonian_verlet_spirals_reaches_its_accuracy() {
    // Observed: 100% train after 200 iterations.
    assert_reaches("hamiltonian_verlet_spirals.ron", 0.97);
}

#[test]
fn galimbertis_h2_networks_reach_their_accuracy() {
    // Observed: 100% train after 1600 iterations on both.
    assert_reaches("hdnn_h2_double_circles.ron", 0.98);
    assert_reaches("hdnn_h2_swiss_roll.ron", 0.97);
}

#[test]
fn galimbertis_h1_network_reaches_its_accuracy() {
    // Observed: 100% and 99.9% train after 1600 iterations.
    assert_reaches("hdnn_h1_swiss_roll.ron", 0.97);
    assert_reaches("hdnn_h1_double_circles.ron", 0.97);
}

#[test]
fn leapfrog_verlet_swissroll_reaches_its_accuracy() {
    // Observed: 100% train after 1000 iterations.
    assert_reaches("leapfrog_verlet_swissroll.ron", 0.98);
}

/// What the notes of phnn_learned_dissipation_avf_swiss_roll say of the trained model: it
/// reaches its accuracy, no diagnostic fails, and every layer lowers the energy at every probe
/// (the AVF step with `R = WᵀW ⪰ 0`), by a visible amount in some layer.
#[test]
fn learned_dissipation_with_avf_reaches_its_accuracy_and_lowers_the_energy_in_every_layer() {
    // Observed: 99.5% train after 1000 iterations; ΔH per layer from −7.6 to −1.7e-6.
    let name = "phnn_learned_dissipation_avf_swiss_roll.ron";
    let exp = load(name).1;
    let mut session = trained(name);
    let accuracy = session.evaluate().expect("evaluation").train.accuracy();
    let min = 0.97;
    assert!(min <= documented_train_accuracy(&exp.notes));
    assert!(accuracy >= min, "{name}: train accuracy {accuracy}");
    let report =
        flowlab::diagnostics::compute(&session.snapshot(), session.split(), &exp.diagnostics);
    let failed = flowlab::report::failed_parts(&report);
    assert!(failed.is_empty(), "{failed:?}");
    let structure = report.structure.computed().expect("structure computed");
    let energy = structure.energy.computed().expect("energy computed");
    assert!(
        energy.change_max.iter().all(|&dh| dh <= 1e-10),
        "some layer raises H: {:?}",
        energy.change_max
    );
    let deepest = energy.change_min.iter().copied().fold(0.0, f64::min);
    assert!(
        deepest < -1.0,
        "no visible dissipation: {:?}",
        energy.change_min
    );
    assert!(
        energy.guarantee.contains("every step lowers H"),
        "{}",
        energy.guarantee
    );
}

#[test]
fn gradflow_negdef_donut_reaches_its_accuracy() {
    // Observed: 97.7% train after 400 iterations (the classes overlap a little).
    assert_reaches("gradflow_negdef_donut.ron", 0.95);
}

/// What the notes of gradflow_negdef_donut say of the trained model: the field stays
/// non-expansive (ν̂_k ≤ 0 in every layer) while explicit Euler's step-size condition
/// h‖A_k‖₂² ≤ 2 is violated in several layers, which the diagnostics flag and where the step
/// expands distances; the layers that keep the condition do not.
#[test]
fn gradflow_negdef_donut_loses_non_expansiveness_only_where_flagged() {
    let name = "gradflow_negdef_donut.ron";
    let session = trained(name);
    let report = flowlab::diagnostics::compute(
        &session.snapshot(),
        session.split(),
        &load(name).1.diagnostics,
    );
    let lipschitz = report.lipschitz.computed().expect("lipschitz computed");
    assert!(
        lipschitz.one_sided.iter().all(|&nu| nu <= 1e-12),
        "{:?}",
        lipschitz.one_sided
    );
    let condition = lipschitz
        .step_size_condition
        .as_ref()
        .expect("GradientFlow + Euler has a step-size condition");
    assert!(
        condition.violated.len() >= 3,
        "the notes say training breaks h‖A_k‖² ≤ 2 in several layers: {:?}",
        condition.values
    );
    for (k, &l) in lipschitz.step.iter().enumerate() {
        if !condition.violated.contains(&k) {
            assert!(l <= 1.0 + 1e-9, "layer {k} keeps the condition but L̂ = {l}");
        }
    }
    let expansive = lipschitz.step.iter().copied().fold(0.0, f64::max);
    assert!(
        expansive > 2.0,
        "step Lipschitz constants {:?}",
        lipschitz.step
    );
}

#[test]
fn resnet_skew_swissroll_reaches_its_accuracy() {
    // Observed: 100% train after 600 iterations.
    assert_reaches("resnet_skew_swissroll.ron", 0.97);
}

#[test]
fn secondorder_symplectic_donut_reaches_its_accuracy() {
    // Observed: 99.4% train after 400 iterations.
    assert_reaches("secondorder_symplectic_donut.ron", 0.95);
}

#[test]
fn exact_gradient_trains_where_the_naive_adjoint_stalls() {
    // Observed: DTO 100% train, Backward(Euler) 57.5% train, both after 600 iterations.
    let dto = assert_reaches("dto_vs_otd_dto.ron", 0.97);
    let backward = train_accuracy("dto_vs_otd_backward.ron");
    assert!(
        backward < dto - 0.2,
        "the naive OTD gradient was expected to train much worse: backward {backward}, DTO {dto}"
    );
}

/// The experiment file shown in the README parses, and its `diagnostics` section, which says it
/// shows the defaults, names every field of `DiagnosticsSpec` with its default value.
#[test]
fn readme_example_parses_and_shows_the_diagnostics_defaults() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## The experiment file")
        .nth(1)
        .expect("README has a section on the experiment file");
    let example = section
        .split("```ron\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ron code block in that section");
    let exp = experiment::from_ron_str(example).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(
        exp.diagnostics,
        flowlab::experiment::DiagnosticsSpec::default()
    );
    let shown = example
        .split("diagnostics: (")
        .nth(1)
        .expect("a diagnostics section");
    let value = serde_json::to_value(flowlab::experiment::DiagnosticsSpec::default()).unwrap();
    for field in value.as_object().unwrap().keys() {
        assert!(
            shown.contains(&format!("{field}:")),
            "README's diagnostics example does not show {field}"
        );
    }
}

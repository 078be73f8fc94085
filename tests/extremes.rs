//! Structurally valid experiment files with extreme values (0, 1, the largest integers, the
//! extremes of f64, NaN, ∞, subnormals) in every setting: `check` and `run` end with exit 0, 1
//! or 2 and a message, never a panic, an abort or a hang. The files are built from a pool of
//! values per setting, each pool holding ordinary values, the edges of the allowed range and
//! values past them; proptest picks one value per setting and shrinks a failure to the fewest
//! extreme settings.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Integers at the edges: as small as allowed, past the limits, the largest of their types.
const USIZE_MAX: &str = "18446744073709551615";
const U32_MAX: &str = "4294967295";

/// Reals at the edges of f64 and of the allowed ranges.
const REALS: &[&str] = &[
    "0.0",
    "-0.0",
    "1.0",
    "-1.0",
    "0.5",
    "1e-300",
    "5e-324",
    "1e300",
    "1.7976931348623157e308",
    "-1.7976931348623157e308",
    "NaN",
    "inf",
    "-inf",
];

/// One setting: its text in the document for each value of its pool.
struct Setting {
    pool: Vec<String>,
}

impl Setting {
    fn of(values: &[&str]) -> Self {
        Self {
            pool: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    /// Ordinary values first (`usual`), then every extreme real.
    fn real(usual: &[&str]) -> Self {
        Self::of(&[usual, REALS].concat())
    }

    /// `usual` counts, then 0, the limit and one past it, and the largest integer.
    fn count(usual: &[&str], limit: &str, past: &str) -> Self {
        Self::of(&[usual, &["0", limit, past, USIZE_MAX]].concat())
    }

    fn pick(&self, choice: u16) -> &str {
        &self.pool[usize::from(choice) % self.pool.len()]
    }
}

/// How many settings [`settings`] varies.
const SETTINGS: usize = 36;

/// The settings of the document, in the order of [`document`]'s placeholders.
fn settings() -> Vec<Setting> {
    let integrators = [
        "Euler",
        "ExplicitMidpoint",
        "Heun",
        "Rk4",
        "SymplecticEulerA",
        "SymplecticEulerB",
        "StormerVerlet",
        "ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30)",
        "ImplicitMidpoint(tolerance: 1e-300, max_iterations: 4294967295)",
        "ImplicitMidpoint(tolerance: NaN, max_iterations: 0)",
        "ImplicitMidpoint(tolerance: 1.0, max_iterations: 1000)",
        "Tableau((name: \"Ralston\", a: [[], [0.5], [0.0, 0.75]], b: [0.2222222222222222, 0.3333333333333333, 0.4444444444444444], order: 3))",
        "Tableau((name: \"bad\", a: [[NaN]], b: [inf], order: 4294967295))",
        "Tableau((name: \"empty\", a: [], b: [], order: 1))",
    ];
    let optimizers = [
        "Adam(lr: 0.02)",
        "Adam(lr: 1e300, beta1: 0.0, beta2: 0.0, eps: 5e-324)",
        "Adam(lr: 5e-324, beta1: 0.9999999999999999, beta2: 0.9999999999999999, eps: 1e300)",
        "Adam(lr: NaN)",
        "Sgd(lr: 0.1, momentum: 0.9)",
        "Sgd(lr: 1.7976931348623157e308, momentum: 0.0)",
        "Sgd(lr: -1.0)",
        "Armijo(initial_step: 1.0, shrink: 0.5, c: 1e-4, grow: 2.0, max_backtracks: 40)",
        "Armijo(initial_step: 1e300, shrink: 0.99, c: 0.9999999999999999, grow: 1000.0, max_backtracks: 1000)",
        "Armijo(initial_step: 5e-324, shrink: 5e-324, c: 5e-324, grow: 1.0, max_backtracks: 0)",
        "Armijo(initial_step: 1.0, shrink: 0.9999999999, c: 1e-4, grow: 2.0, max_backtracks: 4294967295)",
    ];
    vec![
        // data
        Setting::of(&[
            "TwoSpirals",
            "Donut1d",
            "Donut2d",
            "Squares",
            "Spiral",
            "Circle",
            "Xor",
            "Gauss",
            "Moons",
            "SwissRoll",
            "Peaks",
            "Checkerboard",
        ]),
        Setting::count(&["64", "1", "2", "3"], "10000000", "10000001"),
        Setting::real(&["0.1"]),
        Setting::real(&["0.8", "0.9999999999999999"]),
        Setting::of(&["false", "true"]),
        // model
        Setting::of(&[
            "ResNet",
            "GradientFlow",
            "Hamiltonian",
            "HamiltonianShared",
            "SecondOrder",
        ]),
        Setting::of(&[
            "Tanh",
            "Identity",
            "Sigmoid",
            "Relu",
            "Softplus",
            "LeakyRelu(0.01)",
            "LeakyRelu(NaN)",
            "LeakyRelu(1e308)",
            "LeakyRelu(-inf)",
        ]),
        Setting::count(&["2", "3", "4", "1"], "4096", "4097"),
        Setting::count(&["2", "3", "4", "1"], "4096", "4097"),
        Setting::count(&["4", "1", "16"], "100000", "100001"),
        Setting::real(&["2.0"]),
        Setting::of(&["Pad", "Linear"]),
        Setting::of(&["SoftmaxCrossEntropy", "SigmoidSquaredError", "LinearMse"]),
        Setting::of(&[
            "None",
            "Orthogonal",
            "Skew(gamma: 0.0)",
            "Skew(gamma: 1e308)",
            "Skew(gamma: NaN)",
            "NegDef(eps: 0.1)",
            "NegDef(eps: 1.7976931348623157e308)",
            "NegDef(eps: -inf)",
            "SpectralNorm(max: 1.0)",
            "SpectralNorm(max: 5e-324)",
            "SpectralNorm(max: inf)",
            "SpectralNorm(max: 0.0)",
        ]),
        Setting::real(&["0.5"]),
        // integrator, gradient
        Setting::of(&integrators),
        Setting::of(&[
            "Dto",
            "Partner",
            "Backward(Rk4)",
            "Backward(ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30))",
        ]),
        // train
        Setting::of(&optimizers),
        Setting::of(&[
            "Full",
            "MiniBatch(8)",
            "MiniBatch(1)",
            "MiniBatch(0)",
            &format!("MiniBatch({USIZE_MAX})"),
        ]),
        Setting::of(&["3", "0", "1", USIZE_MAX]),
        Setting::real(&["0.0"]),
        Setting::real(&["0.0"]),
        Setting::of(&["0", "1", "18446744073709551615"]),
        Setting::count(&["1", "2"], "1", "2"),
        // diagnostics
        Setting::of(&["2", "0", "1", USIZE_MAX]),
        Setting::count(&["4", "1"], "100000", "100001"),
        Setting::real(&["1e-3"]),
        Setting::count(&["6", "2"], "1000", "1001"),
        Setting::count(&["2", "1"], "1000", "1001"),
        Setting::count(&["2", "1"], "100000", "100001"),
        Setting::of(&["20", "0", "1", "100001", U32_MAX, USIZE_MAX]),
        Setting::of(&[
            "[0.0, 0.1]",
            "[]",
            "[NaN, inf, -1e308]",
            "[1.7976931348623157e308]",
            "[5e-324, 0.0, 0.0]",
        ]),
        Setting::count(&["8", "1"], "10000000", "10000001"),
        Setting::count(&["4", "1"], "10000000", "10000001"),
        Setting::of(&["2", "0", "1", "100000", USIZE_MAX]),
        Setting::count(&["8", "1"], "10000000", "10000001"),
    ]
}

/// The document with the `values` of [`settings`], in their order.
fn document(values: &[&str]) -> String {
    let template = r#"(
    format_version: 1,
    name: "extremes",
    data: (source: {}, size: {}, noise: {}, train_fraction: {}, standardize: {}),
    model: (
        field: {}, activation: {}, width: {}, hidden: {}, layers: {}, final_time: {},
        lift: {}, head: {}, constraint: {}, init_scale: {},
    ),
    integrator: {},
    gradient: {},
    train: (
        optimizer: {}, batch: {}, iterations: {}, weight_decay: {}, time_smoothness: {},
        seeds: (data: {}, init: 1, batch: 2), eval_every: {},
    ),
    diagnostics: (
        every: {}, probes: {}, epsilon: {}, grid: {}, random_directions: {},
        eigenvalue_probes: {}, power_iterations: {}, robustness_epsilons: {},
        robustness_points: {}, gradient_points: {}, finite_difference_layers: {},
        trajectory_points: {},
    ),
)"#;
    let pieces: Vec<&str> = template.split("{}").collect();
    assert_eq!(
        pieces.len(),
        values.len() + 1,
        "a value for each placeholder"
    );
    let mut text = pieces[0].to_owned();
    for (value, piece) in values.iter().zip(&pieces[1..]) {
        text.push_str(value);
        text.push_str(piece);
    }
    text
}

/// Longest a command may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs the binary with `args`; the exit code (0, 1 or 2 expected) and stderr, or a hang.
fn run_binary(args: &[&str]) -> Result<(i32, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowlab"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            let stderr = common::stderr(&output);
            return match status.code() {
                Some(code) => Ok((code, stderr)),
                None => Err(format!("killed by a signal ({status}): {stderr}")),
            };
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            return Err(format!("still running after {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `check` and a short `run` of `text` under a small memory budget: exit 0, 1 or 2 with a
/// message, nothing else. The exit code of `run`.
fn check_and_run(text: &str) -> Result<i32, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("extreme.ron");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let file = file.to_str().ok_or("path")?;
    let out = dir.path().join("out");
    let out = out.to_str().ok_or("path")?;
    let budget = ["--max-memory", "64MB"];
    let commands: [Vec<&str>; 2] = [
        [&["check", file][..], &budget].concat(),
        [
            &["run", file, "--out", out, "--quiet", "--iterations", "2"][..],
            &budget,
        ]
        .concat(),
    ];
    let mut last = 0;
    for args in commands {
        let (code, stderr) = run_binary(&args).map_err(|e| format!("{args:?}: {e}"))?;
        if std::env::var_os("EXTREMES_VERBOSE").is_some() {
            eprintln!("{} exit {code}: {}", args[0], stderr.replace('\n', " | "));
        }
        if !matches!(code, 0..=2) || stderr.contains("panicked") {
            return Err(format!("{args:?}: exit {code}: {stderr}"));
        }
        if code != 0 && stderr.trim().is_empty() {
            return Err(format!("{args:?}: exit {code} without a message"));
        }
        last = code;
    }
    Ok(last)
}

/// Documents tried per test run.
const CASES: u32 = 256;

#[test]
fn extreme_values_never_panic() {
    let settings = settings();
    // Each setting takes an unusual value from its pool one time in eight and keeps its usual
    // value (the pool's first) otherwise, so that extreme values meet documents that are
    // otherwise valid and get as far as training.
    let choices = prop::collection::vec((0_u8..8, 1_u16..u16::MAX), SETTINGS);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let trained = Cell::new(0_u32);
    let result = runner.run(&choices, |choices| {
        let values: Vec<&str> = settings
            .iter()
            .zip(&choices)
            .map(|(setting, &(odds, choice))| setting.pick(if odds == 0 { choice } else { 0 }))
            .collect();
        let text = document(&values);
        match check_and_run(&text) {
            Ok(code) => {
                if code != 2 {
                    trained.set(trained.get() + 1);
                }
                Ok(())
            }
            Err(failure) => Err(TestCaseError::fail(format!("{failure}\n{text}"))),
        }
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    // The generator is worth its time only if documents get past `check` and train.
    assert!(
        trained.get() >= CASES / 8,
        "only {} of {CASES} documents trained",
        trained.get()
    );
}

/// The document of the usual values is valid and trains: the extremes are tried against a
/// document that works, not one that fails for a reason of its own.
#[test]
fn usual_values_train() {
    let settings = settings();
    assert_eq!(settings.len(), SETTINGS);
    let values: Vec<&str> = settings.iter().map(|s| s.pick(0)).collect();
    let text = document(&values);
    let exp = flowlab::experiment::from_ron_str(&text).expect("the usual document parses");
    flowlab::experiment::check(&exp).expect("the usual document is valid");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("usual.ron");
    std::fs::write(&file, &text).expect("written");
    let out = dir.path().join("out");
    let output = common::flowlab(&[
        "run",
        file.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    assert!(out.join("params.npz").exists());
}

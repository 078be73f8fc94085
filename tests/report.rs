//! The metrics CSV and the NPZ export, read back: keys, shapes, values against the session, the
//! `meta` JSON, and (when a Python with numpy is at hand) numpy's view of the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The export copies values: bit-exact comparisons are the point.
#![allow(clippy::float_cmp)]

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::Command;

use flowlab::data::{DataSource, DataSpec};
use flowlab::experiment::{
    self, BatchSpec, DiagnosticsSpec, Experiment, FORMAT_VERSION, FieldKind, GradientSpec,
    HeadSpec, IntegratorSpec, LiftSpec, ModelSpec, Plan, Record, Seeds, TrainSpec,
};
use flowlab::model::{Activation, Constraint};
use flowlab::report::{self, METRICS_HEADER, npz::NPZ_FORMAT_VERSION};
use flowlab::train::Session;
use flowlab::train::optimizer::OptimizerSpec;
use ndarray::{Array0, Array1, Array2, Array3, ArrayD, Axis, IxDyn, s};
use ndarray_npy::NpzReader;
use serde_json::Value;

const LAYERS: usize = 4;
const WIDTH: usize = 3;
const STEPS: usize = 3;

fn experiment(field: FieldKind, integrator: IntegratorSpec, lift: LiftSpec) -> Experiment {
    Experiment {
        format_version: FORMAT_VERSION,
        name: "report test".into(),
        notes: String::new(),
        data: DataSpec {
            source: DataSource::TwoSpirals,
            size: 40,
            noise: 0.0,
            train_fraction: 0.75,
            standardize: false,
        },
        model: ModelSpec {
            field,
            activation: Activation::Tanh,
            activation2: (field == FieldKind::Hamiltonian).then_some(Activation::Sigmoid),
            width: WIDTH,
            hidden: None,
            layers: LAYERS,
            final_time: 1.0,
            lift,
            head: HeadSpec::SoftmaxCrossEntropy,
            constraint: Constraint::Skew { gamma: 0.1 },
            constraint2: None,
            init_scale: 0.5,
            dissipation: flowlab::experiment::Dissipation::None,
            interconnection: flowlab::experiment::Interconnection::Canonical,
        },
        integrator,
        gradient: GradientSpec::Dto,
        train: TrainSpec {
            optimizer: OptimizerSpec::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            batch: BatchSpec::Full,
            iterations: 10,
            weight_decay: 1e-3,
            time_smoothness: 1e-2,
            seeds: Seeds::default(),
            eval_every: 2,
        },
        diagnostics: DiagnosticsSpec::default(),
        checkpoint: None,
    }
}

fn resnet() -> Experiment {
    experiment(FieldKind::ResNet, IntegratorSpec::Euler, LiftSpec::Pad)
}

fn hamiltonian() -> Experiment {
    experiment(
        FieldKind::Hamiltonian,
        IntegratorSpec::StormerVerlet,
        LiftSpec::Linear,
    )
}

/// The plan of a valid experiment and its session after a few steps.
fn trained(exp: &Experiment) -> (Plan, Session) {
    let plan = experiment::check(exp).expect("valid experiment");
    let mut session = plan.session(None, 1).expect("a session");
    for _ in 0..STEPS {
        session.step().expect("a step");
    }
    (plan, session)
}

fn array<D: ndarray::Dimension>(npz: &mut NpzReader<File>, name: &str) -> ndarray::Array<f64, D> {
    npz.by_name(name)
        .unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// `meta.npy` of an archive: the archive is stored uncompressed, so the `.npy` follows the entry's
/// name verbatim. `ndarray-npy` reads no numpy strings, so the header is parsed here — which also
/// checks that it is the zero-dimensional unicode array the documentation promises.
fn meta_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let find = |needle: &[u8], from: usize| {
        let Some(i) = bytes[from..]
            .windows(needle.len())
            .position(|w| w == needle)
        else {
            panic!("{needle:?} not in the archive")
        };
        from + i
    };
    let start = find(b"\x93NUMPY\x01\x00", find(b"meta.npy", 0));
    let header_len = usize::from(u16::from_le_bytes([bytes[start + 8], bytes[start + 9]]));
    let data = start + 10 + header_len;
    assert_eq!((data - start) % 64, 0, "numpy aligns the data at 64 bytes");
    let header = std::str::from_utf8(&bytes[start + 10..data]).unwrap();
    let Some((characters, rest)) = header
        .strip_prefix("{'descr': '<U")
        .and_then(|rest| rest.split_once('\''))
    else {
        panic!("not a unicode array: {header}")
    };
    assert!(
        rest.starts_with(", 'fortran_order': False, 'shape': (), }"),
        "not zero-dimensional: {header}"
    );
    let characters: usize = characters.parse().unwrap();
    bytes[data..data + 4 * characters]
        .chunks_exact(4)
        .map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])).unwrap())
        .collect()
}

fn meta(path: &Path) -> Value {
    serde_json::from_str(&meta_text(path)).expect("meta is JSON")
}

fn block_names(session: &Session) -> Vec<&'static str> {
    session
        .network()
        .layout
        .blocks()
        .iter()
        .map(|b| b.name)
        .collect()
}

#[test]
fn resnet_archive_has_every_key_with_its_shape_and_the_session_values() {
    let (plan, mut session) = trained(&resnet());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    report::export_npz(&mut session, &plan, &path).unwrap();
    let (objective, grad) = session.objective_and_gradient().unwrap();

    let mut npz = NpzReader::new(File::open(&path).unwrap()).unwrap();
    let names: BTreeSet<String> = npz.names().unwrap().into_iter().collect();
    let blocks = block_names(&session);
    assert_eq!(blocks, ["A", "b", "head.W", "head.b"]);
    let mut expected: BTreeSet<String> = ["meta", "x", "y", "z", "logits", "loss"]
        .map(String::from)
        .into();
    for prefix in ["param", "effective", "grad"] {
        expected.extend(blocks.iter().map(|b| format!("{prefix}.{b}")));
    }
    assert_eq!(names, expected, "a ResNet has no `p`");

    let train = &session.split().train;
    let (n, n_in) = train.x.dim();
    assert_eq!(n, 30);
    let x: Array2<f64> = array(&mut npz, "x");
    assert_eq!(x, train.x);
    let y: Array1<i64> = npz.by_name("y").unwrap();
    let labels: Vec<i64> = train
        .labels
        .iter()
        .map(|&l| i64::try_from(l).unwrap())
        .collect();
    assert_eq!(y.to_vec(), labels);

    let z: Array3<f64> = array(&mut npz, "z");
    assert_eq!(z.dim(), (LAYERS + 1, n, WIDTH));
    assert_eq!(
        z.slice(s![0, .., ..n_in]),
        train.x,
        "z[0] is the padded input"
    );
    assert!(z.slice(s![0, .., n_in..]).iter().all(|&v| v == 0.0));
    assert_ne!(z.index_axis(Axis(0), LAYERS), z.index_axis(Axis(0), 0));

    let logits: Array2<f64> = array(&mut npz, "logits");
    assert_eq!(logits.dim(), (n, 2));
    let loss: Array0<f64> = array(&mut npz, "loss");
    assert_eq!(loss[()], objective);

    let layout = session.network().layout.clone();
    for block in layout.blocks() {
        let shape = block.shape();
        for (prefix, buffer) in [
            ("param", session.params()),
            ("effective", session.effective_params()),
            ("grad", &grad[..]),
        ] {
            let stored: ArrayD<f64> = array(&mut npz, &format!("{prefix}.{}", block.name));
            assert_eq!(stored.shape(), &shape[..], "{prefix}.{}", block.name);
            assert_eq!(
                stored.iter().copied().collect::<Vec<_>>(),
                buffer[block.range()],
                "{prefix}.{}",
                block.name
            );
        }
    }
    // Per-layer blocks stack `K` row-major matrices: entry (k, i, j) is offset + (k·m + i)·d + j.
    let a: ArrayD<f64> = array(&mut npz, "param.A");
    assert_eq!(a.shape(), [LAYERS, WIDTH, WIDTH]);
    let a_block = layout.by_name("A").unwrap();
    let (k, i, j) = (2, 1, 0);
    assert_eq!(
        a[IxDyn(&[k, i, j])],
        session.params()[a_block.offset + (k * WIDTH + i) * WIDTH + j]
    );
    // The skew constraint makes the effective matrices differ from the raw ones.
    let effective: ArrayD<f64> = array(&mut npz, "effective.A");
    assert_ne!(effective, a);
    let head_w: ArrayD<f64> = array(&mut npz, "param.head.W");
    assert_eq!(head_w.shape(), [2, WIDTH]);
    let bias: ArrayD<f64> = array(&mut npz, "param.b");
    assert_eq!(bias.shape(), [LAYERS, WIDTH]);
}

#[test]
fn meta_describes_the_model() {
    let (plan, mut session) = trained(&resnet());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    report::export_npz(&mut session, &plan, &path).unwrap();
    let meta = meta(&path);
    let network = session.network();
    assert_eq!(meta["format"], "flowlab-npz");
    assert_eq!(meta["format_version"], NPZ_FORMAT_VERSION);
    assert_eq!(meta["experiment"], "report test");
    assert_eq!(meta["iteration"], STEPS);
    assert_eq!(meta["field"], "ResNet");
    assert_eq!(meta["activations"], serde_json::json!(["tanh"]));
    assert_eq!(meta["integrator"], network.integrator.name());
    assert_eq!(meta["gradient"], network.gradient.name());
    assert_eq!(
        meta["constraints"],
        serde_json::json!({ "A": "skew(gamma=0.1)" })
    );
    assert_eq!(meta["h"], network.h);
    assert_eq!(meta["layers"], LAYERS);
    assert_eq!(meta["final_time"], 1.0);
    assert_eq!(meta["width"], WIDTH);
    assert_eq!(meta["hidden"], WIDTH);
    assert_eq!(meta["lift"], "Pad");
    assert_eq!(meta["head"], "SoftmaxCrossEntropy");
    assert!(meta["loss"].as_str().unwrap().contains("cross-entropy"));
    assert_eq!(meta["classes"], 2);
    assert_eq!(meta["train_points"], 30);
    let params = meta["params"].as_array().unwrap();
    let described: Vec<(&str, Vec<usize>)> = params
        .iter()
        .map(|p| {
            let shape = p["shape"].as_array().unwrap();
            let shape = shape
                .iter()
                .map(|v| usize::try_from(v.as_u64().unwrap()).unwrap());
            (p["name"].as_str().unwrap(), shape.collect())
        })
        .collect();
    let expected: Vec<(&str, Vec<usize>)> = network
        .layout
        .blocks()
        .iter()
        .map(|b| (b.name, b.shape()))
        .collect();
    assert_eq!(described, expected);
}

#[test]
fn hamiltonian_archive_has_the_momentum_and_both_matrices() {
    let (plan, mut session) = trained(&hamiltonian());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    report::export_npz(&mut session, &plan, &path).unwrap();
    let eff = session.effective_params().to_vec();
    let x = session.split().train.x.clone();
    let (states, _) = session.engine_mut().trajectory(&eff, x.view()).unwrap();

    let mut npz = NpzReader::new(File::open(&path).unwrap()).unwrap();
    let names: BTreeSet<String> = npz.names().unwrap().into_iter().collect();
    let blocks = block_names(&session);
    assert_eq!(
        blocks,
        [
            "lift.W", "lift.b", "A1", "b1", "A2", "b2", "head.W", "head.b"
        ]
    );
    for name in blocks {
        for prefix in ["param", "effective", "grad"] {
            assert!(
                names.contains(&format!("{prefix}.{name}")),
                "{prefix}.{name}"
            );
        }
    }
    let n = x.nrows();
    let z: Array3<f64> = array(&mut npz, "z");
    let p: Array3<f64> = array(&mut npz, "p");
    assert_eq!(z.dim(), (LAYERS + 1, n, WIDTH));
    assert_eq!(p.dim(), (LAYERS + 1, n, WIDTH));
    assert_eq!(z, states.slice(s![.., .., ..WIDTH]));
    assert_eq!(p, states.slice(s![.., .., WIDTH..]));
    assert!(p.index_axis(Axis(0), 0).iter().all(|&v| v == 0.0), "p₀ = 0");
    let lift: ArrayD<f64> = array(&mut npz, "param.lift.W");
    assert_eq!(lift.shape(), [WIDTH, 2]);

    let meta = meta(&path);
    assert_eq!(meta["field"], "Hamiltonian");
    assert_eq!(meta["activations"], serde_json::json!(["tanh", "sigmoid"]));
    assert_eq!(
        meta["constraints"],
        serde_json::json!({ "A1": "skew(gamma=0.1)", "A2": "skew(gamma=0.1)" })
    );
    assert_eq!(meta["integrator"], "Störmer–Verlet");
    assert_eq!(meta["lift"], "Linear");
}

#[test]
fn port_hamiltonian_archive_has_the_learned_interconnection_and_dissipation() {
    // Width 3 (odd: a learned J takes any width), AVF, J = W − Wᵀ and R = WᵀW per layer.
    let mut exp = experiment(
        FieldKind::PortHamiltonian,
        IntegratorSpec::Avf {
            tolerance: 1e-13,
            max_iterations: 50,
        },
        LiftSpec::Pad,
    );
    exp.model.constraint = Constraint::None;
    exp.model.interconnection = flowlab::experiment::Interconnection::Learned;
    exp.model.dissipation = flowlab::experiment::Dissipation::Learned;
    let (plan, mut session) = trained(&exp);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    report::export_npz(&mut session, &plan, &path).unwrap();
    let (_, grad) = session.objective_and_gradient().unwrap();

    let blocks = block_names(&session);
    assert_eq!(blocks, ["A", "b", "J", "R", "head.W", "head.b"]);
    let mut npz = NpzReader::new(File::open(&path).unwrap()).unwrap();
    let layout = session.network().layout.clone();
    for name in ["J", "R"] {
        let block = layout.by_name(name).unwrap();
        let raw: ArrayD<f64> = array(&mut npz, &format!("param.{name}"));
        let effective: ArrayD<f64> = array(&mut npz, &format!("effective.{name}"));
        let gradient: ArrayD<f64> = array(&mut npz, &format!("grad.{name}"));
        for stored in [&raw, &effective, &gradient] {
            assert_eq!(stored.shape(), [LAYERS, WIDTH, WIDTH], "{name}");
        }
        assert_eq!(
            raw.iter().copied().collect::<Vec<_>>(),
            session.params()[block.range()]
        );
        assert_eq!(
            gradient.iter().copied().collect::<Vec<_>>(),
            grad[block.range()]
        );
        assert!(gradient.iter().any(|&g| g != 0.0), "grad.{name} is zero");
        for k in 0..LAYERS {
            let w = raw
                .index_axis(Axis(0), k)
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap();
            let e = effective
                .index_axis(Axis(0), k)
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap();
            // J = W − Wᵀ (skew), R = WᵀW (symmetric positive semidefinite).
            let expected = if name == "J" {
                &w - &w.t()
            } else {
                w.t().dot(&w)
            };
            for (a, b) in e.iter().zip(&expected) {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "effective.{name}[{k}]: {e} vs {expected}"
                );
            }
            for i in 0..WIDTH {
                for j in 0..WIDTH {
                    let sign = if name == "J" { -1.0 } else { 1.0 };
                    assert!((e[[i, j]] - sign * e[[j, i]]).abs() <= 1e-12, "{name}[{k}]");
                }
            }
        }
    }
    let meta = meta(&path);
    assert_eq!(meta["field"], "PortHamiltonian");
    assert_eq!(meta["integrator"], "AVF");
    let constraints = meta["constraints"].as_object().unwrap();
    assert!(
        constraints.contains_key("J") && constraints.contains_key("R"),
        "{constraints:?}"
    );
}

#[test]
fn metrics_csv_has_a_row_per_record_and_round_trips_the_floats() {
    let (_, session) = trained(&resnet());
    let mut history = session.history().to_vec();
    // Values whose shortest decimal form is long or tiny.
    history.push(Record {
        iteration: STEPS + 1,
        loss: 0.1 + 0.2,
        grad_norm: 1.0e-300,
        train_accuracy: None,
        test_accuracy: Some(2.0 / 3.0),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    report::write_metrics_csv(&history, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, report::metrics_csv_string(&history));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(METRICS_HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), history.len());
    let optional = |cell: &str| (!cell.is_empty()).then(|| cell.parse::<f64>().unwrap());
    for (row, record) in rows.iter().zip(&history) {
        assert_eq!(row.len(), 5);
        let read = Record {
            iteration: row[0].parse().unwrap(),
            loss: row[1].parse().unwrap(),
            grad_norm: row[2].parse().unwrap(),
            train_accuracy: optional(row[3]),
            test_accuracy: optional(row[4]),
        };
        assert_eq!(&read, record, "bit-exact round trip");
    }
    // The first step is always evaluated, the second (eval_every 2) too, the third not.
    assert!(history[0].train_accuracy.is_some());
    assert_eq!(rows[2][3], "");
}

#[test]
fn errors_name_the_path_last() {
    let (plan, mut session) = trained(&resnet());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing folder").join("params.npz");
    let error = report::export_npz(&mut session, &plan, &path).unwrap_err();
    assert!(matches!(error, report::Error::Io { .. }), "{error:?}");
    assert!(
        error.to_string().ends_with(&path.display().to_string()),
        "{error}"
    );
    let error = report::write_metrics_csv(session.history(), &path).unwrap_err();
    assert!(
        error.to_string().ends_with(&path.display().to_string()),
        "{error}"
    );
}

/// A Python with numpy: `$FLOWLAB_PYTHON`, else `python3`; `None` when it has no numpy.
fn python_with_numpy() -> Option<String> {
    let python = std::env::var("FLOWLAB_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|out| out.status.success());
    ok.then_some(python)
}

#[test]
fn numpy_reads_the_archive() {
    let Some(python) = python_with_numpy() else {
        return;
    };
    let (plan, mut session) = trained(&hamiltonian());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    report::export_npz(&mut session, &plan, &path).unwrap();
    let script = r#"
import json, sys
import numpy as np
f = np.load(sys.argv[1])
meta = json.loads(str(f["meta"]))
assert meta == json.loads(f["meta"].item()), "str and item agree"
assert f["meta"].shape == (), f["meta"].shape
print(json.dumps({
    "integrator": meta["integrator"],
    "z": list(f["z"].shape),
    "p": list(f["p"].shape),
    "y": str(f["y"].dtype),
    "loss": repr(float(f["loss"])),
    "keys": sorted(f.files),
}))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = session.split().train.len();
    assert_eq!(seen["integrator"], "Störmer–Verlet");
    assert_eq!(seen["z"], serde_json::json!([LAYERS + 1, n, WIDTH]));
    assert_eq!(seen["p"], serde_json::json!([LAYERS + 1, n, WIDTH]));
    assert_eq!(seen["y"], "int64");
    let (objective, _) = session.objective_and_gradient().unwrap();
    // As text: serde_json's float parsing is not always correctly rounded, Rust's is.
    let loss: f64 = seen["loss"].as_str().unwrap().parse().unwrap();
    assert_eq!(loss, objective);
    assert!(
        seen["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "grad.A2")
    );
}

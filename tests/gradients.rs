//! DTO gradients against central finite differences for every valid field × constraint ×
//! integrator combination, every head and lift; OTD partner equals DTO; OTD backward converges
//! to DTO at the method's order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use flowlab::data::{DataSource, DataSpec};
use flowlab::experiment::{
    Dissipation, Experiment, FORMAT_VERSION, FieldKind, GradientSpec, HeadSpec, IntegratorSpec,
    Interconnection, LiftSpec, ModelSpec, TableauSpec, TrainSpec,
};
use flowlab::model::{Activation, Constraint};
use flowlab::train::Engine;
use flowlab::train::optimizer::OptimizerSpec;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

struct Case {
    field: FieldKind,
    width: usize,
    hidden: usize,
    constraint: Constraint,
    integrator: IntegratorSpec,
    head: HeadSpec,
    lift: LiftSpec,
    gradient: GradientSpec,
    layers: usize,
    final_time: f64,
    dissipation: Dissipation,
    interconnection: Interconnection,
}

impl Case {
    fn new(field: FieldKind, constraint: Constraint, integrator: IntegratorSpec) -> Self {
        Self {
            field,
            // The port-Hamiltonian J needs an even width.
            width: if field == FieldKind::PortHamiltonian {
                4
            } else {
                3
            },
            hidden: if field == FieldKind::PortHamiltonian {
                4
            } else {
                3
            },
            constraint,
            integrator,
            head: HeadSpec::SoftmaxCrossEntropy,
            lift: LiftSpec::Pad,
            gradient: GradientSpec::Dto,
            layers: 3,
            final_time: 0.9,
            dissipation: if field == FieldKind::PortHamiltonian {
                Dissipation::Fixed(0.3)
            } else {
                Dissipation::None
            },
            interconnection: Interconnection::Canonical,
        }
    }

    fn experiment(&self) -> Experiment {
        Experiment {
            format_version: FORMAT_VERSION,
            name: "gradient check".into(),
            notes: String::new(),
            data: DataSpec {
                source: DataSource::TwoSpirals,
                size: 8,
                noise: 0.0,
                train_fraction: 1.0,
                standardize: false,
            },
            model: ModelSpec {
                field: self.field,
                activation: Activation::Tanh,
                activation2: (self.field == FieldKind::Hamiltonian).then_some(Activation::Sigmoid),
                width: self.width,
                hidden: Some(self.hidden),
                layers: self.layers,
                final_time: self.final_time,
                lift: self.lift,
                head: self.head,
                constraint: self.constraint,
                constraint2: None,
                init_scale: 0.1,
                dissipation: self.dissipation,
                interconnection: self.interconnection,
            },
            integrator: self.integrator.clone(),
            gradient: self.gradient.clone(),
            train: TrainSpec {
                optimizer: OptimizerSpec::Adam {
                    lr: 0.01,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                },
                batch: flowlab::experiment::BatchSpec::Full,
                iterations: 1,
                weight_decay: 0.0,
                time_smoothness: 0.0,
                seeds: flowlab::experiment::Seeds::default(),
                eval_every: 1,
            },
            diagnostics: flowlab::experiment::DiagnosticsSpec::default(),
            checkpoint: None,
        }
    }
}

struct Problem {
    engine: Engine,
    x: Array2<f64>,
    labels: Vec<usize>,
    rows: Vec<usize>,
    raw: Vec<f64>,
}

const INPUTS: usize = 2;
const CLASSES: usize = 3;

fn problem(case: &Case, seed: u64) -> Problem {
    let network = common::network(&case.experiment(), INPUTS, CLASSES);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let n = 5;
    let x = Array2::from_shape_fn((n, INPUTS), |_| normal());
    let labels: Vec<usize> = (0..n).map(|i| i % CLASSES).collect();
    let raw: Vec<f64> = (0..network.layout.len()).map(|_| 0.5 * normal()).collect();
    Problem {
        engine: Engine::new(network, 1).unwrap(),
        x,
        labels,
        rows: (0..n).collect(),
        raw,
    }
}

impl Problem {
    fn loss(&mut self, raw: &[f64]) -> f64 {
        let mut eff = vec![0.0; raw.len()];
        self.engine.network().effective(raw, &mut eff);
        self.engine
            .evaluate(&eff, self.x.view(), &self.labels, &self.rows, None)
            .unwrap()
            .loss
    }

    fn gradient(&mut self) -> Vec<f64> {
        let raw = self.raw.clone();
        let mut eff = vec![0.0; raw.len()];
        self.engine.network().effective(&raw, &mut eff);
        let mut grad_eff = vec![0.0; raw.len()];
        self.engine
            .evaluate(
                &eff,
                self.x.view(),
                &self.labels,
                &self.rows,
                Some(&mut grad_eff),
            )
            .unwrap();
        let mut grad = vec![0.0; raw.len()];
        self.engine.network().pullback(&raw, &grad_eff, &mut grad);
        grad
    }

    fn finite_differences(&mut self) -> Vec<f64> {
        let eps = 1e-6;
        let raw = self.raw.clone();
        (0..raw.len())
            .map(|i| {
                let mut plus = raw.clone();
                let mut minus = raw.clone();
                plus[i] += eps;
                minus[i] -= eps;
                (self.loss(&plus) - self.loss(&minus)) / (2.0 * eps)
            })
            .collect()
    }
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let scale: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    diff / scale.max(1e-300)
}

/// Relative error per parameter block, checked against `tol`.
fn check_blocks(case_name: &str, p: &Problem, grad: &[f64], fd: &[f64], tol: f64) {
    for block in p.engine.network().layout.blocks() {
        let r = block.range();
        let err = relative_error(&grad[r.clone()], &fd[r.clone()]);
        let fd_norm: f64 = fd[r.clone()].iter().map(|v| v * v).sum::<f64>().sqrt();
        // A block whose true gradient vanishes (e.g. the skew part's symmetric directions) is
        // compared in absolute terms.
        let ok = if fd_norm < 1e-9 {
            grad[r].iter().all(|g| g.abs() < 1e-8)
        } else {
            err <= tol
        };
        assert!(
            ok,
            "{case_name}: block {} relative error {err:e}",
            block.name
        );
    }
}

fn explicit_integrators() -> Vec<IntegratorSpec> {
    vec![
        IntegratorSpec::Euler,
        IntegratorSpec::ExplicitMidpoint,
        IntegratorSpec::Heun,
        IntegratorSpec::Rk4,
        IntegratorSpec::Tableau(TableauSpec {
            name: "Ralston 3".into(),
            a: vec![
                vec![0.0, 0.0, 0.0],
                vec![0.5, 0.0, 0.0],
                vec![0.0, 0.75, 0.0],
            ],
            b: vec![2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
            c: None,
            order: 3,
        }),
        IntegratorSpec::ImplicitMidpoint {
            tolerance: 1e-14,
            max_iterations: 50,
        },
    ]
}

fn constraints() -> Vec<Constraint> {
    vec![
        Constraint::None,
        Constraint::Skew { gamma: 0.1 },
        Constraint::NegDef { eps: 0.1 },
        Constraint::Orthogonal,
        Constraint::SpectralNorm { max: 0.7 },
    ]
}

#[test]
fn dto_matches_finite_differences_for_every_combination() {
    let mut checked = 0;
    for field in FieldKind::ALL {
        let mut integrators = explicit_integrators();
        if field.is_split() {
            integrators.extend([
                IntegratorSpec::SymplecticEulerA,
                IntegratorSpec::SymplecticEulerB,
                IntegratorSpec::StormerVerlet,
            ]);
        }
        if field.has_energy() {
            integrators.push(IntegratorSpec::Avf {
                tolerance: 1e-14,
                max_iterations: 50,
            });
        }
        for constraint in constraints() {
            for integrator in &integrators {
                let mut case = Case::new(field, constraint, integrator.clone());
                // Non-square A where the field allows it and the constraint does not need a
                // square matrix.
                if !field.is_square() && !constraint.needs_square() {
                    case.hidden = case.width + 1;
                }
                let name = format!("{field:?} / {} / {integrator:?}", constraint.name());
                let mut p = problem(&case, 1);
                let grad = p.gradient();
                let fd = p.finite_differences();
                check_blocks(&name, &p, &grad, &fd, 1e-6);
                checked += 1;
            }
        }
    }
    assert!(checked >= 170, "only {checked} combinations checked");
}

#[test]
fn learned_interconnection_and_dissipation_gradients_match_finite_differences() {
    // A port-Hamiltonian field learning J (any width: 3 here), R, or both, for every constraint
    // on A and every integrator that takes it (AVF included): the blocks J and R are checked
    // with the others.
    let mut integrators = explicit_integrators();
    integrators.push(IntegratorSpec::Avf {
        tolerance: 1e-14,
        max_iterations: 50,
    });
    let mut checked = 0;
    for (interconnection, dissipation) in [
        (Interconnection::Learned, Dissipation::Fixed(0.3)),
        (Interconnection::Canonical, Dissipation::Learned),
        (Interconnection::Learned, Dissipation::Learned),
    ] {
        for constraint in constraints() {
            for integrator in &integrators {
                let mut case =
                    Case::new(FieldKind::PortHamiltonian, constraint, integrator.clone());
                case.interconnection = interconnection;
                case.dissipation = dissipation;
                if interconnection == Interconnection::Learned {
                    case.width = 3;
                    case.hidden = if constraint.needs_square() { 3 } else { 4 };
                }
                let name = format!(
                    "{interconnection:?} J / {dissipation:?} R / {} / {integrator:?}",
                    constraint.name()
                );
                let mut p = problem(&case, 5);
                let layout = &p.engine.network().layout;
                assert_eq!(
                    (layout.by_name("J").is_some(), layout.by_name("R").is_some()),
                    (
                        interconnection == Interconnection::Learned,
                        dissipation == Dissipation::Learned
                    ),
                    "{name}: blocks"
                );
                let grad = p.gradient();
                let fd = p.finite_differences();
                check_blocks(&name, &p, &grad, &fd, 1e-6);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 5 * 7);
}

#[test]
fn dto_matches_finite_differences_for_every_head_and_lift() {
    for head in [
        HeadSpec::SoftmaxCrossEntropy,
        HeadSpec::SigmoidSquaredError,
        HeadSpec::LinearMse,
    ] {
        for lift in [LiftSpec::Pad, LiftSpec::Linear] {
            let mut case = Case::new(FieldKind::ResNet, Constraint::None, IntegratorSpec::Rk4);
            case.head = head;
            case.lift = lift;
            let mut p = problem(&case, 2);
            let grad = p.gradient();
            let fd = p.finite_differences();
            check_blocks(&format!("{head:?} / {lift:?}"), &p, &grad, &fd, 1e-6);
        }
    }
}

#[test]
fn partner_otd_equals_dto_to_rounding() {
    for field in FieldKind::ALL {
        let mut integrators = explicit_integrators();
        if field.is_split() {
            integrators.push(IntegratorSpec::StormerVerlet);
        }
        for integrator in integrators {
            let mut case = Case::new(field, Constraint::None, integrator.clone());
            let dto = problem(&case, 3).gradient();
            case.gradient = GradientSpec::Partner;
            let partner = problem(&case, 3).gradient();
            let err = relative_error(&partner, &dto);
            assert!(err <= 1e-10, "{field:?} / {integrator:?}: {err:e}");
        }
    }
}

/// Parameters that sample a smooth θ(t) at the layer times, so that refining K refines one
/// continuous model.
fn smooth_params(p: &mut Problem, seed: u64) {
    let network = p.engine.network().clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    for block in network.layout.blocks() {
        let base: Vec<f64> = (0..block.layer_len()).map(|_| 0.5 * normal()).collect();
        let slope: Vec<f64> = (0..block.layer_len()).map(|_| 0.5 * normal()).collect();
        for k in 0..block.layers {
            let t = (k as f64 + 0.5) * network.h;
            let r = block.layer_range(k);
            for (i, v) in p.raw[r].iter_mut().enumerate() {
                *v = base[i] + slope[i] * t.sin();
            }
        }
    }
}

#[test]
fn backward_otd_differs_from_dto_at_the_method_order() {
    for (method, order) in [
        (IntegratorSpec::Euler, 1.0),
        (IntegratorSpec::Heun, 2.0),
        (IntegratorSpec::Rk4, 4.0),
    ] {
        let mut diffs = Vec::new();
        for layers in [32, 64, 128] {
            let mut case = Case::new(FieldKind::GradientFlow, Constraint::None, method.clone());
            case.layers = layers;
            case.final_time = 1.0;
            let mut p = problem(&case, 4);
            smooth_params(&mut p, 9);
            let dto = p.gradient();
            case.gradient = GradientSpec::Backward(method.clone());
            let mut q = problem(&case, 4);
            q.raw.clone_from(&p.raw);
            let otd = q.gradient();
            // The per-layer blocks: each layer's gradient is O(h), so the head's O(1) gradient
            // (the same in both) would otherwise hide the order.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for block in q.engine.network().layout.layer_blocks() {
                a.extend_from_slice(&otd[block.range()]);
                b.extend_from_slice(&dto[block.range()]);
            }
            diffs.push(relative_error(&a, &b));
        }
        assert!(
            diffs[2] > 1e-13,
            "{method:?}: backward OTD should differ from DTO"
        );
        let observed = (diffs[0] / diffs[2]).log2() / 2.0;
        assert!(
            (observed - order).abs() <= 0.3,
            "{method:?}: difference shrinks at order {observed:.2}, expected {order} ({diffs:?})"
        );
    }
}

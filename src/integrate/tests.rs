//! Step-level properties: convergence orders, symplecticity of the step Jacobian, adjoints.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::*;
use crate::model::Activation;
use crate::model::FieldKind;
use crate::model::params::{LayoutShape, ParamLayout};

struct Setup {
    field: Field,
    layout: ParamLayout,
    params: Vec<f64>,
}

fn setup(kind: FieldKind, width: usize, hidden: usize, act: Activation, seed: u64) -> Setup {
    let field = Field {
        learned: [false; 2],
        kind,
        width,
        hidden,
        activation: act,
        activation2: if kind == FieldKind::Hamiltonian {
            Activation::Sigmoid
        } else {
            act
        },
        dissipation: if kind == FieldKind::PortHamiltonian {
            0.3
        } else {
            0.0
        },
    };
    let layout = ParamLayout::new(&LayoutShape {
        layers: 1,
        width,
        hidden,
        second_matrix: field.second_matrix(),
        second_bias: field.second_bias() && !field.second_matrix(),
        learned: field.learned,
        linear_lift_inputs: None,
        outputs: 1,
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = (0..layout.len())
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            0.8 * z
        })
        .collect();
    Setup {
        field,
        layout,
        params,
    }
}

fn random_block(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z
        })
        .collect()
}

/// `K` steps of size `T/K` with frozen parameters from `y0` (a block of one sample).
fn integrate(
    s: &Setup,
    integrator: &Integrator,
    y0: &[f64],
    t_final: f64,
    steps: usize,
) -> Vec<f64> {
    let theta = s.layout.layer(&s.params, 0);
    let mut scratch = Scratch::new(&s.field, integrator, &Gradient::Dto, 1);
    let mut tape = vec![0.0; integrator.tape_len(&s.field, 1)];
    let mut y = y0.to_vec();
    let mut next = vec![0.0; y.len()];
    let h = t_final / steps as f64;
    for _ in 0..steps {
        let cx = StepContext {
            field: &s.field,
            theta: &theta,
            h,
            n: 1,
            scratch: &mut scratch,
        };
        integrator
            .forward(cx, &y, &mut next, &mut tape)
            .expect("step");
        std::mem::swap(&mut y, &mut next);
    }
    y
}

fn all_integrators() -> Vec<Integrator> {
    vec![
        Integrator::Explicit(Tableau::euler()),
        Integrator::Explicit(Tableau::explicit_midpoint()),
        Integrator::Explicit(Tableau::heun()),
        Integrator::Explicit(Tableau::rk4()),
        Integrator::Splitting(Splitting::SymplecticEulerA),
        Integrator::Splitting(Splitting::SymplecticEulerB),
        Integrator::Splitting(Splitting::StormerVerlet),
        Integrator::ImplicitMidpoint {
            tolerance: 1e-14,
            max_iterations: 50,
        },
    ]
}

fn norm_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn observed_orders_match_theory() {
    for integrator in all_integrators() {
        let kind = if integrator.is_symplectic() {
            FieldKind::Hamiltonian
        } else {
            FieldKind::GradientFlow
        };
        let s = setup(kind, 2, 3, Activation::Tanh, 7);
        let y0 = random_block(s.field.state_dim(), 3);
        let reference = integrate(&s, &Integrator::Explicit(Tableau::rk4()), &y0, 1.0, 4096);
        let steps = [8, 16, 32, 64];
        let errors: Vec<f64> = steps
            .iter()
            .map(|&k| norm_diff(&integrate(&s, &integrator, &y0, 1.0, k), &reference))
            .collect();
        let slope = (errors[1] / errors[3]).log2() / 2.0;
        let expected = f64::from(integrator.order());
        assert!(
            (slope - expected).abs() <= 0.2,
            "{}: observed order {slope:.3}, expected {expected} (errors {errors:?})",
            integrator.name()
        );
    }
}

/// The step Jacobian `M = ∂Φ_h/∂y₀` of one sample, row by row from the discrete adjoint
/// (`λ₀ = Mᵀ λ₁` with `λ₁ = e_i`).
fn step_jacobian(s: &Setup, integrator: &Integrator, y0: &[f64], h: f64) -> Vec<f64> {
    let dim = s.field.state_dim();
    let theta = s.layout.layer(&s.params, 0);
    let mut scratch = Scratch::new(&s.field, integrator, &Gradient::Dto, 1);
    let mut tape = vec![0.0; integrator.tape_len(&s.field, 1)];
    let mut y1 = vec![0.0; dim];
    let cx = StepContext {
        field: &s.field,
        theta: &theta,
        h,
        n: 1,
        scratch: &mut scratch,
    };
    integrator
        .forward(cx, y0, &mut y1, &mut tape)
        .expect("step");
    let mut m = vec![0.0; dim * dim];
    let mut grad = vec![0.0; s.layout.len()];
    for i in 0..dim {
        let mut lambda1 = vec![0.0; dim];
        lambda1[i] = 1.0;
        let mut lambda0 = vec![0.0; dim];
        let mut lg = s.layout.layer_grad(&mut grad, 0);
        let cx = StepContext {
            field: &s.field,
            theta: &theta,
            h,
            n: 1,
            scratch: &mut scratch,
        };
        integrator
            .backward(
                &Gradient::Dto,
                cx,
                (y0, &y1),
                &tape,
                &lambda1,
                &mut lambda0,
                &mut lg,
            )
            .expect("adjoint");
        m[i * dim..(i + 1) * dim].copy_from_slice(&lambda0);
    }
    m
}

/// `‖MᵀΩM − Ω‖_max` with `Ω = [[0, I], [−I, 0]]`.
fn symplecticity_defect(m: &[f64], dim: usize) -> f64 {
    let d = dim / 2;
    let omega = |i: usize, j: usize| -> f64 {
        if j == i + d && i < d {
            1.0
        } else if i == j + d && j < d {
            -1.0
        } else {
            0.0
        }
    };
    let mut worst: f64 = 0.0;
    for i in 0..dim {
        for j in 0..dim {
            let mut s = 0.0;
            for k in 0..dim {
                for l in 0..dim {
                    s += m[k * dim + i] * omega(k, l) * m[l * dim + j];
                }
            }
            worst = worst.max((s - omega(i, j)).abs());
        }
    }
    worst
}

#[test]
fn symplectic_methods_preserve_the_symplectic_form() {
    for kind in [
        FieldKind::Hamiltonian,
        FieldKind::HamiltonianShared,
        FieldKind::SecondOrder,
    ] {
        let s = setup(kind, 3, 4, Activation::Tanh, 11);
        let y0 = random_block(6, 5);
        for integrator in all_integrators() {
            let defect = symplecticity_defect(&step_jacobian(&s, &integrator, &y0, 0.3), 6);
            let name = integrator.name();
            match &integrator {
                Integrator::Splitting(_) => {
                    assert!(defect <= 1e-12, "{name} on {kind:?}: {defect:e}");
                }
                Integrator::ImplicitMidpoint { .. } => {
                    assert!(defect <= 1e-10, "{name} on {kind:?}: {defect:e}");
                }
                Integrator::Explicit(t) if t.stages == 1 => {
                    assert!(
                        defect >= 1e-4,
                        "explicit Euler should not be symplectic: {defect:e}"
                    );
                }
                Integrator::Explicit(_) | Integrator::Avf { .. } => {}
            }
        }
    }
}

#[test]
fn step_adjoint_matches_finite_differences_of_the_step() {
    for integrator in all_integrators() {
        let kind = if integrator.is_symplectic() {
            FieldKind::SecondOrder
        } else {
            FieldKind::ResNet
        };
        let s = setup(kind, 2, 2, Activation::Tanh, 13);
        let dim = s.field.state_dim();
        let y0 = random_block(dim, 17);
        let h = 0.2;
        let m = step_jacobian(&s, &integrator, &y0, h);
        let eps = 1e-6;
        for j in 0..dim {
            let mut plus = y0.clone();
            let mut minus = y0.clone();
            plus[j] += eps;
            minus[j] -= eps;
            let yp = integrate(&s, &integrator, &plus, h, 1);
            let ym = integrate(&s, &integrator, &minus, h, 1);
            for i in 0..dim {
                let fd = (yp[i] - ym[i]) / (2.0 * eps);
                assert!(
                    (fd - m[i * dim + j]).abs() <= 1e-7,
                    "{}: M[{i}][{j}] = {} vs fd {fd}",
                    integrator.name(),
                    m[i * dim + j]
                );
            }
        }
    }
}

/// A port-Hamiltonian setup with dissipation `gamma`.
fn port_hamiltonian(gamma: f64, seed: u64) -> Setup {
    let mut s = setup(FieldKind::PortHamiltonian, 4, 5, Activation::Tanh, seed);
    s.field.dissipation = gamma;
    s
}

fn energy_of(s: &Setup, y: &[f64]) -> f64 {
    let theta = s.layout.layer(&s.params, 0);
    s.field
        .energy(&theta, y, 1)
        .expect("tanh has an antiderivative")[0]
}

#[test]
fn port_hamiltonian_energy_falls_at_the_rate_of_the_theorem() {
    // With θ frozen, dH/dt = ∇Hᵀ(J − γI)∇H = −γ‖∇H‖², ∇H = Aᵀσ(Ay + b): checked against the
    // rate the field gives, at random states, for γ = 0 (conserved) and γ > 0 (dissipated).
    for (gamma, seed) in [(0.0, 1), (0.5, 2), (2.0, 3)] {
        let s = port_hamiltonian(gamma, seed);
        let theta = s.layout.layer(&s.params, 0);
        for state in 0..8 {
            let y = random_block(4, 100 + state);
            let mut rate = vec![0.0; 4];
            let mut records = vec![0.0; s.field.roles().len() * s.field.record_len(1)];
            s.field.eval(&theta, &y, 1, &mut rate, &mut records);
            // ∇H by central differences of H.
            let eps = 1e-6;
            let grad: Vec<f64> = (0..4)
                .map(|i| {
                    let (mut plus, mut minus) = (y.clone(), y.clone());
                    plus[i] += eps;
                    minus[i] -= eps;
                    (energy_of(&s, &plus) - energy_of(&s, &minus)) / (2.0 * eps)
                })
                .collect();
            let dh_dt: f64 = grad.iter().zip(&rate).map(|(g, r)| g * r).sum();
            let expected = -gamma * grad.iter().map(|g| g * g).sum::<f64>();
            assert!(
                (dh_dt - expected).abs() <= 1e-7 * (1.0 + expected.abs()),
                "γ = {gamma}: dH/dt = {dh_dt:e}, −γ‖∇H‖² = {expected:e}"
            );
            assert!(
                dh_dt <= 1e-9,
                "γ = {gamma}: the energy grows, dH/dt = {dh_dt:e}"
            );
        }
    }
}

#[test]
fn port_hamiltonian_exact_flow_conserves_or_dissipates_the_energy() {
    // The exact flow (RK4 with a tiny step) over t ∈ [0, 1]: H(y(t)) stays put for R = 0 and
    // never increases for R = γI.
    let rk4 = Integrator::Explicit(Tableau::rk4());
    for (gamma, seed) in [(0.0, 4), (0.3, 5)] {
        let s = port_hamiltonian(gamma, seed);
        let mut y = random_block(4, 200 + seed);
        let mut energies = vec![energy_of(&s, &y)];
        for _ in 0..20 {
            y = integrate(&s, &rk4, &y, 0.05, 50);
            energies.push(energy_of(&s, &y));
        }
        let scale = energies[0].abs().max(1.0);
        for pair in energies.windows(2) {
            if gamma == 0.0 {
                assert!((pair[1] - pair[0]).abs() <= 1e-10 * scale, "{energies:?}");
            } else {
                assert!(pair[1] <= pair[0] + 1e-12 * scale, "{energies:?}");
            }
        }
        if gamma > 0.0 {
            assert!(
                energies[20] < energies[0] - 1e-3,
                "no visible dissipation: {energies:?}"
            );
        }
    }
}

#[test]
fn implicit_midpoint_is_symplectic_on_a_conservative_port_hamiltonian_field() {
    let s = port_hamiltonian(0.0, 9);
    let y0 = random_block(4, 19);
    let midpoint = Integrator::ImplicitMidpoint {
        tolerance: 1e-14,
        max_iterations: 50,
    };
    let defect = symplecticity_defect(&step_jacobian(&s, &midpoint, &y0, 0.3), 4);
    assert!(defect <= 1e-10, "implicit midpoint: {defect:e}");
    let euler = Integrator::Explicit(Tableau::euler());
    let defect = symplecticity_defect(&step_jacobian(&s, &euler, &y0, 0.3), 4);
    assert!(defect >= 1e-4, "explicit Euler: {defect:e}");
}

fn avf() -> Integrator {
    Integrator::Avf {
        tolerance: 1e-14,
        max_iterations: 50,
    }
}

/// The fields AVF takes, with the activations they are tried with.
const AVF_FIELDS: [(FieldKind, Activation); 6] = [
    (FieldKind::Hamiltonian, Activation::Tanh),
    (FieldKind::HamiltonianShared, Activation::Relu),
    (FieldKind::SecondOrder, Activation::Tanh),
    (FieldKind::SecondOrder, Activation::LeakyRelu(0.1)),
    (FieldKind::PortHamiltonian, Activation::Tanh),
    (FieldKind::PortHamiltonian, Activation::Sigmoid),
];

/// A field of AVF's form with random parameters (port-Hamiltonian: dissipation `gamma`).
fn avf_setup(kind: FieldKind, act: Activation, gamma: f64, seed: u64) -> Setup {
    let width = if kind == FieldKind::PortHamiltonian {
        4
    } else {
        2
    };
    let mut s = setup(kind, width, 3, act, seed);
    s.field.dissipation = if kind == FieldKind::PortHamiltonian {
        gamma
    } else {
        0.0
    };
    s
}

/// `H(y₁) − H(y₀)` relative to `max(1, |H(y₀)|)` over one AVF step of size `h`.
fn avf_energy_change(s: &Setup, y0: &[f64], h: f64) -> f64 {
    let y1 = integrate(s, &avf(), y0, h, 1);
    let (e0, e1) = (energy_of(s, y0), energy_of(s, &y1));
    (e1 - e0) / e0.abs().max(1.0)
}

#[test]
fn avf_solves_stiff_dissipative_steps_where_plain_newton_cycles() {
    // Steps with h·γ near 1.3–1.5 on which the undamped Newton iteration cycled (from the
    // explicit Euler start and from y₀): the damped one converges to the AVF solution, checked
    // against the defining integral y₁ = y₀ + h ∫₀¹ f(y₀ + s(y₁ − y₀)) ds by composite Simpson.
    for (gamma, seed, h) in [
        (1.813_176_798_840_448_8, 179, 0.713_304_210_220_106),
        (1.939_096_649_258_170_7, 6460, 0.765_515_810_873_493_6),
    ] {
        let s = avf_setup(FieldKind::PortHamiltonian, Activation::Tanh, gamma, seed);
        let y0 = random_block(4, seed + 1);
        let y1 = integrate(&s, &avf(), &y0, h, 1);
        let theta = s.layout.layer(&s.params, 0);
        let mut records = vec![0.0; s.field.roles().len() * s.field.record_len(1)];
        let (mut mean, mut rate) = (vec![0.0; 4], vec![0.0; 4]);
        let panels = 2000_u32;
        for k in 0..=panels {
            let t = f64::from(k) / f64::from(panels);
            let weight = if k == 0 || k == panels {
                1.0
            } else if k % 2 == 1 {
                4.0
            } else {
                2.0
            } / (3.0 * f64::from(panels));
            let y: Vec<f64> = y0.iter().zip(&y1).map(|(a, b)| a + t * (b - a)).collect();
            s.field.eval(&theta, &y, 1, &mut rate, &mut records);
            mean.iter_mut()
                .zip(&rate)
                .for_each(|(m, r)| *m += weight * r);
        }
        let defect = (0..4)
            .map(|i| (y1[i] - y0[i] - h * mean[i]).abs())
            .fold(0.0, f64::max);
        assert!(defect <= 1e-10, "γ = {gamma}, h = {h}: residual {defect:e}");
        let change = avf_energy_change(&s, &y0, h);
        assert!(change < 0.0, "γ = {gamma}: relative ΔH {change:e}");
    }
}

/// A port-Hamiltonian setup of width 3 that learns `J` (and `R` when `dissipative`): the random
/// entries of the blocks `J` and `R` are made skew-symmetric and positive semidefinite
/// (`W − Wᵀ`, `WᵀW`), as the network's parametrisation makes them.
fn learned_port_hamiltonian(act: Activation, dissipative: bool, seed: u64) -> Setup {
    let mut field = setup(FieldKind::PortHamiltonian, 3, 4, act, seed).field;
    field.learned = [true, dissipative];
    field.dissipation = 0.0;
    let layout = ParamLayout::new(&LayoutShape {
        layers: 1,
        width: 3,
        hidden: 4,
        second_matrix: false,
        second_bias: false,
        learned: field.learned,
        linear_lift_inputs: None,
        outputs: 1,
    });
    let mut params = random_block(layout.len(), seed);
    let structured = [
        (
            layout.ids().j,
            crate::model::Constraint::Skew { gamma: 0.0 },
            1.0,
        ),
        (
            layout.ids().r,
            crate::model::Constraint::NegDef { eps: 0.0 },
            -1.0,
        ),
    ];
    for (id, constraint, sign) in structured {
        let Some(id) = id else { continue };
        let range = layout.block(id).range();
        // W of entries N(0, 1/4): at the largest steps (h = 2) h‖J − R‖ is several units, a
        // stiff step for the damped Newton iteration.
        let w: Vec<f64> = params[range.clone()].iter().map(|x| 0.5 * x).collect();
        constraint.apply(&w, 3, 3, &mut params[range.clone()]);
        params[range].iter_mut().for_each(|a| *a *= sign);
    }
    Setup {
        field,
        layout,
        params,
    }
}

mod avf_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// With θ frozen, an AVF step conserves H for `S` skew (to 1e-12 relative): every
        /// field of its form, random parameters, states and steps.
        #[test]
        fn avf_conserves_the_energy(field in 0..AVF_FIELDS.len(), seed in 0u64..10_000, h in 0.01f64..2.0) {
            let (kind, act) = AVF_FIELDS[field];
            let s = avf_setup(kind, act, 0.0, seed);
            let y0 = random_block(s.field.state_dim(), seed + 1);
            let change = avf_energy_change(&s, &y0, h);
            prop_assert!(change.abs() <= 1e-12, "{kind:?} / {}: relative ΔH {change:e}", act.name());
        }

        /// For `S = J − γI`, `γ ≥ 0`, an AVF step never raises H.
        #[test]
        fn avf_never_raises_a_dissipative_energy(act in 0..2usize, gamma in 0.0f64..4.0, seed in 0u64..10_000, h in 0.01f64..2.0) {
            let act = [Activation::Tanh, Activation::Sigmoid][act];
            let s = avf_setup(FieldKind::PortHamiltonian, act, gamma, seed);
            let y0 = random_block(4, seed + 1);
            let change = avf_energy_change(&s, &y0, h);
            prop_assert!(change <= 1e-12, "γ = {gamma}: relative ΔH {change:e}");
        }

        /// With a learned skew `J` the energy is conserved, with a learned `R = WᵀW` it never
        /// rises.
        #[test]
        fn avf_respects_a_learned_interconnection(dissipative: bool, seed in 0u64..10_000, h in 0.01f64..2.0) {
            let s = learned_port_hamiltonian(Activation::Tanh, dissipative, seed);
            let y0 = random_block(3, seed + 1);
            let change = avf_energy_change(&s, &y0, h);
            if dissipative {
                prop_assert!(change <= 1e-12, "relative ΔH {change:e}");
            } else {
                prop_assert!(change.abs() <= 1e-12, "relative ΔH {change:e}");
            }
        }
    }
}

#[test]
fn explicit_and_midpoint_steps_do_change_the_energy() {
    // The property AVF has is not a given: the same steps by RK4 and the implicit midpoint rule
    // change H visibly.
    let s = avf_setup(FieldKind::PortHamiltonian, Activation::Tanh, 0.0, 3);
    let y0 = random_block(4, 4);
    let e0 = energy_of(&s, &y0);
    for other in [
        Integrator::Explicit(Tableau::rk4()),
        Integrator::ImplicitMidpoint {
            tolerance: 1e-14,
            max_iterations: 50,
        },
    ] {
        let change = (energy_of(&s, &integrate(&s, &other, &y0, 0.6, 1)) - e0).abs();
        assert!(change >= 1e-6, "{}: ΔH {change:e}", other.name());
    }
}

#[test]
fn avf_has_order_two() {
    // The order needs a smooth field.
    let smooth = AVF_FIELDS
        .into_iter()
        .filter(|(_, act)| matches!(act, Activation::Tanh | Activation::Sigmoid));
    for (kind, act) in smooth {
        let s = avf_setup(kind, act, 0.3, 7);
        let y0 = random_block(s.field.state_dim(), 3);
        let reference = integrate(&s, &Integrator::Explicit(Tableau::rk4()), &y0, 1.0, 4096);
        let errors: Vec<f64> = [8, 16, 32, 64]
            .iter()
            .map(|&k| norm_diff(&integrate(&s, &avf(), &y0, 1.0, k), &reference))
            .collect();
        let slope = (errors[1] / errors[3]).log2() / 2.0;
        assert!(
            (slope - 2.0).abs() <= 0.2,
            "{kind:?}: observed order {slope:.3} (errors {errors:?})"
        );
    }
}

#[test]
fn avf_step_adjoint_matches_finite_differences_of_the_step() {
    let learned = [false, true].map(|r| learned_port_hamiltonian(Activation::Tanh, r, 14));
    let fixed = AVF_FIELDS.map(|(kind, act)| avf_setup(kind, act, 0.4, 13));
    for s in fixed.iter().chain(&learned) {
        let (kind, act) = (s.field.kind, s.field.activation);
        let dim = s.field.state_dim();
        let y0 = random_block(dim, 17);
        let h = 0.3;
        let m = step_jacobian(s, &avf(), &y0, h);
        let eps = 1e-6;
        for j in 0..dim {
            let (mut plus, mut minus) = (y0.clone(), y0.clone());
            plus[j] += eps;
            minus[j] -= eps;
            let yp = integrate(s, &avf(), &plus, h, 1);
            let ym = integrate(s, &avf(), &minus, h, 1);
            for i in 0..dim {
                let fd = (yp[i] - ym[i]) / (2.0 * eps);
                assert!(
                    (fd - m[i * dim + j]).abs() <= 1e-7,
                    "{kind:?} / {}: M[{i}][{j}] = {} vs fd {fd}",
                    act.name(),
                    m[i * dim + j]
                );
            }
        }
    }
}

#[test]
fn a_learned_dissipation_dissipates_along_the_exact_flow_and_avf_steps() {
    // R = WᵀW: dH/dt = −‖W∇H‖² ≤ 0, seen on the exact flow (RK4, tiny steps) and on AVF steps;
    // the dissipation is visible.
    let s = learned_port_hamiltonian(Activation::Tanh, true, 31);
    let y0 = random_block(3, 32);
    for (integrator, steps) in [(Integrator::Explicit(Tableau::rk4()), 50), (avf(), 1)] {
        let mut y = y0.clone();
        let mut energies = vec![energy_of(&s, &y)];
        for _ in 0..10 {
            y = integrate(&s, &integrator, &y, 0.1, steps);
            energies.push(energy_of(&s, &y));
        }
        for pair in energies.windows(2) {
            assert!(
                pair[1] <= pair[0] + 1e-13,
                "{}: {energies:?}",
                integrator.name()
            );
        }
        assert!(
            energies[10] < energies[0] - 1e-3,
            "{}: {energies:?}",
            integrator.name()
        );
    }
}

#[test]
fn avf_is_the_implicit_midpoint_rule_on_a_linear_field() {
    // σ = identity makes H quadratic and the field linear; then the mean of f over the segment
    // is f at its midpoint.
    let s = avf_setup(FieldKind::PortHamiltonian, Activation::Identity, 0.2, 21);
    let y0 = random_block(4, 22);
    let midpoint = Integrator::ImplicitMidpoint {
        tolerance: 1e-14,
        max_iterations: 50,
    };
    let a = integrate(&s, &avf(), &y0, 0.5, 3);
    let b = integrate(&s, &midpoint, &y0, 0.5, 3);
    assert!(norm_diff(&a, &b) <= 1e-13, "{a:?} vs {b:?}");
}

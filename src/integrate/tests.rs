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
        kind,
        width,
        hidden,
        activation: act,
        activation2: if kind == FieldKind::Hamiltonian {
            Activation::Sigmoid
        } else {
            act
        },
    };
    let layout = ParamLayout::new(&LayoutShape {
        layers: 1,
        width,
        hidden,
        second_matrix: field.second_matrix(),
        second_bias: field.second_bias() && !field.second_matrix(),
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
                Integrator::Explicit(_) => {}
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

//! Trajectory divergence: how far apart the states of a probe input `x` and a perturbed input
//! `x + δ` (`‖δ‖₂ = ε`) drift through the layers, for random directions and for the worst-case
//! direction, against the bounds `exp(h Σ_{j<k} ν̂_j)` and `Π_{j<k} L_j`.
//!
//! The worst-case direction of a probe is the leading right singular vector of the Jacobian
//! `G = ∂y_K/∂x` of the whole flow (lift included), found by block power iteration on `GᵀG`
//! (subspace iteration with a Rayleigh–Ritz step, on `min(n_in, 3)` vectors per probe): `G V` by
//! the lift and the step Jacobians `M_k` (forward mode, their product accumulated once per probe),
//! `Gᵀ U` by the integrator's exact discrete adjoint run backwards through the layers
//! (`Integrator::backward` with `λ_K = U`) and the transposed lift. With at most three input
//! features the block spans the input space and the Ritz pair is exact after one sweep (the
//! second confirms it); with more it converges like power iteration with ratio
//! `(σ₄/σ₁)²`. Its gain `‖G v‖` is the local Lipschitz constant of the network at the probe;
//! the largest over the probes is the reported end-to-end Lipschitz estimate (a lower bound of
//! the global constant).
//!
//! Amplifications are measured on the full state `y_k` (`(z, p)` for Hamiltonian fields) and
//! relative to `‖δ‖` in input space, so the bounds carry the lift's norm `‖∂y₀/∂x‖₂` (1 for
//! zero padding).

use nalgebra::DMatrix;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use super::DiagnosticsSpec;
use super::lipschitz::{Bound, BoundSide, Rigor};
use super::{Context, Outcome, Stream, flow, linalg, rng, times};
use crate::data::Split;
use crate::train::Snapshot;
use flow::Flow;

/// Median and maximum of amplification curves at every time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Amplification {
    /// Median over the curves, per time.
    pub median: Vec<f64>,
    /// Maximum over the curves, per time.
    pub max: Vec<f64>,
}

/// The divergence diagnostic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    /// Times `t_k = k h`, `k = 0..=K` (`t_0` is the lifted input).
    pub times: Vec<f64>,
    /// `‖δ‖₂`.
    pub epsilon: f64,
    /// Probe inputs.
    pub probes: usize,
    /// Training-set rows of the probe inputs.
    pub rows: Vec<usize>,
    /// Random directions per probe.
    pub random_directions: usize,
    /// `‖y_k(x+δ) − y_k(x)‖/‖δ‖` over probes and random directions.
    pub random: Amplification,
    /// The same along each probe's worst-case direction.
    pub worst_case: Amplification,
    /// Every random curve, probe-major (probe `i`, direction `r` at `i·R + r`).
    pub random_per_probe: Vec<Vec<f64>>,
    /// Every worst-case curve, one per probe.
    pub worst_case_per_probe: Vec<Vec<f64>>,
    /// Per probe, `σ_max(∂y_K/∂x)` from the block power iteration (the linearised gain along the
    /// worst-case direction).
    pub worst_case_gain: Vec<f64>,
    /// Block power iterations performed (each: `min(n_in, 3)` adjoint sweeps over the probes).
    pub power_iterations: usize,
    /// Whether every probe's gain changed by less than `1e-12` (relative) in the last iteration.
    pub power_converged: bool,
    /// `max_i σ_max(∂y_K/∂x_i)`: the network's local Lipschitz constant at the probes (an
    /// estimate, a lower bound of the global one).
    pub end_to_end_lipschitz: f64,
    /// `‖lift‖ Π_j L_j` over all layers: a rigorous global Lipschitz bound, when available.
    pub end_to_end_bound: Option<f64>,
    /// `‖∂y₀/∂x‖₂`.
    pub lift_norm: f64,
    /// Bounds on the amplification per time: `‖lift‖ exp(h Σ_{j<k} ν̂_j)` (estimate),
    /// `‖lift‖ Π_{j<k} L̂_j` (estimate), `‖lift‖ Π_{j<k} L_j` (rigorous, when available).
    pub bounds: Vec<Bound>,
}

/// The divergence diagnostic of a snapshot.
pub fn divergence(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
) -> Outcome<Divergence> {
    compute(&mut Context::new(snapshot, split, spec))
}

/// Relative change of every gain below which the power iteration stops.
const POWER_TOLERANCE: f64 = 1e-12;

/// Vectors per probe in the block power iteration (the whole input space when it has at most
/// this many dimensions, so that the Rayleigh–Ritz step is then exact).
const BLOCK_WIDTH: usize = 3;

/// Running products `c · Π_{j<k} f_j`, `k = 0..=K`.
fn running_product(c: f64, factors: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(factors.len() + 1);
    let mut acc = c;
    out.push(acc);
    for f in factors {
        acc *= f;
        out.push(acc);
    }
    out
}

/// Median and max over curves, per time (NaN where there are no curves).
fn statistics(curves: &[Vec<f64>], points: usize) -> Amplification {
    let column = |k: usize| -> Vec<f64> { curves.iter().map(|c| c[k]).collect() };
    let largest = |k: usize| {
        if curves.is_empty() {
            f64::NAN
        } else {
            linalg::max_or_nan(column(k))
        }
    };
    Amplification {
        median: (0..points).map(|k| linalg::median(&column(k))).collect(),
        max: (0..points).map(largest).collect(),
    }
}

/// The flow's Jacobian `G = M_{K−1} ⋯ M_0 · ∂y₀/∂x` of every probe (row-major `dim × inputs`):
/// forward mode through the step Jacobians, accumulated once so that each `G v` of the power
/// iteration is one small product.
fn flow_jacobians(
    lift: &nalgebra::DMatrix<f64>,
    step_jacobians: &[Vec<f64>],
    dim: usize,
    n: usize,
) -> Vec<Vec<f64>> {
    let inputs = lift.ncols();
    (0..n)
        .map(|probe| {
            let mut g: Vec<f64> = (0..dim * inputs)
                .map(|e| lift[(e / inputs, e % inputs)])
                .collect();
            for jacobians in step_jacobians {
                let m = &jacobians[probe * dim * dim..(probe + 1) * dim * dim];
                g = (0..dim * inputs)
                    .map(|e| {
                        let (i, j) = (e / inputs, e % inputs);
                        (0..dim).map(|q| m[i * dim + q] * g[q * inputs + j]).sum()
                    })
                    .collect();
            }
            g
        })
        .collect()
}

pub(crate) fn compute(ctx: &mut Context) -> Outcome<Divergence> {
    let network = ctx.network;
    let eff = ctx.eff;
    let spec = ctx.spec;
    let epsilon = spec.epsilon;
    let inputs = network.inputs;
    let layers = network.layers;
    let (one_sided, step_estimates, step_bounds) = match ctx.lipschitz() {
        Outcome::Computed(l) => (
            l.one_sided.clone(),
            l.step.clone(),
            l.step_bound.as_ref().map(|b| b.values.clone()),
        ),
        other => {
            return Outcome::Failed(
                other
                    .reason()
                    .unwrap_or("the Lipschitz estimates are missing")
                    .to_owned(),
            );
        }
    };
    let lift = flow::lift_matrix(network, eff);
    let lift_norm = linalg::singular_values(&lift)
        .and_then(|s| s.first().copied())
        .unwrap_or(f64::NAN);
    let mut direction_rng = rng(spec, Stream::Directions);
    let mut start_rng = rng(spec, Stream::WorstStart);
    let unit = |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
        let mut v: Vec<f64> = (0..inputs)
            .map(|_| StandardNormal.sample(&mut *rng))
            .collect();
        linalg::normalize(&mut v);
        v
    };
    let probes = match ctx.probes() {
        Ok(p) => p,
        Err(e) => return e.outcome(),
    };
    let (n, dim) = (probes.flow.n, probes.flow.dim);

    // Block power iteration on GᵀG with Rayleigh–Ritz, all probes at once.
    let width = inputs.min(BLOCK_WIDTH);
    let jacobians = flow_jacobians(&lift, &probes.step_jacobians, dim, n);
    let mut bases: Vec<DMatrix<f64>> = (0..n)
        .map(|_| {
            let start =
                DMatrix::from_fn(inputs, width, |_, _| StandardNormal.sample(&mut start_rng));
            start.qr().q()
        })
        .collect();
    let mut gains = vec![f64::NAN; n];
    let mut v: Vec<Vec<f64>> = vec![vec![0.0; inputs]; n];
    let mut iterations = 0;
    let mut converged = false;
    for _ in 0..spec.power_iterations.max(2) {
        // W = GᵀG V: forward through the step Jacobians, back through the discrete adjoint.
        let mut next_bases: Vec<DMatrix<f64>> = vec![DMatrix::zeros(inputs, width); n];
        for c in 0..width {
            let mut lambda = vec![0.0; dim * n];
            for (i, (g, basis)) in jacobians.iter().zip(&bases).enumerate() {
                let column: Vec<f64> = basis.column(c).iter().copied().collect();
                for (r, ur) in linalg::mat_vec(g, dim, inputs, &column)
                    .into_iter()
                    .enumerate()
                {
                    lambda[r * n + i] = ur;
                }
            }
            let lambda0 = match probes.flow.vjp(&lambda) {
                Ok(l) => l,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            let back = flow::lift_transpose(network, eff, &lambda0, n);
            for (i, next) in next_bases.iter_mut().enumerate() {
                for j in 0..inputs {
                    next[(j, c)] = back[j * n + i];
                }
            }
        }
        // Orthonormalise, then the Ritz pair of the projected problem (G Q)ᵀ(G Q).
        let mut next_gains = Vec::with_capacity(n);
        for (i, next) in next_bases.into_iter().enumerate() {
            let q = next.qr().q();
            let g = linalg::matrix(&jacobians[i], dim, inputs);
            let image = &g * &q;
            let projected = image.transpose() * &image;
            let (value, vector) = linalg::top_eigenpair(&projected)
                .unwrap_or((f64::NAN, DMatrix::zeros(q.ncols(), 1)));
            let mut direction: Vec<f64> = (&q * vector).iter().copied().collect();
            linalg::normalize(&mut direction);
            v[i] = direction;
            next_gains.push(value.max(0.0).sqrt());
            bases[i] = q;
        }
        iterations += 1;
        let settled = iterations >= 2
            && next_gains
                .iter()
                .zip(&gains)
                .all(|(new, old)| (new - old).abs() <= POWER_TOLERANCE * new.abs());
        gains = next_gains;
        if settled {
            converged = true;
            break;
        }
    }
    // The gain along the final direction, by the same forward products.
    for (i, gain) in gains.iter_mut().enumerate() {
        *gain = linalg::norm(&linalg::mat_vec(&jacobians[i], dim, inputs, &v[i]));
    }

    // Perturbed inputs: worst case at i, random direction r at n + i·R + r.
    let directions = spec.random_directions;
    let total = n * (1 + directions);
    let mut x = vec![0.0; inputs * total];
    let mut offsets = vec![0.0; total];
    for (i, worst) in v.iter().enumerate() {
        let base = flow::sample(&probes.x, inputs, n, i);
        let mut place = |slot: usize, d: &[f64]| {
            let moved: Vec<f64> = base.iter().zip(d).map(|(b, d)| b + epsilon * d).collect();
            offsets[slot] = linalg::distance(&moved, &base);
            for (j, m) in moved.iter().enumerate() {
                x[j * total + slot] = *m;
            }
        };
        place(i, worst);
        for r in 0..directions {
            let d = unit(&mut direction_rng);
            place(n + i * directions + r, &d);
        }
    }
    let perturbed = match Flow::from_inputs(network, eff, &x, total) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let curve = |slot: usize, probe: usize| -> Vec<f64> {
        (0..=layers)
            .map(|k| {
                flow::sample_distance(
                    perturbed.state(k),
                    total,
                    slot,
                    probes.flow.state(k),
                    n,
                    probe,
                    dim,
                ) / offsets[slot]
            })
            .collect()
    };
    let worst_case_per_probe: Vec<Vec<f64>> = (0..n).map(|i| curve(i, i)).collect();
    let random_per_probe: Vec<Vec<f64>> = (0..n * directions)
        .map(|s| curve(n + s, s / directions.max(1)))
        .collect();

    let exponent: Vec<f64> = one_sided.iter().map(|nu| (network.h * nu).exp()).collect();
    let mut bounds = vec![
        Bound {
            label: "‖lift‖·exp(h Σ_{j<k} ν̂_j)".to_owned(),
            side: BoundSide::Upper,
            rigor: Rigor::Estimate,
            values: running_product(lift_norm, &exponent),
        },
        Bound {
            label: "‖lift‖·Π_{j<k} L̂_j".to_owned(),
            side: BoundSide::Upper,
            rigor: Rigor::Estimate,
            values: running_product(lift_norm, &step_estimates),
        },
    ];
    let end_to_end_bound = step_bounds.map(|values| {
        let curve = running_product(lift_norm, &values);
        let last = curve.last().copied().unwrap_or(lift_norm);
        bounds.push(Bound {
            label: "‖lift‖·Π_{j<k} L_j".to_owned(),
            side: BoundSide::Upper,
            rigor: Rigor::Rigorous,
            values: curve,
        });
        last
    });

    Outcome::Computed(Divergence {
        times: times(network, layers + 1),
        epsilon,
        probes: n,
        rows: probes.rows.clone(),
        random_directions: directions,
        random: statistics(&random_per_probe, layers + 1),
        worst_case: statistics(&worst_case_per_probe, layers + 1),
        random_per_probe,
        worst_case_per_probe,
        end_to_end_lipschitz: linalg::max_or_nan(gains.iter().copied()),
        worst_case_gain: gains,
        power_iterations: iterations,
        power_converged: converged,
        end_to_end_bound,
        lift_norm,
        bounds,
    })
}

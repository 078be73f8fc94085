//! One-sided Lipschitz constants of the field and Lipschitz constants of the step maps: probe
//! estimates against the analytic bounds.
//!
//! - `ν̂_k = max_probes λ_max(½(J + Jᵀ))` at the probe states `y_k` (the logarithmic 2-norm of the
//!   field's Jacobian; an estimate: the true `ν_k` is a supremum over all states, so `ν̂_k ≤ ν_k`).
//! - Analytic bounds on `ν_k`, rigorous for every state, from `‖A_k‖₂`, `μ*_k` and the range
//!   `[min σ', max σ']` of the activation (Celledoni et al. 2020; DESIGN §3):
//!   GradientFlow `−max σ'·μ*² ≤ ν ≤ 0` when `σ' ≥ 0` (`μ*²` is `λ_min(AᵀA)`, 0 when `m < d`);
//!   ResNet `ν ≤ max|σ'|·‖A‖₂`; separable Hamiltonian fields
//!   `J = [[0, B₁], [−B₂, 0]]`, `ν = ½‖B₁ − B₂‖ ≤ ½ max(‖B₁‖, ‖B₂‖)` for positive semidefinite
//!   `B_i` (`σ' ≥ 0`), `½(‖B₁‖ + ‖B₂‖)` otherwise, with `‖B_i‖ ≤ max|σ_i'|·‖A_i‖₂²` (`B₁ = I`
//!   for the second-order field).
//! - `L̂_k = max ‖Φ_k(y) − Φ_k(y')‖ / ‖y − y'‖` over probe pairs: consecutive probe states
//!   `(y_k^i, y_k^{i+1})`, and each probe state with a copy displaced by `ε` along a direction of
//!   nearly maximal stretch of its step Jacobian. An estimate (a lower bound of `L_k`).
//! - A rigorous bound on `L_k` from the field's Lipschitz constant `ℓ_k` (from `‖A_k‖₂` and
//!   `max|σ'|`): explicit Runge–Kutta `L ≤ 1 + hℓ Σ|b_i| L_i`, `L_i = 1 + hℓ Σ_j |a_ij| L_j`
//!   (Euler: `1 + hℓ`), sharpened for GradientFlow + explicit Euler with `σ' ≥ 0` to
//!   `max(1, h max σ' ‖A‖₂² − 1)` (the step Jacobian `I − hAᵀDA` is symmetric with spectrum in
//!   `[1 − h max σ'‖A‖², 1]`); splitting methods: the product over sub-steps of the shear norm
//!   `(β + √(β² + 4))/2`, `β = c h Lip(part)`; implicit midpoint: `√(1 + 2hν⁺/(1 − hν⁺/2)²)` with
//!   `ν⁺ = max(ν_bound, 0)` when `hν⁺ < 2` (1 for ν ≤ 0: B-stability, Burrage & Butcher 1979), and
//!   `(1 + hℓ/2)/(1 − hℓ/2)` when `hℓ < 2`, whichever is smaller.
//! - GradientFlow + explicit Euler: the step-size condition `h‖A_k‖₂² max σ' ≤ 2`, under which
//!   the step is non-expansive; layers that violate it are flagged.

use serde::Serialize;

use super::DiagnosticsSpec;
use super::{Context, Outcome, Stream, flow, linalg, rng, times};
use crate::data::Split;
use crate::integrate::{Integrator, Tableau};
use crate::model::field::{Op, Role};
use crate::model::{Activation, Field, FieldKind};
use crate::train::Network;
use crate::train::Snapshot;

use rand_distr::{Distribution, StandardNormal};

/// Whether a bound holds for every state or is measured on probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rigor {
    /// Holds for all states (a theorem applied to the model's parameters).
    Rigorous,
    /// Computed from probe estimates; may be exceeded.
    Estimate,
}

/// Which side a bound is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundSide {
    /// The quantity is at most the bound.
    Upper,
    /// The quantity is at least the bound.
    Lower,
}

/// A bound as a curve over layers (or times), with its formula for legends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bound {
    /// The formula, for legends (e.g. `ν ≤ max|σ'|·‖A‖₂`).
    pub label: String,
    /// Upper or lower.
    pub side: BoundSide,
    /// Rigorous or estimated.
    pub rigor: Rigor,
    /// One value per layer (or per time of the curve it bounds).
    pub values: Vec<f64>,
}

/// The step-size condition `h‖A_k‖₂² max σ' ≤ 2` of explicit Euler on a gradient flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSizeCondition {
    /// Per layer `h‖A_k‖₂² max σ'`.
    pub values: Vec<f64>,
    /// The limit (2).
    pub limit: f64,
    /// Layers whose value exceeds the limit (their step may expand distances).
    pub violated: Vec<usize>,
}

/// Lipschitz estimates and bounds per layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lipschitz {
    /// Layer start times `t_k = k h`, `k = 0..K`.
    pub times: Vec<f64>,
    /// `ν̂_k`: the largest logarithmic 2-norm of the field's Jacobian over the probe states.
    pub one_sided: Vec<f64>,
    /// Analytic bounds on `ν_k` (rigorous; empty when theory gives none).
    pub one_sided_bounds: Vec<Bound>,
    /// A rigorous upper bound on the field's Lipschitz constant `ℓ_k` per layer.
    pub field_lipschitz_bound: Vec<f64>,
    /// `L̂_k`: the largest distance ratio of the step map over probe pairs.
    pub step: Vec<f64>,
    /// Probe pairs per layer behind `step`.
    pub pairs: usize,
    /// A rigorous upper bound on `L_k`, when one is available.
    pub step_bound: Option<Bound>,
    /// Why there is no `step_bound`.
    pub step_bound_missing: Option<String>,
    /// The step-size condition (GradientFlow + explicit Euler only).
    pub step_size_condition: Option<StepSizeCondition>,
}

/// The Lipschitz diagnostic of a snapshot.
pub fn lipschitz(snapshot: &Snapshot, split: &Split, spec: &DiagnosticsSpec) -> Outcome<Lipschitz> {
    compute(&mut Context::new(snapshot, split, spec))
}

/// Norms of one layer's matrices.
#[derive(Clone, Copy, Debug)]
struct LayerNorms {
    /// `‖A‖₂` per matrix slot.
    a: [f64; 2],
    /// `λ_min(AᵀA)` of slot 0 (0 when `m < d`).
    min_gram: f64,
    /// `‖J − R‖₂` of a port-Hamiltonian field (1 otherwise).
    interconnect: f64,
}

/// `(min σ', max σ', max |σ'|)`.
fn derivative_range(act: Activation) -> (f64, f64, f64) {
    let (lo, hi) = act.derivative_bounds();
    (lo, hi, lo.abs().max(hi.abs()))
}

/// A rigorous Lipschitz constant of one part of the field, and whether its Jacobian is positive
/// semidefinite (`Aᵀ diag(σ') A` with `σ' ≥ 0`, or the identity).
fn part_constant(field: &Field, role: Role, norms: &LayerNorms) -> (f64, bool) {
    match field.part(role).op {
        Op::Dense { act } | Op::DenseTransposed { act } => {
            (derivative_range(act).2 * norms.a[0], false)
        }
        Op::Transposed { slot, act, .. } => {
            let (lo, _, s) = derivative_range(act);
            (s * norms.a[slot] * norms.a[slot], lo >= 0.0)
        }
        Op::PortHamiltonian { act, .. } => {
            let s = derivative_range(act).2;
            (norms.interconnect * s * norms.a[0] * norms.a[0], false)
        }
        Op::Identity => (1.0, true),
    }
}

/// A rigorous Lipschitz constant `ℓ` of the whole field.
fn field_constant(field: &Field, norms: &LayerNorms) -> f64 {
    if field.kind.is_split() {
        // J = [[0, B₁], [−B₂, 0]] is block anti-diagonal: ‖J‖ = max(‖B₁‖, ‖B₂‖).
        let (drift, _) = part_constant(field, Role::Drift, norms);
        let (kick, _) = part_constant(field, Role::Kick, norms);
        drift.max(kick)
    } else {
        part_constant(field, Role::Whole, norms).0
    }
}

/// A rigorous upper bound on `ν` and its label.
fn one_sided_upper(field: &Field, norms: &LayerNorms) -> (f64, String) {
    match field.kind {
        FieldKind::ResNet => (
            derivative_range(field.activation).2 * norms.a[0],
            "ν ≤ max|σ'|·‖A‖₂".to_owned(),
        ),
        FieldKind::PortHamiltonian => (
            part_constant(field, Role::Whole, norms).0,
            "ν ≤ ‖J − R‖₂·max|σ'|·‖A‖₂²".to_owned(),
        ),
        FieldKind::GradientFlow => {
            let (lo, _, _) = derivative_range(field.activation);
            if lo >= 0.0 {
                (0.0, "ν ≤ 0 (σ' ≥ 0)".to_owned())
            } else {
                (
                    -lo * norms.a[0] * norms.a[0],
                    "ν ≤ −min σ'·‖A‖₂²".to_owned(),
                )
            }
        }
        _ => {
            let (drift, drift_psd) = part_constant(field, Role::Drift, norms);
            let (kick, kick_psd) = part_constant(field, Role::Kick, norms);
            if drift_psd && kick_psd {
                (
                    0.5 * drift.max(kick),
                    "ν = ½‖B₁ − B₂‖ ≤ ½ max(‖B₁‖, ‖B₂‖)".to_owned(),
                )
            } else {
                (
                    0.5 * (drift + kick),
                    "ν = ½‖B₁ − B₂‖ ≤ ½ (‖B₁‖ + ‖B₂‖)".to_owned(),
                )
            }
        }
    }
}

/// Whether a tableau is explicit Euler.
fn is_euler(t: &Tableau) -> bool {
    t.stages == 1 && t.b[0] == 1.0
}

/// `L ≤ 1 + hℓ Σ|b_i| L_i`, `L_i = 1 + hℓ Σ_j |a_ij| L_j` for an explicit tableau.
fn runge_kutta_bound(t: &Tableau, h_ell: f64) -> f64 {
    let mut stage = Vec::with_capacity(t.stages);
    for i in 0..t.stages {
        let sum: f64 = (0..i).map(|j| t.a(i, j).abs() * stage[j]).sum();
        stage.push(1.0 + h_ell * sum);
    }
    1.0 + h_ell
        * t.b
            .iter()
            .zip(&stage)
            .map(|(b, l)| b.abs() * l)
            .sum::<f64>()
}

/// A rigorous bound on the step map's Lipschitz constant and its label, or why there is none.
fn step_bound(
    network: &Network,
    norms: &LayerNorms,
    nu_upper: f64,
) -> Result<(f64, String), String> {
    let field = &network.field;
    let h = network.h;
    let ell = field_constant(field, norms);
    match &network.integrator {
        Integrator::Explicit(t) => {
            let generic = runge_kutta_bound(t, h * ell);
            let (lo, hi, _) = derivative_range(field.activation);
            if field.kind == FieldKind::GradientFlow && is_euler(t) && lo >= 0.0 {
                let symmetric = (h * hi * norms.a[0] * norms.a[0] - 1.0).max(1.0);
                Ok((
                    symmetric.min(generic),
                    "L ≤ min(max(1, h max σ'‖A‖₂² − 1), 1 + hℓ)".to_owned(),
                ))
            } else if is_euler(t) {
                Ok((generic, "L ≤ 1 + hℓ".to_owned()))
            } else {
                Ok((generic, "L ≤ 1 + hℓ Σ|b_i| L_i".to_owned()))
            }
        }
        Integrator::Splitting(s) => {
            let product = s
                .substeps()
                .iter()
                .map(|&(role, fraction)| {
                    let beta = fraction * h * part_constant(field, role, norms).0;
                    0.5 * (beta + (beta * beta + 4.0).sqrt())
                })
                .product();
            Ok((product, "L ≤ Π (β + √(β² + 4))/2".to_owned()))
        }
        Integrator::ImplicitMidpoint { .. } => {
            let nu = nu_upper.max(0.0);
            let from_nu =
                (h * nu < 2.0).then(|| (1.0 + 2.0 * h * nu / (1.0 - 0.5 * h * nu).powi(2)).sqrt());
            let from_ell = (h * ell < 2.0).then(|| (1.0 + 0.5 * h * ell) / (1.0 - 0.5 * h * ell));
            let label = "L ≤ min(√(1 + 2hν⁺/(1 − hν⁺/2)²), (1 + hℓ/2)/(1 − hℓ/2))".to_owned();
            match (from_nu, from_ell) {
                (Some(a), Some(b)) => Ok((a.min(b), label)),
                (Some(a), None) | (None, Some(a)) => Ok((a, label)),
                (None, None) => Err(format!(
                    "no bound: h·ν and h·ℓ are both at least 2 (h = {h}, ℓ ≤ {ell:.3e})"
                )),
            }
        }
        // |e₁| ≤ |e₀| + hℓ ∫₀¹ |(1 − s)e₀ + s e₁| ds ≤ |e₀| + hℓ(|e₀| + |e₁|)/2.
        Integrator::Avf { .. } => {
            if h * ell < 2.0 {
                Ok((
                    (1.0 + 0.5 * h * ell) / (1.0 - 0.5 * h * ell),
                    "L ≤ (1 + hℓ/2)/(1 − hℓ/2)".to_owned(),
                ))
            } else {
                Err(format!(
                    "no bound: h·ℓ is at least 2 (h = {h}, ℓ ≤ {ell:.3e})"
                ))
            }
        }
    }
}

/// Norms per layer from the matrix spectra.
fn layer_norms(ctx: &mut Context) -> Vec<LayerNorms> {
    let layers = ctx.network.layers;
    let field = ctx.network.field;
    let interconnect: Vec<f64> = (0..layers)
        .map(|k| interconnect_norm(&field, &ctx.network.layout.layer(ctx.eff, k)))
        .collect();
    let matrices = ctx.matrices();
    (0..layers)
        .map(|k| {
            let first = &matrices[0];
            let a0 = first.norm[k];
            let a1 = matrices.get(1).map_or(a0, |m| m.norm[k]);
            let min_gram = if first.rows >= first.cols {
                first.smallest[k].powi(2)
            } else {
                0.0
            };
            LayerNorms {
                a: [a0, a1],
                min_gram,
                interconnect: interconnect[k],
            }
        })
        .collect()
}

/// `‖J − R‖₂` of a layer of a port-Hamiltonian field (1 for other fields). With the canonical
/// `J` and `R = γI` it is `√(1 + γ²)` (`J − γI` is normal with eigenvalues `−γ ± i`); a learned
/// `J` or `R` is measured by its SVD.
fn interconnect_norm(field: &Field, theta: &crate::model::params::LayerParams) -> f64 {
    if field.kind != FieldKind::PortHamiltonian {
        return 1.0;
    }
    if theta.j.is_none() && theta.r.is_none() {
        return field.dissipation.hypot(1.0);
    }
    let d = field.width;
    // The columns of J − R, by the interconnection applied to the unit vectors.
    let mut identity = vec![0.0; d * d];
    for i in 0..d {
        identity[i * d + i] = 1.0;
    }
    let mut s = vec![0.0; d * d];
    field.interconnect_into(theta, &identity, d, false, &mut s);
    crate::model::constraint::spectral_norm(&s, d, d)
}

/// `max_t λ_max(½(J_t + J_tᵀ))` over the `n` Jacobians of a layer (NaN if any is not finite).
///
/// Exact, but cheap: every `λ_max(S_t)`, `S = ½(J + Jᵀ)`, is bracketed from above by
/// Gershgorin's theorem and by Wolkowicz & Styan (1980) (`m + s√(d − 1)`, `m = tr S/d`,
/// `s² = tr S²/d − m²`), and from below by a Rayleigh quotient after a few power iterations on
/// `S` shifted to be positive semidefinite. Only the Jacobians whose upper bound exceeds every
/// lower bound can hold the maximum; their eigenvalue problems are solved in decreasing order
/// of the upper bound until it falls below the best value found.
fn largest_log_norm(jacobians: &[f64], dim: usize, n: usize) -> f64 {
    let mut floor = f64::NEG_INFINITY;
    let mut bounds: Vec<(f64, usize)> = Vec::with_capacity(n);
    for t in 0..n {
        let (lower, upper) = log_norm_bracket(&jacobians[t * dim * dim..(t + 1) * dim * dim], dim);
        if lower.is_nan() || upper.is_nan() {
            return f64::NAN;
        }
        floor = floor.max(lower);
        bounds.push((upper, t));
    }
    bounds.retain(|&(upper, _)| upper >= floor);
    bounds.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = floor;
    for (upper, t) in bounds {
        if upper <= best {
            break;
        }
        let value = linalg::log_norm(&linalg::matrix(&jacobians[t * dim * dim..], dim, dim))
            .unwrap_or(f64::NAN);
        if value.is_nan() {
            return f64::NAN;
        }
        best = best.max(value);
    }
    best
}

/// Power iterations of the lower bound in [`log_norm_bracket`].
const BRACKET_ITERATIONS: usize = 4;

/// Lower and upper bounds on `λ_max(½(J + Jᵀ))` (see [`largest_log_norm`]).
fn log_norm_bracket(j: &[f64], dim: usize) -> (f64, f64) {
    let mut sym = vec![0.0; dim * dim];
    for a in 0..dim {
        for b in 0..dim {
            sym[a * dim + b] = 0.5 * (j[a * dim + b] + j[b * dim + a]);
        }
    }
    let mut gershgorin = f64::NEG_INFINITY;
    let mut shift = f64::INFINITY;
    let mut trace = 0.0;
    let mut square = 0.0;
    let mut start = 0;
    for (i, row) in sym.chunks_exact(dim).enumerate() {
        let radius: f64 = row.iter().map(|v| v.abs()).sum::<f64>() - row[i].abs();
        gershgorin = gershgorin.max(row[i] + radius);
        shift = shift.min(row[i] - radius);
        trace += row[i];
        square += row.iter().map(|v| v * v).sum::<f64>();
        if row[i] > sym[start * dim + start] {
            start = i;
        }
    }
    let d = dim as f64;
    let mean = trace / d;
    let wolkowicz_styan = mean + (square / d - mean * mean).max(0.0).sqrt() * (d - 1.0).sqrt();
    // Power iterations on S − shift·I ⪰ 0 from the row of the largest Gershgorin centre.
    let mut v: Vec<f64> = (0..dim)
        .map(|i| if i == start { 1.0 } else { 0.5 })
        .collect();
    let mut w = vec![0.0; dim];
    for _ in 0..BRACKET_ITERATIONS {
        for (row, out) in sym.chunks_exact(dim).zip(w.iter_mut()) {
            *out = row.iter().zip(&v).map(|(s, x)| s * x).sum::<f64>();
        }
        for (out, x) in w.iter_mut().zip(&v) {
            *out -= shift * x;
        }
        if linalg::normalize(&mut w) == 0.0 {
            break;
        }
        std::mem::swap(&mut v, &mut w);
    }
    let length_sq: f64 = v.iter().map(|x| x * x).sum();
    let rayleigh = sym
        .chunks_exact(dim)
        .zip(&v)
        .map(|(row, va)| va * row.iter().zip(&v).map(|(s, x)| s * x).sum::<f64>())
        .sum::<f64>()
        / length_sq;
    (rayleigh, gershgorin.min(wolkowicz_styan))
}

/// Power iterations per probe pair direction (enough to find the stretching direction of a
/// small step Jacobian well; the ratio itself is measured on the nonlinear step).
const STRETCH_ITERATIONS: usize = 3;

pub(crate) fn compute(ctx: &mut Context) -> Outcome<Lipschitz> {
    let network = ctx.network;
    let eff = ctx.eff;
    let epsilon = ctx.spec.epsilon;
    let layers = network.layers;
    let field = &network.field;
    let norms = layer_norms(ctx);
    let mut start_rng = rng(ctx.spec, Stream::PowerStart);
    let probes = match ctx.probes() {
        Ok(p) => p,
        Err(e) => return e.outcome(),
    };
    let (n, dim) = (probes.flow.n, probes.flow.dim);
    let starts: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| StandardNormal.sample(&mut start_rng))
                .collect()
        })
        .collect();

    let one_sided: Vec<f64> = probes
        .field_jacobians
        .iter()
        .map(|jacobians| largest_log_norm(jacobians, dim, n))
        .collect();

    let mut step = Vec::with_capacity(layers);
    for k in 0..layers {
        let (y, y1) = (probes.flow.state(k), probes.flow.state(k + 1));
        let jacobians = &probes.step_jacobians[k];
        let mut displaced = y.to_vec();
        for (t, start) in starts.iter().enumerate() {
            let direction = linalg::stretch_direction(
                &jacobians[t * dim * dim..(t + 1) * dim * dim],
                dim,
                start,
                STRETCH_ITERATIONS,
            );
            for i in 0..dim {
                displaced[i * n + t] += epsilon * direction[i];
            }
        }
        let image = match flow::step(network, eff, k, network.h, &displaced, n) {
            Ok(image) => image,
            Err(e) => return Outcome::Failed(format!("layer {k}: {e}")),
        };
        let local = (0..n).map(|t| {
            let before = flow::sample_distance(&displaced, n, t, y, n, t, dim);
            let after = flow::sample_distance(&image, n, t, y1, n, t, dim);
            after / before
        });
        let consecutive = (0..if n >= 2 { n } else { 0 }).filter_map(|t| {
            let u = (t + 1) % n;
            let before = flow::sample_distance(y, n, t, y, n, u, dim);
            let after = flow::sample_distance(y1, n, t, y1, n, u, dim);
            (before > 0.0).then(|| after / before)
        });
        step.push(linalg::max_or_nan(local.chain(consecutive)));
    }

    let uppers: Vec<(f64, String)> = norms.iter().map(|c| one_sided_upper(field, c)).collect();
    let mut one_sided_bounds = vec![Bound {
        label: uppers
            .first()
            .map(|(_, label)| label.clone())
            .unwrap_or_default(),
        side: BoundSide::Upper,
        rigor: Rigor::Rigorous,
        values: uppers.iter().map(|(v, _)| *v).collect(),
    }];
    if field.kind == FieldKind::GradientFlow {
        let (_, hi, _) = derivative_range(field.activation);
        one_sided_bounds.push(Bound {
            label: "ν ≥ −max σ'·μ*²".to_owned(),
            side: BoundSide::Lower,
            rigor: Rigor::Rigorous,
            values: norms.iter().map(|c| -hi * c.min_gram).collect(),
        });
    }

    let bounds: Vec<Result<(f64, String), String>> = norms
        .iter()
        .zip(&uppers)
        .map(|(c, (nu, _))| step_bound(network, c, *nu))
        .collect();
    let missing = bounds.iter().find_map(|b| b.as_ref().err()).cloned();
    let step_bound = missing.is_none().then(|| Bound {
        label: bounds
            .iter()
            .find_map(|b| b.as_ref().ok().map(|(_, l)| l.clone()))
            .unwrap_or_default(),
        side: BoundSide::Upper,
        rigor: Rigor::Rigorous,
        values: bounds
            .iter()
            .map(|b| b.as_ref().map_or(f64::NAN, |(v, _)| *v))
            .collect(),
    });

    let step_size_condition = match &network.integrator {
        Integrator::Explicit(t) if field.kind == FieldKind::GradientFlow && is_euler(t) => {
            let (_, hi, _) = derivative_range(field.activation);
            let values: Vec<f64> = norms
                .iter()
                .map(|c| network.h * c.a[0] * c.a[0] * hi)
                .collect();
            let violated = values
                .iter()
                .enumerate()
                .filter(|&(_, &v)| v > 2.0 || v.is_nan())
                .map(|(k, _)| k)
                .collect();
            Some(StepSizeCondition {
                values,
                limit: 2.0,
                violated,
            })
        }
        _ => None,
    };

    Outcome::Computed(Lipschitz {
        times: times(network, layers),
        one_sided,
        one_sided_bounds,
        field_lipschitz_bound: norms.iter().map(|c| field_constant(field, c)).collect(),
        step,
        pairs: if n >= 2 { 2 * n } else { n },
        step_bound,
        step_bound_missing: missing,
        step_size_condition,
    })
}

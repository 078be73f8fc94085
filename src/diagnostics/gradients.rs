//! Gradient consistency per layer: the continuous adjoints (OTD partner, OTD backward) against
//! the exact discrete gradient (DTO), and DTO against central finite differences.
//!
//! The loss is the mean data loss (no regularisers) on `gradient_points` training points of the
//! diagnostic order, as a function of the *effective* parameters (constraints applied). The
//! finite difference is one directional derivative per checked layer (`finite_difference_layers`
//! of them, evenly spaced), along the unit vector `v_k = g_k/‖g_k‖` of that layer's DTO gradient
//! (all of `A_k, b_k` and `A₂_k, b₂_k`), with step `1e-5`: it should equal `‖g_k‖`. Two forward
//! passes per checked layer keep it cheap; the per-parameter check over all parameters is
//! `flowlab gradcheck`.

use serde::Serialize;

use super::DiagnosticsSpec;
use super::{Context, Outcome, linalg};
use crate::data::Split;
use crate::integrate::{Gradient, Integrator, Tableau};
use crate::train::Snapshot;
use crate::train::{Engine, Network};

/// Step of the central finite differences along a unit direction.
pub const FINITE_DIFFERENCE_STEP: f64 = 1e-5;

/// Relative differences of the gradient methods, per layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradientConsistency {
    /// Layer start times `t_k = k h`.
    pub times: Vec<f64>,
    /// Training points in the loss.
    pub points: usize,
    /// The method of the naive OTD backward solve (the experiment's, else the integrator's
    /// tableau, else RK4).
    pub backward_method: String,
    /// `‖g_DTO,k‖` per layer.
    pub dto_norm: Vec<f64>,
    /// `‖g_partner,k − g_DTO,k‖ / ‖g_DTO,k‖`.
    pub partner_vs_dto: Vec<f64>,
    /// `‖g_backward,k − g_DTO,k‖ / ‖g_DTO,k‖`.
    pub backward_vs_dto: Vec<f64>,
    /// `|D_FD − ‖g_DTO,k‖| / ‖g_DTO,k‖`, `D_FD` the central difference along `g_DTO,k/‖g_DTO,k‖`
    /// (`None` for layers not checked).
    pub dto_vs_finite_differences: Vec<Option<f64>>,
    /// The finite-difference step.
    pub finite_difference_step: f64,
}

/// The gradient-consistency diagnostic of a snapshot.
pub fn gradient_consistency(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
) -> Outcome<GradientConsistency> {
    compute(&Context::new(snapshot, split, spec))
}

/// `count` evenly spaced layers out of `layers` (first and last included), or all of them.
fn checked_layers(layers: usize, count: usize) -> Vec<usize> {
    match count {
        0 => Vec::new(),
        1 => vec![0],
        _ if count >= layers => (0..layers).collect(),
        _ => {
            let mut picked: Vec<usize> = (0..count)
                .map(|j| (j * (layers - 1) + (count - 1) / 2) / (count - 1))
                .collect();
            picked.dedup();
            picked
        }
    }
}

/// `‖a − b‖/‖b‖` (`‖a − b‖` when `b` is zero).
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let difference = linalg::distance(a, b);
    let scale = linalg::norm(b);
    if scale > 0.0 {
        difference / scale
    } else {
        difference
    }
}

pub(crate) fn compute(ctx: &Context) -> Outcome<GradientConsistency> {
    let network = ctx.network;
    let count = ctx.spec.gradient_points.min(ctx.order.len());
    if count == 0 {
        return Outcome::NotApplicable("diagnostics.gradient_points is 0".to_owned());
    }
    let rows: Vec<usize> = ctx.order[..count].to_vec();
    let x = ctx.split.train.x.view();
    let labels = &ctx.split.train.labels;
    let backward_method = match (&network.gradient, &network.integrator) {
        (Gradient::Backward(t), _) | (_, Integrator::Explicit(t)) => t.clone(),
        _ => Tableau::rk4(),
    };
    let engine_for = |gradient: Gradient| -> Result<Engine, String> {
        let mut variant: Network = network.clone();
        variant.gradient = gradient;
        Engine::new(variant, 1).map_err(|e| e.to_string())
    };
    let gradient_of = |gradient: Gradient| -> Result<(Engine, Vec<f64>), String> {
        let mut engine = engine_for(gradient)?;
        let mut grad = vec![0.0; network.layout.len()];
        engine
            .evaluate(ctx.eff, x, labels, &rows, Some(&mut grad))
            .map_err(|e| e.to_string())?;
        Ok((engine, grad))
    };
    let result = (|| {
        let (mut dto_engine, dto) = gradient_of(Gradient::Dto)?;
        let (_, partner) = gradient_of(Gradient::Partner)?;
        let (_, backward) = gradient_of(Gradient::Backward(backward_method.clone()))?;
        let layer_ranges = |k: usize| -> Vec<std::ops::Range<usize>> {
            network
                .layout
                .layer_blocks()
                .map(|b| b.layer_range(k))
                .collect()
        };
        let gather = |g: &[f64], k: usize| -> Vec<f64> {
            layer_ranges(k)
                .into_iter()
                .flat_map(|r| g[r].iter().copied())
                .collect()
        };
        let mut out = GradientConsistency {
            times: super::times(network, network.layers),
            points: count,
            backward_method: Gradient::Backward(backward_method.clone()).name(),
            dto_norm: Vec::new(),
            partner_vs_dto: Vec::new(),
            backward_vs_dto: Vec::new(),
            dto_vs_finite_differences: Vec::new(),
            finite_difference_step: FINITE_DIFFERENCE_STEP,
        };
        let mut trial = ctx.eff.to_vec();
        let checked = checked_layers(network.layers, ctx.spec.finite_difference_layers);
        for k in 0..network.layers {
            let g = gather(&dto, k);
            let norm = linalg::norm(&g);
            out.dto_norm.push(norm);
            out.partner_vs_dto.push(relative(&gather(&partner, k), &g));
            out.backward_vs_dto
                .push(relative(&gather(&backward, k), &g));
            if !checked.contains(&k) {
                out.dto_vs_finite_differences.push(None);
                continue;
            }
            if norm == 0.0 {
                out.dto_vs_finite_differences.push(Some(0.0));
                continue;
            }
            let mut loss_at = |sign: f64| -> Result<f64, String> {
                let mut position = 0;
                for r in layer_ranges(k) {
                    for i in r {
                        trial[i] = ctx.eff[i] + sign * FINITE_DIFFERENCE_STEP * g[position] / norm;
                        position += 1;
                    }
                }
                let loss = dto_engine
                    .evaluate(&trial, x, labels, &rows, None)
                    .map(|r| r.loss)
                    .map_err(|e| e.to_string());
                trial.copy_from_slice(ctx.eff);
                loss
            };
            let derivative = (loss_at(1.0)? - loss_at(-1.0)?) / (2.0 * FINITE_DIFFERENCE_STEP);
            out.dto_vs_finite_differences
                .push(Some((derivative - norm).abs() / norm));
        }
        Ok::<_, String>(out)
    })();
    match result {
        Ok(out) => Outcome::Computed(out),
        Err(e) => Outcome::Failed(e),
    }
}

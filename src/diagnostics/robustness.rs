//! Robustness: accuracy when every input is moved by `ε` in the max norm, in a random corner
//! direction (`x + ε s`, `s` uniform random signs) and in the gradient-sign direction (FGSM,
//! Goodfellow et al. 2015: `x + ε sign(∂L/∂x)`). Both perturbations have `‖δ‖∞ = ε` and
//! `‖δ‖₂ = ε√n_in`, so the two curves compare like with like.
//!
//! `∂L/∂x` comes from the exact reverse sweep (DTO, whatever the experiment trains with):
//! `∂L/∂z₀` from [`Network::input_adjoint`], then the transposed lift.

use rand::RngExt;
use serde::Serialize;

use super::DiagnosticsSpec;
use super::{Context, Outcome, Stream, flow, rng};
use crate::data::{Dataset, Split};
use crate::integrate::Gradient;
use crate::train::Network;
use crate::train::Snapshot;

/// Accuracy under perturbations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Robustness {
    /// `"test"`, or `"train"` when the test set is empty.
    pub set: String,
    /// Points evaluated (the first `robustness_points` of the set).
    pub points: usize,
    /// The perturbation sizes `ε` (max norm).
    pub epsilons: Vec<f64>,
    /// Accuracy with random sign perturbations, per `ε`.
    pub random: Vec<f64>,
    /// Accuracy with gradient-sign (FGSM) perturbations, per `ε`.
    pub gradient_sign: Vec<f64>,
}

/// The robustness diagnostic of a snapshot.
pub fn robustness(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
) -> Outcome<Robustness> {
    compute(&Context::new(snapshot, split, spec))
}

/// Samples per block of the evaluation.
const CHUNK: usize = 256;

pub(crate) fn compute(ctx: &Context) -> Outcome<Robustness> {
    let (set, data): (&str, &Dataset) = if ctx.split.test.is_empty() {
        ("train", &ctx.split.train)
    } else {
        ("test", &ctx.split.test)
    };
    let count = ctx.spec.robustness_points.min(data.len());
    if count == 0 {
        return Outcome::NotApplicable("no points to perturb (robustness_points is 0)".to_owned());
    }
    let mut network: Network = ctx.network.clone();
    network.gradient = Gradient::Dto;
    let eff = ctx.eff;
    let inputs = network.inputs;
    let epsilons = ctx.spec.robustness_epsilons.clone();
    let mut sign_rng = rng(ctx.spec, Stream::Signs);
    let capacity = count.min(CHUNK);
    let mut ws = network.workspace(capacity);
    let mut grad = vec![0.0; network.layout.len()];
    let mut random_correct = vec![0_usize; epsilons.len()];
    let mut fgsm_correct = vec![0_usize; epsilons.len()];
    let rows: Vec<usize> = (0..count).collect();
    for block in rows.chunks(capacity) {
        let n = block.len();
        let x = data.x.view();
        network.load_inputs(&x, block, &mut ws);
        let clean = ws.inputs_mut().to_vec();
        // The clean pass gives the unperturbed accuracy and the input gradient.
        let clean_pass = (|| {
            network.forward(eff, n, &mut ws)?;
            let (_, correct) = network.loss(block, &data.labels, 1.0, &mut ws);
            grad.fill(0.0);
            network.backward(eff, n, &mut ws, &mut grad)?;
            let dx = flow::lift_transpose(&network, eff, network.input_adjoint(n, &ws), n);
            let signs: Vec<f64> = dx.iter().map(|g| sign(*g)).collect();
            Ok::<_, crate::integrate::StepError>((correct, signs))
        })();
        let (clean_correct, gradient_sign) = match clean_pass {
            Ok(pass) => pass,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let random_sign: Vec<f64> = (0..inputs * n)
            .map(|_| if sign_rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        for (e, &epsilon) in epsilons.iter().enumerate() {
            for (direction, correct) in [
                (&random_sign, &mut random_correct[e]),
                (&gradient_sign, &mut fgsm_correct[e]),
            ] {
                if epsilon == 0.0 {
                    *correct += clean_correct;
                    continue;
                }
                for ((xi, &ci), &di) in ws.inputs_mut().iter_mut().zip(&clean).zip(direction) {
                    *xi = ci + epsilon * di;
                }
                if let Err(err) = network.forward(eff, n, &mut ws) {
                    return Outcome::Failed(err.to_string());
                }
                *correct += network.loss(block, &data.labels, 1.0, &mut ws).1;
            }
        }
    }
    let accuracy =
        |c: &[usize]| -> Vec<f64> { c.iter().map(|&c| c as f64 / count as f64).collect() };
    Outcome::Computed(Robustness {
        set: set.to_owned(),
        points: count,
        random: accuracy(&random_correct),
        gradient_sign: accuracy(&fgsm_correct),
        epsilons,
    })
}

/// The sign, 0 for 0 (a zero gradient component is not perturbed).
fn sign(g: f64) -> f64 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
    }
}

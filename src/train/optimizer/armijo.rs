//! Gradient descent with Armijo backtracking.

use super::{NonFiniteInput, OptimizerError, StepInfo};

/// Gradient descent with backtracking (Nocedal & Wright 2006, Algorithm 3.1): accept the first
/// trial `θ − t g`, t = step, step·shrink, ..., with `f(θ − t g) ≤ f(θ) − c t ‖g‖²`; the next
/// iteration starts from `t·grow`.
pub(super) fn backtrack(
    shrink: f64,
    c: f64,
    grow: f64,
    max_backtracks: u32,
    next_step: &mut f64,
    params: &mut [f64],
    grad: &[f64],
    loss: f64,
    objective: &mut dyn FnMut(&[f64]) -> Option<f64>,
) -> Result<StepInfo, OptimizerError> {
    if !loss.is_finite() {
        return Err(OptimizerError::NonFinite(NonFiniteInput::Loss));
    }
    let grad_norm_sq: f64 = grad.iter().map(|g| g * g).sum();
    if grad_norm_sq == 0.0 {
        // A stationary point: every trial is θ itself. Nothing to do, nothing to learn.
        return Ok(StepInfo {
            step_size: 0.0,
            evaluations: 0,
            objective_after: Some(loss),
        });
    }
    let mut trial = vec![0.0; params.len()];
    let mut t = *next_step;
    let mut backtracks = 0;
    let mut evaluations = 0_u32;
    loop {
        for ((x, &p), &g) in trial.iter_mut().zip(params.iter()).zip(grad) {
            *x = p - t * g;
        }
        evaluations = evaluations.saturating_add(1);
        if let Some(value) = objective(&trial)
            && value.is_finite()
            && value <= loss - c * t * grad_norm_sq
        {
            params.copy_from_slice(&trial);
            let grown = t * grow;
            *next_step = if grown.is_finite() { grown } else { t };
            return Ok(StepInfo {
                step_size: t,
                evaluations,
                objective_after: Some(value),
            });
        }
        let shrunk = t * shrink;
        // Past max_backtracks, or below the smallest double, there is no smaller step to try.
        if backtracks == max_backtracks || shrunk == 0.0 {
            return Err(OptimizerError::LineSearchFailed {
                backtracks,
                step: t,
            });
        }
        t = shrunk;
        backtracks += 1;
    }
}

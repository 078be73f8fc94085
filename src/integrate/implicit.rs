//! The implicit midpoint rule `y₁ = y₀ + h f(w)`, `w = (y₀ + y₁)/2`, solved per sample by
//! Newton's method on `w − y₀ − h/2 f(w) = 0`, and its discrete adjoint
//! `(I − h/2 J(w))ᵀ μ = λ₁`, `λ₀ = 2μ − λ₁`, `θ̄ += h (∂f/∂θ)ᵀ μ`.
//!
//! Tape of one step: the converged midpoint `w` (`dim·n`).

use super::{Scratch, StepContext, StepError};
use crate::model::Field;
use crate::model::params::{LayerGrad, LayerParams};

/// Per-sample Jacobians `J(w)` at the point where `records` were taken, into
/// `scratch.jacobians` (sample-major, each `dim × dim` row-major), by `dim` JVPs.
fn jacobians(field: &Field, theta: &LayerParams, records: &[f64], scratch: &mut Scratch, n: usize) {
    let dim = field.state_dim();
    let Scratch {
        v3: unit,
        stages: column,
        field: fs,
        jacobians,
        ..
    } = scratch;
    for j in 0..dim {
        let unit = &mut unit[..dim * n];
        unit.fill(0.0);
        unit[j * n..(j + 1) * n].fill(1.0);
        field.jvp(theta, records, unit, n, &mut column[..dim * n], fs);
        for i in 0..dim {
            for t in 0..n {
                jacobians[t * dim * dim + i * dim + j] = column[i * n + t];
            }
        }
    }
}

/// Solves `M x = rhs` in place (`rhs` becomes `x`) by Gaussian elimination with partial
/// pivoting; `M` (row-major `dim × dim`) is overwritten. Returns `false` if `M` is singular.
pub(crate) fn solve_in_place(
    m: &mut [f64],
    dim: usize,
    rhs: &mut [f64],
    pivots: &mut [usize],
) -> bool {
    for (i, p) in pivots.iter_mut().enumerate().take(dim) {
        *p = i;
    }
    for col in 0..dim {
        let mut best = col;
        for row in col + 1..dim {
            if m[row * dim + col].abs() > m[best * dim + col].abs() {
                best = row;
            }
        }
        let pivot = m[best * dim + col];
        if pivot == 0.0 || !pivot.is_finite() {
            return false;
        }
        if best != col {
            for k in 0..dim {
                m.swap(col * dim + k, best * dim + k);
            }
            rhs.swap(col, best);
        }
        for row in col + 1..dim {
            let factor = m[row * dim + col] / m[col * dim + col];
            if factor != 0.0 {
                for k in col..dim {
                    m[row * dim + k] -= factor * m[col * dim + k];
                }
                rhs[row] -= factor * rhs[col];
            }
        }
    }
    for col in (0..dim).rev() {
        let mut s = rhs[col];
        for k in col + 1..dim {
            s -= m[col * dim + k] * rhs[k];
        }
        rhs[col] = s / m[col * dim + col];
    }
    true
}

/// The method's name in error messages.
const MIDPOINT: &str = "implicit midpoint";

/// The smallest damping factor of the Newton iteration before it gives up on a sample.
const MIN_DAMPING: f64 = 1.0 / 1024.0;

/// One Newton iteration, sample by sample, on `x − y₀ − c·r(x) = 0` for the implicit steps
/// (implicit midpoint: `x = w`, `c = h/2`, `r = f`; AVF: `x = y₁`, `c = h`, `r = f̄`), with the
/// rate `r(x)` in `scratch.v1` and its per-sample Jacobians in `scratch.jacobians`. Returns
/// whether every sample's update was within `tolerance` (relative to `max(1, |x|)`), or the
/// error of a singular matrix, a NaN, or the iteration cap reached.
///
/// Damped by a backtracking line search on the residual `F(x) = x − y₀ − c·r(x)`: a sample takes
/// its Newton correction `Δ` while `‖F‖₂` falls enough from one iterate to the next
/// (`‖F(x + λΔ)‖ ≤ (1 − 10⁻⁴λ)‖F(x)‖`); where it does not, the last step was too long, so it is
/// halved (`x` goes back by half of it) and `F` is evaluated again there; after an accepted step
/// the damping factor `λ` doubles, up to 1. `Δ` is a descent direction of `‖F‖²`, so a short
/// enough step always decreases it. Where Newton's method converges undamped (every residual
/// smaller than the last) this is the plain iteration, bit for bit; it converges where the plain
/// one cycles or diverges, as it does for stiff steps. A correction within the tolerance is
/// always taken (the residual is at rounding level there). `iterations` counts from 1 in each
/// solve.
pub(super) fn newton_update(
    x: &mut [f64],
    y0: &[f64],
    c: f64,
    scratch: &mut Scratch,
    iterations: u32,
    (method, tolerance, max_iterations): (&'static str, f64, u32),
) -> Result<bool, StepError> {
    let Scratch {
        v1: rate,
        jacobians,
        matrix,
        rhs,
        pivots,
        newton,
        ..
    } = scratch;
    let dim = rhs.len();
    let n = x.len() / dim;
    let (steps, rest) = newton.split_at_mut(dim * n);
    let (last, damping) = rest.split_at_mut(n);
    if iterations <= 1 {
        last[..n].fill(f64::INFINITY);
        damping[..n].fill(1.0);
    }
    let failed = |sample, update| StepError::NewtonFailed {
        method,
        layer: 0,
        sample,
        iterations,
        update,
    };
    let mut worst = (0.0_f64, 0_usize);
    let mut backtracked = false;
    for t in 0..n {
        let mut residual = 0.0_f64;
        for i in 0..dim {
            rhs[i] = -(x[i * n + t] - y0[i * n + t] - c * rate[i * n + t]);
            residual += rhs[i] * rhs[i];
            for j in 0..dim {
                let id = if i == j { 1.0 } else { 0.0 };
                matrix[i * dim + j] = id - c * jacobians[t * dim * dim + i * dim + j];
            }
        }
        let residual = residual.sqrt();
        if !solve_in_place(matrix, dim, rhs, pivots) {
            return Err(StepError::Singular {
                method,
                layer: 0,
                sample: t,
            });
        }
        let mut scale = 1.0_f64;
        let mut update = 0.0_f64;
        for i in 0..dim {
            scale = scale.max((x[i * n + t] + rhs[i]).abs());
            update = update.max(rhs[i].abs());
        }
        let relative = update / scale;
        if relative.is_nan() {
            return Err(failed(t, relative));
        }
        let lambda = damping[t];
        if relative > tolerance && residual > (1.0 - 1e-4 * lambda) * last[t] {
            // The last step did not bring the residual down enough: halve it.
            if lambda <= MIN_DAMPING {
                return Err(failed(t, relative));
            }
            for i in 0..dim {
                let half = 0.5 * steps[i * n + t];
                x[i * n + t] -= half;
                steps[i * n + t] = half;
            }
            damping[t] = 0.5 * lambda;
            backtracked = true;
            continue;
        }
        if relative > worst.0 {
            worst = (relative, t);
        }
        let lambda = (2.0 * lambda).min(1.0);
        for i in 0..dim {
            let step = lambda * rhs[i];
            x[i * n + t] += step;
            steps[i * n + t] = step;
        }
        last[t] = residual;
        damping[t] = lambda;
    }
    if worst.0 <= tolerance && !backtracked {
        return Ok(true);
    }
    if iterations >= max_iterations {
        return Err(failed(worst.1, worst.0));
    }
    Ok(false)
}

/// `(I − c J_t)ᵀ μ_t = λ₁,t` for every sample `t` of `n`, with the Jacobians in
/// `scratch.jacobians`, into `scratch.v2`: the adjoint solve of the implicit steps.
pub(super) fn solve_adjoint(
    c: f64,
    lambda1: &[f64],
    scratch: &mut Scratch,
    n: usize,
    method: &'static str,
) -> Result<(), StepError> {
    let Scratch {
        v2: mu,
        jacobians,
        matrix,
        rhs,
        pivots,
        ..
    } = scratch;
    let dim = rhs.len();
    for t in 0..n {
        for i in 0..dim {
            rhs[i] = lambda1[i * n + t];
            for j in 0..dim {
                let id = if i == j { 1.0 } else { 0.0 };
                matrix[i * dim + j] = id - c * jacobians[t * dim * dim + j * dim + i];
            }
        }
        if !solve_in_place(matrix, dim, rhs, pivots) {
            return Err(StepError::Singular {
                method,
                layer: 0,
                sample: t,
            });
        }
        for i in 0..dim {
            mu[i * n + t] = rhs[i];
        }
    }
    Ok(())
}

pub(super) fn forward(
    cx: StepContext<'_>,
    y0: &[f64],
    y1: &mut [f64],
    tape: &mut [f64],
    tolerance: f64,
    max_iterations: u32,
) -> Result<(), StepError> {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let dim = field.state_dim();
    let len = dim * n;
    let w = &mut tape[..len];
    // Start from the explicit Euler half step.
    field.eval(
        theta,
        &y0[..len],
        n,
        &mut scratch.v1[..len],
        &mut scratch.records,
    );
    for ((wi, &y), &f) in w.iter_mut().zip(&y0[..len]).zip(&scratch.v1[..len]) {
        *wi = y + 0.5 * h * f;
    }
    let mut iterations = 0;
    loop {
        field.eval(theta, w, n, &mut scratch.v1[..len], &mut scratch.records);
        let records = std::mem::take(&mut scratch.records);
        jacobians(field, theta, &records, scratch, n);
        scratch.records = records;
        iterations += 1;
        if newton_update(
            w,
            &y0[..len],
            0.5 * h,
            scratch,
            iterations,
            (MIDPOINT, tolerance, max_iterations),
        )? {
            break;
        }
    }
    for ((y, &wi), &y0i) in y1[..len].iter_mut().zip(w.iter()).zip(&y0[..len]) {
        *y = 2.0 * wi - y0i;
    }
    Ok(())
}

pub(super) fn backward(
    cx: StepContext<'_>,
    tape: &[f64],
    lambda1: &[f64],
    lambda0: &mut [f64],
    grad: &mut LayerGrad,
) -> Result<(), StepError> {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let dim = field.state_dim();
    let len = dim * n;
    let w = &tape[..len];
    field.eval(theta, w, n, &mut scratch.v1[..len], &mut scratch.records);
    let records = std::mem::take(&mut scratch.records);
    jacobians(field, theta, &records, scratch, n);
    if let Err(error) = solve_adjoint(0.5 * h, lambda1, scratch, n, MIDPOINT) {
        scratch.records = records;
        return Err(error);
    }
    let Scratch {
        v2: mu, field: fs, ..
    } = &mut *scratch;
    for ((l0, &m), &l1) in lambda0[..len]
        .iter_mut()
        .zip(&mu[..len])
        .zip(&lambda1[..len])
    {
        *l0 = 2.0 * m - l1;
    }
    field.vjp(theta, w, &records, &mu[..len], n, h, None, Some(grad), fs);
    scratch.records = records;
    Ok(())
}

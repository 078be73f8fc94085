//! Explicit Runge–Kutta steps, their discrete adjoint and the symplectic partner.
//!
//! Tape of one step: the records of the field at the first stage's input, which is the step's
//! start `y0` (the caller keeps it: the trajectory), then for each further stage `i` its input
//! `Y_i` (`dim·n`) followed by the records at `Y_i`, with no gaps.

use super::{Scratch, StepContext, Tableau};
use crate::model::Field;
use crate::model::kernels::{axpy, axpy_onto};
use crate::model::params::LayerGrad;

/// Entries of a stage's input and of its records.
fn stage_len(field: &Field, n: usize) -> (usize, usize) {
    (
        field.state_dim() * n,
        field.roles().len() * field.record_len(n),
    )
}

/// Entries of the tape of one step of `stages` stages.
pub(super) fn tape_len(stages: usize, field: &Field, n: usize) -> usize {
    let (dim, rec) = stage_len(field, n);
    stages * (dim + rec) - dim
}

/// Where stage `i ≥ 1`'s input slot starts in the tape (its records follow it).
fn stage_start(i: usize, (dim, rec): (usize, usize)) -> usize {
    rec + (i - 1) * (dim + rec)
}

/// Stage `i`'s part of the tape: its input slot (empty for the first stage) and its records.
fn stage_slot(tape: &mut [f64], i: usize, lens: (usize, usize)) -> (&mut [f64], &mut [f64]) {
    let (dim, rec) = lens;
    if i == 0 {
        (&mut [], &mut tape[..rec])
    } else {
        tape[stage_start(i, lens)..][..dim + rec].split_at_mut(dim)
    }
}

/// `y1 = y0 + h Σ b_i K_i`, `K_i = f(Y_i)`, `Y_i = y0 + h Σ_{j<i} a_ij K_j`.
pub(super) fn forward(
    t: &Tableau,
    cx: StepContext<'_>,
    y0: &[f64],
    y1: &mut [f64],
    tape: &mut [f64],
) {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let lens = stage_len(field, n);
    let dim = lens.0;
    if t.stages == 1 && field.adds_in_place() {
        // y1 = y0 + h b K(y0), written straight into y1.
        let records = stage_slot(tape, 0, lens).1;
        let (y0, y1) = (&y0[..dim], &mut y1[..dim]);
        field.eval_add(
            theta,
            y0,
            n,
            h * t.b[0],
            Some(y0),
            y1,
            records,
            &mut scratch.stages,
        );
        return;
    }
    let rates = &mut scratch.stages;
    for i in 0..t.stages {
        let (yi, records) = stage_slot(tape, i, lens);
        let yi: &[f64] = if i == 0 {
            &y0[..dim]
        } else {
            yi.copy_from_slice(&y0[..dim]);
            for j in 0..i {
                let aij = t.a(i, j);
                if aij != 0.0 {
                    axpy(h * aij, &rates[j * dim..(j + 1) * dim], yi);
                }
            }
            yi
        };
        field.eval(theta, yi, n, &mut rates[i * dim..(i + 1) * dim], records);
    }
    // y1 = y0 + h b_0 K_0 in one pass, then the other stages.
    let c0 = h * t.b[0];
    axpy_onto(c0, &rates[..dim], Some(&y0[..dim]), &mut y1[..dim]);
    for i in 1..t.stages {
        if t.b[i] != 0.0 {
            axpy(h * t.b[i], &rates[i * dim..(i + 1) * dim], &mut y1[..dim]);
        }
    }
}

/// The input of stage `i` (`y0` for the first, the tape's copy for the others) and its records.
fn stage_input<'a>(
    tape: &'a [f64],
    y0: &'a [f64],
    i: usize,
    lens: (usize, usize),
) -> (&'a [f64], &'a [f64]) {
    let (dim, rec) = lens;
    if i == 0 {
        (&y0[..dim], &tape[..rec])
    } else {
        tape[stage_start(i, lens)..][..dim + rec].split_at(dim)
    }
}

/// Reverse mode through [`forward`]: `K̄_i = h b_i λ₁ + h Σ_{j>i} a_ji Ȳ_j`, `Ȳ_i = J_iᵀ K̄_i`,
/// `λ₀ = λ₁ + Σ_i Ȳ_i`, `θ̄ += Σ_i (∂f/∂θ)_iᵀ K̄_i`.
pub(super) fn backward_dto(
    t: &Tableau,
    cx: StepContext<'_>,
    y0: &[f64],
    tape: &[f64],
    lambda1: &[f64],
    lambda0: &mut [f64],
    grad: &mut LayerGrad,
) {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let lens = stage_len(field, n);
    let dim = lens.0;
    let Scratch {
        stages: ybar,
        v1: kbar,
        field: fs,
        ..
    } = scratch;
    if t.stages == 1 {
        // K̄ = h b λ₁: λ₀ = λ₁ + h b Jᵀλ₁ straight into λ₀, no stage buffers and no copy.
        let (yi, records) = stage_input(tape, y0, 0, lens);
        let scale = h * t.b[0];
        let onto = (&lambda1[..dim], &mut lambda0[..dim]);
        field.vjp_onto(theta, yi, records, lambda1, n, scale, onto, Some(grad), fs);
        return;
    }
    lambda0[..dim].copy_from_slice(&lambda1[..dim]);
    for i in (0..t.stages).rev() {
        let kbar = &mut kbar[..dim];
        for (k, &l) in kbar.iter_mut().zip(&lambda1[..dim]) {
            *k = h * t.b[i] * l;
        }
        let (done, rest) = ybar.split_at_mut((i + 1) * dim);
        for j in i + 1..t.stages {
            let aji = t.a(j, i);
            if aji != 0.0 {
                axpy(h * aji, &rest[(j - i - 1) * dim..(j - i) * dim], kbar);
            }
        }
        let yb = &mut done[i * dim..];
        yb.fill(0.0);
        let (yi, records) = stage_input(tape, y0, i, lens);
        field.vjp(theta, yi, records, kbar, n, 1.0, Some(yb), Some(grad), fs);
        axpy(1.0, yb, &mut lambda0[..dim]);
    }
}

/// The adjoint ODE `λ' = −Jᵀλ` solved backwards by the symplectic partner method
/// (Sanz-Serna 2016): `Λ_i = λ₁ + h Σ_j (b_j − ā_ij) ℓ_j` with `ℓ_j = J_jᵀ Λ_j`,
/// `λ₀ = λ₁ + h Σ_i b_i ℓ_i`, `θ̄ += h Σ_i b_i (∂f/∂θ)_iᵀ Λ_i`. The coefficients `b_j − ā_ij`
/// vanish for `j ≤ i`, so the stages are explicit in reverse order.
///
/// Methods with a zero weight (explicit midpoint) have no partner tableau in this form; for them
/// the partner is written in the variables `b_i Λ_i`, which is the discrete adjoint itself.
pub(super) fn backward_partner(
    t: &Tableau,
    cx: StepContext<'_>,
    y0: &[f64],
    tape: &[f64],
    lambda1: &[f64],
    lambda0: &mut [f64],
    grad: &mut LayerGrad,
) {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let Some(abar) = t.partner() else {
        let cx = StepContext {
            field,
            theta,
            h,
            n,
            scratch,
        };
        backward_dto(t, cx, y0, tape, lambda1, lambda0, grad);
        return;
    };
    let s = t.stages;
    let lens = stage_len(field, n);
    let dim = lens.0;
    let Scratch {
        stages: scaled_l,
        v1: big_lambda,
        field: fs,
        ..
    } = scratch;
    // scaled_l_j holds h b_j ℓ_j.
    lambda0[..dim].copy_from_slice(&lambda1[..dim]);
    for i in (0..s).rev() {
        let big = &mut big_lambda[..dim];
        big.copy_from_slice(&lambda1[..dim]);
        let (done, rest) = scaled_l.split_at_mut((i + 1) * dim);
        for j in i + 1..s {
            let coeff = t.b[j] - abar[i * s + j];
            if coeff != 0.0 {
                axpy(coeff / t.b[j], &rest[(j - i - 1) * dim..(j - i) * dim], big);
            }
        }
        let li = &mut done[i * dim..];
        li.fill(0.0);
        let (yi, records) = stage_input(tape, y0, i, lens);
        field.vjp(
            theta,
            yi,
            records,
            big,
            n,
            h * t.b[i],
            Some(li),
            Some(grad),
            fs,
        );
        axpy(1.0, li, &mut lambda0[..dim]);
    }
}

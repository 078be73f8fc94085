//! The average vector field method (McLachlan, Quispel & Robidoux 1999)
//! `y₁ = y₀ + h ∫₀¹ f(y₀ + s(y₁ − y₀)) ds` for the fields of the form `S ∇H` with
//! `H = Σ 1ᵀγ(A x + b)` (the Hamiltonian fields and the port-Hamiltonian one).
//!
//! Every part of such a field is `± Aᵀσ(A x + b)` (times `J − R` for the port-Hamiltonian one)
//! or the identity, and along the segment from `x₀` to `x₁` the pre-activation moves on the
//! segment from `S₀ = A x₀ + b` to `S₁ = A x₁ + b`, so the integral is the part evaluated with
//! σ replaced by its mean over that segment, `g = (γ(S₁) − γ(S₀))/(S₁ − S₀)` (see
//! [`Activation::segment_mean`]); the identity's mean is `(x₀ + x₁)/2`. With θ frozen,
//! `H(y₁) − H(y₀) = Σ g ⊙ (S₁ − S₀) = ∇̄Hᵀ (y₁ − y₀) = h ∇̄Hᵀ S ∇̄H`, which is 0 for `S` skew and
//! `−h ∇̄Hᵀ R ∇̄H ≤ 0` for `S = J − R`, `R ⪰ 0`: the method conserves (dissipates) the energy
//! exactly, up to the Newton tolerance and rounding.
//!
//! The step `F(y₁) = y₁ − y₀ − h f̄(y₀, y₁) = 0` is solved per sample by Newton's method with
//! `∂F/∂y₁ = I − h ∂f̄/∂y₁`, damped (see [`newton_update`]) and started from `y₁ = y₀`: the first
//! iterate is then a linearly implicit step, stable for stiff dissipative layers where the
//! explicit Euler start overshoots (`h‖J − R‖·‖K‖²` of several units in a trained network); the exact discrete adjoint solves `(I − h ∂f̄/∂y₁)ᵀ μ = λ₁` and
//! gives `λ₀ = μ + h (∂f̄/∂y₀)ᵀ μ`, `θ̄ += h (∂f̄/∂θ)ᵀ μ`. The step keeps no tape: the reverse
//! step recomputes the means from the end points.

use super::implicit::{newton_update, solve_adjoint};
use super::{Scratch, StepContext, StepError};
use crate::model::field::{Op, Role};
use crate::model::kernels::{affine, matmul, outer_add, outer_add_pair, transpose_apply_add};
use crate::model::params::{LayerGrad, LayerParams};
use crate::model::{Activation, Field};

/// The method's name in error messages.
const AVF: &str = "AVF";

/// Entries of the means' buffer for `n` samples: per role `S₀`, `S₁`, `g`, `∂g/∂S₀`, `∂g/∂S₁`.
pub(super) fn buffer_len(field: &Field, n: usize) -> usize {
    field.roles().len() * 5 * field.hidden * n
}

/// Role `r`'s five blocks of `len` entries in the means' buffer: `S₀`, `S₁`, `g`, `∂g/∂S₀`,
/// `∂g/∂S₁`.
fn role_blocks(buf: &mut [f64], r: usize, len: usize) -> [&mut [f64]; 5] {
    let mut blocks = buf[r * 5 * len..(r + 1) * 5 * len].chunks_exact_mut(len);
    std::array::from_fn(|_| blocks.next().unwrap_or_default())
}

/// What one part of a field of the AVF's form is.
enum Mean {
    /// `sign · Aᵀσ(A x + b)` with matrix slot `slot`, times the interconnection when `port`.
    Gradient {
        slot: usize,
        act: Activation,
        sign: f64,
        port: bool,
    },
    /// `x`.
    Identity,
}

/// Whether the AVF method applies to the field: every part is a gradient part or the identity
/// and every activation has a closed antiderivative.
#[must_use]
pub fn fits(field: &Field) -> bool {
    field
        .roles()
        .iter()
        .all(|&role| match mean_of(field, role) {
            Some(Mean::Gradient { act, .. }) => act.segment_mean(0.0, 1.0).is_some(),
            Some(Mean::Identity) => true,
            None => false,
        })
}

fn mean_of(field: &Field, role: Role) -> Option<Mean> {
    match field.part(role).op {
        Op::Transposed { slot, act, sign } => Some(Mean::Gradient {
            slot,
            act,
            sign,
            port: false,
        }),
        Op::PortHamiltonian { act, .. } => Some(Mean::Gradient {
            slot: 0,
            act,
            sign: 1.0,
            port: true,
        }),
        Op::Identity => Some(Mean::Identity),
        Op::Dense { .. } | Op::DenseTransposed { .. } => None,
    }
}

/// The means of every gradient part between `y0` and `y1` into `buf` (per role: `S₀`, `S₁`,
/// `g`, `∂g/∂S₀`, `∂g/∂S₁`).
fn means(
    field: &Field,
    theta: &LayerParams,
    (y0, y1): (&[f64], &[f64]),
    n: usize,
    buf: &mut [f64],
) {
    let (d, m) = (field.width, field.hidden);
    let len = m * n;
    for (r, &role) in field.roles().iter().enumerate() {
        let Some(Mean::Gradient { slot, act, .. }) = mean_of(field, role) else {
            continue;
        };
        let rows = field.part(role).input * n..(field.part(role).input + d) * n;
        let [s0, s1, g, d0, d1] = role_blocks(buf, r, len);
        affine(theta.a[slot], theta.b[slot], m, d, &y0[rows.clone()], n, s0);
        affine(theta.a[slot], theta.b[slot], m, d, &y1[rows], n, s1);
        for i in 0..len {
            // `fits` was checked by the plan: a part without a mean gives NaN, which the
            // Newton iteration reports.
            let (gi, a, b) =
                act.segment_mean(s0[i], s1[i])
                    .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            (g[i], d0[i], d1[i]) = (gi, a, b);
        }
    }
}

/// `out = f̄(y0, y1)`, the field averaged over the segment, from the means in `buf`; `tmp`
/// holds `d·n` entries.
fn rate(
    field: &Field,
    theta: &LayerParams,
    (y0, y1): (&[f64], &[f64]),
    buf: &[f64],
    n: usize,
    out: &mut [f64],
    tmp: &mut [f64],
) {
    let (d, len) = (field.width, field.hidden * n);
    for (r, &role) in field.roles().iter().enumerate() {
        let part = field.part(role);
        let (input, output) = (
            part.input * n..(part.input + d) * n,
            part.output * n..(part.output + d) * n,
        );
        let out = &mut out[output];
        match mean_of(field, role) {
            Some(Mean::Gradient {
                slot, sign, port, ..
            }) => {
                let g = &buf[(r * 5 + 2) * len..(r * 5 + 3) * len];
                transposed_part(field, theta, (slot, sign, port), g, n, tmp, out);
            }
            _ => {
                for ((o, &a), &b) in out
                    .iter_mut()
                    .zip(&y0[input.clone()])
                    .zip(&y1[input.clone()])
                {
                    *o = 0.5 * (a + b);
                }
            }
        }
    }
}

/// `out = sign · Aᵀ u` (matrix slot `slot`), times the interconnection `J − R` for a
/// port-Hamiltonian part (through `tmp`, `d·n` entries).
fn transposed_part(
    field: &Field,
    theta: &LayerParams,
    (slot, sign, port): (usize, f64, bool),
    u: &[f64],
    n: usize,
    tmp: &mut [f64],
    out: &mut [f64],
) {
    let (d, m) = (field.width, field.hidden);
    if port {
        let gradient = &mut tmp[..d * n];
        gradient.fill(0.0);
        transpose_apply_add(theta.a[slot], m, d, u, n, sign, gradient);
        field.interconnect_into(theta, gradient, n, false, out);
    } else {
        out.fill(0.0);
        transpose_apply_add(theta.a[slot], m, d, u, n, sign, out);
    }
}

/// Per-sample Jacobians `∂f̄/∂y₁` into `scratch.jacobians` (sample-major, each `dim × dim`
/// row-major), column by column from the means in `scratch.means`.
fn jacobians(field: &Field, theta: &LayerParams, scratch: &mut Scratch, n: usize) {
    let (d, m, dim) = (field.width, field.hidden, field.state_dim());
    let len = m * n;
    let Scratch {
        v3: unit,
        stages: column,
        field: fs,
        jacobians,
        means: buf,
        ..
    } = scratch;
    let (t, tmp) = fs.split_at_mut(len);
    for j in 0..dim {
        let unit = &mut unit[..dim * n];
        unit.fill(0.0);
        unit[j * n..(j + 1) * n].fill(1.0);
        let column = &mut column[..dim * n];
        for (r, &role) in field.roles().iter().enumerate() {
            let part = field.part(role);
            let u = &unit[part.input * n..(part.input + d) * n];
            let out = &mut column[part.output * n..(part.output + d) * n];
            match mean_of(field, role) {
                Some(Mean::Gradient {
                    slot, sign, port, ..
                }) => {
                    let d1 = &buf[(r * 5 + 4) * len..(r * 5 + 5) * len];
                    let t = &mut t[..len];
                    matmul(theta.a[slot], m, d, u, n, t);
                    for (ti, &w) in t.iter_mut().zip(d1) {
                        *ti *= w;
                    }
                    transposed_part(field, theta, (slot, sign, port), t, n, tmp, out);
                }
                _ => {
                    for (o, &ui) in out.iter_mut().zip(u) {
                        *o = 0.5 * ui;
                    }
                }
            }
        }
        for i in 0..dim {
            for t in 0..n {
                jacobians[t * dim * dim + i * dim + j] = column[i * n + t];
            }
        }
    }
}

pub(super) fn forward(
    cx: StepContext<'_>,
    y0: &[f64],
    y1: &mut [f64],
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
    let (y0, y1) = (&y0[..len], &mut y1[..len]);
    // Start from y₀ (the first Newton iterate is a linearly implicit step).
    y1.copy_from_slice(y0);
    let mut iterations = 0;
    loop {
        means(field, theta, (y0, y1), n, &mut scratch.means);
        rate(
            field,
            theta,
            (y0, y1),
            &scratch.means,
            n,
            &mut scratch.v1[..len],
            &mut scratch.field,
        );
        jacobians(field, theta, scratch, n);
        iterations += 1;
        if newton_update(
            y1,
            y0,
            h,
            scratch,
            iterations,
            (AVF, tolerance, max_iterations),
        )? {
            return Ok(());
        }
    }
}

pub(super) fn backward(
    cx: StepContext<'_>,
    (y0, y1): (&[f64], &[f64]),
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
    let (d, m, dim) = (field.width, field.hidden, field.state_dim());
    let len = dim * n;
    means(field, theta, (y0, y1), n, &mut scratch.means);
    jacobians(field, theta, scratch, n);
    solve_adjoint(h, lambda1, scratch, n, AVF)?;
    let Scratch {
        v2: mu,
        v3: w,
        means: buf,
        field: fs,
        ..
    } = &mut *scratch;
    lambda0[..len].copy_from_slice(&mu[..len]);
    let hidden_len = m * n;
    for (r, &role) in field.roles().iter().enumerate() {
        let part = field.part(role);
        let input = part.input * n..(part.input + d) * n;
        let v = &mu[part.output * n..(part.output + d) * n];
        match mean_of(field, role) {
            Some(Mean::Gradient {
                slot, sign, port, ..
            }) => {
                // With w = Sᵀ v (the part's outer factor moved onto v) and a = A w:
                // λ₀ += h Aᵀ(a ⊙ ∂g/∂S₀), ∂A += h (g wᵀ + (a ⊙ ∂g/∂S₀) x₀ᵀ + (a ⊙ ∂g/∂S₁) x₁ᵀ),
                // ∂b += h Σ (a ⊙ (∂g/∂S₀ + ∂g/∂S₁)).
                let w = &mut w[..d * n];
                // S₀ and S₁ are spent: their blocks take a ⊙ ∂g/∂S₀ and a ⊙ ∂g/∂S₁.
                let [u0, u1, g, d0, d1] = role_blocks(buf, r, hidden_len);
                if port {
                    field.interconnect_into(theta, v, n, true, w);
                    // A learned J, R: μᵀ h (J − R) ∇̄H with ∇̄H = Aᵀ g.
                    if field.learned.iter().any(|&l| l) {
                        let gradient = &mut fs[..d * n];
                        gradient.fill(0.0);
                        transpose_apply_add(theta.a[slot], m, d, g, n, 1.0, gradient);
                        field.interconnection_grad(gradient, v, n, h, grad);
                    }
                } else {
                    for (wi, &vi) in w.iter_mut().zip(v) {
                        *wi = sign * vi;
                    }
                }
                matmul(theta.a[slot], m, d, w, n, u0);
                for i in 0..hidden_len {
                    u1[i] = u0[i] * d1[i];
                    u0[i] *= d0[i];
                }
                transpose_apply_add(theta.a[slot], m, d, u0, n, h, &mut lambda0[input.clone()]);
                let (ga, gb) = grad.slot(slot);
                outer_add_pair(
                    (u0, &y0[input.clone()]),
                    (g, w),
                    false,
                    m,
                    d,
                    n,
                    h,
                    ga,
                    Some(gb),
                );
                outer_add(u1, m, &y1[input], d, n, h, ga, Some(gb));
            }
            _ => {
                for (l, &vi) in lambda0[input].iter_mut().zip(v) {
                    *l += 0.5 * h * vi;
                }
            }
        }
    }
    Ok(())
}

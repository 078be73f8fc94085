//! Optimise-then-discretise with a naive backward solve: the adjoint ODE
//! `λ' = −J(y(t))ᵀλ`, `g' = −(∂f/∂θ)ᵀλ` integrated from `t_{k+1}` back to `t_k` by an explicit
//! Runge–Kutta method, reading `y(t)` off the stored trajectory by cubic Hermite interpolation
//! between `y_k` and `y_{k+1}` (fourth-order accurate, so the interpolation never limits the
//! method's order up to 4). It differs from the exact discrete gradient by `O(h^p)`.

use super::{Scratch, StepContext, Tableau};
use crate::model::kernels::axpy;
use crate::model::params::LayerGrad;

pub(super) fn backward(
    method: &Tableau,
    cx: StepContext<'_>,
    y0: &[f64],
    y1: &[f64],
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
    let len = field.state_dim() * n;
    let Scratch {
        stages: g,
        stages2: l,
        v1: f0,
        v2: f1,
        v3: point,
        records,
        field: fs,
        ..
    } = scratch;
    field.eval(theta, &y0[..len], n, &mut f0[..len], records);
    field.eval(theta, &y1[..len], n, &mut f1[..len], records);
    lambda0[..len].copy_from_slice(&lambda1[..len]);
    for i in 0..method.stages {
        // Stage adjoint L_i = λ₁ + h Σ_{j<i} ã_ij G_j at time t_{k+1} − c̃_i h.
        let li = &mut l[i * len..(i + 1) * len];
        li.copy_from_slice(&lambda1[..len]);
        for j in 0..i {
            let aij = method.a(i, j);
            if aij != 0.0 {
                axpy(h * aij, &g[j * len..(j + 1) * len], li);
            }
        }
        // y at s = 1 − c̃_i of the step, by cubic Hermite interpolation.
        let s = 1.0 - method.c[i];
        let (s2, s3) = (s * s, s * s * s);
        let (h00, h10, h01, h11) = (
            2.0 * s3 - 3.0 * s2 + 1.0,
            s3 - 2.0 * s2 + s,
            -2.0 * s3 + 3.0 * s2,
            s3 - s2,
        );
        for q in 0..len {
            point[q] = h00 * y0[q] + h10 * h * f0[q] + h01 * y1[q] + h11 * h * f1[q];
        }
        // Linearise there (the rate itself is not needed; it lands in G_i and is overwritten).
        let gi = &mut g[i * len..(i + 1) * len];
        field.eval(theta, &point[..len], n, gi, records);
        gi.fill(0.0);
        field.vjp(
            theta,
            &point[..len],
            records,
            li,
            n,
            1.0,
            Some(gi),
            None,
            fs,
        );
        if method.b[i] != 0.0 {
            field.vjp(
                theta,
                &point[..len],
                records,
                li,
                n,
                h * method.b[i],
                None,
                Some(grad),
                fs,
            );
            axpy(h * method.b[i], gi, &mut lambda0[..len]);
        }
    }
}

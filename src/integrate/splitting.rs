//! Splitting methods for separable Hamiltonian fields: symplectic Euler A/B, Störmer–Verlet.
//!
//! Tape of one step: for each sub-step, the input half-state (`z` for a kick, `p` for a drift,
//! `d·n`) followed by the record of the part at that input.

use super::{Scratch, Splitting};
use crate::model::Field;
use crate::model::kernels::axpy;
use crate::model::params::{LayerGrad, LayerParams};

/// Applies the sub-steps: a kick `p += c h K(z)`, a drift `z += c h D(p)`.
pub(super) fn forward(
    s: Splitting,
    field: &Field,
    theta: &LayerParams,
    h: f64,
    y0: &[f64],
    y1: &mut [f64],
    tape: &mut [f64],
    scratch: &mut Scratch,
    n: usize,
) {
    let d = field.width;
    let dim = field.state_dim() * n;
    let stride = d * n + field.record_len(n);
    y1[..dim].copy_from_slice(&y0[..dim]);
    let rate = &mut scratch.v1[..d * n];
    for (idx, &(role, frac)) in s.substeps().iter().enumerate() {
        let part = field.part(role);
        let (x, record) = tape[idx * stride..(idx + 1) * stride].split_at_mut(d * n);
        x.copy_from_slice(&y1[part.input * n..(part.input + d) * n]);
        field.part_eval(&part, theta, x, n, rate, record);
        axpy(
            frac * h,
            rate,
            &mut y1[part.output * n..(part.output + d) * n],
        );
    }
}

/// Reverse mode: the sub-steps in reverse order, each `λ_in += c h (∂part/∂x)ᵀ λ_out`.
pub(super) fn backward(
    s: Splitting,
    field: &Field,
    theta: &LayerParams,
    h: f64,
    tape: &[f64],
    lambda1: &[f64],
    lambda0: &mut [f64],
    grad: &mut LayerGrad,
    scratch: &mut Scratch,
    n: usize,
) {
    let d = field.width;
    let dim = field.state_dim() * n;
    let stride = d * n + field.record_len(n);
    lambda0[..dim].copy_from_slice(&lambda1[..dim]);
    let Scratch { v1, field: fs, .. } = scratch;
    for (idx, &(role, frac)) in s.substeps().iter().enumerate().rev() {
        let part = field.part(role);
        let (x, record) = tape[idx * stride..(idx + 1) * stride].split_at(d * n);
        let v = &mut v1[..d * n];
        v.copy_from_slice(&lambda0[part.output * n..(part.output + d) * n]);
        field.part_vjp(
            &part,
            theta,
            x,
            record,
            v,
            n,
            frac * h,
            Some(&mut lambda0[part.input * n..(part.input + d) * n]),
            Some(grad),
            fs,
        );
    }
}

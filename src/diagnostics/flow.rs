//! The network's flow on a block of probe samples, with its own tape, so that diagnostics can
//! take step Jacobians, vector-Jacobian products and single steps at the probe states.
//!
//! States are feature-major blocks as in the engine (row `i` of `n` samples at `[i*n, (i+1)*n)`);
//! per-sample matrices are sample-major, each `rows × cols` row-major.

use nalgebra::DMatrix;

use crate::integrate::{Gradient, Scratch, StepContext, StepError};
use crate::model::kernels::{affine, transpose_apply_add};
use crate::train::{HeadSpec, LiftSpec, Network};

/// The lift `x ↦ y₀` of a block of `n` inputs (`inputs` rows): zero padding or `W x + b` into the
/// first `d` rows; the momentum of a Hamiltonian state starts at 0.
pub(crate) fn lift(network: &Network, eff: &[f64], x: &[f64], n: usize) -> Vec<f64> {
    let mut y0 = vec![0.0; network.state_dim() * n];
    let inputs = network.inputs;
    match network.lift {
        LiftSpec::Pad => y0[..inputs * n].copy_from_slice(&x[..inputs * n]),
        LiftSpec::Linear => {
            let ids = network.layout.ids();
            if let (Some(w), Some(b)) = (ids.lift_w, ids.lift_b) {
                let d = network.field.width;
                affine(
                    &eff[network.layout.block(w).range()],
                    &eff[network.layout.block(b).range()],
                    d,
                    inputs,
                    x,
                    n,
                    &mut y0[..d * n],
                );
            }
        }
    }
    y0
}

/// The transposed lift Jacobian: `∂L/∂x` from `∂L/∂y₀` (a block of state rows).
pub(crate) fn lift_transpose(
    network: &Network,
    eff: &[f64],
    lambda0: &[f64],
    n: usize,
) -> Vec<f64> {
    let inputs = network.inputs;
    match network.lift {
        LiftSpec::Pad => lambda0[..inputs * n].to_vec(),
        LiftSpec::Linear => {
            let mut out = vec![0.0; inputs * n];
            if let Some(w) = network.layout.ids().lift_w {
                transpose_apply_add(
                    &eff[network.layout.block(w).range()],
                    network.field.width,
                    inputs,
                    lambda0,
                    n,
                    1.0,
                    &mut out,
                );
            }
            out
        }
    }
}

/// The lift's Jacobian `∂y₀/∂x` as a `dim × inputs` matrix.
pub(crate) fn lift_matrix(network: &Network, eff: &[f64]) -> DMatrix<f64> {
    let (dim, inputs) = (network.state_dim(), network.inputs);
    match (network.lift, network.layout.ids().lift_w) {
        (LiftSpec::Linear, Some(w)) => {
            let block = &eff[network.layout.block(w).range()];
            DMatrix::from_fn(dim, inputs, |i, j| {
                if i < network.field.width {
                    block[i * inputs + j]
                } else {
                    0.0
                }
            })
        }
        _ => DMatrix::from_fn(dim, inputs, |i, j| if i == j { 1.0 } else { 0.0 }),
    }
}

/// One step `y ↦ Φ_h(y)` of layer `k` with step `h` (negative to run backwards) on a block.
pub(crate) fn step(
    network: &Network,
    eff: &[f64],
    k: usize,
    h: f64,
    y: &[f64],
    n: usize,
) -> Result<Vec<f64>, StepError> {
    let field = &network.field;
    let mut scratch = Scratch::new(field, &network.integrator, &Gradient::Dto, n);
    let mut tape = vec![0.0; network.integrator.tape_len(field, n)];
    let mut out = vec![0.0; field.state_dim() * n];
    let cx = StepContext {
        field,
        theta: &network.layout.layer(eff, k),
        h,
        n,
        scratch: &mut scratch,
    };
    network
        .integrator
        .forward(cx, y, &mut out, &mut tape)
        .map_err(|e| e.in_layer(k))?;
    Ok(out)
}

/// Jacobians `J = ∂f/∂y` of layer `k`'s field at the states `y` of a block, by one JVP per unit
/// vector: sample-major, each `dim × dim` row-major.
pub(crate) fn field_jacobians(
    network: &Network,
    eff: &[f64],
    k: usize,
    y: &[f64],
    n: usize,
) -> Vec<f64> {
    let field = &network.field;
    let dim = field.state_dim();
    let theta = network.layout.layer(eff, k);
    let mut records = vec![0.0; field.roles().len() * field.record_len(n)];
    let mut rate = vec![0.0; dim * n];
    field.eval(&theta, y, n, &mut rate, &mut records);
    let mut scratch = vec![0.0; field.scratch_len(n)];
    let mut unit = vec![0.0; dim * n];
    let mut column = vec![0.0; dim * n];
    let mut out = vec![0.0; n * dim * dim];
    for j in 0..dim {
        unit.fill(0.0);
        unit[j * n..(j + 1) * n].fill(1.0);
        field.jvp(&theta, &records, &unit, n, &mut column, &mut scratch);
        for i in 0..dim {
            for t in 0..n {
                out[t * dim * dim + i * dim + j] = column[i * n + t];
            }
        }
    }
    out
}

/// Sample `t` of a block of `rows` rows.
pub(crate) fn sample(block: &[f64], rows: usize, n: usize, t: usize) -> Vec<f64> {
    (0..rows).map(|i| block[i * n + t]).collect()
}

/// Logits of blocks of inputs through the lift, the `K` steps and the head, keeping only the
/// current state and one step's tape (grids and perturbed data sets need no trajectory, and
/// the small working set stays in cache).
pub(crate) struct Evaluator<'a> {
    network: &'a Network,
    eff: &'a [f64],
    scratch: Scratch,
    tape: Vec<f64>,
    next: Vec<f64>,
}

impl<'a> Evaluator<'a> {
    /// Buffers for blocks of up to `capacity` samples.
    pub fn new(network: &'a Network, eff: &'a [f64], capacity: usize) -> Self {
        let field = &network.field;
        Self {
            network,
            eff,
            scratch: Scratch::new(field, &network.integrator, &Gradient::Dto, capacity),
            tape: vec![0.0; network.integrator.tape_len(field, capacity)],
            next: vec![0.0; field.state_dim() * capacity],
        }
    }

    /// The logits (`outputs` rows of `n`) of a block of `n` inputs (`inputs` rows).
    pub fn logits(&mut self, x: &[f64], n: usize) -> Result<Vec<f64>, StepError> {
        let network = self.network;
        let field = &network.field;
        let slen = field.state_dim() * n;
        let tape_len = network.integrator.tape_len(field, n);
        let mut y = lift(network, self.eff, x, n);
        for k in 0..network.layers {
            let cx = StepContext {
                field,
                theta: &network.layout.layer(self.eff, k),
                h: network.h,
                n,
                scratch: &mut self.scratch,
            };
            network
                .integrator
                .forward(cx, &y, &mut self.next[..slen], &mut self.tape[..tape_len])
                .map_err(|e| e.in_layer(k))?;
            y.copy_from_slice(&self.next[..slen]);
        }
        let ids = network.layout.ids();
        let d = field.width;
        let mut logits = vec![0.0; network.outputs * n];
        affine(
            &self.eff[network.layout.block(ids.head_w).range()],
            &self.eff[network.layout.block(ids.head_b).range()],
            network.outputs,
            d,
            &y[..d * n],
            n,
            &mut logits,
        );
        Ok(logits)
    }
}

/// The predicted class of sample `t` from a block of logits: the rule of
/// [`Network::predictions`] (one sigmoid output: `logit > 0`; otherwise the first largest).
pub(crate) fn predicted_class(network: &Network, logits: &[f64], n: usize, t: usize) -> usize {
    let outputs = network.outputs;
    let logit = |i: usize| logits[i * n + t];
    if network.head == HeadSpec::SigmoidSquaredError && outputs == 1 {
        return usize::from(logit(0) > 0.0);
    }
    let mut best = (f64::NEG_INFINITY, 0);
    for i in 0..outputs {
        if logit(i) > best.0 {
            best = (logit(i), i);
        }
    }
    best.1
}

/// `‖a_ta − b_tb‖₂` between sample `ta` of block `a` (`na` samples) and sample `tb` of block `b`
/// (`nb` samples), both of `rows` rows.
pub(crate) fn sample_distance(
    a: &[f64],
    na: usize,
    ta: usize,
    b: &[f64],
    nb: usize,
    tb: usize,
    rows: usize,
) -> f64 {
    (0..rows)
        .map(|i| (a[i * na + ta] - b[i * nb + tb]).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// A block of `n` samples pushed through all layers, with the tape of every step.
pub(crate) struct Flow<'a> {
    network: &'a Network,
    eff: &'a [f64],
    /// Samples in the block.
    pub n: usize,
    /// Rows of a state.
    pub dim: usize,
    states: Vec<f64>,
    tape: Vec<f64>,
    tape_len: usize,
    scratch: Scratch,
    /// Parameter gradients the reverse steps accumulate (not used).
    grad: Vec<f64>,
}

impl<'a> Flow<'a> {
    /// Runs the `K` steps from the states `y0` (a block of `n` samples).
    pub fn from_states(
        network: &'a Network,
        eff: &'a [f64],
        y0: &[f64],
        n: usize,
    ) -> Result<Self, StepError> {
        let field = &network.field;
        let dim = field.state_dim();
        let slen = dim * n;
        let layers = network.layers;
        let tape_len = network.integrator.tape_len(field, n);
        let mut states = vec![0.0; (layers + 1) * slen];
        states[..slen].copy_from_slice(&y0[..slen]);
        let mut tape = vec![0.0; layers * tape_len];
        let mut scratch = Scratch::new(field, &network.integrator, &Gradient::Dto, n);
        for k in 0..layers {
            let (before, after) = states.split_at_mut((k + 1) * slen);
            let cx = StepContext {
                field,
                theta: &network.layout.layer(eff, k),
                h: network.h,
                n,
                scratch: &mut scratch,
            };
            network
                .integrator
                .forward(
                    cx,
                    &before[k * slen..],
                    &mut after[..slen],
                    &mut tape[k * tape_len..(k + 1) * tape_len],
                )
                .map_err(|e| e.in_layer(k))?;
        }
        Ok(Self {
            network,
            eff,
            n,
            dim,
            states,
            tape,
            tape_len,
            scratch,
            grad: vec![0.0; network.layout.len()],
        })
    }

    /// Lifts the inputs `x` (a block of `inputs` rows) and runs the steps.
    pub fn from_inputs(
        network: &'a Network,
        eff: &'a [f64],
        x: &[f64],
        n: usize,
    ) -> Result<Self, StepError> {
        let y0 = lift(network, eff, x, n);
        Self::from_states(network, eff, &y0, n)
    }

    /// The states after `k` steps (`dim` rows of `n`).
    pub fn state(&self, k: usize) -> &[f64] {
        let slen = self.dim * self.n;
        &self.states[k * slen..(k + 1) * slen]
    }

    /// One exact reverse step (DTO) through layer `k`: `λ_k = M_kᵀ λ_{k+1}`.
    fn reverse_step(&mut self, k: usize, lambda1: &[f64]) -> Result<Vec<f64>, StepError> {
        let network = self.network;
        let slen = self.dim * self.n;
        let mut lambda0 = vec![0.0; slen];
        let mut layer_grad = network.layout.layer_grad(&mut self.grad, k);
        let cx = StepContext {
            field: &network.field,
            theta: &network.layout.layer(self.eff, k),
            h: network.h,
            n: self.n,
            scratch: &mut self.scratch,
        };
        network
            .integrator
            .backward(
                &Gradient::Dto,
                cx,
                (
                    &self.states[k * slen..(k + 1) * slen],
                    &self.states[(k + 1) * slen..(k + 2) * slen],
                ),
                &self.tape[k * self.tape_len..(k + 1) * self.tape_len],
                lambda1,
                &mut lambda0,
                &mut layer_grad,
            )
            .map_err(|e| e.in_layer(k))?;
        Ok(lambda0)
    }

    /// `(∂y_K/∂y₀)ᵀ λ` for a block `λ` at the last layer, by the exact discrete adjoint.
    pub fn vjp(&mut self, lambda: &[f64]) -> Result<Vec<f64>, StepError> {
        let mut current = lambda.to_vec();
        for k in (0..self.network.layers).rev() {
            current = self.reverse_step(k, &current)?;
        }
        Ok(current)
    }

    /// The step Jacobians `M = ∂y_{k+1}/∂y_k` of layer `k` at every sample, row by row from the
    /// discrete adjoint (`λ_k = Mᵀ e_i` is row `i`): sample-major, each `dim × dim` row-major.
    pub fn step_jacobians(&mut self, k: usize) -> Result<Vec<f64>, StepError> {
        let (dim, n) = (self.dim, self.n);
        let mut out = vec![0.0; n * dim * dim];
        let mut unit = vec![0.0; dim * n];
        for i in 0..dim {
            unit.fill(0.0);
            unit[i * n..(i + 1) * n].fill(1.0);
            let row = self.reverse_step(k, &unit)?;
            for j in 0..dim {
                for t in 0..n {
                    out[t * dim * dim + i * dim + j] = row[j * n + t];
                }
            }
        }
        Ok(out)
    }
}

//! The network `x ↦ lift ↦ K steps of the integrator ↦ head`, evaluated on blocks of samples.
//!
//! [`Network`] is the checked model; [`Workspace`] holds everything one block of up to
//! [`BLOCK`](crate::model::kernels::BLOCK) samples needs (trajectory, tape, scratch), allocated once, so the per-layer loops
//! never allocate.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::integrate::{Gradient, Integrator, Scratch, StepContext, StepError};
use crate::model::activation::sigmoid;
use crate::model::kernels::{Aligned, affine, outer_add, transpose_apply_add};
use crate::model::params::{LayoutShape, ParamLayout};
use crate::model::{Activation, Constraint, Field};

/// How the input `x ∈ R^{n_in}` becomes the initial state `z₀ ∈ R^d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiftSpec {
    /// Append zeros up to width `d` (augmentation; needs `d ≥ n_in`).
    #[default]
    Pad,
    /// A trained affine map `z₀ = W x + b`.
    Linear,
}

/// The output layer and its loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeadSpec {
    /// Affine map to `C` logits, softmax cross-entropy (`C ≥ 2` classes).
    #[default]
    SoftmaxCrossEntropy,
    /// Affine map, sigmoid, ½ squared error against 0/1 targets (Benning et al. 2019).
    SigmoidSquaredError,
    /// Affine map, mean squared error against one-hot targets.
    LinearMse,
}

/// A network before it meets its data: the checked settings `experiment::check` builds from a
/// document. [`Network::new`] adds what the data decides (input features, classes).
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    /// The vector field, its widths and activations.
    pub field: Field,
    /// Layers `K`.
    pub layers: usize,
    /// Final time `T`.
    pub final_time: f64,
    /// How inputs become states.
    pub lift: LiftSpec,
    /// Output layer and loss.
    pub head: HeadSpec,
    /// Constraints on `A` (`A₁`) and `A₂` (the same constraint twice when there is no `A₂`).
    pub constraints: [Constraint; 2],
    /// The time stepper.
    pub integrator: Integrator,
    /// The gradient method.
    pub gradient: Gradient,
}

/// Why an architecture does not fit its data (what only the data can reveal).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NetworkError {
    /// A zero-padding lift narrower than the data.
    #[error(
        "model.width: the zero-padding lift needs width ≥ the data's {inputs} input features (got {width}); raise the width or use lift: Linear"
    )]
    LiftTooNarrow {
        /// The state width `d`.
        width: usize,
        /// The data's input features.
        inputs: usize,
    },
    /// A dataset without features.
    #[error("data: the dataset has no input features")]
    NoInputs,
}

/// The checked network of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The vector field and its dimensions.
    pub field: Field,
    /// Layers `K`.
    pub layers: usize,
    /// Final time `T`.
    pub final_time: f64,
    /// Step `h = T/K`.
    pub h: f64,
    /// The time stepper.
    pub integrator: Integrator,
    /// The gradient method.
    pub gradient: Gradient,
    /// How inputs become states.
    pub lift: LiftSpec,
    /// Input features.
    pub inputs: usize,
    /// Output layer and loss.
    pub head: HeadSpec,
    /// Classes of the data.
    pub classes: usize,
    /// Outputs of the head.
    pub outputs: usize,
    /// Constraints on `A` (`A₁`) and `A₂`.
    pub constraints: [Constraint; 2],
    /// Layout of the parameter buffer.
    pub layout: ParamLayout,
}

impl Network {
    /// The network of `architecture` for data with `inputs` features and `classes` classes.
    pub fn new(
        architecture: &Architecture,
        inputs: usize,
        classes: usize,
    ) -> Result<Self, NetworkError> {
        let Architecture {
            field,
            layers,
            final_time,
            lift,
            head,
            constraints,
            integrator,
            gradient,
        } = architecture.clone();
        let width = field.width;
        if lift == LiftSpec::Pad && width < inputs {
            return Err(NetworkError::LiftTooNarrow { width, inputs });
        }
        if inputs == 0 {
            return Err(NetworkError::NoInputs);
        }
        let outputs = match head {
            HeadSpec::SigmoidSquaredError if classes == 2 => 1,
            _ => classes,
        };
        let layout = ParamLayout::new(&LayoutShape {
            layers,
            width,
            hidden: field.hidden,
            second_matrix: field.second_matrix(),
            second_bias: field.second_bias() && !field.second_matrix(),
            learned: field.learned,
            linear_lift_inputs: (lift == LiftSpec::Linear).then_some(inputs),
            outputs,
        });
        Ok(Self {
            field,
            layers,
            final_time,
            h: final_time / layers as f64,
            integrator,
            gradient,
            lift,
            inputs,
            head,
            classes,
            outputs,
            constraints,
            layout,
        })
    }

    /// Rows of the state (`d`, or `2d` for Hamiltonian fields).
    #[must_use]
    pub fn state_dim(&self) -> usize {
        self.field.state_dim()
    }

    /// The activations, for metadata (`σ₂` only for `Hamiltonian`).
    #[must_use]
    pub fn activations(&self) -> Vec<Activation> {
        if self.field.second_matrix() {
            vec![self.field.activation, self.field.activation2]
        } else {
            vec![self.field.activation]
        }
    }

    /// Initial raw parameters: every entry `N(0, 1) · scale/√d`, drawn in buffer order from a
    /// ChaCha8 stream seeded with `seed` (portable across platforms).
    #[must_use]
    pub fn init_params(&self, scale: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let std = scale / (self.field.width as f64).sqrt();
        (0..self.layout.len())
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z * std
            })
            .collect()
    }

    /// The parametrised matrix blocks: `(block id, constraint, negated)`, each layer's matrix
    /// `P(W)`, or `−P(W)` when negated. A port-Hamiltonian field's learned `J = W − Wᵀ` is
    /// the Skew parametrisation without damping, its `R = WᵀW` the NegDef one (ε = 0) negated.
    fn constrained_blocks(&self) -> impl Iterator<Item = (usize, Constraint, bool)> + '_ {
        let ids = self.layout.ids();
        std::iter::once((ids.a, self.constraints[0], false))
            .chain(ids.a2.map(|a2| (a2, self.constraints[1], false)))
            .chain(ids.j.map(|j| (j, Constraint::Skew { gamma: 0.0 }, false)))
            .chain(ids.r.map(|r| (r, Constraint::NegDef { eps: 0.0 }, true)))
    }

    /// Effective parameters `A_k = P(W_k)`; everything else is copied.
    pub fn effective(&self, raw: &[f64], eff: &mut [f64]) {
        eff.copy_from_slice(raw);
        for (id, c, negated) in self.constrained_blocks() {
            if c == Constraint::None {
                continue;
            }
            let block = self.layout.block(id).clone();
            for k in 0..block.layers {
                let r = block.layer_range(k);
                c.apply(&raw[r.clone()], block.rows, block.cols, &mut eff[r.clone()]);
                if negated {
                    eff[r].iter_mut().for_each(|a| *a = -*a);
                }
            }
        }
    }

    /// Pulls a gradient with respect to the effective parameters back to the raw ones.
    pub fn pullback(&self, raw: &[f64], grad_eff: &[f64], grad_raw: &mut [f64]) {
        grad_raw.copy_from_slice(grad_eff);
        for (id, c, negated) in self.constrained_blocks() {
            if c == Constraint::None {
                continue;
            }
            let block = self.layout.block(id).clone();
            for k in 0..block.layers {
                let r = block.layer_range(k);
                c.pullback(
                    &raw[r.clone()],
                    block.rows,
                    block.cols,
                    &grad_eff[r.clone()],
                    &mut grad_raw[r.clone()],
                );
                // The pullback is linear in the gradient: −P'(W)ᵀ ∂A for −P(W).
                if negated {
                    grad_raw[r].iter_mut().for_each(|g| *g = -*g);
                }
            }
        }
    }

    /// A workspace for blocks of up to `capacity` samples.
    #[must_use]
    pub fn workspace(&self, capacity: usize) -> Workspace {
        let dim = self.state_dim();
        Workspace {
            capacity,
            states: Aligned::zeros((self.layers + 1) * dim * capacity),
            tape: Aligned::zeros(self.layers * self.integrator.tape_len(&self.field, capacity)),
            scratch: Scratch::new(&self.field, &self.integrator, &self.gradient, capacity),
            x: Aligned::zeros(self.inputs * capacity),
            logits: Aligned::zeros(self.outputs * capacity),
            dlogits: Aligned::zeros(self.outputs * capacity),
            lambda: [
                Aligned::zeros(dim * capacity),
                Aligned::zeros(dim * capacity),
            ],
        }
    }

    /// Loads rows `rows` of the (N, n_in) sample-major matrix `x` into the workspace.
    pub fn load_inputs(&self, x: &ndarray::ArrayView2<f64>, rows: &[usize], ws: &mut Workspace) {
        let n = rows.len();
        for (t, &r) in rows.iter().enumerate() {
            for j in 0..self.inputs {
                ws.x[j * n + t] = x[[r, j]];
            }
        }
    }

    /// Forward pass of a block of `n` samples whose inputs are in `ws.x`: fills the trajectory
    /// `ws.states` (layer `k` at [`Workspace::state`]) and the logits.
    pub fn forward(&self, eff: &[f64], n: usize, ws: &mut Workspace) -> Result<(), StepError> {
        let dim = self.state_dim();
        let d = self.field.width;
        let ids = self.layout.ids();
        let slen = dim * n;
        let y0 = &mut ws.states[..slen];
        y0.fill(0.0);
        match self.lift {
            LiftSpec::Pad => y0[..self.inputs * n].copy_from_slice(&ws.x[..self.inputs * n]),
            LiftSpec::Linear => {
                let (Some(w), Some(b)) = (ids.lift_w, ids.lift_b) else {
                    unreachable!("a linear lift always has its blocks")
                };
                affine(
                    &eff[self.layout.block(w).range()],
                    &eff[self.layout.block(b).range()],
                    d,
                    self.inputs,
                    &ws.x,
                    n,
                    y0,
                );
            }
        }
        let tape_len = self.integrator.tape_len(&self.field, n);
        for k in 0..self.layers {
            let theta = self.layout.layer(eff, k);
            let (before, after) = ws.states.split_at_mut((k + 1) * slen);
            let cx = StepContext {
                field: &self.field,
                theta: &theta,
                h: self.h,
                n,
                scratch: &mut ws.scratch,
            };
            self.integrator
                .forward(
                    cx,
                    &before[k * slen..],
                    &mut after[..slen],
                    &mut ws.tape[k * tape_len..(k + 1) * tape_len],
                )
                .map_err(|e| e.in_layer(k))?;
        }
        let z_final = &ws.states[self.layers * slen..self.layers * slen + d * n];
        affine(
            &eff[self.layout.block(ids.head_w).range()],
            &eff[self.layout.block(ids.head_b).range()],
            self.outputs,
            d,
            z_final,
            n,
            &mut ws.logits,
        );
        Ok(())
    }

    /// The loss of each sample of the block from `ws.logits`, summed, and the number of correct
    /// predictions; writes `weight · ∂loss/∂logits` to `ws.dlogits` for [`Network::backward`].
    /// The labels of the block are `labels[rows[t]]`.
    pub fn loss(
        &self,
        rows: &[usize],
        labels: &[usize],
        weight: f64,
        ws: &mut Workspace,
    ) -> (f64, usize) {
        let n = rows.len();
        let c = self.outputs;
        let mut total = 0.0;
        let mut correct = 0;
        for (t, &row) in rows.iter().enumerate() {
            let label = labels[row];
            let logit = |i: usize| ws.logits[i * n + t];
            match self.head {
                HeadSpec::SoftmaxCrossEntropy => {
                    // e^{logit − max} once per class: their sum gives the log-sum-exp, their
                    // ratios to it the probabilities.
                    let max = (0..c).map(logit).fold(f64::NEG_INFINITY, f64::max);
                    let mut sum = 0.0;
                    for i in 0..c {
                        let e = (logit(i) - max).exp();
                        ws.dlogits[i * n + t] = e;
                        sum += e;
                    }
                    total += max + sum.ln() - logit(label);
                    for i in 0..c {
                        let p = ws.dlogits[i * n + t] / sum;
                        let target = if i == label { 1.0 } else { 0.0 };
                        ws.dlogits[i * n + t] = weight * (p - target);
                    }
                    correct += usize::from(argmax((0..c).map(logit)) == label);
                }
                HeadSpec::SigmoidSquaredError => {
                    for i in 0..c {
                        let y = sigmoid(logit(i));
                        let target = if c == 1 {
                            label as f64
                        } else if i == label {
                            1.0
                        } else {
                            0.0
                        };
                        total += 0.5 * (y - target).powi(2);
                        ws.dlogits[i * n + t] = weight * (y - target) * y * (1.0 - y);
                    }
                    let predicted = if c == 1 {
                        usize::from(sigmoid(logit(0)) > 0.5)
                    } else {
                        argmax((0..c).map(logit))
                    };
                    correct += usize::from(predicted == label);
                }
                HeadSpec::LinearMse => {
                    for i in 0..c {
                        let target = if i == label { 1.0 } else { 0.0 };
                        let r = logit(i) - target;
                        total += 0.5 * r * r;
                        ws.dlogits[i * n + t] = weight * r;
                    }
                    correct += usize::from(argmax((0..c).map(logit)) == label);
                }
            }
        }
        (total, correct)
    }

    /// Predicted class of each sample of the block from `ws.logits`.
    pub fn predictions(&self, n: usize, ws: &Workspace, out: &mut Vec<usize>) {
        let c = self.outputs;
        for t in 0..n {
            let logit = |i: usize| ws.logits[i * n + t];
            out.push(match (self.head, c) {
                (HeadSpec::SigmoidSquaredError, 1) => usize::from(logit(0) > 0.0),
                _ => argmax((0..c).map(logit)),
            });
        }
    }

    /// Reverse sweep of a block after [`Network::forward`] and [`Network::loss`]: adds the
    /// gradient with respect to the effective parameters to `grad`.
    pub fn backward(
        &self,
        eff: &[f64],
        n: usize,
        ws: &mut Workspace,
        grad: &mut [f64],
    ) -> Result<(), StepError> {
        let dim = self.state_dim();
        let d = self.field.width;
        let ids = self.layout.ids();
        let slen = dim * n;
        let Workspace {
            states,
            tape,
            scratch,
            x,
            dlogits,
            lambda: [lam_a, lam_b],
            ..
        } = ws;
        // Head: logits = W z_K + b.
        let z_final = &states[self.layers * slen..self.layers * slen + d * n];
        {
            let (w_range, b_range) = (
                self.layout.block(ids.head_w).range(),
                self.layout.block(ids.head_b).range(),
            );
            let (lo, hi) = grad.split_at_mut(b_range.start);
            outer_add(
                dlogits,
                self.outputs,
                z_final,
                d,
                n,
                1.0,
                &mut lo[w_range],
                Some(&mut hi[..b_range.len()]),
            );
        }
        let lam1 = &mut lam_a[..slen];
        lam1.fill(0.0);
        transpose_apply_add(
            &eff[self.layout.block(ids.head_w).range()],
            self.outputs,
            d,
            dlogits,
            n,
            1.0,
            lam1,
        );
        let tape_len = self.integrator.tape_len(&self.field, n);
        let (mut cur, mut next) = (lam_a, lam_b);
        for k in (0..self.layers).rev() {
            let theta = self.layout.layer(eff, k);
            let mut layer_grad = self.layout.layer_grad(grad, k);
            let cx = StepContext {
                field: &self.field,
                theta: &theta,
                h: self.h,
                n,
                scratch,
            };
            self.integrator
                .backward(
                    &self.gradient,
                    cx,
                    (
                        &states[k * slen..(k + 1) * slen],
                        &states[(k + 1) * slen..(k + 2) * slen],
                    ),
                    &tape[k * tape_len..(k + 1) * tape_len],
                    &cur[..slen],
                    &mut next[..slen],
                    &mut layer_grad,
                )
                .map_err(|e| e.in_layer(k))?;
            std::mem::swap(&mut cur, &mut next);
        }
        if let (LiftSpec::Linear, Some(w), Some(b)) = (self.lift, ids.lift_w, ids.lift_b) {
            let (w_range, b_range) = (self.layout.block(w).range(), self.layout.block(b).range());
            let (lo, hi) = grad.split_at_mut(b_range.start);
            outer_add(
                &cur[..d * n],
                d,
                x,
                self.inputs,
                n,
                1.0,
                &mut lo[w_range],
                Some(&mut hi[..b_range.len()]),
            );
        }
        Ok(())
    }

    /// `λ₀ = ∂L/∂y₀` of the last [`Network::backward`] (the input sensitivity, used by
    /// robustness diagnostics): its first `d·n` entries are `∂L/∂z₀`.
    #[must_use]
    pub fn input_adjoint<'a>(&self, n: usize, ws: &'a Workspace) -> &'a [f64] {
        // After an even number of swaps the result is in lambda[0], otherwise in lambda[1].
        let slot = self.layers % 2;
        &ws.lambda[slot][..self.state_dim() * n]
    }
}

/// Index of the largest value (the first one on ties).
fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (f64::NEG_INFINITY, 0);
    for (i, v) in values.enumerate() {
        if v > best.0 {
            best = (v, i);
        }
    }
    best.1
}

/// Buffers for one block of samples.
#[derive(Clone, Debug)]
pub struct Workspace {
    capacity: usize,
    states: Aligned,
    tape: Aligned,
    scratch: Scratch,
    x: Aligned,
    logits: Aligned,
    dlogits: Aligned,
    lambda: [Aligned; 2],
}

impl Workspace {
    /// Largest block this workspace holds.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The state at layer `k` of the last forward pass of `n` samples (`dim` rows of `n`).
    #[must_use]
    pub fn state(&self, k: usize, dim: usize, n: usize) -> &[f64] {
        &self.states[k * dim * n..(k + 1) * dim * n]
    }

    /// The logits of the last forward pass (`outputs` rows of `n`).
    #[must_use]
    pub fn logits(&self, outputs: usize, n: usize) -> &[f64] {
        &self.logits[..outputs * n]
    }

    /// Inputs of the block (`inputs` rows of `n`), writable for callers that build their own.
    pub fn inputs_mut(&mut self) -> &mut [f64] {
        &mut self.x
    }
}

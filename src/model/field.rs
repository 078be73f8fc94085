//! Vector fields `f(y; θ)` with their JVPs and VJPs, evaluated on blocks of samples.
//!
//! Every field is built from at most two *parts*, each mapping one half of the state to the
//! rate of another half:
//! - `Dense`: `σ(A x + b)` (the ResNet field, `A` square);
//! - `Transposed(c)`: `c · Aᵀσ(A x + b)` with `A ∈ R^{m×d}` (gradient flow `c = −1`, the two
//!   halves of a Hamiltonian field `c = ±1`);
//! - `Identity`: `x` (the `z' = p` half of a second-order field);
//! - `DenseTransposed`: `σ(−Aᵀ x + b₂)` (the drift of the leapfrog network, `A` square);
//! - `PortHamiltonian(γ)`: `(J − R) Aᵀσ(A x + b)` with the canonical `J = [[0, I], [−I, 0]]`
//!   (`d` even) or a learned skew `J`, and `R = γI` or a learned `R ⪰ 0` (a port-Hamiltonian
//!   field; see [`Field::interconnect_into`]).
//!
//! A first-order field (ResNet, GradientFlow) has one part on the whole state `z`. A *split*
//! field (the Hamiltonian ones and the leapfrog network) has a *drift* part `z' = D(p)` and a
//! *kick* part `p' = K(z)` on the state `y = (z, p)`, which is what splitting integrators need;
//! each part depends only on the other half, so the field is divergence-free and every
//! splitting step preserves volume.
//!
//! Blocks are feature-major (see [`super::kernels`]). Evaluating a part writes a *record* at
//! the pre-activation `S = A x + b` that its JVP and VJP reuse, so the reverse sweep never
//! recomputes an activation: `σ(S)` (`m n` entries) and, unless σ is tanh, `σ'(S)` after it
//! (tanh's slope `1 − σ²` is formed from the values where it is needed, which saves a block
//! of memory traffic per evaluation). A dense part keeps only what its reverse sweep needs:
//! `σ(S)` for tanh, `σ'(S)` otherwise.

use super::activation::Activation;
use super::kernels::{
    Slopes, affine, apply_onto, axpy_onto, matmul, matmul_weighted, outer_add, outer_add_pair,
    transpose_apply_add, transpose_apply_onto,
};
use super::params::{LayerGrad, LayerParams};
use serde::{Deserialize, Serialize};

/// The vector field `f(z; θ)` of the network's ODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKind {
    /// `f(z) = σ(A z + b)`, `A` square (He et al. 2016).
    ResNet,
    /// `f(z) = −Aᵀσ(A z + b)`, `A ∈ R^{m×d}` (Celledoni et al. 2020).
    GradientFlow,
    /// `z' = A₁ᵀσ₁(A₁p + b₁)`, `p' = −A₂ᵀσ₂(A₂z + b₂)` (Chang et al. 2018).
    Hamiltonian,
    /// The Hamiltonian field with `A₁ = A₂`, `b₁ = b₂`, `σ₁ = σ₂`.
    HamiltonianShared,
    /// `z'' = −Aᵀσ(Az + b)`, i.e. `z' = p`, `p' = −Aᵀσ(Az + b)`.
    SecondOrder,
    /// The leapfrog network (Haber & Ruthotto 2017): `z' = σ(−Aᵀp + b₂)`, `p' = σ(A z + b₁)`,
    /// `A` square. Each half's rate depends only on the other half, so the field is
    /// divergence-free (measure-preserving) though not Hamiltonian: a splitting integrator's
    /// layers preserve volume exactly, but not a symplectic form or an energy.
    Leapfrog,
    /// `y' = (J − R) Aᵀσ(A y + b)`, `A ∈ R^{m×d}`, `d` even, `J = [[0, I], [−I, 0]]`,
    /// `R = γI ⪰ 0` (Galimberti et al. 2023; `R = 0` is their H1-DNN). The energy is
    /// `H(y) = 1ᵀγ(Ay + b)` with `γ' = σ`, so `∇H = Aᵀσ(Ay + b)` and, with θ frozen,
    /// `dH/dt = −∇Hᵀ R ∇H ≤ 0`.
    PortHamiltonian,
}

impl FieldKind {
    /// All fields, in the order a user interface lists them.
    pub const ALL: [Self; 7] = [
        Self::ResNet,
        Self::GradientFlow,
        Self::Hamiltonian,
        Self::HamiltonianShared,
        Self::SecondOrder,
        Self::Leapfrog,
        Self::PortHamiltonian,
    ];

    /// Whether the state is a pair `(z, p)` with a separable Hamiltonian structure (an energy and
    /// a symplectic form).
    #[must_use]
    pub fn is_hamiltonian(self) -> bool {
        matches!(
            self,
            Self::Hamiltonian | Self::HamiltonianShared | Self::SecondOrder
        )
    }

    /// Whether the state is a pair `(z, p)` whose halves' rates depend only on the other half
    /// (`z' = D(p)`, `p' = K(z)`): the fields splitting integrators take.
    #[must_use]
    pub fn is_split(self) -> bool {
        self.is_hamiltonian() || self == Self::Leapfrog
    }

    /// Whether the field has an energy `H` (the Hamiltonian fields and the port-Hamiltonian one).
    #[must_use]
    pub fn has_energy(self) -> bool {
        self.is_hamiltonian() || self == Self::PortHamiltonian
    }

    /// Whether the field's matrix `A` is square (`hidden = width`).
    #[must_use]
    pub fn is_square(self) -> bool {
        matches!(self, Self::ResNet | Self::Leapfrog)
    }
}

/// What a part computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `σ(A x + b)` with matrix slot 0.
    Dense {
        /// σ.
        act: Activation,
    },
    /// `sign · Aᵀσ(A x + b)` with matrix slot `slot`.
    Transposed {
        /// Matrix slot (0: `A`/`A₁`, 1: `A₂`).
        slot: usize,
        /// σ.
        act: Activation,
        /// `+1` or `−1`.
        sign: f64,
    },
    /// `x`.
    Identity,
    /// `σ(−Aᵀx + b₂)` with matrix slot 0 (square) and bias slot 1.
    DenseTransposed {
        /// σ.
        act: Activation,
    },
    /// `(J − γI) Aᵀσ(A x + b)`, `J` canonical, with matrix slot 0.
    PortHamiltonian {
        /// σ.
        act: Activation,
        /// `γ ≥ 0` of `R = γI`.
        gamma: f64,
    },
}

/// A part of a field: reads rows `input..input+d` of the state, writes the rate of rows
/// `output..output+d`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Part {
    /// First state row read.
    pub input: usize,
    /// First state row whose rate is written.
    pub output: usize,
    /// The map.
    pub op: Op,
}

/// Which parts of a field an operation concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The only part of a first-order field.
    Whole,
    /// `z' = D(p)` of a split field.
    Drift,
    /// `p' = K(z)` of a split field.
    Kick,
}

/// A vector field with its dimensions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// Which field.
    pub kind: FieldKind,
    /// State width `d` (of `z`; a Hamiltonian state has `2d` rows).
    pub width: usize,
    /// Hidden width `m`.
    pub hidden: usize,
    /// σ (σ₁).
    pub activation: Activation,
    /// σ₂ (equal to σ except for `Hamiltonian`).
    pub activation2: Activation,
    /// `γ` of the dissipation `R = γI` of a `PortHamiltonian` field (0 otherwise, and unused
    /// when `R` is learned).
    pub dissipation: f64,
    /// Whether a `PortHamiltonian` field learns its interconnection `J` (skew-symmetric,
    /// instead of the canonical one) and its dissipation `R = WᵀW` per layer (instead of
    /// `γI`): the layer parameters `J` and `R` ([`LayerParams::j`], [`LayerParams::r`]).
    pub learned: [bool; 2],
}

impl Field {
    /// Rows of the state: `d`, or `2d` for `(z, p)`.
    #[must_use]
    pub fn state_dim(&self) -> usize {
        if self.kind.is_split() {
            2 * self.width
        } else {
            self.width
        }
    }

    /// Whether a port-Hamiltonian field's `R` may be nonzero (`γ > 0` or learned).
    #[must_use]
    pub fn is_dissipative(&self) -> bool {
        self.kind == FieldKind::PortHamiltonian && (self.dissipation > 0.0 || self.learned[1])
    }

    /// Whether the field's flow preserves the canonical symplectic form over the state's two
    /// halves: the Hamiltonian fields, and the port-Hamiltonian one with the canonical `J` and
    /// `R = 0`.
    #[must_use]
    pub fn is_canonically_symplectic(&self) -> bool {
        self.kind.is_hamiltonian()
            || (self.kind == FieldKind::PortHamiltonian
                && !self.is_dissipative()
                && !self.learned[0])
    }

    /// Whether the field has a second matrix `A₂`.
    #[must_use]
    pub fn second_matrix(&self) -> bool {
        self.kind == FieldKind::Hamiltonian
    }

    /// Whether the field has a second bias `b₂` (with or without a second matrix).
    #[must_use]
    pub fn second_bias(&self) -> bool {
        matches!(self.kind, FieldKind::Hamiltonian | FieldKind::Leapfrog)
    }

    /// The roles of the field's parts, in evaluation order.
    #[must_use]
    pub fn roles(&self) -> &'static [Role] {
        if self.kind.is_split() {
            &[Role::Drift, Role::Kick]
        } else {
            &[Role::Whole]
        }
    }

    /// The part with the given role.
    #[must_use]
    pub fn part(&self, role: Role) -> Part {
        let d = self.width;
        let (act, act2) = (self.activation, self.activation2);
        match (self.kind, role) {
            (FieldKind::ResNet, _) => Part {
                input: 0,
                output: 0,
                op: Op::Dense { act },
            },
            (FieldKind::GradientFlow, _) => Part {
                input: 0,
                output: 0,
                op: Op::Transposed {
                    slot: 0,
                    act,
                    sign: -1.0,
                },
            },
            (FieldKind::Hamiltonian | FieldKind::HamiltonianShared, Role::Drift | Role::Whole) => {
                Part {
                    input: d,
                    output: 0,
                    op: Op::Transposed {
                        slot: 0,
                        act,
                        sign: 1.0,
                    },
                }
            }
            (FieldKind::Hamiltonian, Role::Kick) => Part {
                input: 0,
                output: d,
                op: Op::Transposed {
                    slot: 1,
                    act: act2,
                    sign: -1.0,
                },
            },
            (FieldKind::HamiltonianShared | FieldKind::SecondOrder, Role::Kick) => Part {
                input: 0,
                output: d,
                op: Op::Transposed {
                    slot: 0,
                    act,
                    sign: -1.0,
                },
            },
            (FieldKind::SecondOrder, Role::Drift | Role::Whole) => Part {
                input: d,
                output: 0,
                op: Op::Identity,
            },
            (FieldKind::Leapfrog, Role::Drift | Role::Whole) => Part {
                input: d,
                output: 0,
                op: Op::DenseTransposed { act },
            },
            (FieldKind::Leapfrog, Role::Kick) => Part {
                input: 0,
                output: d,
                op: Op::Dense { act },
            },
            (FieldKind::PortHamiltonian, _) => Part {
                input: 0,
                output: 0,
                op: Op::PortHamiltonian {
                    act,
                    gamma: self.dissipation,
                },
            },
        }
    }

    /// Entries of one part's record for `n` samples: `m n`, or `2 m n` when a transposed part
    /// stores slopes beside its values.
    #[must_use]
    pub fn record_len(&self, n: usize) -> usize {
        let stores_slopes = self.roles().iter().any(|&role| {
            matches!(
                self.part(role).op,
                Op::Transposed { act, .. } | Op::PortHamiltonian { act, .. }
                    if !act.keeps_values()
            )
        });
        (1 + usize::from(stores_slopes)) * self.hidden * n
            + if self.stores_gradient() {
                self.width * n
            } else {
                0
            }
    }

    /// Whether a port-Hamiltonian part keeps `∇H = Aᵀσ(S)` at the end of its record (after the
    /// values and slopes): what the gradients of a learned `J` and `R` need.
    fn stores_gradient(&self) -> bool {
        self.kind == FieldKind::PortHamiltonian && self.learned.iter().any(|&l| l)
    }

    /// `∇H` in a port-Hamiltonian part's record of `n` samples (see [`Self::stores_gradient`]).
    fn recorded_gradient<'a>(&self, record: &'a mut [f64], n: usize) -> &'a mut [f64] {
        let len = self.record_len(n);
        &mut record[len - self.width * n..len]
    }

    /// The slopes `σ'(S)` of a part's record of `n` samples.
    fn slopes<'a>(&self, op: Op, record: &'a [f64], n: usize) -> Slopes<'a> {
        let len = self.hidden * n;
        match op {
            Op::Dense { act }
            | Op::DenseTransposed { act }
            | Op::Transposed { act, .. }
            | Op::PortHamiltonian { act, .. }
                if act.keeps_values() =>
            {
                Slopes::FromTanh(&record[..len])
            }
            Op::Dense { .. } | Op::DenseTransposed { .. } => Slopes::Stored(&record[..len]),
            Op::Transposed { .. } | Op::PortHamiltonian { .. } => {
                Slopes::Stored(&record[len..2 * len])
            }
            Op::Identity => Slopes::Stored(&[]),
        }
    }

    /// Entries of the scratch a VJP or JVP needs for `n` samples.
    #[must_use]
    pub fn scratch_len(&self, n: usize) -> usize {
        if self.kind == FieldKind::PortHamiltonian {
            // The transposed product's `m n` and `(J − R)ᵀ v`'s `d n`.
            (self.hidden + self.width) * n
        } else {
            self.hidden.max(self.width) * n
        }
    }

    /// Rate of one part: `out = part(x)`, where `x` and `out` are blocks of `d` rows.
    /// Fills `record` (`record_len(n)` entries).
    pub fn part_eval(
        &self,
        part: &Part,
        theta: &LayerParams,
        x: &[f64],
        n: usize,
        out: &mut [f64],
        record: &mut [f64],
    ) {
        let (d, m) = (self.width, self.hidden);
        match part.op {
            Op::Dense { act } => {
                let out = &mut out[..d * n];
                affine(theta.a[0], theta.b[0], d, d, x, n, out);
                activate_keeping(act, out, &mut record[..d * n]);
            }
            Op::Transposed { slot, act, sign } => {
                let (sig, rest) = record.split_at_mut(m * n);
                affine(theta.a[slot], theta.b[slot], m, d, x, n, sig);
                act.apply_record(sig, rest);
                out[..d * n].fill(0.0);
                transpose_apply_add(theta.a[slot], m, d, sig, n, sign, out);
            }
            Op::DenseTransposed { act } => leapfrog::eval(act, theta, d, x, n, out, record),
            Op::PortHamiltonian { act, gamma } => {
                let (sig, rest) = record.split_at_mut(m * n);
                affine(theta.a[0], theta.b[0], m, d, x, n, sig);
                act.apply_record(sig, rest);
                let out = &mut out[..d * n];
                out.fill(0.0);
                transpose_apply_add(theta.a[0], m, d, sig, n, 1.0, out);
                if self.stores_gradient() {
                    let gradient = self.recorded_gradient(record, n);
                    gradient.copy_from_slice(out);
                    self.interconnect_into(theta, gradient, n, false, out);
                } else {
                    port::interconnect(out, d, n, gamma, false);
                }
            }
            Op::Identity => out[..d * n].copy_from_slice(&x[..d * n]),
        }
    }

    /// `out = base + scale · part(x)` (`out += scale · part(x)` without a base), for steps
    /// that add a rate to a state: the transposed product writes straight into `out`, with no
    /// rate buffer and no copy of the base. Fills `record` like [`Field::part_eval`];
    /// `scratch` needs `d·n` entries.
    pub fn part_eval_add(
        &self,
        part: &Part,
        theta: &LayerParams,
        x: &[f64],
        n: usize,
        scale: f64,
        base: Option<&[f64]>,
        out: &mut [f64],
        record: &mut [f64],
        scratch: &mut [f64],
    ) {
        let (d, m) = (self.width, self.hidden);
        let out = &mut out[..d * n];
        match part.op {
            Op::Transposed { slot, act, sign } => {
                let (sig, rest) = record.split_at_mut(m * n);
                affine(theta.a[slot], theta.b[slot], m, d, x, n, sig);
                act.apply_record(sig, rest);
                let scale = scale * sign;
                transpose_apply_onto(theta.a[slot], m, d, sig, n, scale, base, out);
            }
            Op::Dense { act } => {
                // σ(A x + b) is added to the output as it is computed, never stored.
                let s = &mut scratch[..d * n];
                affine(theta.a[0], theta.b[0], d, d, x, n, s);
                act.apply_add(s, &mut record[..d * n], scale, base, out);
            }
            Op::DenseTransposed { act } => {
                leapfrog::eval_add(act, theta, d, x, n, (scale, base), out, record, scratch);
            }
            Op::PortHamiltonian { .. } | Op::Identity => {
                let rate = &mut scratch[..d * n];
                self.part_eval(part, theta, x, n, rate, record);
                axpy_onto(scale, rate, base, out);
            }
        }
    }

    /// Reverse mode through one part at the point its `record` was taken:
    /// `dx += scale · (∂part/∂x)ᵀ v` (or `dx = base + …` with a base: `dx`'s old values are then
    /// not read) and `grad += scale · (∂part/∂θ)ᵀ v`. `scratch` needs [`Field::scratch_len`]
    /// entries.
    pub fn part_vjp(
        &self,
        part: &Part,
        theta: &LayerParams,
        x: &[f64],
        record: &[f64],
        v: &[f64],
        n: usize,
        scale: f64,
        dx: Option<&mut [f64]>,
        base: Option<&[f64]>,
        grad: Option<&mut LayerGrad>,
        scratch: &mut [f64],
    ) {
        let (d, m) = (self.width, self.hidden);
        let slopes = self.slopes(part.op, record, n);
        match part.op {
            Op::Dense { .. } => {
                // U = v ⊙ σ'(S); ∂x = Aᵀ U; ∂A = U xᵀ; ∂b = Σ U.
                let u = &mut scratch[..d * n];
                slopes.hadamard(&v[..d * n], u);
                if let Some(dx) = dx {
                    transpose_apply_onto(theta.a[0], d, d, u, n, scale, base, dx);
                }
                if let Some(grad) = grad {
                    let (ga, gb) = grad.slot(0);
                    outer_add(u, d, x, d, n, scale, ga, Some(gb));
                }
            }
            Op::Transposed { slot, sign, .. } => {
                // U = sign (A v) ⊙ σ'(S); ∂x = Aᵀ U; ∂A = U xᵀ + sign σ(S) vᵀ; ∂b = Σ U.
                let u = &mut scratch[..m * n];
                let sig = &record[..m * n];
                debug_assert_eq!(sign.abs(), 1.0);
                let negate = sign < 0.0;
                matmul_weighted(theta.a[slot], m, d, v, n, negate, slopes, u);
                if let Some(dx) = dx {
                    transpose_apply_onto(theta.a[slot], m, d, u, n, scale, base, dx);
                }
                if let Some(grad) = grad {
                    let (ga, gb) = grad.slot(slot);
                    outer_add_pair((u, x), (sig, v), negate, m, d, n, scale, ga, Some(gb));
                }
            }
            Op::DenseTransposed { .. } => {
                leapfrog::vjp(theta, d, x, slopes, v, n, (scale, base), dx, grad, scratch);
            }
            Op::PortHamiltonian { .. } => {
                // w = (J − R)ᵀ v, then as Aᵀσ(Ax + b) with w: U = (A w) ⊙ σ'(S);
                // ∂x = Aᵀ U; ∂A = U xᵀ + σ(S) wᵀ; ∂b = Σ U; ∂J = v ∇Hᵀ, ∂R = −v ∇Hᵀ.
                let (u, w) = scratch[..(m + d) * n].split_at_mut(m * n);
                self.interconnect_into(theta, v, n, true, w);
                let sig = &record[..m * n];
                matmul_weighted(theta.a[0], m, d, w, n, false, slopes, u);
                if let Some(dx) = dx {
                    transpose_apply_onto(theta.a[0], m, d, u, n, scale, base, dx);
                }
                if let Some(grad) = grad {
                    if self.stores_gradient() {
                        let len = self.record_len(n);
                        let gradient = &record[len - d * n..len];
                        self.interconnection_grad(gradient, v, n, scale, grad);
                    }
                    let (ga, gb) = grad.slot(0);
                    outer_add_pair((u, x), (sig, w), false, m, d, n, scale, ga, Some(gb));
                }
            }
            Op::Identity => {
                if let Some(dx) = dx {
                    let dx = &mut dx[..d * n];
                    if let Some(base) = base {
                        dx.copy_from_slice(&base[..d * n]);
                    }
                    for (o, &vi) in dx.iter_mut().zip(&v[..d * n]) {
                        *o += scale * vi;
                    }
                }
            }
        }
    }

    /// Forward mode through one part at its `record`: `out = (∂part/∂x) u`.
    pub fn part_jvp(
        &self,
        part: &Part,
        theta: &LayerParams,
        record: &[f64],
        u: &[f64],
        n: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        let (d, m) = (self.width, self.hidden);
        let slopes = self.slopes(part.op, record, n);
        match part.op {
            Op::Dense { .. } => {
                matmul(theta.a[0], d, d, u, n, out);
                slopes.scale(&mut out[..d * n]);
            }
            Op::Transposed { slot, sign, .. } => {
                let t = &mut scratch[..m * n];
                matmul(theta.a[slot], m, d, u, n, t);
                slopes.scale(t);
                out[..d * n].fill(0.0);
                transpose_apply_add(theta.a[slot], m, d, t, n, sign, out);
            }
            Op::DenseTransposed { .. } => leapfrog::jvp(theta, d, slopes, u, n, out),
            Op::PortHamiltonian { .. } => {
                let (t, gradient) = scratch[..(m + d) * n].split_at_mut(m * n);
                matmul(theta.a[0], m, d, u, n, t);
                slopes.scale(t);
                gradient.fill(0.0);
                transpose_apply_add(theta.a[0], m, d, t, n, 1.0, gradient);
                self.interconnect_into(theta, gradient, n, false, out);
            }
            Op::Identity => out[..d * n].copy_from_slice(&u[..d * n]),
        }
    }

    /// The whole field: `rate = f(y)` for a block `y` of [`Field::state_dim`] rows. `records`
    /// holds one record per role (`roles().len() · record_len(n)` entries).
    pub fn eval(
        &self,
        theta: &LayerParams,
        y: &[f64],
        n: usize,
        rate: &mut [f64],
        records: &mut [f64],
    ) {
        let (d, rl) = (self.width, self.record_len(n));
        for (r, &role) in self.roles().iter().enumerate() {
            let part = self.part(role);
            self.part_eval(
                &part,
                theta,
                &y[part.input * n..(part.input + d) * n],
                n,
                &mut rate[part.output * n..(part.output + d) * n],
                &mut records[r * rl..(r + 1) * rl],
            );
        }
    }

    /// Whether [`Field::eval_add`] saves a pass over [`Field::eval`] and an axpy: every part is a
    /// transposed product, which accumulates into the state directly, or a dense one, whose
    /// activation adds itself to the state as it is computed.
    #[must_use]
    pub fn adds_in_place(&self) -> bool {
        self.roles().iter().all(|&role| {
            matches!(
                self.part(role).op,
                Op::Transposed { .. } | Op::Dense { .. } | Op::DenseTransposed { .. }
            )
        })
    }

    /// `out = base + scale · f(y)` (`out += scale · f(y)` without a base) for a block `y` of
    /// [`Field::state_dim`] rows (not aliasing `out`), filling `records` like [`Field::eval`];
    /// `scratch` needs `d·n` entries.
    pub fn eval_add(
        &self,
        theta: &LayerParams,
        y: &[f64],
        n: usize,
        scale: f64,
        base: Option<&[f64]>,
        out: &mut [f64],
        records: &mut [f64],
        scratch: &mut [f64],
    ) {
        let (d, rl) = (self.width, self.record_len(n));
        for (r, &role) in self.roles().iter().enumerate() {
            let part = self.part(role);
            let rows = part.output * n..(part.output + d) * n;
            self.part_eval_add(
                &part,
                theta,
                &y[part.input * n..(part.input + d) * n],
                n,
                scale,
                base.map(|b| &b[rows.clone()]),
                &mut out[rows],
                &mut records[r * rl..(r + 1) * rl],
                scratch,
            );
        }
    }

    /// Reverse mode through the whole field at `records`:
    /// `dy += scale · Jᵀ v`, `grad += scale · (∂f/∂θ)ᵀ v`.
    pub fn vjp(
        &self,
        theta: &LayerParams,
        y: &[f64],
        records: &[f64],
        v: &[f64],
        n: usize,
        scale: f64,
        dy: Option<&mut [f64]>,
        grad: Option<&mut LayerGrad>,
        scratch: &mut [f64],
    ) {
        let dy = dy.map(|dy| (None, dy));
        self.reverse(theta, y, records, v, n, scale, dy, grad, scratch);
    }

    /// [`Field::vjp`] writing `dy = base + scale · Jᵀ v` (`dy`'s old values unread): a reverse
    /// step `λ₀ = λ₁ + …` straight into `λ₀`, with no copy of `λ₁` first.
    pub fn vjp_onto(
        &self,
        theta: &LayerParams,
        y: &[f64],
        records: &[f64],
        v: &[f64],
        n: usize,
        scale: f64,
        (base, dy): (&[f64], &mut [f64]),
        grad: Option<&mut LayerGrad>,
        scratch: &mut [f64],
    ) {
        let dy = Some((Some(base), dy));
        self.reverse(theta, y, records, v, n, scale, dy, grad, scratch);
    }

    fn reverse(
        &self,
        theta: &LayerParams,
        y: &[f64],
        records: &[f64],
        v: &[f64],
        n: usize,
        scale: f64,
        mut dy: Option<(Option<&[f64]>, &mut [f64])>,
        mut grad: Option<&mut LayerGrad>,
        scratch: &mut [f64],
    ) {
        let (d, rl) = (self.width, self.record_len(n));
        // Rows of dy written so far (a base is added only by the first part writing a row).
        let mut written = [false; 2];
        for (r, &role) in self.roles().iter().enumerate() {
            let part = self.part(role);
            let rows = part.input * n..(part.input + d) * n;
            let first = !std::mem::replace(&mut written[part.input / d], true);
            let (base, dx) = match dy.as_mut() {
                Some((base, dy)) => (
                    base.filter(|_| first).map(|b| &b[rows.clone()]),
                    Some(&mut dy[rows]),
                ),
                None => (None, None),
            };
            self.part_vjp(
                &part,
                theta,
                &y[part.input * n..(part.input + d) * n],
                &records[r * rl..(r + 1) * rl],
                &v[part.output * n..(part.output + d) * n],
                n,
                scale,
                dx,
                base,
                grad.as_deref_mut(),
                scratch,
            );
        }
        // Rows no part writes are the base's.
        if let Some((Some(base), dy)) = dy {
            copy_unwritten_halves(written, d * n, base, dy);
        }
    }

    /// Forward mode through the whole field at `records`: `out = J u`.
    pub fn jvp(
        &self,
        theta: &LayerParams,
        records: &[f64],
        u: &[f64],
        n: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        let (d, rl) = (self.width, self.record_len(n));
        for (r, &role) in self.roles().iter().enumerate() {
            let part = self.part(role);
            self.part_jvp(
                &part,
                theta,
                &records[r * rl..(r + 1) * rl],
                &u[part.input * n..(part.input + d) * n],
                n,
                &mut out[part.output * n..(part.output + d) * n],
                scratch,
            );
        }
    }

    /// `out = (J − R) g` (or `(J − R)ᵀ g` when `transposed`) for a block `g` of `d` rows: the
    /// interconnection of a port-Hamiltonian field, with the layer's learned `J` (`theta.j`) or
    /// the canonical one, and its learned `R` (`theta.r`) or `γI`.
    pub fn interconnect_into(
        &self,
        theta: &LayerParams,
        g: &[f64],
        n: usize,
        transposed: bool,
        out: &mut [f64],
    ) {
        let d = self.width;
        let (g, out) = (&g[..d * n], &mut out[..d * n]);
        match theta.j {
            Some(j) if transposed => {
                out.fill(0.0);
                transpose_apply_add(j, d, d, g, n, 1.0, out);
            }
            Some(j) => matmul(j, d, d, g, n, out),
            None => {
                out.copy_from_slice(g);
                port::interconnect(out, d, n, 0.0, transposed);
            }
        }
        // R is symmetric: Rᵀ = R.
        match theta.r {
            Some(r) => apply_onto(r, d, d, g, n, -1.0, None, out),
            None if self.dissipation != 0.0 => axpy_onto(-self.dissipation, g, None, out),
            None => {}
        }
    }

    /// `∂J += scale · v gᵀ` and `∂R −= scale · v gᵀ` for the learned ones: the parameter
    /// gradient of `vᵀ(J − R) g` (`g` the energy gradient the interconnection acted on).
    pub fn interconnection_grad(
        &self,
        gradient: &[f64],
        v: &[f64],
        n: usize,
        scale: f64,
        grad: &mut LayerGrad,
    ) {
        let d = self.width;
        let (gj, gr) = grad.interconnection();
        if let Some(gj) = gj {
            outer_add(&v[..d * n], d, gradient, d, n, scale, gj, None);
        }
        if let Some(gr) = gr {
            outer_add(&v[..d * n], d, gradient, d, n, -scale, gr, None);
        }
    }

    /// The energy `H(z, p)` of a Hamiltonian field per sample, or `None` when the field is not
    /// Hamiltonian or an activation has no closed antiderivative. `y` is a block of `2d` rows.
    #[must_use]
    pub fn energy(&self, theta: &LayerParams, y: &[f64], n: usize) -> Option<Vec<f64>> {
        let (d, m) = (self.width, self.hidden);
        let mut energy = vec![0.0; n];
        let mut s = vec![0.0; m * n];
        let mut add_potential = |slot: usize, act: Activation, x: &[f64]| -> Option<()> {
            affine(theta.a[slot], theta.b[slot], m, d, x, n, &mut s);
            for i in 0..m {
                for (e, &si) in energy.iter_mut().zip(&s[i * n..(i + 1) * n]) {
                    *e += act.antiderivative(si)?;
                }
            }
            Some(())
        };
        let (z, p) = y.split_at(d * n);
        match self.kind {
            FieldKind::ResNet | FieldKind::GradientFlow | FieldKind::Leapfrog => return None,
            FieldKind::PortHamiltonian => add_potential(0, self.activation, y)?,
            FieldKind::Hamiltonian => {
                add_potential(0, self.activation, p)?;
                add_potential(1, self.activation2, z)?;
            }
            FieldKind::HamiltonianShared => {
                add_potential(0, self.activation, p)?;
                add_potential(0, self.activation, z)?;
            }
            FieldKind::SecondOrder => {
                add_potential(0, self.activation, z)?;
                for i in 0..d {
                    for (e, &pi) in energy.iter_mut().zip(&p[i * n..(i + 1) * n]) {
                        *e += 0.5 * pi * pi;
                    }
                }
            }
        }
        Some(energy)
    }
}

/// `out = σ(out)` in place, keeping in `kept` what a dense part's reverse sweep needs: `σ(S)` for
/// tanh, `σ'(S)` otherwise.
fn activate_keeping(act: Activation, out: &mut [f64], kept: &mut [f64]) {
    if act.keeps_values() {
        act.apply_values(out);
        kept.copy_from_slice(out);
    } else {
        act.apply_in_place(out, kept);
    }
}

/// The interconnection of the port-Hamiltonian field.
mod port {
    /// `g ← (J − γI) g` (or `(J − γI)ᵀ g` when `transposed`) in place for a block `g` of `d`
    /// rows (`d` even), `J = [[0, I], [−I, 0]]`: the top half's new rows are `g_bottom − γ g_top`,
    /// the bottom's `−g_top − γ g_bottom` (transposed: `−g_bottom − γ g_top`, `g_top − γ g_bottom`).
    pub(super) fn interconnect(g: &mut [f64], d: usize, n: usize, gamma: f64, transposed: bool) {
        let half = d / 2;
        let (top, bottom) = g[..d * n].split_at_mut(half * n);
        let sign = if transposed { -1.0 } else { 1.0 };
        for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
            let (ga, gb) = (*a, *b);
            *a = sign * gb - gamma * ga;
            *b = -sign * ga - gamma * gb;
        }
    }
}

/// The leapfrog network's drift `σ(−Aᵀx + b₂)` (matrix slot 0, bias slot 1), kept out of line
/// so that the other fields' hot loops are laid out as before.
mod leapfrog {
    use super::super::activation::Activation;
    use super::super::kernels::{
        Slopes, affine_transposed_negated, apply_onto, outer_add, row_sums_add, transpose_apply_add,
    };
    use super::super::params::{LayerGrad, LayerParams};

    /// `out = σ(S)`, `S = −Aᵀx + b₂`; the record as a dense part keeps it.
    #[inline(never)]
    pub(super) fn eval(
        act: Activation,
        theta: &LayerParams,
        d: usize,
        x: &[f64],
        n: usize,
        out: &mut [f64],
        record: &mut [f64],
    ) {
        let out = &mut out[..d * n];
        affine_transposed_negated(theta.a[0], theta.b[1], d, d, x, n, out);
        super::activate_keeping(act, out, &mut record[..d * n]);
    }

    /// `out = base + scale · σ(S)` (or `out += …`), filling the record.
    #[inline(never)]
    pub(super) fn eval_add(
        act: Activation,
        theta: &LayerParams,
        d: usize,
        x: &[f64],
        n: usize,
        (scale, base): (f64, Option<&[f64]>),
        out: &mut [f64],
        record: &mut [f64],
        scratch: &mut [f64],
    ) {
        let s = &mut scratch[..d * n];
        affine_transposed_negated(theta.a[0], theta.b[1], d, d, x, n, s);
        act.apply_add(s, &mut record[..d * n], scale, base, out);
    }

    /// `U = v ⊙ σ'(S)`; `∂x = −A U`, `∂A = −x Uᵀ`, `∂b₂ = Σ U`, all times `scale`.
    #[inline(never)]
    pub(super) fn vjp(
        theta: &LayerParams,
        d: usize,
        x: &[f64],
        slopes: Slopes,
        v: &[f64],
        n: usize,
        (scale, base): (f64, Option<&[f64]>),
        dx: Option<&mut [f64]>,
        grad: Option<&mut LayerGrad>,
        scratch: &mut [f64],
    ) {
        let u = &mut scratch[..d * n];
        slopes.hadamard(&v[..d * n], u);
        if let Some(dx) = dx {
            apply_onto(theta.a[0], d, d, u, n, -scale, base, dx);
        }
        if let Some(grad) = grad {
            let (ga, _) = grad.slot(0);
            outer_add(x, d, u, d, n, -scale, ga, None);
            let (_, gb) = grad.slot(1);
            row_sums_add(u, d, n, scale, gb);
        }
    }

    /// `out = σ'(S) ⊙ (−Aᵀ u)`.
    #[inline(never)]
    pub(super) fn jvp(
        theta: &LayerParams,
        d: usize,
        slopes: Slopes,
        u: &[f64],
        n: usize,
        out: &mut [f64],
    ) {
        let out = &mut out[..d * n];
        out.fill(0.0);
        transpose_apply_add(theta.a[0], d, d, u, n, -1.0, out);
        slopes.scale(out);
    }
}

/// Copies into `to` the halves (of `len` entries; a state of one half has no second) that
/// `written` says a step left untouched, from `from`: the rest of a step that adds onto a base
/// half by half.
pub(crate) fn copy_unwritten_halves(written: [bool; 2], len: usize, from: &[f64], to: &mut [f64]) {
    for (half, done) in written.into_iter().enumerate() {
        let rows = half * len..((half + 1) * len).min(to.len());
        if !done && !rows.is_empty() {
            to[rows.clone()].copy_from_slice(&from[rows]);
        }
    }
}

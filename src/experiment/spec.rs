//! The experiment document as written in a file: plain serde types, unchecked.
//!
//! Every struct refuses unknown fields, so a typo in a file is an error with line and column
//! rather than a silently ignored setting. [`super::check`] turns an [`Experiment`] into a
//! [`super::Plan`] of the engine's types or lists every problem it has.
//!
//! The simple value types a file shares with the engine (activations, constraints, the field,
//! lift, head, optimiser, batches, diagnostics settings, checkpoint) are the engine's own,
//! re-exported here so that a document reads as one module.

use serde::{Deserialize, Serialize};

use crate::data::DataSpec;
pub use crate::diagnostics::{DiagnosticsParts, DiagnosticsSpec};
pub use crate::model::FieldKind;
use crate::model::{Activation, Constraint};
pub use crate::train::network::{HeadSpec, LiftSpec};
use crate::train::optimizer::OptimizerSpec;
pub use crate::train::{BatchSpec, Checkpoint, Record};

/// The newest file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A whole experiment: what to train, how, and (optionally) where a run stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// File format version; files newer than [`FORMAT_VERSION`] are refused.
    pub format_version: u32,
    /// Short human-readable name.
    pub name: String,
    /// Free text: what the experiment shows.
    #[serde(default)]
    pub notes: String,
    /// The dataset.
    pub data: DataSpec,
    /// The architecture.
    pub model: ModelSpec,
    /// The time stepper.
    pub integrator: IntegratorSpec,
    /// How gradients are computed.
    #[serde(default)]
    pub gradient: GradientSpec,
    /// Optimiser, batches, regularisers, seeds.
    pub train: TrainSpec,
    /// Which diagnostics to compute and how often.
    #[serde(default)]
    pub diagnostics: DiagnosticsSpec,
    /// Where a run stopped: enough to resume it bit-exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

impl Experiment {
    /// The experiment with `checkpoint` in place of the one it had: what a run saves to resume.
    #[must_use]
    pub fn with_checkpoint(&self, checkpoint: Checkpoint) -> Self {
        Self {
            checkpoint: Some(checkpoint),
            ..self.clone()
        }
    }
}

/// The architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The vector field.
    pub field: FieldKind,
    /// σ (σ₁ of a Hamiltonian field).
    pub activation: Activation,
    /// σ₂ of a `Hamiltonian` field; defaults to `activation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation2: Option<Activation>,
    /// State width `d`.
    pub width: usize,
    /// Hidden width `m` of `A ∈ R^{m×d}`; defaults to `d`. `ResNet` needs `m = d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// Number of layers (time steps) `K`.
    pub layers: usize,
    /// Final time `T`; the step is `h = T / K`.
    pub final_time: f64,
    /// How inputs become states.
    #[serde(default)]
    pub lift: LiftSpec,
    /// Output layer and loss.
    #[serde(default)]
    pub head: HeadSpec,
    /// Constraint on `A` (on `A₁` of a `Hamiltonian` field).
    #[serde(default)]
    pub constraint: Constraint,
    /// Constraint on `A₂` of a `Hamiltonian` field; defaults to `constraint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint2: Option<Constraint>,
    /// Standard deviation of the initial weights is `init_scale / sqrt(d)`.
    #[serde(default = "default_init_scale")]
    pub init_scale: f64,
    /// The dissipation `R` of a `PortHamiltonian` field.
    #[serde(default, skip_serializing_if = "Dissipation::is_none")]
    pub dissipation: Dissipation,
    /// The skew-symmetric interconnection `J` of a `PortHamiltonian` field.
    #[serde(default, skip_serializing_if = "Interconnection::is_canonical")]
    pub interconnection: Interconnection,
}

/// The interconnection matrix `J = −Jᵀ` of a port-Hamiltonian field `y' = (J − R) Kᵀσ(Ky + b)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interconnection {
    /// `J = [[0, I], [−I, 0]]` (the width must be even).
    #[default]
    Canonical,
    /// A `J_k = W_k − W_kᵀ` learned per layer (the Skew parametrisation without damping; any
    /// width), exported as the block `J`.
    Learned,
}

impl Interconnection {
    /// Whether `J` is the canonical one (the setting is left out of a saved file).
    #[must_use]
    pub fn is_canonical(&self) -> bool {
        *self == Self::Canonical
    }
}

fn default_init_scale() -> f64 {
    0.1
}

/// The dissipation matrix `R ⪰ 0` of a port-Hamiltonian field `y' = (J − R) Kᵀσ(Ky + b)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Dissipation {
    /// `R = 0`: the energy is conserved along the exact flow (H1 of Galimberti et al.).
    #[default]
    None,
    /// `R = γI` with `γ ≥ 0`: `dH/dt = −γ‖∇H‖² ≤ 0`.
    Fixed(f64),
    /// `R_k = W_kᵀW_k ⪰ 0` learned per layer (the NegDef parametrisation with the sign
    /// flipped), exported as the block `R`: `dH/dt = −‖W∇H‖² ≤ 0`.
    Learned,
}

impl Dissipation {
    /// Whether `R = 0` by default (the setting is left out of a saved file).
    #[must_use]
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }

    /// `γ` of `R = γI` (0 for none or learned).
    #[must_use]
    pub fn gamma(self) -> f64 {
        match self {
            Self::None | Self::Learned => 0.0,
            Self::Fixed(gamma) => gamma,
        }
    }
}

/// A Butcher tableau of an explicit Runge–Kutta method given in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableauSpec {
    /// Name shown in summaries.
    #[serde(default)]
    pub name: String,
    /// Row-major `s × s` coefficients; must be strictly lower triangular.
    pub a: Vec<Vec<f64>>,
    /// Weights (length `s`).
    pub b: Vec<f64>,
    /// Nodes (length `s`); defaults to the row sums of `a`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<Vec<f64>>,
    /// Classical order, used for convergence checks and OTD expectations.
    #[serde(default = "one")]
    pub order: u32,
}

fn one() -> u32 {
    1
}

/// The time stepper `Φ_h: state_k ↦ state_{k+1}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum IntegratorSpec {
    /// Explicit Euler (order 1).
    Euler,
    /// Explicit midpoint (order 2).
    ExplicitMidpoint,
    /// Heun's method (order 2).
    Heun,
    /// Classical Runge–Kutta (order 4).
    Rk4,
    /// Any explicit Runge–Kutta method.
    Tableau(TableauSpec),
    /// Symplectic Euler, variant A: `p` first, then `z` (separable Hamiltonian fields).
    SymplecticEulerA,
    /// Symplectic Euler, variant B: `z` first, then `p`.
    SymplecticEulerB,
    /// Störmer–Verlet: half kick in `p`, drift in `z`, half kick in `p`.
    StormerVerlet,
    /// Implicit midpoint rule, solved by Newton's method per sample.
    ImplicitMidpoint {
        /// Convergence tolerance on the Newton update (max norm).
        #[serde(default = "default_newton_tol")]
        tolerance: f64,
        /// Iteration cap; exceeding it is a reported error.
        #[serde(default = "default_newton_iterations")]
        max_iterations: u32,
    },
    /// The average vector field method (McLachlan, Quispel & Robidoux 1999), the
    /// energy-preserving discrete gradient method for fields `S ∇H` (Hamiltonian,
    /// HamiltonianShared, SecondOrder, PortHamiltonian): it conserves H exactly for `S` skew
    /// and never raises it for `S = J − R`, `R ⪰ 0`. Implicit, solved by Newton's method per
    /// sample.
    Avf {
        /// Convergence tolerance on the Newton update (max norm).
        #[serde(default = "default_newton_tol")]
        tolerance: f64,
        /// Iteration cap; exceeding it is a reported error.
        #[serde(default = "default_newton_iterations")]
        max_iterations: u32,
    },
}

fn default_newton_tol() -> f64 {
    1e-13
}
fn default_newton_iterations() -> u32 {
    50
}

/// How the gradient of the loss with respect to the parameters is computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum GradientSpec {
    /// Discretise-then-optimise: the exact derivative of the discrete forward map.
    #[default]
    Dto,
    /// Optimise-then-discretise with the symplectic partner method (equals DTO to rounding).
    Partner,
    /// Optimise-then-discretise with a naive backward solve of the adjoint ODE by an explicit
    /// Runge–Kutta method on the stored trajectory; differs from DTO by `O(h^p)`.
    Backward(IntegratorSpec),
}

/// The three independent random streams of an experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeds {
    /// Dataset generation and the train/test split.
    pub data: u64,
    /// Parameter initialisation.
    pub init: u64,
    /// Mini-batch order.
    pub batch: u64,
}

impl Default for Seeds {
    fn default() -> Self {
        Self {
            data: 0,
            init: 1,
            batch: 2,
        }
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The optimiser and its settings.
    pub optimizer: OptimizerSpec,
    /// Full batch or mini-batches.
    #[serde(default)]
    pub batch: BatchSpec,
    /// Number of iterations a run performs (in total, counting a resumed checkpoint).
    pub iterations: usize,
    /// Weight decay `λ/2 ‖θ‖²` on all parameters.
    #[serde(default)]
    pub weight_decay: f64,
    /// Time smoothness `α Σ_k ‖θ_{k+1} − θ_k‖² / h` (Haber & Ruthotto 2017).
    #[serde(default)]
    pub time_smoothness: f64,
    /// Random seeds.
    #[serde(default)]
    pub seeds: Seeds,
    /// Evaluate train/test accuracy every this many iterations.
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
}

fn default_eval_every() -> usize {
    10
}

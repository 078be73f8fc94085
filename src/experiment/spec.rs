//! The experiment document as written in a file: plain serde types, unchecked.
//!
//! Every struct refuses unknown fields, so a typo in a file is an error with line and column
//! rather than a silently ignored setting. [`mod@super::validate`] turns a [`Experiment`] into a
//! checked configuration or lists every problem it has.

use serde::{Deserialize, Serialize};

use crate::data::DataSpec;
use crate::model::{Activation, Constraint};
use crate::train::optimizer::{OptimizerSpec, OptimizerState};

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
}

impl FieldKind {
    /// All fields, in the order a user interface lists them.
    pub const ALL: [Self; 5] = [
        Self::ResNet,
        Self::GradientFlow,
        Self::Hamiltonian,
        Self::HamiltonianShared,
        Self::SecondOrder,
    ];

    /// Whether the state is a pair `(z, p)` with a separable Hamiltonian structure.
    #[must_use]
    pub fn is_hamiltonian(self) -> bool {
        matches!(
            self,
            Self::Hamiltonian | Self::HamiltonianShared | Self::SecondOrder
        )
    }
}

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
}

fn default_init_scale() -> f64 {
    0.1
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

/// Whether each iteration uses all training points or a random subset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchSpec {
    /// Every training point in every iteration.
    #[default]
    Full,
    /// Shuffled mini-batches of this size, a new permutation each epoch.
    MiniBatch(usize),
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

/// Which diagnostics to compute and how often (DESIGN §3).
///
/// Every field has a default, so a file may name only what it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiagnosticsSpec {
    /// Compute diagnostics every this many iterations (0: never during training).
    pub every: usize,
    /// Number of probe inputs for Lipschitz and divergence estimates.
    pub probes: usize,
    /// Perturbation size `ε` of the divergence probes (`‖δ‖₂ = ε`) and of the probe pairs of the
    /// step Lipschitz estimate.
    pub epsilon: f64,
    /// Resolution of the decision-boundary grid (points per side).
    pub grid: usize,
    /// Which diagnostics are computed.
    pub parts: DiagnosticsParts,
    /// Seed of the probe choice and of every random direction (diagnostics are deterministic).
    pub seed: u64,
    /// Random perturbation directions per probe input in the divergence diagnostic.
    pub random_directions: usize,
    /// Probe states per layer at which the eigenvalues of `h·J` are computed (at most `probes`).
    pub eigenvalue_probes: usize,
    /// Iteration cap of the block power iteration for the worst-case perturbation direction.
    pub power_iterations: usize,
    /// Perturbation sizes (max norm, `‖δ‖∞ = ε`) at which robustness is measured.
    pub robustness_epsilons: Vec<f64>,
    /// At most this many test points enter the robustness diagnostic.
    pub robustness_points: usize,
    /// Training points of the gradient-consistency check (DTO, OTD, finite differences).
    pub gradient_points: usize,
    /// Layers (evenly spaced, first and last included) whose DTO gradient is checked against
    /// finite differences.
    pub finite_difference_layers: usize,
    /// Training points whose feature trajectories are reported.
    pub trajectory_points: usize,
}

impl Default for DiagnosticsSpec {
    fn default() -> Self {
        Self {
            every: 50,
            probes: 16,
            epsilon: 1e-3,
            grid: 40,
            parts: DiagnosticsParts::default(),
            seed: 0,
            random_directions: 2,
            eigenvalue_probes: 2,
            power_iterations: 50,
            robustness_epsilons: vec![0.0, 0.05, 0.1, 0.2],
            robustness_points: 128,
            gradient_points: 16,
            finite_difference_layers: 4,
            trajectory_points: 64,
        }
    }
}

/// Switches for the individual diagnostics of [`DiagnosticsSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one independent switch per diagnostic, as the file spells them"
)]
pub struct DiagnosticsParts {
    /// Singular values of `A(t)`, eigenvalues of `h·J`, the stability region.
    pub spectrum: bool,
    /// One-sided Lipschitz estimates and bounds, step Lipschitz constants.
    pub lipschitz: bool,
    /// Trajectory divergence of perturbed probe inputs.
    pub divergence: bool,
    /// Energy error, symplecticity defect, reversibility.
    pub structure: bool,
    /// DTO against OTD and finite differences.
    pub gradients: bool,
    /// Accuracy under random and gradient-sign perturbations.
    pub robustness: bool,
    /// Predicted class on a grid over the input domain.
    pub decision_boundary: bool,
    /// States of data points at every layer, projected to 2D.
    pub trajectories: bool,
}

impl Default for DiagnosticsParts {
    fn default() -> Self {
        Self {
            spectrum: true,
            lipschitz: true,
            divergence: true,
            structure: true,
            gradients: true,
            robustness: true,
            decision_boundary: true,
            trajectories: true,
        }
    }
}

/// One row of the training history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Iteration number after the step (1 for the first step).
    pub iteration: usize,
    /// Training objective of the batch before the step, regularisers included.
    pub loss: f64,
    /// Euclidean norm of the gradient.
    pub grad_norm: f64,
    /// Accuracy on the training set, when evaluated at this iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    /// Accuracy on the test set, when evaluated at this iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

/// Where a run stopped: parameters, optimiser state and history.
///
/// The mini-batch stream is a pure function of `(seeds.batch, iteration)`, so the iteration is
/// its position and nothing else needs saving to resume bit-exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Iterations performed so far.
    pub iteration: usize,
    /// The flat raw parameter buffer (before constraints).
    pub params: Vec<f64>,
    /// The optimiser's state.
    pub optimizer: OptimizerState,
    /// The loss history.
    pub history: Vec<Record>,
}

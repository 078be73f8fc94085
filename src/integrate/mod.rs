//! Time steppers `Φ_h: y_k ↦ y_{k+1}` (θ_k frozen over the step) with their exact discrete
//! adjoints (DTO) and the continuous adjoints (OTD).
//!
//! Every step works on a block of `n` samples (feature-major, see [`crate::model::kernels`]).
//! The forward step writes a *tape* (stage inputs and activation records) that the reverse step
//! reads, so the reverse sweep recomputes nothing the forward sweep knew.

mod avf;
mod explicit;
mod implicit;
mod otd;
mod splitting;
pub mod tableau;
#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::model::kernels::Aligned;

use crate::model::Field;
use crate::model::field::Role;
use crate::model::params::{LayerGrad, LayerParams};
pub use avf::fits as avf_fits;
pub use tableau::Tableau;

/// What every step of one layer works with: the field, the layer's parameters, the step `h`,
/// the block's sample count `n` and the block's scratch buffers.
#[derive(Debug)]
pub struct StepContext<'a> {
    /// The vector field.
    pub field: &'a Field,
    /// The layer's effective parameters `θ_k`, frozen over the step.
    pub theta: &'a LayerParams<'a>,
    /// The step `h`.
    pub h: f64,
    /// Samples in the block.
    pub n: usize,
    /// The block's reusable buffers.
    pub scratch: &'a mut Scratch,
}

/// A failure inside one step. `layer` is the layer of the step (0 until the network that runs
/// the layers names it with [`StepError::in_layer`]).
#[derive(Clone, Debug, Error, PartialEq)]
pub enum StepError {
    /// The Newton iteration of an implicit step (implicit midpoint, AVF) did not converge.
    #[error(
        "layer {layer}: the {method} solve did not converge for sample {sample} after {iterations} Newton iterations (last update {update:.3e}); use a smaller step h or more iterations"
    )]
    NewtonFailed {
        /// The implicit method.
        method: &'static str,
        /// The layer of the step.
        layer: usize,
        /// Index of the sample within its block.
        sample: usize,
        /// Iterations performed.
        iterations: u32,
        /// Size of the last Newton update (relative).
        update: f64,
    },
    /// The Newton matrix `I − c J` of an implicit step was singular.
    #[error("layer {layer}: the {method}'s Newton matrix is singular for sample {sample}")]
    Singular {
        /// The implicit method.
        method: &'static str,
        /// The layer of the step.
        layer: usize,
        /// Index of the sample within its block.
        sample: usize,
    },
}

impl StepError {
    /// The error of a step of layer `k`.
    #[must_use]
    pub fn in_layer(self, k: usize) -> Self {
        match self {
            Self::NewtonFailed {
                method,
                sample,
                iterations,
                update,
                ..
            } => Self::NewtonFailed {
                method,
                layer: k,
                sample,
                iterations,
                update,
            },
            Self::Singular { method, sample, .. } => Self::Singular {
                method,
                layer: k,
                sample,
            },
        }
    }
}

/// A splitting method for separable Hamiltonian fields, as a sequence of kicks (`p` update from
/// `z`) and drifts (`z` update from `p`) with step fractions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Splitting {
    /// `p` first, then `z` with the new `p`.
    SymplecticEulerA,
    /// `z` first, then `p` with the new `z`.
    SymplecticEulerB,
    /// Half kick, drift, half kick.
    StormerVerlet,
}

impl Splitting {
    /// The sub-steps `(role, fraction of h)` in order.
    #[must_use]
    pub fn substeps(self) -> &'static [(Role, f64)] {
        match self {
            Self::SymplecticEulerA => &[(Role::Kick, 1.0), (Role::Drift, 1.0)],
            Self::SymplecticEulerB => &[(Role::Drift, 1.0), (Role::Kick, 1.0)],
            Self::StormerVerlet => &[(Role::Kick, 0.5), (Role::Drift, 1.0), (Role::Kick, 0.5)],
        }
    }
}

/// A checked integrator.
#[derive(Clone, Debug, PartialEq)]
pub enum Integrator {
    /// An explicit Runge–Kutta method.
    Explicit(Tableau),
    /// A symplectic splitting method (separable Hamiltonian fields only).
    Splitting(Splitting),
    /// The implicit midpoint rule `y₁ = y₀ + h f((y₀ + y₁)/2)`.
    ImplicitMidpoint {
        /// Newton tolerance on the update (max norm, relative to `1 + |w|`).
        tolerance: f64,
        /// Newton iteration cap.
        max_iterations: u32,
    },
    /// The average vector field method `y₁ = y₀ + h ∫₀¹ f(y₀ + s(y₁ − y₀)) ds` (fields of the
    /// form `S ∇H` only, see [`avf_fits`]): energy-conserving for `S` skew, never raising the
    /// energy for `S = J − R`, `R ⪰ 0`; solved by Newton's method per sample.
    Avf {
        /// Newton tolerance on the update (max norm, relative to `1 + |y₁|`).
        tolerance: f64,
        /// Newton iteration cap.
        max_iterations: u32,
    },
}

/// How the reverse sweep through the layers is computed.
#[derive(Clone, Debug, PartialEq)]
pub enum Gradient {
    /// The exact derivative of the discrete forward map.
    Dto,
    /// The continuous adjoint with the symplectic partner method.
    Partner,
    /// The continuous adjoint solved backwards by an explicit Runge–Kutta method.
    Backward(Tableau),
}

impl Gradient {
    /// Name for summaries.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Dto => "DTO".into(),
            Self::Partner => "OTD (partner)".into(),
            Self::Backward(t) => format!("OTD (backward {})", t.name),
        }
    }
}

impl Integrator {
    /// Name for summaries.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Explicit(t) => t.name.clone(),
            Self::Splitting(Splitting::SymplecticEulerA) => "symplectic Euler A".into(),
            Self::Splitting(Splitting::SymplecticEulerB) => "symplectic Euler B".into(),
            Self::Splitting(Splitting::StormerVerlet) => "Störmer–Verlet".into(),
            Self::ImplicitMidpoint { .. } => "implicit midpoint".into(),
            Self::Avf { .. } => "AVF".into(),
        }
    }

    /// Classical order of the method.
    #[must_use]
    pub fn order(&self) -> u32 {
        match self {
            Self::Explicit(t) => t.order,
            Self::Splitting(Splitting::StormerVerlet)
            | Self::ImplicitMidpoint { .. }
            | Self::Avf { .. } => 2,
            Self::Splitting(_) => 1,
        }
    }

    /// Whether the method is symplectic on Hamiltonian fields.
    #[must_use]
    pub fn is_symplectic(&self) -> bool {
        matches!(self, Self::Splitting(_) | Self::ImplicitMidpoint { .. })
    }

    /// Whether the method solves a nonlinear system per step (Newton's method).
    #[must_use]
    pub fn is_implicit(&self) -> bool {
        matches!(self, Self::ImplicitMidpoint { .. } | Self::Avf { .. })
    }

    /// Entries of one layer's tape for `n` samples.
    #[must_use]
    pub fn tape_len(&self, field: &Field, n: usize) -> usize {
        let dim = field.state_dim();
        match self {
            Self::Explicit(t) => explicit::tape_len(t.stages, field, n),
            Self::Splitting(s) => s.substeps().len() * (field.width * n + field.record_len(n)),
            Self::ImplicitMidpoint { .. } => dim * n,
            // The reverse step recomputes the means from the step's end points.
            Self::Avf { .. } => 0,
        }
    }

    /// One forward step `y1 = Φ_h(y0)`, recording the tape.
    pub fn forward(
        &self,
        cx: StepContext<'_>,
        y0: &[f64],
        y1: &mut [f64],
        tape: &mut [f64],
    ) -> Result<(), StepError> {
        match self {
            Self::Explicit(t) => {
                explicit::forward(t, cx, y0, y1, tape);
                Ok(())
            }
            Self::Splitting(s) => {
                splitting::forward(*s, cx, y0, y1, tape);
                Ok(())
            }
            Self::ImplicitMidpoint {
                tolerance,
                max_iterations,
            } => implicit::forward(cx, y0, y1, tape, *tolerance, *max_iterations),
            Self::Avf {
                tolerance,
                max_iterations,
            } => avf::forward(cx, y0, y1, *tolerance, *max_iterations),
        }
    }

    /// One reverse step: given `λ₁ = ∂L/∂y₁`, writes `λ₀ = ∂L/∂y₀` and adds `∂L/∂θ` to `grad`.
    ///
    /// `y0`, `y1` are the step's end points (the `Backward` OTD method interpolates between
    /// them); `tape` is what [`Integrator::forward`] recorded.
    pub fn backward(
        &self,
        gradient: &Gradient,
        cx: StepContext<'_>,
        (y0, y1): (&[f64], &[f64]),
        tape: &[f64],
        lambda1: &[f64],
        lambda0: &mut [f64],
        grad: &mut LayerGrad,
    ) -> Result<(), StepError> {
        match (gradient, self) {
            (Gradient::Backward(method), _) => {
                otd::backward(method, cx, y0, y1, lambda1, lambda0, grad);
                Ok(())
            }
            (Gradient::Dto, Self::Explicit(t)) => {
                explicit::backward_dto(t, cx, y0, tape, lambda1, lambda0, grad);
                Ok(())
            }
            (Gradient::Partner, Self::Explicit(t)) => {
                explicit::backward_partner(t, cx, y0, tape, lambda1, lambda0, grad);
                Ok(())
            }
            // A splitting method's discrete adjoint is its own symplectic partner (the adjoint
            // kicks and drifts in reverse order), so DTO and Partner evaluate the same formulas.
            (_, Self::Splitting(s)) => {
                splitting::backward(*s, cx, (y0, y1), tape, lambda1, lambda0, grad);
                Ok(())
            }
            // The implicit midpoint rule is its own partner: both solve (I − h/2 Jᵀ) μ = λ₁.
            (_, Self::ImplicitMidpoint { .. }) => {
                implicit::backward(cx, tape, lambda1, lambda0, grad)
            }
            // The plan refuses the partner method for AVF (it is not symplectic); its exact
            // discrete adjoint is the only one computed.
            (_, Self::Avf { .. }) => avf::backward(cx, (y0, y1), lambda1, lambda0, grad),
        }
    }
}

/// Reusable buffers for one block of samples, sized once so that no step allocates.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// `s` stage blocks (rates forward, stage adjoints backward).
    pub(crate) stages: Aligned,
    /// A second set of `s` stage blocks (OTD backward).
    pub(crate) stages2: Aligned,
    /// Two state-sized blocks.
    pub(crate) v1: Aligned,
    pub(crate) v2: Aligned,
    pub(crate) v3: Aligned,
    /// Records of all roles at one point.
    pub(crate) records: Aligned,
    /// The field's own scratch.
    pub(crate) field: Aligned,
    /// The AVF method's means of every part (see `avf::buffer_len`).
    pub(crate) means: Vec<f64>,
    /// Per-sample Jacobians `n × dim × dim` (implicit midpoint, AVF).
    pub(crate) jacobians: Vec<f64>,
    /// The damped Newton iteration's state: per sample its last step (`dim × n`), the size of
    /// its last accepted correction and its damping factor (`n` each).
    pub(crate) newton: Vec<f64>,
    /// One `dim × dim` matrix and a right-hand side (dense solves).
    pub(crate) matrix: Vec<f64>,
    pub(crate) rhs: Vec<f64>,
    pub(crate) pivots: Vec<usize>,
}

impl Scratch {
    /// Buffers for blocks of up to `n` samples.
    #[must_use]
    pub fn new(field: &Field, integrator: &Integrator, gradient: &Gradient, n: usize) -> Self {
        let dim = field.state_dim();
        let mut stages = match integrator {
            Integrator::Explicit(t) => t.stages,
            _ => 1,
        };
        let otd_stages = match gradient {
            Gradient::Backward(t) => t.stages,
            _ => 0,
        };
        stages = stages.max(otd_stages);
        let implicit = integrator.is_implicit();
        Self {
            stages: Aligned::zeros(stages * dim * n),
            stages2: Aligned::zeros(otd_stages * dim * n),
            v1: Aligned::zeros(dim * n),
            v2: Aligned::zeros(dim * n),
            v3: Aligned::zeros(dim * n),
            records: Aligned::zeros(field.roles().len() * field.record_len(n)),
            field: Aligned::zeros(field.scratch_len(n)),
            means: if matches!(integrator, Integrator::Avf { .. }) {
                vec![0.0; avf::buffer_len(field, n)]
            } else {
                Vec::new()
            },
            jacobians: if implicit {
                vec![0.0; n * dim * dim]
            } else {
                Vec::new()
            },
            newton: if implicit {
                vec![0.0; (dim + 2) * n]
            } else {
                Vec::new()
            },
            matrix: vec![0.0; dim * dim],
            rhs: vec![0.0; dim],
            pivots: vec![0; dim],
        }
    }
}

//! Optimisers with explicit, serialisable state.
//!
//! [`step`] applies one update of an [`OptimizerSpec`] to a flat parameter slice, keeping what it
//! must remember in an [`OptimizerState`]. The state is plain data: saved in a checkpoint and
//! loaded again, it continues the run bit for bit. A step that fails leaves the parameters and the
//! state as they were.
//!
//! - SGD with heavy-ball momentum and Adam reproduce the CPU kernels of `torch` operation by
//!   operation (`torch.optim.SGD`, `torch.optim.Adam` with their default single-tensor path), so
//!   a flowlab loss history follows torch's to rounding. They never evaluate the objective and
//!   never allocate once their buffers exist.
//! - Armijo gradient descent (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 3.1)
//!   backtracks from the step that worked last time until the sufficient-decrease condition
//!   holds. It needs the full batch and evaluates the objective at trial points.
//!
//! ```
//! use flowlab::train::optimizer::{step, OptimizerSpec};
//!
//! // Minimise ½‖θ‖² from θ = (1, −2).
//! let spec = OptimizerSpec::Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
//! let mut state = spec.init_state(2);
//! let mut params = vec![1.0, -2.0];
//! for _ in 0..200 {
//!     let grad = params.clone();
//!     let loss = 0.5 * params.iter().map(|p| p * p).sum::<f64>();
//!     step(&spec, &mut state, &mut params, &grad, loss, &mut |_| None)?;
//! }
//! assert!(params.iter().all(|p| p.abs() < 1e-3));
//! # Ok::<(), flowlab::train::optimizer::OptimizerError>(())
//! ```

mod armijo;
mod torch;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The optimiser and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerSpec {
    /// Stochastic gradient descent with heavy-ball momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum coefficient in [0, 1).
        #[serde(default)]
        momentum: f64,
    },
    /// Adam (Kingma & Ba 2015) with the update formula of `torch.optim.Adam`.
    Adam {
        /// Learning rate.
        lr: f64,
        /// Decay of the first moment.
        #[serde(default = "default_beta1")]
        beta1: f64,
        /// Decay of the second moment.
        #[serde(default = "default_beta2")]
        beta2: f64,
        /// Added to the denominator.
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// Full-batch gradient descent with Armijo backtracking.
    Armijo {
        /// First trial step.
        #[serde(default = "default_initial_step")]
        initial_step: f64,
        /// Factor applied to the step after a rejected trial, in (0, 1).
        #[serde(default = "default_shrink")]
        shrink: f64,
        /// Sufficient-decrease constant c in (0, 1).
        #[serde(default = "default_armijo_c")]
        c: f64,
        /// Factor applied to the accepted step to start the next iteration, ≥ 1.
        #[serde(default = "default_grow")]
        grow: f64,
        /// Give up after this many rejected trials.
        #[serde(default = "default_max_backtracks")]
        max_backtracks: u32,
    },
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}
fn default_initial_step() -> f64 {
    1.0
}
fn default_shrink() -> f64 {
    0.5
}
fn default_armijo_c() -> f64 {
    1e-4
}
fn default_grow() -> f64 {
    2.0
}
fn default_max_backtracks() -> u32 {
    40
}

/// The optimiser's state, saved in checkpoints so a run resumes bit-exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerState {
    /// SGD: the velocity.
    Sgd {
        /// Momentum buffer, one entry per parameter.
        velocity: Vec<f64>,
    },
    /// Adam: moments and step count.
    Adam {
        /// First moment.
        m: Vec<f64>,
        /// Second moment.
        v: Vec<f64>,
        /// Steps taken.
        t: u64,
    },
    /// Armijo: the step to try first next time.
    Armijo {
        /// Next initial trial step.
        step: f64,
    },
}

impl OptimizerSpec {
    /// Every problem with the settings, one sentence each in words a user understands, such as
    /// "lr (the learning rate) must be a positive finite number (got 0)". Empty if they are fine.
    pub fn problems(&self) -> Vec<String> {
        self.invalid_settings()
            .map(|problem| problem.to_string())
            .collect()
    }

    /// The invalid settings in declaration order. It does not allocate: [`step`] checks it.
    fn invalid_settings(&self) -> impl Iterator<Item = SpecProblem> {
        const POSITIVE: &str = "a positive finite number";
        const UNIT_HALF_OPEN: &str = "in [0, 1)";
        const UNIT_OPEN: &str = "strictly between 0 and 1";
        let checks: [Option<SpecProblem>; 5] = match *self {
            Self::Sgd { lr, momentum } => [
                SpecProblem::unless(is_positive(lr), "lr", "the learning rate", POSITIVE, lr),
                SpecProblem::unless(
                    (0.0..1.0).contains(&momentum),
                    "momentum",
                    "the heavy-ball coefficient",
                    "in [0, 1), 0 for none",
                    momentum,
                ),
                None,
                None,
                None,
            ],
            Self::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => [
                SpecProblem::unless(is_positive(lr), "lr", "the learning rate", POSITIVE, lr),
                SpecProblem::unless(
                    (0.0..1.0).contains(&beta1),
                    "beta1",
                    "the decay of Adam's first moment",
                    UNIT_HALF_OPEN,
                    beta1,
                ),
                SpecProblem::unless(
                    (0.0..1.0).contains(&beta2),
                    "beta2",
                    "the decay of Adam's second moment",
                    UNIT_HALF_OPEN,
                    beta2,
                ),
                SpecProblem::unless(
                    is_positive(eps),
                    "eps",
                    "added to Adam's denominator",
                    POSITIVE,
                    eps,
                ),
                None,
            ],
            Self::Armijo {
                initial_step,
                shrink,
                c,
                grow,
                max_backtracks,
            } => [
                SpecProblem::unless(
                    is_positive(initial_step),
                    "initial_step",
                    "the first trial step",
                    POSITIVE,
                    initial_step,
                ),
                SpecProblem::unless(
                    shrink > 0.0 && shrink <= MAX_SHRINK,
                    "shrink",
                    "the factor applied to a rejected step",
                    "above 0 and at most 0.99 (closer to 1 backtracks without end)",
                    shrink,
                ),
                SpecProblem::unless(
                    is_in_open_unit_interval(c),
                    "c",
                    "the sufficient-decrease constant",
                    UNIT_OPEN,
                    c,
                ),
                SpecProblem::unless(
                    (1.0..=MAX_GROW).contains(&grow),
                    "grow",
                    "the factor applied to an accepted step to start the next iteration",
                    "a number from 1 to 1000",
                    grow,
                ),
                SpecProblem::unless(
                    max_backtracks <= MAX_BACKTRACKS,
                    "max_backtracks",
                    "the most rejected steps of one line search",
                    "at most 1000",
                    f64::from(max_backtracks),
                ),
            ],
        };
        checks.into_iter().flatten()
    }

    /// A fresh state for `n_params` parameters: zero moments and velocity, Armijo's first trial
    /// step at `initial_step`.
    pub fn init_state(&self, n_params: usize) -> OptimizerState {
        match *self {
            Self::Sgd { .. } => OptimizerState::Sgd {
                velocity: vec![0.0; n_params],
            },
            Self::Adam { .. } => OptimizerState::Adam {
                m: vec![0.0; n_params],
                v: vec![0.0; n_params],
                t: 0,
            },
            Self::Armijo { initial_step, .. } => OptimizerState::Armijo { step: initial_step },
        }
    }

    /// Short name: "SGD", "Adam" or "Armijo GD".
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd { .. } => SGD_NAME,
            Self::Adam { .. } => ADAM_NAME,
            Self::Armijo { .. } => ARMIJO_NAME,
        }
    }

    /// Whether the optimiser needs the full batch and extra objective evaluations (Armijo): a
    /// line search on mini-batches would compare losses of different batches.
    pub fn needs_objective(&self) -> bool {
        matches!(self, Self::Armijo { .. })
    }
}

const SGD_NAME: &str = "SGD";
const ADAM_NAME: &str = "Adam";
const ARMIJO_NAME: &str = "Armijo GD";

/// The largest Armijo `shrink`: closer to 1, a line search would backtrack almost without end.
pub const MAX_SHRINK: f64 = 0.99;
/// The largest Armijo `grow`.
pub const MAX_GROW: f64 = 1000.0;
/// The most rejected steps of one Armijo line search (each costs an evaluation of the
/// objective on the whole batch).
pub const MAX_BACKTRACKS: u32 = 1000;

fn is_positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

fn is_in_open_unit_interval(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

/// One invalid setting of an [`OptimizerSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpecProblem {
    /// The field, as spelled in the experiment file (`lr`, `beta1`, `shrink`, ...).
    pub field: &'static str,
    /// What the field is, in words.
    pub meaning: &'static str,
    /// What the value must be, in words.
    pub requirement: &'static str,
    /// The value it has.
    pub value: f64,
}

impl SpecProblem {
    fn unless(
        ok: bool,
        field: &'static str,
        meaning: &'static str,
        requirement: &'static str,
        value: f64,
    ) -> Option<Self> {
        (!ok).then_some(Self {
            field,
            meaning,
            requirement,
            value,
        })
    }
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) must be {} (got {})",
            self.field, self.meaning, self.requirement, self.value
        )
    }
}

impl OptimizerState {
    /// The name of the optimiser this state belongs to, as [`OptimizerSpec::name`] spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd { .. } => SGD_NAME,
            Self::Adam { .. } => ADAM_NAME,
            Self::Armijo { .. } => ARMIJO_NAME,
        }
    }

    /// Checks that the state fits the spec and the parameter count, and holds values a run can
    /// produce (after loading a checkpoint): a clear error otherwise.
    ///
    /// Empty buffers (with Adam's `t` = 0) stand for a fresh state, as if all zeros.
    pub fn check(&self, spec: &OptimizerSpec, n_params: usize) -> Result<(), OptimizerError> {
        self.check_shape(spec, n_params)?;
        match self {
            Self::Sgd { velocity } => check_finite("SGD velocity", velocity),
            Self::Adam { m, v, .. } => {
                check_finite("Adam first moment m", m)?;
                check_finite("Adam second moment v", v)?;
                match v.iter().position(|x| *x < 0.0) {
                    Some(i) => Err(OptimizerError::InvalidState(format!(
                        "Adam second moment v[{i}] is negative ({})",
                        v[i]
                    ))),
                    None => Ok(()),
                }
            }
            // Its one number is checked by `check_shape`.
            Self::Armijo { .. } => Ok(()),
        }
    }

    /// The part of [`Self::check`] that costs nothing: kinds, lengths and Armijo's step.
    fn check_shape(&self, spec: &OptimizerSpec, n_params: usize) -> Result<(), OptimizerError> {
        match (spec, self) {
            (OptimizerSpec::Sgd { .. }, Self::Sgd { velocity }) => {
                if velocity.is_empty() {
                    Ok(())
                } else {
                    check_len("SGD velocity", velocity.len(), n_params)
                }
            }
            (OptimizerSpec::Adam { .. }, Self::Adam { m, v, t }) => {
                if m.is_empty() && v.is_empty() {
                    if *t == 0 || n_params == 0 {
                        Ok(())
                    } else {
                        Err(OptimizerError::InvalidState(format!(
                            "Adam has taken {t} steps but its moments m and v are empty"
                        )))
                    }
                } else {
                    check_len("Adam first moment m", m.len(), n_params)?;
                    check_len("Adam second moment v", v.len(), n_params)
                }
            }
            (OptimizerSpec::Armijo { .. }, Self::Armijo { step }) => {
                if is_positive(*step) {
                    Ok(())
                } else {
                    Err(OptimizerError::InvalidState(format!(
                        "the Armijo step to try next is {step}, not a positive finite number"
                    )))
                }
            }
            _ => Err(OptimizerError::KindMismatch {
                spec: spec.name(),
                state: self.name(),
            }),
        }
    }
}

fn check_len(buffer: &'static str, len: usize, n_params: usize) -> Result<(), OptimizerError> {
    if len == n_params {
        Ok(())
    } else {
        Err(OptimizerError::StateMismatch {
            buffer,
            len,
            n_params,
        })
    }
}

fn check_finite(buffer: &str, values: &[f64]) -> Result<(), OptimizerError> {
    match values.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(OptimizerError::InvalidState(format!(
            "{buffer}[{i}] is {}",
            values[i]
        ))),
        None => Ok(()),
    }
}

/// What one optimiser step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The step taken: the learning rate (SGD, Adam) or the accepted Armijo step.
    pub step_size: f64,
    /// Objective evaluations the step made (Armijo's trials; 0 for SGD and Adam).
    pub evaluations: u32,
    /// The objective at the updated parameters when the step evaluated it (Armijo), so the
    /// caller need not evaluate it again.
    pub objective_after: Option<f64>,
}

/// Which input of a step was NaN or infinite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFiniteInput {
    /// An entry of the gradient.
    Gradient {
        /// Its index in the flat parameter vector.
        index: usize,
    },
    /// The objective value at the current parameters (read by Armijo only).
    Loss,
}

impl fmt::Display for NonFiniteInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gradient { index } => write!(f, "gradient entry {index}"),
            Self::Loss => f.write_str("the loss"),
        }
    }
}

/// Why an optimiser step was refused. The parameters and the state are left unchanged.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum OptimizerError {
    /// A setting is invalid (all of them: [`OptimizerSpec::problems`]).
    #[error("invalid optimiser settings: {0}")]
    InvalidSpec(SpecProblem),
    /// The state belongs to another optimiser than the spec.
    #[error(
        "the optimiser state is {state}'s but the optimiser is {spec}; drop the saved state to \
         start {spec} afresh"
    )]
    KindMismatch {
        /// The spec's optimiser.
        spec: &'static str,
        /// The optimiser the state belongs to.
        state: &'static str,
    },
    /// A buffer of the state does not have one entry per parameter.
    #[error(
        "the optimiser state's {buffer} has {len} entries but the model has {n_params} \
         parameters; was it saved for another model?"
    )]
    StateMismatch {
        /// The buffer, in words ("Adam first moment m").
        buffer: &'static str,
        /// Its length.
        len: usize,
        /// The number of parameters.
        n_params: usize,
    },
    /// The state holds values no run produces (an edited or damaged checkpoint).
    #[error("the optimiser state is damaged: {0}")]
    InvalidState(String),
    /// The gradient does not have one entry per parameter.
    #[error("the gradient has {grad} entries but there are {params} parameters")]
    GradientLength {
        /// Entries in the gradient.
        grad: usize,
        /// Number of parameters.
        params: usize,
    },
    /// A NaN or infinity in the gradient, or in the loss that Armijo reads.
    #[error("{0} is not finite (NaN or infinite); the parameters were left unchanged")]
    NonFinite(NonFiniteInput),
    /// No trial step satisfied the sufficient-decrease condition.
    #[error(
        "the Armijo line search found no sufficient decrease after {backtracks} backtracks \
         (last trial step {step:e}); the parameters were left unchanged. The gradient may be \
         wrong, or the objective not smooth here"
    )]
    LineSearchFailed {
        /// Rejected trials after the first (the step shrank this many times).
        backtracks: u32,
        /// The last, smallest trial step.
        step: f64,
    },
}

/// One optimiser update of `params` in place, given the gradient `grad` at `params` and the
/// objective value `loss` there.
///
/// `objective` evaluates the objective at trial parameters: Armijo calls it (see
/// [`OptimizerSpec::needs_objective`]), SGD and Adam never do. It returns `None` when the value
/// is not finite, which rejects the trial. `loss` is read by Armijo only.
///
/// On error the parameters and the state are unchanged. SGD and Adam allocate nothing once their
/// buffers exist (a fresh state with empty buffers gets them on its first step); Armijo allocates
/// one trial vector per step.
pub fn step(
    spec: &OptimizerSpec,
    state: &mut OptimizerState,
    params: &mut [f64],
    grad: &[f64],
    loss: f64,
    objective: &mut dyn FnMut(&[f64]) -> Option<f64>,
) -> Result<StepInfo, OptimizerError> {
    if let Some(problem) = spec.invalid_settings().next() {
        return Err(OptimizerError::InvalidSpec(problem));
    }
    if grad.len() != params.len() {
        return Err(OptimizerError::GradientLength {
            grad: grad.len(),
            params: params.len(),
        });
    }
    state.check_shape(spec, params.len())?;
    if let Some(index) = grad.iter().position(|g| !g.is_finite()) {
        return Err(OptimizerError::NonFinite(NonFiniteInput::Gradient {
            index,
        }));
    }
    let fixed_step = |lr| StepInfo {
        step_size: lr,
        evaluations: 0,
        objective_after: None,
    };
    match (spec, state) {
        (&OptimizerSpec::Sgd { lr, momentum }, OptimizerState::Sgd { velocity }) => {
            torch::sgd(lr, momentum, velocity, params, grad);
            Ok(fixed_step(lr))
        }
        (
            &OptimizerSpec::Adam {
                lr,
                beta1,
                beta2,
                eps,
            },
            OptimizerState::Adam { m, v, t },
        ) => {
            torch::adam(lr, beta1, beta2, eps, m, v, t, params, grad);
            Ok(fixed_step(lr))
        }
        (
            &OptimizerSpec::Armijo {
                shrink,
                c,
                grow,
                max_backtracks,
                initial_step: _,
            },
            OptimizerState::Armijo { step },
        ) => armijo::backtrack(
            shrink,
            c,
            grow,
            max_backtracks,
            step,
            params,
            grad,
            loss,
            objective,
        ),
        (spec, state) => Err(OptimizerError::KindMismatch {
            spec: spec.name(),
            state: state.name(),
        }),
    }
}

#[cfg(test)]
mod tests;

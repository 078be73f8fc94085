//! Structure diagnostics (DESIGN §3): whether an architecture, a constraint and an integrator
//! really preserve the structure the theory promises.
//!
//! Everything here is a pure function of a parameter [`Snapshot`], the data ([`Split`]) and the
//! [`DiagnosticsSpec`]: no threads, no GUI, no state between calls (but for a cache of stability
//! region boundaries, which depend on the tableau only). Results are plain data that serialise to
//! JSON (`serde_json::to_string(&report)`); a part that does not apply to the model says so with
//! a reason ([`Outcome::NotApplicable`]) instead of reporting zeros.
//!
//! ```
//! use flowlab::{diagnostics, experiment};
//!
//! let exp = experiment::from_ron_str(
//!     "(format_version: 1, name: \"doc\", data: (source: TwoSpirals, size: 64), \
//!       model: (field: GradientFlow, activation: Tanh, width: 2, layers: 4, final_time: 1.0), \
//!       integrator: Euler, train: (optimizer: Adam(lr: 0.01), iterations: 1))",
//! )?;
//! let session = experiment::check(&exp)?.session(None, 1)?;
//! let report = diagnostics::compute(&session.snapshot(), session.split(), &exp.diagnostics);
//!
//! // A gradient flow with 0 ≤ σ' ≤ 1 is non-expansive: ν̂_k ≤ 0 in every layer.
//! let lipschitz = report.lipschitz.computed().expect("computed");
//! assert!(lipschitz.one_sided.iter().all(|&nu| nu <= 1e-12));
//! // It has no energy: the structure part says why instead of reporting zeros.
//! let structure = report.structure.computed().expect("computed");
//! assert!(structure.energy.reason().is_some_and(|r| r.contains("not Hamiltonian")));
//! let json = serde_json::to_string(&report)?;
//! assert!(json.contains(r#""status":"not_applicable""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | part | module | function |
//! |---|---|---|
//! | singular values of `A(t)`, eigenvalues of `h·J`, stability region | [`spectrum`] | [`spectrum()`] |
//! | one-sided Lipschitz `ν̂_k`, step Lipschitz `L_k`, their bounds | [`lipschitz`] | [`lipschitz()`] |
//! | trajectory divergence of perturbed inputs | [`divergence`] | [`divergence()`] |
//! | energy error, symplecticity defect, volume change, reversibility | [`structure`] | [`structure()`] |
//! | DTO vs OTD vs finite differences | [`gradients`] | [`gradient_consistency()`] |
//! | accuracy under perturbations | [`robustness`] | [`robustness()`] |
//! | decision boundary, feature trajectories | [`features`] | [`decision_boundary()`], [`feature_trajectories()`] |
//!
//! [`compute`] runs the parts the spec switches on and shares the probe work between them.
//!
//! **Probes.** The probe inputs are `spec.probes` training points chosen by a seeded shuffle
//! (`spec.seed`), so the same snapshot and spec always give the same report. The *probe states*
//! of layer `k` are the states `y_k` of the probe inputs; every per-layer estimate is a maximum
//! or median over them.
//!
//! **Rigour.** Every bound carries a [`Rigor`]: `Rigorous` bounds hold for all states (from
//! `‖A_k‖₂` and the range of σ'), `Estimate`s are measured on probes and are lower bounds of
//! the quantity they estimate (a maximum over finitely many states or pairs) or, for
//! `exp(h Σ ν̂)`, a continuous-time bound evaluated with estimated constants.

mod flow;
mod linalg;
mod spec;

pub mod divergence;
pub mod features;
pub mod gradients;
pub mod lipschitz;
pub mod robustness;
pub mod spectrum;
pub mod structure;

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use divergence::{Amplification, Divergence, divergence};
pub use features::{
    DecisionBoundary, FeatureTrajectories, Projection, ProjectionMethod, decision_boundary,
    feature_trajectories,
};
pub use gradients::{GradientConsistency, gradient_consistency};
pub use lipschitz::{Bound, BoundSide, Lipschitz, Rigor, StepSizeCondition, lipschitz};
pub use robustness::{Robustness, robustness};
pub use spec::{DiagnosticsParts, DiagnosticsSpec};
pub use spectrum::{
    MatrixSpectrum, Spectrum, StabilityRegion, in_stability_region, spectrum, stability_function,
    stability_region,
};
pub use structure::{EnergyError, Reversibility, Structure, Symplecticity, Volume, structure};

use crate::data::Split;
use crate::integrate::StepError;
use crate::train::Network;
use crate::train::Snapshot;
use flow::Flow;

/// The result of one diagnostic: computed, switched off, not meaningful for this model, or
/// failed (an implicit solve that did not converge). Serialised as
/// `{"status": "computed", "value": ...}`, `{"status": "not_applicable", "value": "reason"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum Outcome<T> {
    /// The diagnostic's data.
    Computed(T),
    /// Switched off in [`DiagnosticsSpec::parts`].
    Disabled,
    /// The diagnostic has no meaning for this model; the reason says why.
    NotApplicable(String),
    /// The computation failed; the message says why.
    Failed(String),
}

impl<T> Outcome<T> {
    /// The data, if computed.
    pub fn computed(&self) -> Option<&T> {
        match self {
            Self::Computed(value) => Some(value),
            _ => None,
        }
    }

    /// Why there is no data (`None` when computed).
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Computed(_) => None,
            Self::Disabled => Some("switched off in the experiment's diagnostics.parts"),
            Self::NotApplicable(reason) | Self::Failed(reason) => Some(reason),
        }
    }
}

/// What the diagnostics were computed on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSummary {
    /// The vector field.
    pub field: String,
    /// The integrator.
    pub integrator: String,
    /// The gradient method of training.
    pub gradient: String,
    /// Layers `K`.
    pub layers: usize,
    /// Final time `T`.
    pub final_time: f64,
    /// Step `h = T/K`.
    pub step: f64,
    /// State width `d` (of `z`).
    pub width: usize,
    /// Rows of the state (`2d` for Hamiltonian fields).
    pub state_dim: usize,
    /// Input features.
    pub inputs: usize,
    /// Classes.
    pub classes: usize,
}

/// Wall-clock time of each part, in seconds (0 for parts not computed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Probe forward pass, field and step Jacobians (shared by the parts below).
    pub probes: f64,
    /// [`Spectrum`].
    pub spectrum: f64,
    /// [`Lipschitz`].
    pub lipschitz: f64,
    /// [`Divergence`].
    pub divergence: f64,
    /// [`Structure`].
    pub structure: f64,
    /// [`GradientConsistency`].
    pub gradients: f64,
    /// [`Robustness`].
    pub robustness: f64,
    /// [`DecisionBoundary`].
    pub decision_boundary: f64,
    /// [`FeatureTrajectories`].
    pub trajectories: f64,
    /// All of it.
    pub total: f64,
}

/// Every diagnostic of one snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiagnosticsReport {
    /// Iterations done when the snapshot was taken.
    pub iteration: usize,
    /// The model.
    pub model: ModelSummary,
    /// Singular values, eigenvalues of `h·J`, stability region.
    pub spectrum: Outcome<Spectrum>,
    /// One-sided and step Lipschitz constants with bounds.
    pub lipschitz: Outcome<Lipschitz>,
    /// Trajectory divergence.
    pub divergence: Outcome<Divergence>,
    /// Energy, symplecticity, reversibility.
    pub structure: Outcome<Structure>,
    /// DTO vs OTD vs finite differences.
    pub gradients: Outcome<GradientConsistency>,
    /// Accuracy under perturbations.
    pub robustness: Outcome<Robustness>,
    /// Predicted classes on a grid.
    pub decision_boundary: Outcome<DecisionBoundary>,
    /// States of data points through the layers, projected to 2D.
    pub trajectories: Outcome<FeatureTrajectories>,
    /// Cost of each part.
    pub elapsed_secs: Timings,
}

/// Computes the diagnostics switched on in `spec.parts` for a snapshot; feature trajectories
/// use a PCA basis of this snapshot's final states (see [`compute_with_projection`] to keep one
/// basis for a whole run).
pub fn compute(snapshot: &Snapshot, split: &Split, spec: &DiagnosticsSpec) -> DiagnosticsReport {
    compute_with_projection(snapshot, split, spec, None)
}

/// The diagnostics of the successive snapshots of one run: [`compute_with_projection`] with the
/// feature-trajectory projection of the first report kept for the later ones, so the pictures
/// of a run stay comparable.
#[derive(Clone, Debug, Default)]
pub struct RunAnalysis {
    projection: Option<Projection>,
}

impl RunAnalysis {
    /// An analysis that starts with `projection` (a resumed run's), or with none.
    #[must_use]
    pub fn new(projection: Option<Projection>) -> Self {
        Self { projection }
    }

    /// The diagnostics of the next snapshot.
    pub fn compute(
        &mut self,
        snapshot: &Snapshot,
        split: &Split,
        spec: &DiagnosticsSpec,
    ) -> DiagnosticsReport {
        let report = compute_with_projection(snapshot, split, spec, self.projection.as_ref());
        if self.projection.is_none() {
            self.projection = report.trajectories.computed().map(|t| t.projection.clone());
        }
        report
    }
}

/// [`compute`], projecting feature trajectories on `projection` when given (pass the
/// [`FeatureTrajectories::projection`] of the run's first report to keep the picture fixed).
pub fn compute_with_projection(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
    projection: Option<&Projection>,
) -> DiagnosticsReport {
    let start = Instant::now();
    let parts = spec.parts;
    let mut timings = Timings::default();
    let mut ctx = Context::new(snapshot, split, spec);
    let needs_probes = parts.spectrum || parts.lipschitz || parts.divergence || parts.structure;
    if needs_probes {
        let t = Instant::now();
        ctx.prepare();
        timings.probes = t.elapsed().as_secs_f64();
    }
    let spectrum = part(parts.spectrum, &mut timings.spectrum, || {
        spectrum::compute(&mut ctx)
    });
    // The divergence bounds need the Lipschitz part even when it is not reported.
    let lipschitz = part(
        parts.lipschitz || parts.divergence,
        &mut timings.lipschitz,
        || ctx.lipschitz().clone(),
    );
    let divergence = part(parts.divergence, &mut timings.divergence, || {
        divergence::compute(&mut ctx)
    });
    let structure = part(parts.structure, &mut timings.structure, || {
        structure::compute(&mut ctx)
    });
    let gradients = part(parts.gradients, &mut timings.gradients, || {
        gradients::compute(&ctx)
    });
    let robustness = part(parts.robustness, &mut timings.robustness, || {
        robustness::compute(&ctx)
    });
    let decision_boundary = part(
        parts.decision_boundary,
        &mut timings.decision_boundary,
        || features::compute_boundary(&ctx),
    );
    let trajectories = part(parts.trajectories, &mut timings.trajectories, || {
        features::compute_trajectories(&ctx, projection)
    });

    timings.total = start.elapsed().as_secs_f64();
    DiagnosticsReport {
        iteration: snapshot.iteration,
        model: ModelSummary::of(&snapshot.network),
        spectrum,
        lipschitz: if parts.lipschitz {
            lipschitz
        } else {
            Outcome::Disabled
        },
        divergence,
        structure,
        gradients,
        robustness,
        decision_boundary,
        trajectories,
        elapsed_secs: timings,
    }
}

/// A part computed when `enabled` (`Disabled` otherwise), its time written to `seconds`.
fn part<T>(enabled: bool, seconds: &mut f64, compute: impl FnOnce() -> Outcome<T>) -> Outcome<T> {
    let t = Instant::now();
    let outcome = if enabled {
        compute()
    } else {
        Outcome::Disabled
    };
    *seconds = t.elapsed().as_secs_f64();
    outcome
}

impl ModelSummary {
    /// The summary of a network.
    #[must_use]
    pub fn of(network: &Network) -> Self {
        Self {
            field: format!("{:?}", network.field.kind),
            integrator: network.integrator.name(),
            gradient: network.gradient.name(),
            layers: network.layers,
            final_time: network.final_time,
            step: network.h,
            width: network.field.width,
            state_dim: network.state_dim(),
            inputs: network.inputs,
            classes: network.classes,
        }
    }
}

/// Random streams of the diagnostics, one per purpose, so switching a part off does not change
/// the others.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    /// The order in which training points become probes.
    Order = 0,
    /// Random perturbation directions of the divergence diagnostic.
    Directions = 1,
    /// Start vectors of power iterations.
    PowerStart = 2,
    /// Random signs of the robustness diagnostic.
    Signs = 3,
    /// Start vectors of the worst-case direction's power iteration.
    WorstStart = 4,
}

/// Shared inputs and lazily computed probe data of one diagnostics run.
pub(crate) struct Context<'a> {
    pub network: &'a Network,
    pub eff: &'a [f64],
    pub split: &'a Split,
    pub spec: &'a DiagnosticsSpec,
    /// Iterations done when the snapshot was taken.
    pub iteration: usize,
    /// Training rows in the seeded diagnostic order.
    pub order: Vec<usize>,
    probes: Option<Result<Probes<'a>, Unavailable>>,
    matrices: Option<Vec<MatrixSpectrum>>,
    lipschitz: Option<Outcome<Lipschitz>>,
}

/// Why there are no probe states.
#[derive(Clone, Debug)]
pub(crate) enum Unavailable {
    /// The spec asks for none.
    NotApplicable(String),
    /// A step failed.
    Failed(String),
}

impl Unavailable {
    /// The outcome of a part that needs probes.
    pub(crate) fn outcome<T>(self) -> Outcome<T> {
        match self {
            Self::NotApplicable(reason) => Outcome::NotApplicable(reason),
            Self::Failed(reason) => Outcome::Failed(reason),
        }
    }
}

/// The probe inputs pushed through the network, with Jacobians at their states.
pub(crate) struct Probes<'a> {
    /// Training rows of the probes.
    pub rows: Vec<usize>,
    /// Inputs, a block of `inputs` rows.
    pub x: Vec<f64>,
    /// The flow with its tape.
    pub flow: Flow<'a>,
    /// Per layer `k`: field Jacobians at `y_k` of every probe (sample-major `dim × dim`).
    pub field_jacobians: Vec<Vec<f64>>,
    /// Per layer `k`: step Jacobians `∂y_{k+1}/∂y_k` of every probe.
    pub step_jacobians: Vec<Vec<f64>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(snapshot: &'a Snapshot, split: &'a Split, spec: &'a DiagnosticsSpec) -> Self {
        let mut order: Vec<usize> = (0..split.train.len()).collect();
        order.shuffle(&mut rng(spec, Stream::Order));
        Self {
            network: &snapshot.network,
            eff: &snapshot.effective,
            split,
            spec,
            iteration: snapshot.iteration,
            order,
            probes: None,
            matrices: None,
            lipschitz: None,
        }
    }

    /// The first `count` training rows of the diagnostic order, as a block of inputs.
    pub(crate) fn training_inputs(&self, count: usize) -> (Vec<usize>, Vec<f64>) {
        let rows: Vec<usize> = self.order.iter().copied().take(count).collect();
        let x = &self.split.train.x;
        let n = rows.len();
        let mut block = vec![0.0; self.network.inputs * n];
        for (t, &r) in rows.iter().enumerate() {
            for j in 0..self.network.inputs {
                block[j * n + t] = x[[r, j]];
            }
        }
        (rows, block)
    }

    /// Pushes the probes through the network and takes the Jacobians at their states.
    pub(crate) fn prepare(&mut self) {
        if self.probes.is_some() {
            return;
        }
        let result = if self.spec.probes == 0 {
            Err(Unavailable::NotApplicable(
                "diagnostics.probes is 0: there are no probe states".to_owned(),
            ))
        } else {
            self.build_probes()
                .map_err(|e| Unavailable::Failed(e.to_string()))
        };
        self.probes = Some(result);
    }

    fn build_probes(&self) -> Result<Probes<'a>, StepError> {
        let (rows, x) = self.training_inputs(self.spec.probes);
        let n = rows.len();
        let mut flow = Flow::from_inputs(self.network, self.eff, &x, n)?;
        let layers = self.network.layers;
        let field_jacobians = (0..layers)
            .map(|k| flow::field_jacobians(self.network, self.eff, k, flow.state(k), n))
            .collect();
        let step_jacobians = (0..layers)
            .map(|k| flow.step_jacobians(k))
            .collect::<Result<_, _>>()?;
        Ok(Probes {
            rows,
            x,
            flow,
            field_jacobians,
            step_jacobians,
        })
    }

    /// The probe data, or why there is none.
    pub(crate) fn probes(&mut self) -> Result<&mut Probes<'a>, Unavailable> {
        self.prepare();
        match self.probes.as_mut() {
            Some(Ok(probes)) => Ok(probes),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Unavailable::Failed("probes were not prepared".to_owned())),
        }
    }

    /// Singular values (and eigenvalues) of every effective weight matrix.
    pub(crate) fn matrices(&mut self) -> &[MatrixSpectrum] {
        if self.matrices.is_none() {
            self.matrices = Some(spectrum::matrix_spectra(self.network, self.eff));
        }
        self.matrices.as_deref().unwrap_or_default()
    }

    /// The Lipschitz diagnostic (computed once, shared with the divergence bounds).
    pub(crate) fn lipschitz(&mut self) -> &Outcome<Lipschitz> {
        if self.lipschitz.is_none() {
            let result = lipschitz::compute(self);
            self.lipschitz = Some(result);
        }
        self.lipschitz.as_ref().unwrap_or(&Outcome::Disabled)
    }
}

/// The seeded random stream of a purpose.
pub(crate) fn rng(spec: &DiagnosticsSpec, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(stream as u64);
    rng
}

/// Layer start times `t_k = k h`, `k = 0..count`.
pub(crate) fn times(network: &Network, count: usize) -> Vec<f64> {
    (0..count).map(|k| k as f64 * network.h).collect()
}

//! Which diagnostics to compute and how: the settings of the experiment file's `diagnostics`
//! section, which the document shares with the engine.

use serde::{Deserialize, Serialize};

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

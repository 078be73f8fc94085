//! Geometric structure of the steps: energy error and symplecticity defect of Hamiltonian models
//! (not applicable to the others), volume change per layer and reversibility (running the
//! layers back with `−h`).

use serde::Serialize;

use super::DiagnosticsSpec;
use super::{Context, Outcome, flow, linalg, times};
use crate::data::Split;
use crate::model::FieldKind;
use crate::train::Snapshot;

/// Energy error per step with the layer's parameters frozen: `ΔH_k = H_k(y_{k+1}) − H_k(y_k)`
/// where `H_k` is the energy of layer `k`'s field, at the probe states.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyError {
    /// Layer start times `t_k = k h`, `k = 0..K`.
    pub times: Vec<f64>,
    /// `max_probes |ΔH_k|`.
    pub absolute_max: Vec<f64>,
    /// `max_probes |ΔH_k| / |H_k(y_k)|`.
    pub relative_max: Vec<f64>,
    /// `median_probes |ΔH_k| / |H_k(y_k)|`.
    pub relative_median: Vec<f64>,
    /// `max_probes Σ_k |ΔH_k|`: the energy error accumulated over the network (with the same
    /// parameters in every layer it is the global energy error, `O(h^p)` for a method of order
    /// `p`).
    pub accumulated_max: f64,
    /// `max_probes ΔH_k` with its sign: above 0 where some probe gained energy in layer `k`.
    pub change_max: Vec<f64>,
    /// `min_probes ΔH_k` with its sign.
    pub change_min: Vec<f64>,
    /// What the theory promises of the signed change for this field and integrator.
    pub guarantee: String,
}

/// Symplecticity defect `max_ij |(MᵀΩM − Ω)_ij|` of each step Jacobian `M = ∂y_{k+1}/∂y_k`,
/// `Ω = [[0, I], [−I, 0]]`, at the probe states: 0 (to rounding) for symplectic methods.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Symplecticity {
    /// Layer start times.
    pub times: Vec<f64>,
    /// Maximum over the probes.
    pub defect_max: Vec<f64>,
    /// Median over the probes.
    pub defect_median: Vec<f64>,
}

/// Volume change of each layer map, `log |det M_k|` with `M_k = ∂y_{k+1}/∂y_k`, at the probe
/// states: 0 for a volume-preserving map (a symplectic method on a Hamiltonian field, a
/// splitting method on a divergence-free field); for explicit Euler it is `Σ_i log|1 + hλ_i|`
/// over the eigenvalues `λ_i` of the field's Jacobian. Negative: the layer contracts volume.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Volume {
    /// Layer start times `t_k`, `k = 0..K`.
    pub times: Vec<f64>,
    /// Largest `log |det M_k|` over the probes.
    pub log_det_max: Vec<f64>,
    /// Median over the probes.
    pub log_det_median: Vec<f64>,
    /// Smallest over the probes.
    pub log_det_min: Vec<f64>,
    /// `max_probes |Σ_k log |det M_k||`: the volume change of the whole network, `log |det ∂y_K/∂y_0|`.
    pub total_abs_max: f64,
}

/// The states `ŷ_k` reached by running the layers backwards from the final states
/// (`ŷ_K = y_K`, `ŷ_k = Φ_{−h}(ŷ_{k+1}; θ_k)`), compared with the forward states `y_k`.
/// A symmetric method (Störmer–Verlet, implicit midpoint) returns to `y_0` up to rounding and
/// solver tolerance; others drift by their local error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reversibility {
    /// Times `t_k`, `k = 0..=K`.
    pub times: Vec<f64>,
    /// `max_probes ‖ŷ_k − y_k‖`.
    pub error_max: Vec<f64>,
    /// `median_probes ‖ŷ_k − y_k‖`.
    pub error_median: Vec<f64>,
    /// `max_probes ‖ŷ_0 − y_0‖ / ‖y_0‖`.
    pub input_relative_max: f64,
}

/// Energy, symplecticity and reversibility.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Structure {
    /// Hamiltonian fields with an activation that has a closed antiderivative only.
    pub energy: Outcome<EnergyError>,
    /// Hamiltonian fields only.
    pub symplecticity: Outcome<Symplecticity>,
    /// Every field.
    pub volume: Outcome<Volume>,
    /// Every field.
    pub reversibility: Outcome<Reversibility>,
}

/// What the theory promises of `H(y_{k+1}) − H(y_k)` for the field and the integrator in use.
fn energy_guarantee(field: &crate::model::Field, network: &crate::train::Network) -> String {
    use crate::integrate::Integrator;
    let dissipative = field.is_dissipative();
    let flow = if field.learned[1] {
        "the exact flow dissipates the energy (dH/dt = −‖W∇H‖² ≤ 0 with R = WᵀW)"
    } else if dissipative {
        "the exact flow dissipates the energy (dH/dt = −γ‖∇H‖² ≤ 0)"
    } else {
        "the exact flow conserves the energy"
    };
    let method = match &network.integrator {
        Integrator::Splitting(_) => {
            "this splitting method is symplectic, so the energy error stays bounded over many \
             steps of one layer, but a single step may raise or lower H"
        }
        Integrator::ImplicitMidpoint { .. } => {
            "the implicit midpoint rule conserves quadratic invariants only: a step may raise or \
             lower H"
        }
        Integrator::Explicit(_) => "an explicit Runge–Kutta step has no guarantee: it may raise H",
        Integrator::Avf { .. } if dissipative => {
            "the AVF method's every step lowers H or keeps it (H(y_(k+1)) − H(y_k) = \
             −h ∇̄Hᵀ R ∇̄H ≤ 0, to the Newton tolerance)"
        }
        Integrator::Avf { .. } => {
            "the AVF method conserves H exactly at every step (to the Newton tolerance)"
        }
    };
    format!("{flow}; {method}")
}

/// The structure diagnostic of a snapshot.
pub fn structure(snapshot: &Snapshot, split: &Split, spec: &DiagnosticsSpec) -> Outcome<Structure> {
    compute(&mut Context::new(snapshot, split, spec))
}

pub(crate) fn compute(ctx: &mut Context) -> Outcome<Structure> {
    let network = ctx.network;
    let eff = ctx.eff;
    let layers = network.layers;
    let field = &network.field;
    let probes = match ctx.probes() {
        Ok(p) => p,
        Err(e) => return e.outcome(),
    };
    let (n, dim) = (probes.flow.n, probes.flow.dim);
    let not_hamiltonian = || {
        format!(
            "the {:?} field is not Hamiltonian: it has no energy and no symplectic form",
            field.kind
        )
    };
    let dissipative = || {
        if field.learned[1] {
            "the port-Hamiltonian field with a learned R = WᵀW dissipates: its flow is not \
             symplectic"
                .to_owned()
        } else if field.is_dissipative() {
            format!(
                "the port-Hamiltonian field with R = {}·I dissipates: its flow is not symplectic",
                field.dissipation
            )
        } else {
            "the port-Hamiltonian field's learned J makes its flow preserve J's own Poisson \
             structure, not the canonical symplectic form"
                .to_owned()
        }
    };

    let energy = if field.kind.has_energy() {
        let mut absolute_max = Vec::with_capacity(layers);
        let mut relative_max = Vec::with_capacity(layers);
        let mut relative_median = Vec::with_capacity(layers);
        let mut change_max = Vec::with_capacity(layers);
        let mut change_min = Vec::with_capacity(layers);
        let mut accumulated = vec![0.0; n];
        let mut missing = false;
        for k in 0..layers {
            let theta = network.layout.layer(eff, k);
            let (Some(before), Some(after)) = (
                field.energy(&theta, probes.flow.state(k), n),
                field.energy(&theta, probes.flow.state(k + 1), n),
            ) else {
                missing = true;
                break;
            };
            let change: Vec<f64> = before.iter().zip(&after).map(|(b, a)| a - b).collect();
            change_max.push(linalg::max_or_nan(change.iter().copied()));
            change_min.push(-linalg::max_or_nan(change.iter().map(|c| -c)));
            let absolute: Vec<f64> = change.iter().map(|c| c.abs()).collect();
            let relative: Vec<f64> = absolute
                .iter()
                .zip(&before)
                .map(|(d, b)| d / b.abs().max(f64::MIN_POSITIVE))
                .collect();
            for (acc, d) in accumulated.iter_mut().zip(&absolute) {
                *acc += d;
            }
            absolute_max.push(linalg::max_or_nan(absolute.iter().copied()));
            relative_max.push(linalg::max_or_nan(relative.iter().copied()));
            relative_median.push(linalg::median(&relative));
        }
        if missing {
            Outcome::NotApplicable(format!(
                "the activation ({}) has no closed antiderivative, so the energy H is not available",
                network
                    .activations()
                    .iter()
                    .filter(|a| !a.has_antiderivative())
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            Outcome::Computed(EnergyError {
                times: times(network, layers),
                absolute_max,
                relative_max,
                relative_median,
                accumulated_max: linalg::max_or_nan(accumulated),
                change_max,
                change_min,
                guarantee: energy_guarantee(field, network),
            })
        }
    } else {
        Outcome::NotApplicable(not_hamiltonian())
    };

    // A port-Hamiltonian field with the canonical J and R = 0 is Hamiltonian in the canonical
    // coordinates of its state; with R ≠ 0 its flow is not symplectic, and a learned J's flow
    // preserves J's own Poisson structure, not the canonical form.
    let symplectic_form = field.is_canonically_symplectic();
    let symplecticity = if symplectic_form {
        // Ω = [[0, I], [−I, 0]] over the state's two halves.
        let d = dim / 2;
        let omega = |i: usize, j: usize| -> f64 {
            if i < d && j == i + d {
                1.0
            } else if j < d && i == j + d {
                -1.0
            } else {
                0.0
            }
        };
        let mut defect_max = Vec::with_capacity(layers);
        let mut defect_median = Vec::with_capacity(layers);
        for jacobians in &probes.step_jacobians {
            let defects: Vec<f64> = (0..n)
                .map(|t| {
                    let m = &jacobians[t * dim * dim..(t + 1) * dim * dim];
                    // (MᵀΩM)_ij = Σ_a M_ai (ΩM)_aj with (ΩM)_aj = M_{a+d, j} (a < d), −M_{a−d, j}.
                    let mut worst: f64 = 0.0;
                    for i in 0..dim {
                        for j in 0..dim {
                            let mut s = 0.0;
                            for a in 0..dim {
                                let omega_m = if a < d {
                                    m[(a + d) * dim + j]
                                } else {
                                    -m[(a - d) * dim + j]
                                };
                                s += m[a * dim + i] * omega_m;
                            }
                            worst = worst.max((s - omega(i, j)).abs());
                        }
                    }
                    worst
                })
                .collect();
            defect_max.push(linalg::max_or_nan(defects.iter().copied()));
            defect_median.push(linalg::median(&defects));
        }
        Outcome::Computed(Symplecticity {
            times: times(network, layers),
            defect_max,
            defect_median,
        })
    } else if field.kind == FieldKind::PortHamiltonian {
        Outcome::NotApplicable(dissipative())
    } else {
        Outcome::NotApplicable(not_hamiltonian())
    };

    let volume = {
        let mut log_det_max = Vec::with_capacity(layers);
        let mut log_det_median = Vec::with_capacity(layers);
        let mut log_det_min = Vec::with_capacity(layers);
        let mut totals = vec![0.0; n];
        for jacobians in &probes.step_jacobians {
            let values: Vec<f64> = (0..n)
                .map(|t| linalg::log_abs_det(&jacobians[t * dim * dim..(t + 1) * dim * dim], dim))
                .collect();
            for (total, v) in totals.iter_mut().zip(&values) {
                *total += v;
            }
            log_det_max.push(linalg::max_or_nan(values.iter().copied()));
            log_det_median.push(linalg::median(&values));
            log_det_min.push(-linalg::max_or_nan(values.iter().map(|v| -v)));
        }
        Outcome::Computed(Volume {
            times: times(network, layers),
            log_det_max,
            log_det_median,
            log_det_min,
            total_abs_max: linalg::max_or_nan(totals.iter().map(|t| t.abs())),
        })
    };

    let reversibility = (|| {
        let mut error_max = vec![0.0; layers + 1];
        let mut error_median = vec![0.0; layers + 1];
        let mut y = probes.flow.state(layers).to_vec();
        for k in (0..layers).rev() {
            y = flow::step(network, eff, k, -network.h, &y, n)
                .map_err(|e| format!("running layer {k} backwards: {e}"))?;
            let forward = probes.flow.state(k);
            let errors: Vec<f64> = (0..n)
                .map(|t| flow::sample_distance(&y, n, t, forward, n, t, dim))
                .collect();
            error_max[k] = linalg::max_or_nan(errors.iter().copied());
            error_median[k] = linalg::median(&errors);
        }
        let start = probes.flow.state(0);
        let input_relative_max = linalg::max_or_nan((0..n).map(|t| {
            let y0 = flow::sample(start, dim, n, t);
            flow::sample_distance(&y, n, t, start, n, t, dim)
                / linalg::norm(&y0).max(f64::MIN_POSITIVE)
        }));
        Ok::<_, String>(Reversibility {
            times: times(network, layers + 1),
            error_max,
            error_median,
            input_relative_max,
        })
    })();

    Outcome::Computed(Structure {
        energy,
        symplecticity,
        volume,
        reversibility: match reversibility {
            Ok(r) => Outcome::Computed(r),
            // Backwards, a dissipative field is anti-dissipative: an implicit step with −h is
            // stiff and may have no solution near the start, so a failed solve there says
            // nothing about the method.
            Err(e) if field.is_dissipative() && network.integrator.is_implicit() => {
                Outcome::NotApplicable(format!(
                    "the field dissipates, so running it backwards (−h) is anti-dissipative and the \
                     implicit steps back need not be solvable ({e})"
                ))
            }
            Err(e) => Outcome::Failed(e),
        },
    })
}

//! A readable summary of a diagnostics report (`flowlab diagnose`): the key numbers of every
//! part, which bounds hold, and why a part is missing.

use std::fmt::Write as _;

use crate::data::Split;
use crate::diagnostics::{
    Bound, BoundSide, DecisionBoundary, DiagnosticsReport, Divergence, FeatureTrajectories,
    GradientConsistency, Lipschitz, Outcome, ProjectionMethod, Rigor, Robustness, Spectrum,
    Structure, Timings, in_stability_region,
};

/// `name: reason` of every part that failed.
#[must_use]
pub fn failed_parts(report: &DiagnosticsReport) -> Vec<String> {
    fn failure<T>(outcome: &Outcome<T>) -> Option<&str> {
        match outcome {
            Outcome::Failed(reason) => Some(reason),
            _ => None,
        }
    }
    let mut parts = vec![
        ("spectrum", failure(&report.spectrum)),
        ("lipschitz", failure(&report.lipschitz)),
        ("divergence", failure(&report.divergence)),
        ("structure", failure(&report.structure)),
        ("gradients", failure(&report.gradients)),
        ("robustness", failure(&report.robustness)),
        ("decision boundary", failure(&report.decision_boundary)),
        ("trajectories", failure(&report.trajectories)),
    ];
    if let Some(structure) = report.structure.computed() {
        parts.extend([
            ("energy", failure(&structure.energy)),
            ("symplecticity", failure(&structure.symplecticity)),
            ("volume", failure(&structure.volume)),
            ("reversibility", failure(&structure.reversibility)),
        ]);
    }
    parts
        .into_iter()
        .filter_map(|(name, reason)| reason.map(|r| format!("{name}: {r}")))
        .collect()
}

/// Why a part has no data, in the summary's words.
fn absent<T>(outcome: &Outcome<T>) -> Option<String> {
    match outcome {
        Outcome::Computed(_) => None,
        Outcome::Disabled => Some("switched off (diagnostics.parts)".to_owned()),
        Outcome::NotApplicable(reason) => Some(format!("not applicable: {reason}")),
        Outcome::Failed(reason) => Some(format!("FAILED: {reason}")),
    }
}

/// A number for the summary: 4 significant digits, scientific outside [1e-3, 1e4).
fn num(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() {
        format!("{value}")
    } else if (1e-3..1e4).contains(&magnitude) {
        format!("{value:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        format!("{value:.3e}")
    }
}

/// `min` and `max` of the finite values (NaN, NaN when there are none).
fn finite_range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold((f64::NAN, f64::NAN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Index and value of the largest finite value.
fn arg_max(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Times `t` of the listed indices, shortened after five.
fn at_times(indices: &[usize], times: &[f64]) -> String {
    let mut listed: Vec<String> = indices
        .iter()
        .take(5)
        .map(|&k| times.get(k).map_or_else(|| format!("k = {k}"), |t| num(*t)))
        .collect();
    if indices.len() > 5 {
        listed.push("…".to_owned());
    }
    format!("t = {}", listed.join(", "))
}

/// Whether `values` respect a bound (with a relative tolerance of 1e-9), in words.
fn bound_verdict(values: &[f64], bound: &Bound, times: &[f64]) -> String {
    let exceeded: Vec<usize> = values
        .iter()
        .zip(&bound.values)
        .enumerate()
        .filter(|(_, (v, b))| {
            let slack = 1e-9 * (1.0 + b.abs());
            match bound.side {
                BoundSide::Upper => **v > **b + slack,
                BoundSide::Lower => **v < **b - slack,
            }
        })
        .map(|(k, _)| k)
        .collect();
    let rigor = match bound.rigor {
        Rigor::Rigorous => "rigorous",
        Rigor::Estimate => "estimate",
    };
    if exceeded.is_empty() {
        return format!("{} ({rigor}): holds everywhere", bound.label);
    }
    // An estimate built from probe measurements is no guarantee and may be crossed; a rigorous
    // bound that is crossed means a wrong bound or a wrong measurement.
    let (verb, meaning) = match bound.rigor {
        Rigor::Rigorous => ("EXCEEDED", "a rigorous bound must hold: this is a bug"),
        Rigor::Estimate => ("exceeded", "an estimate from probes, not a guarantee"),
    };
    format!(
        "{} ({rigor}): {verb} at {} of {} points ({}; {meaning})",
        bound.label,
        exceeded.len(),
        values.len(),
        at_times(&exceeded, times)
    )
}

/// The summary's lines: a label column and the text.
#[derive(Default)]
struct Summary(String);

impl Summary {
    fn row(&mut self, label: &str, text: impl std::fmt::Display) {
        let _ = writeln!(self.0, "  {label:<14}{text}");
    }

    /// The rows of one part: `rows` of its data when computed, otherwise one row saying why not.
    fn part<T>(&mut self, label: &str, outcome: &Outcome<T>, rows: impl FnOnce(&mut Self, &T)) {
        match outcome {
            Outcome::Computed(value) => rows(self, value),
            other => self.row(label, absent(other).unwrap_or_default()),
        }
    }
}

/// A readable summary of a diagnostics report: the key numbers of every part, which bounds
/// hold, and why a part is missing.
#[must_use]
pub fn diagnostics_summary(experiment: &str, report: &DiagnosticsReport, split: &Split) -> String {
    let mut summary = Summary::default();
    let model = &report.model;
    summary.row(
        "model",
        format!(
            "{}, {}, K = {}, T = {}, h = {}, state dimension {}",
            model.field,
            model.integrator,
            model.layers,
            num(model.final_time),
            num(model.step),
            model.state_dim
        ),
    );
    summary.part("spectrum", &report.spectrum, |s, sp| {
        spectrum_rows(s, sp, &model.integrator);
    });
    summary.part("lipschitz", &report.lipschitz, lipschitz_rows);
    summary.part("divergence", &report.divergence, divergence_rows);
    summary.part("structure", &report.structure, structure_rows);
    summary.part("gradients", &report.gradients, gradients_rows);
    summary.part("robustness", &report.robustness, robustness_rows);
    summary.part("boundary", &report.decision_boundary, |s, b| {
        boundary_rows(s, b, split.train.n_classes);
    });
    summary.part("trajectories", &report.trajectories, trajectories_rows);
    time_row(&mut summary, &report.elapsed_secs);
    let at = if report.iteration == 0 {
        "initial parameters".to_owned()
    } else {
        format!("iteration {}", report.iteration)
    };
    format!("diagnostics of \"{experiment}\" at {at}\n{}", summary.0)
}

fn spectrum_rows(s: &mut Summary, sp: &Spectrum, integrator: &str) {
    for (i, m) in sp.matrices.iter().enumerate() {
        let (norm_lo, norm_hi) = finite_range(&m.norm);
        let (mu_lo, mu_hi) = finite_range(&m.smallest);
        s.row(
            if i == 0 { "spectrum" } else { "" },
            format!(
                "{name} ({}×{}): ‖{name}‖₂ in [{}, {}], μ* in [{}, {}] over the layers",
                m.rows,
                m.cols,
                num(norm_lo),
                num(norm_hi),
                num(mu_lo),
                num(mu_hi),
                name = m.name
            ),
        );
    }
    let eigenvalues: Vec<&[f64; 2]> = sp.jacobian_eigenvalues.iter().flatten().collect();
    let inside = eigenvalues
        .iter()
        .filter(|w| in_stability_region(&sp.stability, ***w))
        .count();
    if !eigenvalues.is_empty() {
        s.row(
            "",
            format!(
                "h·J: {inside} of {} eigenvalues ({} probe states per layer) inside the \
                 stability region of {integrator}",
                eigenvalues.len(),
                sp.eigenvalue_probes,
            ),
        );
    }
}

fn lipschitz_rows(s: &mut Summary, l: &Lipschitz) {
    let (lo, hi) = finite_range(&l.one_sided);
    let peak = arg_max(&l.one_sided)
        .and_then(|(k, _)| l.times.get(k))
        .map_or_else(String::new, |t| format!(" (max at t = {})", num(*t)));
    s.row(
        "lipschitz",
        format!(
            "ν̂ (estimate: max over the probe states) in [{}, {}]{peak}",
            num(lo),
            num(hi)
        ),
    );
    for bound in &l.one_sided_bounds {
        s.row("", bound_verdict(&l.one_sided, bound, &l.times));
    }
    let step_peak = arg_max(&l.step).map_or_else(String::new, |(k, v)| {
        format!(
            "{} at t = {}",
            num(v),
            num(l.times.get(k).copied().unwrap_or(f64::NAN))
        )
    });
    s.row(
        "",
        format!(
            "L̂ (estimate: step, {} probe pairs) max {step_peak}",
            l.pairs
        ),
    );
    match (&l.step_bound, &l.step_bound_missing) {
        (Some(bound), _) => s.row("", bound_verdict(&l.step, bound, &l.times)),
        (None, Some(reason)) => s.row("", format!("no rigorous step bound: {reason}")),
        (None, None) => {}
    }
    if let Some(c) = &l.step_size_condition {
        let (_, worst) = finite_range(&c.values);
        if c.violated.is_empty() {
            s.row(
                "",
                format!(
                    "h‖A_k‖₂² max σ' ≤ {}: holds at every layer (max {})",
                    num(c.limit),
                    num(worst)
                ),
            );
        } else {
            s.row(
                "",
                format!(
                    "h‖A_k‖₂² max σ' ≤ {}: VIOLATED at {} layers ({}; max {}): explicit \
                     Euler may expand distances there",
                    num(c.limit),
                    c.violated.len(),
                    at_times(&c.violated, &l.times),
                    num(worst)
                ),
            );
        }
    }
}

fn divergence_rows(s: &mut Summary, d: &Divergence) {
    let last = |v: &[f64]| num(v.last().copied().unwrap_or(f64::NAN));
    s.row(
        "divergence",
        format!(
            "ε = {}, {} probes × {} random directions; amplification at T: worst case \
             median {} max {}, random median {} max {}",
            num(d.epsilon),
            d.probes,
            d.random_directions,
            last(&d.worst_case.median),
            last(&d.worst_case.max),
            last(&d.random.median),
            last(&d.random.max)
        ),
    );
    s.row(
        "",
        format!(
            "end-to-end Lipschitz ≈ {} (estimate: power iteration, {} iterations{}){}",
            num(d.end_to_end_lipschitz),
            d.power_iterations,
            if d.power_converged {
                ", converged"
            } else {
                ", not converged"
            },
            d.end_to_end_bound
                .map(|b| format!("; rigorous bound {}", num(b)))
                .unwrap_or_default()
        ),
    );
    let measured: Vec<f64> = d
        .worst_case
        .max
        .iter()
        .zip(&d.random.max)
        .map(|(a, b)| a.max(*b))
        .collect();
    for bound in &d.bounds {
        s.row("", bound_verdict(&measured, bound, &d.times));
    }
}

fn structure_rows(s: &mut Summary, st: &Structure) {
    s.part("energy", &st.energy, |s, e| {
        let (_, absolute) = finite_range(&e.absolute_max);
        let (_, relative) = finite_range(&e.relative_max);
        s.row(
            "energy",
            format!(
                "|ΔH| per step max {} (relative {}), accumulated over the layers {}",
                num(absolute),
                num(relative),
                num(e.accumulated_max)
            ),
        );
        let (lowest, _) = finite_range(&e.change_min);
        let (_, highest) = finite_range(&e.change_max);
        s.row(
            "",
            format!(
                "signed ΔH = H(y_(k+1)) − H(y_k) from {} to {}: {}",
                num(lowest),
                num(highest),
                e.guarantee
            ),
        );
    });
    s.part("symplecticity", &st.symplecticity, |s, sy| {
        let (_, worst) = finite_range(&sy.defect_max);
        s.row(
            "symplecticity",
            format!(
                "defect max |MᵀΩM − Ω| = {} over layers and probes",
                num(worst)
            ),
        );
    });
    s.part("volume", &st.volume, |s, v| {
        let (lowest, _) = finite_range(&v.log_det_min);
        let (_, highest) = finite_range(&v.log_det_max);
        s.row(
            "volume",
            format!(
                "log|det ∂y_(k+1)/∂y_k| per layer from {} to {}, |log det ∂y_K/∂y_0| ≤ {}",
                num(lowest),
                num(highest),
                num(v.total_abs_max)
            ),
        );
    });
    s.part("reversibility", &st.reversibility, |s, r| {
        let (_, worst) = finite_range(&r.error_max);
        s.row(
            "reversibility",
            format!(
                "back from y_K with −h: ‖ŷ₀ − y₀‖/‖y₀‖ ≤ {}, ‖ŷ_k − y_k‖ ≤ {}",
                num(r.input_relative_max),
                num(worst)
            ),
        );
    });
}

fn gradients_rows(s: &mut Summary, g: &GradientConsistency) {
    let worst = |v: &[f64]| num(finite_range(v).1);
    let checked: Vec<f64> = g
        .dto_vs_finite_differences
        .iter()
        .flatten()
        .copied()
        .collect();
    s.row(
        "gradients",
        format!(
            "max over layers ({} points): partner vs DTO {}, {} vs DTO {}, DTO vs finite \
             differences {} ({} layers checked)",
            g.points,
            worst(&g.partner_vs_dto),
            g.backward_method,
            worst(&g.backward_vs_dto),
            worst(&checked),
            checked.len()
        ),
    );
}

fn robustness_rows(s: &mut Summary, r: &Robustness) {
    let percent = |v: &[f64]| -> String {
        v.iter()
            .map(|a| format!("{:>6.1}%", 100.0 * a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    s.row(
        "robustness",
        format!(
            "{} set, {} points; ε = {}",
            r.set,
            r.points,
            r.epsilons
                .iter()
                .map(|e| num(*e))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    s.row("", format!("random signs  {}", percent(&r.random)));
    s.row("", format!("FGSM          {}", percent(&r.gradient_sign)));
}

fn boundary_rows(s: &mut Summary, b: &DecisionBoundary, classes: usize) {
    let mut counts = vec![0_usize; classes.max(1)];
    for &c in &b.classes {
        if let Some(count) = counts.get_mut(c) {
            *count += 1;
        }
    }
    let total = b.classes.len().max(1) as f64;
    let shares: Vec<String> = counts
        .iter()
        .map(|&c| format!("{:.0}%", 100.0 * c as f64 / total))
        .collect();
    let axes: Vec<String> = b
        .features
        .iter()
        .zip(&b.ranges)
        .map(|(j, r)| format!("x{j} ∈ [{}, {}]", num(r[0]), num(r[1])))
        .collect();
    s.row(
        "boundary",
        format!(
            "{} grid points over {}{}; predicted class shares {}",
            b.classes.len(),
            axes.join(" × "),
            if b.fixed.is_empty() {
                String::new()
            } else {
                format!(" ({} other features at their mean)", b.fixed.len())
            },
            shares.join(" / ")
        ),
    );
}

fn trajectories_rows(s: &mut Summary, t: &FeatureTrajectories) {
    let projection = match (&t.projection.method, t.projection.explained_variance) {
        (ProjectionMethod::PrincipalComponents { source }, Some(share)) => format!(
            "principal axes of the {source} ({:.0}% + {:.0}% of the variance)",
            100.0 * share[0],
            100.0 * share[1]
        ),
        (ProjectionMethod::PrincipalComponents { source }, None) => {
            format!("principal axes of the {source}")
        }
        (ProjectionMethod::Direct, _) => "the state coordinates".to_owned(),
    };
    s.row(
        "trajectories",
        format!(
            "{} training points × {} states, drawn in {projection}",
            t.paths.len(),
            t.times.len()
        ),
    );
}

fn time_row(s: &mut Summary, e: &Timings) {
    s.row(
        "time",
        format!(
            "{} s (probes {}, spectrum {}, Lipschitz {}, divergence {}, structure {}, gradients \
             {}, robustness {}, boundary {}, trajectories {})",
            num(e.total),
            num(e.probes),
            num(e.spectrum),
            num(e.lipschitz),
            num(e.divergence),
            num(e.structure),
            num(e.gradients),
            num(e.robustness),
            num(e.decision_boundary),
            num(e.trajectories)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossed_estimates_and_crossed_rigorous_bounds_read_differently() {
        let bound = |rigor| Bound {
            label: "L ≤ b".to_owned(),
            side: BoundSide::Upper,
            rigor,
            values: vec![1.0, 1.0, 1.0],
        };
        let times = [0.0, 0.5, 1.0];
        let below = [0.5, 1.0, 0.9];
        let above = [0.5, 1.5, 0.9];
        assert_eq!(
            bound_verdict(&below, &bound(Rigor::Rigorous), &times),
            "L ≤ b (rigorous): holds everywhere"
        );
        let estimate = bound_verdict(&above, &bound(Rigor::Estimate), &times);
        assert!(
            estimate.contains("(estimate): exceeded at 1 of 3 points (t = 0.5;")
                && estimate.contains("not a guarantee"),
            "{estimate}"
        );
        let rigorous = bound_verdict(&above, &bound(Rigor::Rigorous), &times);
        assert!(
            rigorous.contains("(rigorous): EXCEEDED at 1 of 3 points") && rigorous.contains("bug"),
            "{rigorous}"
        );
    }
}

//! Publication figures of a [`DiagnosticsReport`] and a training history, as SVG and PNG.
//!
//! [`write_figures`] draws every figure the report has data for into a folder, each twice:
//! `NAME.svg` (vector, 720 px wide for a single panel) and `NAME.png` (the same drawing at twice
//! the size, for slides and previews). A figure whose diagnostic was not computed is skipped,
//! and [`Figures::skipped`] says why.
//!
//! | file stem | content |
//! |---|---|
//! | `training` | objective (log scale) and accuracy vs iteration |
//! | `singular_values` | every singular value of `A(t_k)` vs layer time, one panel per matrix |
//! | `lipschitz` | `ν̂_k` with its bounds; step Lipschitz `L̂_k` with its bound; `h‖A_k‖²max σ'` |
//! | `divergence` | amplification of input perturbations vs layer time, with bounds (log scale) |
//! | `stability` | eigenvalues of `h·J` over the integrator's region of absolute stability |
//! | `energy` | energy error per step and symplecticity defect (Hamiltonian fields only) |
//! | `volume` | `log |det ∂y_{k+1}/∂y_k|` per layer (0: volume-preserving) |
//! | `reversibility` | distance of the backward run from the forward states |
//! | `gradients` | OTD vs DTO vs finite differences per layer |
//! | `robustness` | accuracy under random and gradient-sign perturbations vs `ε` |
//! | `decision_boundary` | predicted class regions with the training and test points |
//! | `feature_trajectories` | states of training points through the layers, by class |
//!
//! **Style.** The Okabe–Ito palette (Okabe & Ito 2008, distinguishable with every common form
//! of colour blindness) for series and classes; measured quantities are solid lines with
//! markers, bounds that hold for every state are dashed and labelled "rigorous", bounds computed
//! from probe estimates are dotted and labelled "estimate". Legends sit below the plot, never on
//! the data. Text is drawn with DejaVu Sans (`assets/fonts/`, Bitstream Vera licence), embedded in
//! the binary so PNGs look the same on every machine; SVGs name the generic `sans-serif` family.

// Drawing code: tuple-heavy point lists and index loops over the palette read better as they are.
#![allow(
    clippy::type_complexity,
    clippy::range_plus_one,
    clippy::needless_range_loop
)]

mod canvas;
mod charts;
mod planes;
pub mod study;
mod style;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use canvas::{Dash, Figure, LinePanel, Marker, Panel, Series, reference, render, zip};
use plotters::style::BLACK;
use style::{BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, class_color, subscript_of, tick};

use super::Error;
use crate::data::Split;
use crate::diagnostics::{
    DiagnosticsReport, Divergence, GradientConsistency, Lipschitz, Outcome, Robustness, Spectrum,
};
use crate::train::Record;

/// The figures written and the ones left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Every file written (an SVG and a PNG per figure), in drawing order.
    pub written: Vec<PathBuf>,
    /// Figures not drawn, with the reason.
    pub skipped: Vec<SkippedFigure>,
}

/// A figure that was not drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFigure {
    /// Its file stem (`energy`, ...).
    pub name: &'static str,
    /// Why (e.g. the diagnostic is not applicable to the model).
    pub reason: String,
}

/// Draws every figure of `report` (and of the training `history`, with the data of `split`) into
/// `dir` (created if missing) as `NAME.svg` and `NAME.png`.
pub fn write_figures(
    report: &DiagnosticsReport,
    history: &[Record],
    split: &Split,
    dir: &Path,
) -> Result<Figures, Error> {
    fs::create_dir_all(dir).map_err(|error| Error::Io {
        path: dir.to_owned(),
        operation: "create the folder of",
        error,
    })?;
    let mut figures = Figures::default();
    let mut emit = |name: &'static str, figure: Result<Figure, String>| -> Result<(), Error> {
        match figure {
            Ok(figure) => figures.written.extend(render(&figure, name, dir)?),
            Err(reason) => figures.skipped.push(SkippedFigure { name, reason }),
        }
        Ok(())
    };
    emit("training", training(history))?;
    emit(
        "singular_values",
        outcome(&report.spectrum).and_then(singular_values),
    )?;
    emit(
        "lipschitz",
        outcome(&report.lipschitz).map(|l| lipschitz(l, report)),
    )?;
    emit("divergence", outcome(&report.divergence).map(divergence))?;
    emit(
        "stability",
        outcome(&report.spectrum).and_then(planes::stability),
    )?;
    emit("energy", energy(report))?;
    emit("volume", volume(report))?;
    emit("reversibility", reversibility(report))?;
    emit("gradients", outcome(&report.gradients).map(gradients))?;
    emit("robustness", outcome(&report.robustness).map(robustness))?;
    emit(
        "decision_boundary",
        outcome(&report.decision_boundary).map(|b| Figure {
            panels: vec![Panel::Boundary(b, split)],
        }),
    )?;
    emit(
        "feature_trajectories",
        outcome(&report.trajectories).map(|t| planes::trajectories(t, split)),
    )?;
    Ok(figures)
}

/// The data of a diagnostic, or why there is none.
fn outcome<T>(outcome: &Outcome<T>) -> Result<&T, String> {
    outcome
        .computed()
        .ok_or_else(|| outcome.reason().unwrap_or("not computed").to_owned())
}

// ---------------------------------------------------------------------------------------------
// The figures

/// Per-layer quantities are plotted against the layer's start time.
const LAYER_TIME: &str = "layer time t_k";

/// A figure of one panel of curves.
fn single(panel: LinePanel) -> Figure<'static> {
    Figure {
        panels: vec![Panel::Lines(panel)],
    }
}

/// Objective and accuracy vs iteration.
fn training(history: &[Record]) -> Result<Figure<'static>, String> {
    if history.is_empty() {
        return Err("no training history: the model is at its initial parameters".to_owned());
    }
    let loss = LinePanel {
        title: "Training objective".to_owned(),
        x_desc: "iteration".to_owned(),
        y_desc: "objective (batch, before the step)".to_owned(),
        log_y: true,
        log_x: false,
        series: vec![Series::line(
            "training objective",
            history
                .iter()
                .map(|r| (r.iteration as f64, r.loss))
                .collect(),
            BLUE,
        )],
    };
    let accuracy = |pick: fn(&Record) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| pick(r).map(|a| (r.iteration as f64, 100.0 * a)))
            .collect()
    };
    let train = accuracy(|r| r.train_accuracy);
    let test = accuracy(|r| r.test_accuracy);
    let mut panels = vec![Panel::Lines(loss)];
    if !train.is_empty() || !test.is_empty() {
        let mut series = vec![Series::line("train", train, BLUE).marked(Marker::Circle)];
        if !test.is_empty() {
            series.push(Series::line("test", test, VERMILLION).marked(Marker::Square));
        }
        panels.push(Panel::Lines(LinePanel {
            title: "Accuracy".to_owned(),
            x_desc: "iteration".to_owned(),
            y_desc: "accuracy (%)".to_owned(),
            log_y: false,
            log_x: false,
            series,
        }));
    }
    Ok(Figure { panels })
}

/// Every singular value of each weight matrix vs layer time.
fn singular_values(spectrum: &Spectrum) -> Result<Figure<'static>, String> {
    if spectrum.matrices.is_empty() {
        return Err("the model has no weight matrices".to_owned());
    }
    let panels = spectrum
        .matrices
        .iter()
        .map(|m| {
            let count = m.singular_values.iter().map(Vec::len).max().unwrap_or(0);
            let curve = |i: usize| -> Vec<(f64, f64)> {
                spectrum
                    .times
                    .iter()
                    .zip(&m.singular_values)
                    .map(|(&t, s)| (t, s.get(i).copied().unwrap_or(f64::NAN)))
                    .collect()
            };
            let name = &matrix_name(&m.name);
            let mut series = Vec::new();
            if count <= 6 {
                for i in 0..count {
                    let label = match i {
                        0 if count == 1 => format!("σ₁ = ‖{name}‖₂ = μ*"),
                        0 => format!("σ₁ = ‖{name}‖₂"),
                        _ if i + 1 == count => format!("σ{} = μ* (smallest)", subscript(i + 1)),
                        _ => format!("σ{}", subscript(i + 1)),
                    };
                    series
                        .push(Series::line(label, curve(i), class_color(i)).marked(Marker::Circle));
                }
            } else {
                for i in 1..count - 1 {
                    let label = if i == 1 {
                        format!("σ₂ … σ{}", subscript(count - 1))
                    } else {
                        String::new()
                    };
                    series.push(Series::line(label, curve(i), GREY).width(1.0));
                }
                series.push(
                    Series::line(format!("σ₁ = ‖{name}‖₂"), curve(0), BLUE).marked(Marker::Circle),
                );
                series.push(
                    Series::line(
                        format!("σ{} = μ* (smallest)", subscript(count)),
                        curve(count - 1),
                        VERMILLION,
                    )
                    .marked(Marker::Square),
                );
            }
            Panel::Lines(LinePanel {
                title: format!("Singular values of {name}(t)  ({}×{})", m.rows, m.cols),
                x_desc: LAYER_TIME.to_owned(),
                y_desc: format!("singular value σᵢ({name}(t_k))"),
                log_y: false,
                log_x: false,
                series,
            })
        })
        .collect();
    Ok(Figure { panels })
}

/// A weight block's name as set in formulas: `A1` becomes `A₁`.
fn matrix_name(name: &str) -> String {
    let letters = name.trim_end_matches(|c: char| c.is_ascii_digit());
    format!("{letters}{}", subscript_digits(&name[letters.len()..]))
}

/// Digits as Unicode subscripts.
fn subscript_digits(digits: &str) -> String {
    digits
        .chars()
        .map(|c| subscript_of(c).unwrap_or(c))
        .collect()
}

/// A number as Unicode subscript digits.
fn subscript(n: usize) -> String {
    subscript_digits(&n.to_string())
}

/// `ν̂_k` with its bounds, `L̂_k` with its bound, and the explicit Euler step-size condition.
fn lipschitz(l: &Lipschitz, report: &DiagnosticsReport) -> Figure<'static> {
    let t = &l.times;
    let span = [
        t.first().copied().unwrap_or(0.0),
        t.last().copied().unwrap_or(1.0),
    ];
    let mut nu = vec![
        Series::line(
            "ν̂_k = max over probes of λ_max(½(J + Jᵀ)) (estimate)",
            zip(t, &l.one_sided),
            BLUE,
        )
        .marked(Marker::Circle),
    ];
    for (i, bound) in l.one_sided_bounds.iter().enumerate() {
        nu.push(Series::bound(bound, t, [VERMILLION, GREEN, PURPLE][i % 3]));
    }
    nu.push(reference(
        "ν = 0 (the flow is non-expansive below)",
        span,
        0.0,
    ));
    let mut step = vec![
        Series::line("L̂_k from probe pairs (estimate)", zip(t, &l.step), BLUE)
            .marked(Marker::Circle),
    ];
    if let Some(bound) = &l.step_bound {
        let mut series = Series::bound(bound, t, VERMILLION);
        if series.label.contains('ℓ') {
            series
                .label
                .push_str("; ℓ: Lipschitz constant of f, from ‖A‖₂ and max|σ'|");
        }
        step.push(series);
    }
    step.push(reference("L = 1 (non-expansive)", span, 1.0));
    let mut panels = vec![
        Panel::Lines(LinePanel {
            title: "One-sided Lipschitz constant ν(t)".to_owned(),
            x_desc: LAYER_TIME.to_owned(),
            y_desc: "ν (1/time)".to_owned(),
            log_y: false,
            log_x: false,
            series: nu,
        }),
        Panel::Lines(LinePanel {
            title: format!(
                "Lipschitz constant of the step ({})",
                report.model.integrator
            ),
            x_desc: LAYER_TIME.to_owned(),
            y_desc: "L_k of y_k ↦ y_{k+1}".to_owned(),
            log_y: false,
            log_x: false,
            series: step,
        }),
    ];
    if let Some(condition) = &l.step_size_condition {
        let violated: Vec<(f64, f64)> = condition
            .violated
            .iter()
            .filter_map(|&k| Some((*t.get(k)?, *condition.values.get(k)?)))
            .collect();
        let mut series = vec![
            Series::line("h‖A_k‖₂² max σ'", zip(t, &condition.values), BLUE).marked(Marker::Circle),
            reference(
                format!("limit {} (non-expansive below)", tick(condition.limit)),
                span,
                condition.limit,
            ),
        ];
        if !violated.is_empty() {
            series.push(
                Series::line(
                    format!("violated at {} layers", violated.len()),
                    violated,
                    VERMILLION,
                )
                .marked(Marker::Triangle)
                .width(0.0),
            );
        }
        panels.push(Panel::Lines(LinePanel {
            title: "Explicit Euler step-size condition".to_owned(),
            x_desc: LAYER_TIME.to_owned(),
            y_desc: "h‖A_k‖₂² max σ' (dimensionless)".to_owned(),
            log_y: false,
            log_x: false,
            series,
        }));
    }
    Figure { panels }
}

/// Amplification of perturbations vs layer time with its bounds.
fn divergence(d: &Divergence) -> Figure<'static> {
    let t = &d.times;
    let mut series = vec![
        Series::line("random direction, median", zip(t, &d.random.median), SKY),
        Series::line("random direction, max", zip(t, &d.random.max), BLUE).marked(Marker::Circle),
        Series::line("worst case, median", zip(t, &d.worst_case.median), ORANGE),
        Series::line("worst case, max", zip(t, &d.worst_case.max), VERMILLION)
            .marked(Marker::Triangle),
    ];
    for (i, bound) in d.bounds.iter().enumerate() {
        series.push(Series::bound(bound, t, [GREEN, PURPLE, BLACK][i % 3]));
    }
    single(LinePanel {
        title: format!(
            "Divergence of perturbed inputs (‖δ‖₂ = {}, {} probes)",
            tick(d.epsilon),
            d.probes
        ),
        x_desc: "layer time t_k (t₀: lifted input)".to_owned(),
        y_desc: "amplification ‖y_k(x+δ) − y_k(x)‖ / ‖δ‖".to_owned(),
        log_y: true,
        log_x: false,
        series,
    })
}

/// Energy error per step and symplecticity defect (Hamiltonian fields).
fn energy(report: &DiagnosticsReport) -> Result<Figure<'static>, String> {
    let structure = outcome(&report.structure)?;
    let energy = outcome(&structure.energy)?;
    let t = &energy.times;
    let mut panels = vec![Panel::Lines(LinePanel {
        title: "Energy error per step (θ_k frozen)".to_owned(),
        x_desc: LAYER_TIME.to_owned(),
        y_desc: "|ΔH_k| = |H_k(y_{k+1}) − H_k(y_k)|".to_owned(),
        log_y: true,
        log_x: false,
        series: vec![
            Series::line(
                "absolute, max over probes",
                zip(t, &energy.absolute_max),
                BLUE,
            )
            .marked(Marker::Circle),
            Series::line(
                "relative |ΔH_k| / |H_k(y_k)|, max over probes",
                zip(t, &energy.relative_max),
                VERMILLION,
            )
            .marked(Marker::Square),
            Series::line(
                "relative, median over probes",
                zip(t, &energy.relative_median),
                ORANGE,
            ),
        ],
    })];
    if let Some(symplecticity) = structure.symplecticity.computed() {
        let t = &symplecticity.times;
        panels.push(Panel::Lines(LinePanel {
            title: "Symplecticity defect of the step".to_owned(),
            x_desc: LAYER_TIME.to_owned(),
            y_desc: "max |MᵀΩM − Ω| (M = ∂y_{k+1}/∂y_k)".to_owned(),
            log_y: true,
            log_x: false,
            series: vec![
                Series::line("max over probes", zip(t, &symplecticity.defect_max), BLUE)
                    .marked(Marker::Circle),
                Series::line("median", zip(t, &symplecticity.defect_median), ORANGE),
            ],
        }));
    }
    for panel in &mut panels {
        if let Panel::Lines(p) = panel {
            for series in &mut p.series {
                with_zero_note(series);
            }
        }
    }
    Ok(Figure { panels })
}

/// Appends "(n zeros not shown)" to a log-scale series' label where it has zeros.
fn with_zero_note(series: &mut Series) {
    let zeros = series.points.iter().filter(|p| p.1 == 0.0).count();
    match zeros {
        0 => {}
        1 => series.label.push_str(" (1 exact zero not shown)"),
        _ => {
            let _ = write!(series.label, " ({zeros} exact zeros not shown)");
        }
    }
}

/// A log-scale line panel, zeros noted in the legend.
fn log_panel(title: String, x_desc: &str, y_desc: &str, mut series: Vec<Series>) -> LinePanel {
    for s in &mut series {
        with_zero_note(s);
    }
    LinePanel {
        title,
        x_desc: x_desc.to_owned(),
        y_desc: y_desc.to_owned(),
        log_y: true,
        log_x: false,
        series,
    }
}

/// Volume change of each layer map: `log |det M_k|` over the probes, against 0.
fn volume(report: &DiagnosticsReport) -> Result<Figure<'static>, String> {
    let structure = outcome(&report.structure)?;
    let v = outcome(&structure.volume)?;
    let t = &v.times;
    let span = [
        t.first().copied().unwrap_or(0.0),
        t.last().copied().unwrap_or(0.0),
    ];
    Ok(single(LinePanel {
        title: format!(
            "Volume change per layer (whole network: |log det ∂y_K/∂y₀| ≤ {})",
            tick(v.total_abs_max)
        ),
        x_desc: LAYER_TIME.to_owned(),
        y_desc: "log |det ∂y_(k+1)/∂y_k|".to_owned(),
        log_y: false,
        log_x: false,
        series: vec![
            Series::line("max over probes", zip(t, &v.log_det_max), BLUE).marked(Marker::Circle),
            Series::line("median", zip(t, &v.log_det_median), ORANGE),
            Series::line("min over probes", zip(t, &v.log_det_min), GREEN).marked(Marker::Triangle),
            reference("volume-preserving (0)", span, 0.0),
        ],
    }))
}

/// Distance of the backward run from the forward states.
fn reversibility(report: &DiagnosticsReport) -> Result<Figure<'static>, String> {
    let structure = outcome(&report.structure)?;
    let r = outcome(&structure.reversibility)?;
    let t = &r.times;
    Ok(single(log_panel(
        format!(
            "Reversibility: run back from y(T) with step −h (‖ŷ₀ − y₀‖/‖y₀‖ ≤ {})",
            tick(r.input_relative_max)
        ),
        LAYER_TIME,
        "‖ŷ_k − y_k‖ (state units)",
        vec![
            Series::line("max over probes", zip(t, &r.error_max), BLUE).marked(Marker::Circle),
            Series::line("median", zip(t, &r.error_median), ORANGE),
        ],
    )))
}

/// OTD vs DTO vs finite differences per layer.
fn gradients(g: &GradientConsistency) -> Figure<'static> {
    let t = &g.times;
    let checked: Vec<(f64, f64)> = t
        .iter()
        .zip(&g.dto_vs_finite_differences)
        .filter_map(|(&t, v)| v.map(|v| (t, v)))
        .collect();
    let finite_differences = Series::line(
        format!(
            "DTO vs finite differences (step {}, {} layers checked)",
            tick(g.finite_difference_step),
            checked.len()
        ),
        checked,
        GREEN,
    )
    .marked(Marker::Triangle)
    .dashed(Dash::Dotted)
    .width(1.0);
    single(log_panel(
        format!("Gradient consistency ({} training points)", g.points),
        LAYER_TIME,
        "‖g − g(DTO)‖ / ‖g(DTO)‖ per layer",
        vec![
            Series::line(
                "OTD (partner method) vs DTO",
                zip(t, &g.partner_vs_dto),
                BLUE,
            )
            .marked(Marker::Circle),
            Series::line(
                format!("{} vs DTO", g.backward_method),
                zip(t, &g.backward_vs_dto),
                VERMILLION,
            )
            .marked(Marker::Square),
            finite_differences,
        ],
    ))
}

/// Accuracy under perturbations vs ε.
fn robustness(r: &Robustness) -> Figure<'static> {
    let percent = |a: &[f64]| -> Vec<f64> { a.iter().map(|v| 100.0 * v).collect() };
    single(LinePanel {
        title: format!("Robustness ({} set, {} points)", r.set, r.points),
        x_desc: "perturbation size ε = ‖δ‖∞ (input units)".to_owned(),
        y_desc: "accuracy (%)".to_owned(),
        log_y: false,
        log_x: false,
        series: vec![
            Series::line("random signs", zip(&r.epsilons, &percent(&r.random)), BLUE)
                .marked(Marker::Circle),
            Series::line(
                "gradient sign (FGSM)",
                zip(&r.epsilons, &percent(&r.gradient_sign)),
                VERMILLION,
            )
            .marked(Marker::Triangle),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscripts() {
        assert_eq!(subscript(12), "₁₂");
        assert_eq!(matrix_name("A2"), "A₂");
        assert_eq!(matrix_name("A"), "A");
    }
}

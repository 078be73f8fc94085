//! Per-layer curves against t: singular values, ν(t), divergence, structure, gradient
//! consistency, and robustness against ε.

use eframe::egui::{Color32, RichText, Ui};
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use super::{
    BOUND_KEY, bound_color, bound_line, curve, header_ui, identity, log10, overlay_curves, palette,
    time_plot,
};
use crate::diagnostics::DiagnosticsReport;
use crate::gui::plots::{PlotContext, hover_text, x_axis};

pub(super) fn singular_values_ui(
    ui: &mut Ui,
    spectrum: &crate::diagnostics::Spectrum,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        "σ₁ ≥ σ₂ ≥ … per layer",
    );
    let colors: Vec<Color32> = (0..spectrum.matrices.len())
        .map(|i| palette(ui, i))
        .collect();
    time_plot("singular-values", "σᵢ(A_k)", false).show(ui, |plot| {
        for (m, matrix) in spectrum.matrices.iter().enumerate() {
            let count = matrix.singular_values.first().map_or(0, Vec::len);
            for i in 0..count {
                let values: Vec<f64> = matrix
                    .singular_values
                    .iter()
                    .map(|sv| sv.get(i).copied().unwrap_or(f64::NAN))
                    .collect();
                // Shade the values of one matrix from its colour (σ₁) towards grey.
                let fade = if count > 1 {
                    i as f32 / (count - 1) as f32
                } else {
                    0.0
                };
                let color = colors[m].lerp_to_gamma(Color32::GRAY, 0.6 * fade);
                plot.line(
                    Line::new(
                        format!("{} σ{}", matrix.name, i + 1),
                        PlotPoints::from(curve(&spectrum.times, &values, identity)),
                    )
                    .color(color)
                    .width(if i == 0 { 2.0 } else { 1.2 }),
                );
            }
        }
    });
}

pub(super) fn lipschitz_ui(
    ui: &mut Ui,
    lipschitz: &crate::diagnostics::Lipschitz,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let mut extra = String::from("ν̂_k = max over probes of λ_max(½(J + Jᵀ))");
    if let Some(condition) = &lipschitz.step_size_condition
        && !condition.violated.is_empty()
    {
        extra = format!(
            "h‖A_k‖₂² max σ' ≤ {} violated at {} layer(s): the step may expand distances",
            condition.limit,
            condition.violated.len()
        );
    }
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        &format!("{extra} · {BOUND_KEY}"),
    );
    let main = palette(ui, 0);
    let weak = bound_color(ui);
    let overlays = overlay_curves(cx, |r| {
        r.lipschitz
            .computed()
            .map(|l| curve(&l.times, &l.one_sided, identity))
    });
    time_plot("lipschitz", "ν(t)", false).show(ui, |plot| {
        plot.hline(egui_plot::HLine::new("ν = 0", 0.0).color(weak).width(0.8));
        for (name, color, points) in overlays {
            plot.line(
                Line::new(name, PlotPoints::from(points))
                    .color(color)
                    .width(1.2),
            );
        }
        plot.line(
            Line::new(
                "ν̂_k (probes)",
                PlotPoints::from(curve(&lipschitz.times, &lipschitz.one_sided, identity)),
            )
            .color(main)
            .width(2.0),
        );
        for (i, bound) in lipschitz.one_sided_bounds.iter().enumerate() {
            let color = if i == 0 {
                weak
            } else {
                weak.gamma_multiply(0.7)
            };
            plot.line(bound_line(bound, &lipschitz.times, identity, color));
        }
    });
}

pub(super) fn divergence_ui(
    ui: &mut Ui,
    divergence: &crate::diagnostics::Divergence,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let extra = format!(
        "‖δ‖ = {:.0e}, {} probes; end-to-end Lipschitz ≈ {:.3}{}",
        divergence.epsilon,
        divergence.probes,
        divergence.end_to_end_lipschitz,
        divergence
            .end_to_end_bound
            .map(|b| format!(" (rigorous bound {b:.3e})"))
            .unwrap_or_default()
    );
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        &format!("{extra} · {BOUND_KEY}"),
    );
    let overlays = overlay_curves(cx, |r| {
        r.divergence
            .computed()
            .map(|d| curve(&d.times, &d.worst_case.max, log10))
    });
    let weak = bound_color(ui);
    let colors = [palette(ui, 0), palette(ui, 5)];
    time_plot("divergence", "‖z_k(x+δ) − z_k(x)‖ / ‖δ‖ (log scale)", true).show(ui, |plot| {
        for (name, color, points) in overlays {
            plot.line(
                Line::new(name, PlotPoints::from(points))
                    .color(color)
                    .width(1.2),
            );
        }
        for (amplification, what, color) in [
            (&divergence.random, "random δ", colors[0]),
            (&divergence.worst_case, "worst-case δ", colors[1]),
        ] {
            plot.line(
                Line::new(
                    format!("{what}, max"),
                    PlotPoints::from(curve(&divergence.times, &amplification.max, log10)),
                )
                .color(color)
                .width(2.0),
            );
            plot.line(
                Line::new(
                    format!("{what}, median"),
                    PlotPoints::from(curve(&divergence.times, &amplification.median, log10)),
                )
                .color(color.gamma_multiply(0.6))
                .width(1.2),
            );
        }
        for bound in &divergence.bounds {
            plot.line(bound_line(bound, &divergence.times, log10, weak));
        }
    });
}

pub(super) fn structure_ui(
    ui: &mut Ui,
    structure: &crate::diagnostics::Structure,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let mut notes = vec![
        "energy |ΔH_k|/|H_k| with θ_k frozen, symplecticity ‖MᵀΩM − Ω‖, reversibility ‖ẑ_k − z_k‖"
            .to_string(),
    ];
    if let Some(energy) = structure.energy.computed() {
        notes.push(format!(
            "accumulated energy error {:.2e}",
            energy.accumulated_max
        ));
    }
    if let Some(reversibility) = structure.reversibility.computed() {
        notes.push(format!(
            "back to z₀ within {:.2e} (relative)",
            reversibility.input_relative_max
        ));
    }
    header_ui(ui, report, cx.diagnostics.is_busy(), &notes.join(" · "));
    for (what, outcome) in [
        ("energy", structure.energy.reason()),
        ("symplecticity", structure.symplecticity.reason()),
        ("reversibility", structure.reversibility.reason()),
    ] {
        if let Some(reason) = outcome {
            ui.label(RichText::new(format!("{what}: {reason}")).small().weak());
        }
    }
    let colors = [palette(ui, 0), palette(ui, 1), palette(ui, 2)];
    time_plot("structure", "error (log scale)", true).show(ui, |plot| {
        if let Some(energy) = structure.energy.computed() {
            plot.line(
                Line::new(
                    "energy error, max",
                    PlotPoints::from(curve(&energy.times, &energy.relative_max, log10)),
                )
                .color(colors[0])
                .width(2.0),
            );
            plot.line(
                Line::new(
                    "energy error, median",
                    PlotPoints::from(curve(&energy.times, &energy.relative_median, log10)),
                )
                .color(colors[0].gamma_multiply(0.6)),
            );
        }
        if let Some(symplecticity) = structure.symplecticity.computed() {
            plot.line(
                Line::new(
                    "symplecticity defect",
                    PlotPoints::from(curve(
                        &symplecticity.times,
                        &symplecticity.defect_max,
                        log10,
                    )),
                )
                .color(colors[1])
                .width(2.0),
            );
        }
        if let Some(reversibility) = structure.reversibility.computed() {
            plot.line(
                Line::new(
                    "reversibility error",
                    PlotPoints::from(curve(&reversibility.times, &reversibility.error_max, log10)),
                )
                .color(colors[2])
                .width(2.0),
            );
        }
    });
}

pub(super) fn gradients_ui(
    ui: &mut Ui,
    gradients: &crate::diagnostics::GradientConsistency,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let mut note = format!(
        "{} training points; backward method {}",
        gradients.points, gradients.backward_method
    );
    // Exact zeros have no place on a log axis: say so instead of drawing nothing silently.
    if !gradients.partner_vs_dto.is_empty() && gradients.partner_vs_dto.iter().all(|v| *v == 0.0) {
        note.push_str("; partner = DTO exactly at every layer (0, not drawn)");
    }
    header_ui(ui, report, cx.diagnostics.is_busy(), &note);
    let colors = [palette(ui, 0), palette(ui, 1), palette(ui, 2)];
    // A layer without a finite-difference check is a gap in that line.
    let finite_differences: Vec<f64> = gradients
        .dto_vs_finite_differences
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect();
    time_plot(
        "gradients",
        "relative difference per layer (log scale)",
        true,
    )
    .show(ui, |plot| {
        for (name, values, color) in [
            (
                "‖g_partner − g_DTO‖/‖g_DTO‖",
                &gradients.partner_vs_dto,
                colors[0],
            ),
            (
                "‖g_backward − g_DTO‖/‖g_DTO‖",
                &gradients.backward_vs_dto,
                colors[1],
            ),
            ("DTO vs finite differences", &finite_differences, colors[2]),
        ] {
            let points = curve(&gradients.times, values, log10);
            plot.line(
                Line::new(name, PlotPoints::from(points.clone()))
                    .color(color)
                    .width(1.5),
            );
            plot.points(
                Points::new(name, points)
                    .color(color)
                    .radius(2.5)
                    .shape(MarkerShape::Circle),
            );
        }
    });
}

pub(super) fn robustness_ui(
    ui: &mut Ui,
    robustness: &crate::diagnostics::Robustness,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        &format!("{} {} points, ‖δ‖∞ = ε", robustness.points, robustness.set),
    );
    let colors = [palette(ui, 0), palette(ui, 5)];
    Plot::new("robustness")
        .legend(
            Legend::default()
                .follow_insertion_order(true)
                .position(Corner::LeftBottom),
        )
        .custom_x_axes(x_axis("ε"))
        .y_axis_label("accuracy")
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_formatter(|mark, _| format!("{:.0}%", 100.0 * mark.value))
        .label_formatter(|hover| {
            hover_text(hover, |p| {
                format!("ε = {:.3}\naccuracy {:.1}%", p.x, 100.0 * p.y)
            })
        })
        .show(ui, |plot| {
            for (name, values, color) in [
                ("random sign δ", &robustness.random, colors[0]),
                (
                    "gradient sign δ (FGSM)",
                    &robustness.gradient_sign,
                    colors[1],
                ),
            ] {
                let points = curve(&robustness.epsilons, values, identity);
                plot.line(
                    Line::new(name, PlotPoints::from(points.clone()))
                        .color(color)
                        .width(2.0),
                );
                plot.points(Points::new(name, points).color(color).radius(3.0));
            }
        });
}

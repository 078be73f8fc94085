//! Per-layer curves against t: singular values, ν(t), divergence, structure, volume change,
//! gradient consistency, and robustness against ε.

use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{Corner, MarkerShape, Plot};

use super::{
    BOUND_KEY, bound_color, bound_line, curve, header_ui, identity, log10, overlay_curves, palette,
    time_plot,
};
use crate::diagnostics::DiagnosticsReport;
use crate::gui::lines::{Lines, Room};
use crate::gui::plots::{PlotContext, hover_text, x_axis};

/// The legend's corner of the plots against t.
const TOP: Corner = Corner::RightTop;

pub(in crate::gui) fn singular_values_ui(
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
    let mut lines = Lines::default();
    {
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
                lines.line(
                    format!("{} σ{}", matrix.name, i + 1),
                    curve(&spectrum.times, &values, identity),
                    |l| l.color(color).width(if i == 0 { 2.0 } else { 1.2 }),
                );
            }
        }
    }
    lines.show(
        ui,
        time_plot("singular-values", "σᵢ(A_k)", false),
        TOP,
        Room::Vertical,
    );
}

pub(in crate::gui) fn lipschitz_ui(
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
    let mut lines = Lines::default();
    lines.hline("ν = 0", 0.0, |l| l.color(weak).width(0.8));
    for (name, color, points) in overlays {
        lines.line(name, points, |l| l.color(color).width(1.2));
    }
    lines.line(
        "ν̂_k (probes)",
        curve(&lipschitz.times, &lipschitz.one_sided, identity),
        |l| l.color(main).width(2.0),
    );
    for (i, bound) in lipschitz.one_sided_bounds.iter().enumerate() {
        let color = if i == 0 {
            weak
        } else {
            weak.gamma_multiply(0.7)
        };
        bound_line(&mut lines, bound, &lipschitz.times, identity, color);
    }
    lines.show(
        ui,
        time_plot("lipschitz", "ν(t)", false),
        TOP,
        Room::Vertical,
    );
}

pub(in crate::gui) fn divergence_ui(
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
    let mut lines = Lines::default();
    for (name, color, points) in overlays {
        lines.line(name, points, |l| l.color(color).width(1.2));
    }
    for (amplification, what, color) in [
        (&divergence.random, "random δ", colors[0]),
        (&divergence.worst_case, "worst-case δ", colors[1]),
    ] {
        lines.line(
            format!("{what}, max"),
            curve(&divergence.times, &amplification.max, log10),
            |l| l.color(color).width(2.0),
        );
        lines.line(
            format!("{what}, median"),
            curve(&divergence.times, &amplification.median, log10),
            |l| l.color(color.gamma_multiply(0.6)).width(1.2),
        );
    }
    for bound in &divergence.bounds {
        bound_line(&mut lines, bound, &divergence.times, log10, weak);
    }
    let plot = time_plot("divergence", "‖z_k(x+δ) − z_k(x)‖ / ‖δ‖ (log scale)", true);
    lines.show(ui, plot, TOP, Room::Vertical);
}

pub(in crate::gui) fn structure_ui(
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
        let fold = |v: &[f64], f: fn(f64, f64) -> f64, start: f64| {
            v.iter().copied().filter(|x| x.is_finite()).fold(start, f)
        };
        notes.push(format!(
            "signed ΔH per layer from {:.2e} to {:.2e}",
            fold(&energy.change_min, f64::min, f64::INFINITY),
            fold(&energy.change_max, f64::max, f64::NEG_INFINITY)
        ));
    }
    if let Some(reversibility) = structure.reversibility.computed() {
        notes.push(format!(
            "back to z₀ within {:.2e} (relative)",
            reversibility.input_relative_max
        ));
    }
    header_ui(ui, report, cx.diagnostics.is_busy(), &notes.join(" · "));
    if let Some(energy) = structure.energy.computed() {
        ui.label(RichText::new(&energy.guarantee).small().weak());
    }
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
    let mut lines = Lines::default();
    if let Some(energy) = structure.energy.computed() {
        lines.line(
            "energy error, max",
            curve(&energy.times, &energy.relative_max, log10),
            |l| l.color(colors[0]).width(2.0),
        );
        lines.line(
            "energy error, median",
            curve(&energy.times, &energy.relative_median, log10),
            |l| l.color(colors[0].gamma_multiply(0.6)),
        );
    }
    if let Some(symplecticity) = structure.symplecticity.computed() {
        lines.line(
            "symplecticity defect",
            curve(&symplecticity.times, &symplecticity.defect_max, log10),
            |l| l.color(colors[1]).width(2.0),
        );
    }
    if let Some(reversibility) = structure.reversibility.computed() {
        lines.line(
            "reversibility error",
            curve(&reversibility.times, &reversibility.error_max, log10),
            |l| l.color(colors[2]).width(2.0),
        );
    }
    // A port-Hamiltonian field's energy changes with a sign that matters (dissipation): the
    // signed change per layer gets a plot of its own under the errors.
    // Only where there is room for two readable plots (a maximised pane); the header gives the
    // signed range in any case.
    let signed = structure
        .energy
        .computed()
        .filter(|_| report.model.field == "PortHamiltonian" && ui.available_height() >= 420.0);
    let Some(energy) = signed else {
        lines.show(
            ui,
            time_plot("structure", "error (log scale)", true),
            TOP,
            Room::Vertical,
        );
        return;
    };
    let size = egui::vec2(ui.available_width(), ui.available_height() * 0.55);
    ui.allocate_ui(size, |ui| {
        lines.show(
            ui,
            time_plot("structure", "error (log scale)", true),
            TOP,
            Room::Vertical,
        );
    });
    let change = around_zero(
        ui,
        "0",
        &energy.times,
        &[
            ("ΔH, max over probes", &energy.change_max, 2.0),
            ("ΔH, min over probes", &energy.change_min, 1.5),
        ],
    );
    change.show(
        ui,
        time_plot("energy-change", "H(z_(k+1)) − H(z_k)", false),
        TOP,
        Room::Vertical,
    );
}

/// Lines of signed per-layer values against `times`, in the palette's order, over a dotted line
/// at 0 named `zero`: `(name, values, width)` each.
fn around_zero(ui: &Ui, zero: &str, times: &[f64], series: &[(&str, &[f64], f32)]) -> Lines {
    let mut lines = Lines::default();
    lines.hline(zero, 0.0, |l| {
        l.color(ui.visuals().weak_text_color())
            .style(egui_plot::LineStyle::dotted_dense())
    });
    for (i, &(name, values, width)) in series.iter().enumerate() {
        let color = palette(ui, i);
        lines.line(name, curve(times, values, identity), |l| {
            l.color(color).width(width)
        });
    }
    lines
}

pub(in crate::gui) fn volume_ui(
    ui: &mut Ui,
    structure: &crate::diagnostics::Structure,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let volume = match &structure.volume {
        crate::diagnostics::Outcome::Computed(volume) => volume,
        other => {
            header_ui(ui, report, cx.diagnostics.is_busy(), "");
            let reason = other.reason().unwrap_or("not computed");
            ui.label(RichText::new(format!("volume: {reason}")).weak());
            return;
        }
    };
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        &format!(
            "log|det ∂z_(k+1)/∂z_k| at the probes (0: the layer preserves volume, < 0: it \
             contracts) · whole network |log det ∂z_K/∂z₀| ≤ {:.3e}",
            volume.total_abs_max
        ),
    );
    let lines = around_zero(
        ui,
        "volume-preserving (0)",
        &volume.times,
        &[
            ("max over probes", &volume.log_det_max, 2.0),
            ("median", &volume.log_det_median, 1.0),
            ("min over probes", &volume.log_det_min, 2.0),
        ],
    );
    lines.show(
        ui,
        // Rounding-level values (a volume-preserving method: 1e-15) lie flat on zero rather
        // than fill the plot with noise.
        time_plot("volume", "log |det ∂z_(k+1)/∂z_k|", false)
            .include_y(-1e-6)
            .include_y(1e-6),
        TOP,
        Room::Vertical,
    );
}

pub(in crate::gui) fn gradients_ui(
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
    let mut lines = Lines::default();
    {
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
            lines.line(name, points.clone(), |l| l.color(color).width(1.5));
            lines.markers(name, points, |p| {
                p.color(color).radius(2.5).shape(MarkerShape::Circle)
            });
        }
    }
    let plot = time_plot(
        "gradients",
        "relative difference per layer (log scale)",
        true,
    );
    lines.show(ui, plot, TOP, Room::Vertical);
}

pub(in crate::gui) fn robustness_ui(
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
    let mut lines = Lines::default();
    for (name, values, color) in [
        ("random sign δ", &robustness.random, colors[0]),
        (
            "gradient sign δ (FGSM)",
            &robustness.gradient_sign,
            colors[1],
        ),
    ] {
        let points = curve(&robustness.epsilons, values, identity);
        lines.line(name, points.clone(), |l| l.color(color).width(2.0));
        lines.markers(name, points, |p| p.color(color).radius(3.0));
    }
    let plot = Plot::new("robustness")
        .custom_x_axes(x_axis("ε"))
        .y_axis_label("accuracy")
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_formatter(|mark, _| format!("{:.0}%", 100.0 * mark.value))
        .label_formatter(|hover| {
            hover_text(hover, |p| {
                format!("ε = {:.3}\naccuracy {:.1}%", p.x, 100.0 * p.y)
            })
        });
    lines.show(ui, plot, Corner::LeftBottom, Room::Vertical);
}

//! The diagnostics panels: each draws one part of the newest [`DiagnosticsReport`] (computed on
//! the diagnostics thread) and says "waiting for diagnostics" until it arrives, or why the part
//! does not apply to this model.

use super::palette::{BLUE, DARK_YELLOW, GREEN, ORANGE, PURPLE, SKY, VERMILLION, YELLOW};
use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{LineStyle, Plot};

pub(super) mod curves;
pub(super) mod geometry;

use super::lines::Lines;
use super::panels::PaneKind;
use super::plots::{PlotContext, empty_ui, hover_text, x_axis};
use crate::diagnostics::{Bound, BoundSide, DiagnosticsReport, Outcome, Rigor};

/// Values at or below this are drawn at this height on logarithmic axes (exact zeros of
/// rounding-level differences).
const LOG_FLOOR: f64 = 1e-18;

/// The time axes of the per-layer panels move together.
fn time_axis() -> egui::Id {
    egui::Id::unique("flowlab-time-axis")
}

/// log₁₀ for logarithmic axes; an exact zero (or a negative value) has no place there and is
/// left out (a gap), tiny positive values sit at [`LOG_FLOOR`].
fn log10(value: f64) -> f64 {
    if value > 0.0 {
        value.max(LOG_FLOOR).log10()
    } else {
        f64::NAN
    }
}

/// `(t, v)` points; `transform` maps the value (identity or log₁₀).
fn curve(times: &[f64], values: &[f64], transform: fn(f64) -> f64) -> Vec<[f64; 2]> {
    times
        .iter()
        .zip(values)
        .map(|(t, v)| [*t, transform(*v)])
        .filter(|[_, v]| v.is_finite())
        .collect()
}

fn identity(value: f64) -> f64 {
    value
}

/// A plot over time `t`, linked to the other time plots, optionally logarithmic in y.
fn time_plot(id: &str, y_label: &str, log: bool) -> Plot<'static> {
    let mut plot = Plot::new(id)
        .custom_x_axes(x_axis("t"))
        .y_axis_label(y_label.to_owned())
        .link_axis(time_axis(), [true, false])
        .link_cursor(time_axis(), [true, false]);
    if log {
        plot = plot
            .y_axis_formatter(super::plots::log_tick)
            .label_formatter(|hover| {
                hover_text(hover, |p| {
                    format!("t = {:.3}\n{:.4e}", p.x, 10f64.powf(p.y))
                })
            });
    } else {
        plot = plot
            .label_formatter(|hover| hover_text(hover, |p| format!("t = {:.3}\n{:.4}", p.x, p.y)));
    }
    plot
}

fn bound_style(bound: &Bound) -> LineStyle {
    match bound.rigor {
        Rigor::Rigorous => LineStyle::dashed_loose(),
        Rigor::Estimate => LineStyle::dotted_loose(),
    }
}

/// A bound's legend entry: its formula, and "(est.)" for bounds measured on probes (rigorous
/// bounds are dashed, estimates dotted; the header line says so).
fn bound_name(bound: &Bound) -> String {
    let side = match bound.side {
        BoundSide::Upper => "",
        BoundSide::Lower => " (lower)",
    };
    match bound.rigor {
        Rigor::Rigorous => format!("{}{side}", bound.label),
        Rigor::Estimate => format!("{}{side} (est.)", bound.label),
    }
}

/// A bound as a line: its name, dashed when rigorous and dotted when an estimate.
fn bound_line(
    lines: &mut Lines,
    bound: &Bound,
    times: &[f64],
    transform: fn(f64) -> f64,
    color: Color32,
) {
    lines.line(
        bound_name(bound),
        curve(times, &bound.values, transform),
        |l| l.color(color).style(bound_style(bound)).width(1.5),
    );
}

/// What the bound line styles mean, for the header of panels with bounds.
const BOUND_KEY: &str = "bounds: dashed rigorous, dotted estimated";

/// A line of the panel's palette by index.
fn palette(ui: &Ui, index: usize) -> Color32 {
    const DARK: [Color32; 6] = [SKY, ORANGE, GREEN, PURPLE, YELLOW, VERMILLION];
    const LIGHT: [Color32; 6] = [BLUE, ORANGE, GREEN, PURPLE, DARK_YELLOW, VERMILLION];
    if ui.visuals().dark_mode {
        DARK[index % DARK.len()]
    } else {
        LIGHT[index % LIGHT.len()]
    }
}

fn bound_color(ui: &Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// The small line over a diagnostics panel: which iteration it shows, whether a newer one is
/// being computed.
fn header_ui(ui: &mut Ui, report: &DiagnosticsReport, busy: bool, extra: &str) {
    let mut text = format!("iteration {}", report.iteration);
    if busy {
        text.push_str(" · computing a newer one…");
    }
    if !extra.is_empty() {
        text.push_str(" · ");
        text.push_str(extra);
    }
    ui.label(RichText::new(text).small().weak());
}

/// Draws the part `select` picks from the report with `draw`, or says why there is none.
pub(super) fn part_ui<T>(
    ui: &mut Ui,
    kind: PaneKind,
    cx: &mut PlotContext<'_>,
    select: impl FnOnce(&DiagnosticsReport) -> &Outcome<T>,
    draw: impl FnOnce(&mut Ui, &T, &DiagnosticsReport, &mut PlotContext<'_>),
) {
    if let Some(reason) = cx.diagnostics.unavailable() {
        empty_ui(ui, kind, reason);
        return;
    }
    let Some(report) = cx.diagnostics.report.clone() else {
        let message = if cx.worker.snapshot().is_some() {
            "waiting for diagnostics"
        } else {
            "waiting for diagnostics: the experiment has problems, there is no model yet"
        };
        empty_ui(ui, kind, message);
        return;
    };
    match select(&report) {
        Outcome::Computed(value) => draw(ui, value, &report, cx),
        other => {
            let reason = other.reason().unwrap_or_default();
            empty_ui(ui, kind, &format!("Not available: {reason}"));
        }
    }
}

/// The curves of earlier runs that are ticked for overlay (their newest report), named and
/// coloured like the run.
fn overlay_curves(
    cx: &PlotContext<'_>,
    select: impl Fn(&DiagnosticsReport) -> Option<Vec<[f64; 2]>>,
) -> Vec<(String, Color32, Vec<[f64; 2]>)> {
    if !cx.prefs.overlay_runs {
        return Vec::new();
    }
    let current = cx.worker.current_run().map(|r| r.number);
    cx.worker
        .runs()
        .iter()
        .filter(|run| run.visible && Some(run.number) != current)
        .filter_map(|run| {
            let report = cx.diagnostics.by_run.get(&run.number)?;
            let points = select(report)?;
            Some((
                format!("run {}: {}", run.number, run.label),
                run.color,
                points,
            ))
        })
        .collect()
}

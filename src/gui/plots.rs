//! What each panel draws: loss and accuracy from the runs' histories, the runs list, the data,
//! and the helpers the diagnostics panels ([`super::diagnostic_plots`]) share.
//! Everything here only reads; nothing is computed but the points of a line.

use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{Corner, HoverPosition, LineStyle, MarkerShape, Plot, PlotPoint, Points};

use super::analysis::DiagnosticsState;
use super::diagnostic_plots::{curves, geometry, part_ui};
use super::lines::{Lines, Room};
use super::panels::PaneKind;
use super::study::{StudyView, study_runs_ui, study_ui};
use super::theme::Preferences;
use super::worker::{Run, Worker};
use crate::data::Split;
use crate::experiment::Experiment;
use crate::train::Record;

/// At most this many points per line (long runs are thinned evenly for drawing).
const MAX_LINE_POINTS: usize = 4000;

/// At most this many points of a data set per scatter plot: more are drawn as an even subset
/// (100 000 points would cost tens of milliseconds a frame to tessellate, and would cover each
/// other anyway).
pub const MAX_SCATTER_POINTS: usize = 2000;

/// The rows of a data set of `len` points that a scatter plot of at most `most` points draws:
/// all of them, or an even subset.
pub fn scatter_rows(len: usize, most: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
    (0..len).step_by(len.div_ceil(most.max(1)).max(1))
}

/// The colour of class `class`.
#[must_use]
pub fn class_color(class: usize) -> Color32 {
    super::palette::nth(class)
}

/// What the panels read (and the few preferences they toggle).
pub struct PlotContext<'a> {
    /// Runs, history, the current model's data.
    pub worker: &'a mut Worker,
    /// Log scale, overlays.
    pub prefs: &'a mut Preferences,
    /// The experiment being edited.
    pub spec: &'a Experiment,
    /// The diagnostics and the panels' view state.
    pub diagnostics: &'a mut DiagnosticsState,
    /// The open study, if any.
    pub study: Option<&'a mut StudyView>,
}

/// Draws panel `kind`: the one place a panel meets what it shows. A diagnostics panel draws
/// its part of the newest report ([`part_ui`] says why when there is none).
pub fn pane_ui(ui: &mut Ui, kind: PaneKind, cx: &mut PlotContext<'_>) {
    match kind {
        PaneKind::Loss => loss_ui(ui, cx),
        PaneKind::Accuracy => accuracy_ui(ui, cx),
        PaneKind::Runs => runs_ui(ui, cx),
        PaneKind::Study => study_ui(ui, cx.study.as_deref_mut()),
        PaneKind::SingularValues => {
            part_ui(ui, kind, cx, |r| &r.spectrum, curves::singular_values_ui);
        }
        PaneKind::Eigenvalues => part_ui(ui, kind, cx, |r| &r.spectrum, geometry::eigenvalues_ui),
        PaneKind::Lipschitz => part_ui(ui, kind, cx, |r| &r.lipschitz, curves::lipschitz_ui),
        PaneKind::Divergence => part_ui(ui, kind, cx, |r| &r.divergence, curves::divergence_ui),
        PaneKind::Energy => part_ui(ui, kind, cx, |r| &r.structure, curves::structure_ui),
        PaneKind::Volume => part_ui(ui, kind, cx, |r| &r.structure, curves::volume_ui),
        PaneKind::GradientConsistency => {
            part_ui(ui, kind, cx, |r| &r.gradients, curves::gradients_ui);
        }
        PaneKind::Robustness => part_ui(ui, kind, cx, |r| &r.robustness, curves::robustness_ui),
        PaneKind::Trajectories => {
            part_ui(ui, kind, cx, |r| &r.trajectories, geometry::trajectories_ui);
        }
        PaneKind::DecisionBoundary => geometry::decision_boundary_ui(ui, cx),
    }
}

/// A centred message in an otherwise empty panel.
pub fn empty_ui(ui: &mut Ui, kind: PaneKind, message: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space((ui.available_height() * 0.3).max(4.0));
        ui.label(RichText::new(message).weak());
        ui.add_space(6.0);
        ui.add(egui::Label::new(RichText::new(kind.description()).small().weak()).wrap());
    });
}

/// The label of a tick on a log₁₀ axis: `10^v` with as many significant digits as the visible
/// range needs (a decade or more: 1; less: 2 or 3), plainly between 0.001 and 10 000.
pub fn log_tick(mark: egui_plot::GridMark, range: &std::ops::RangeInclusive<f64>) -> String {
    let span = range.end() - range.start();
    let digits: usize = if span >= 1.5 {
        1
    } else if span >= 0.3 {
        2
    } else {
        3
    };
    let x = 10f64.powf(mark.value);
    if (1e-3..1e4).contains(&x) {
        // Decimals for `digits` significant digits.
        #[expect(clippy::cast_possible_truncation, reason = "a small exponent")]
        let magnitude = x.log10().floor() as i32;
        let decimals =
            usize::try_from(i32::try_from(digits).unwrap_or(1) - 1 - magnitude).unwrap_or(0);
        format!("{x:.decimals$}")
    } else {
        format!("{:.*e}", digits - 1, x)
    }
}

/// An x axis titled `label` whose tick labels may sit closer than egui_plot's default (which
/// leaves a short time axis with the single label "0").
pub fn x_axis(label: impl Into<egui::WidgetText>) -> Vec<egui_plot::AxisHints<'static>> {
    vec![
        egui_plot::AxisHints::new_x()
            .label(label)
            .label_spacing(28.0..=40.0),
    ]
}

/// A hover read-out: the line's name and `format` of the point nearest to the pointer, or of
/// the pointer's position away from the lines.
pub fn hover_text(
    hover: &HoverPosition<'_>,
    format: impl Fn(PlotPoint) -> String,
) -> Option<String> {
    Some(match hover {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => {
            format!("{plot_name}\n{}", format(*position))
        }
        HoverPosition::Elsewhere { position } => format(*position),
    })
}

/// Evenly thinned `(iteration, value)` points of a history.
fn series(history: &[Record], value: impl Fn(&Record) -> Option<f64>) -> Vec<[f64; 2]> {
    let stride = history.len().div_ceil(MAX_LINE_POINTS).max(1);
    let mut points: Vec<[f64; 2]> = history
        .iter()
        .step_by(stride)
        .filter_map(|r| value(r).map(|v| [r.iteration as f64, v]))
        .collect();
    // Always end on the newest value.
    if let Some(last) = history.last()
        && let Some(v) = value(last)
        && points.last().is_none_or(|p| p[0] < last.iteration as f64)
    {
        points.push([last.iteration as f64, v]);
    }
    points
}

fn runs_to_draw(worker: &Worker, overlay: bool) -> impl Iterator<Item = (&Run, bool)> {
    let current = worker.current_run().map(|r| r.number);
    worker.runs().iter().filter_map(move |run| {
        let is_current = Some(run.number) == current;
        (is_current || (overlay && run.visible && !run.history.is_empty()))
            .then_some((run, is_current))
    })
}

fn run_name(run: &Run, is_current: bool) -> String {
    if is_current {
        format!("run {} (current)", run.number)
    } else {
        format!("run {}: {}", run.number, run.label)
    }
}

fn loss_ui(ui: &mut Ui, cx: &mut PlotContext<'_>) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut cx.prefs.log_loss, "Log scale")
            .on_hover_text("Plot log₁₀ of the loss.");
        ui.checkbox(&mut cx.prefs.overlay_runs, "Overlay runs")
            .on_hover_text(
                "Draw the earlier runs ticked in the Runs panel in their colours, on the loss, \
                 accuracy, ν(t) and divergence plots.",
            );
    });
    let log = cx.prefs.log_loss;
    let transform = move |v: f64| {
        if log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    };
    let mut plot = Plot::new("loss-plot")
        .custom_x_axes(x_axis("iteration"))
        .y_axis_label(if log { "loss (log scale)" } else { "loss" })
        .link_axis(egui::Id::unique("iteration-axis"), [true, false])
        .link_cursor(egui::Id::unique("iteration-axis"), [true, false])
        .label_formatter(move |hover| {
            hover_text(hover, |p| {
                let y = if log { 10f64.powf(p.y) } else { p.y };
                format!("iteration {:.0}\nloss {y:.4e}", p.x)
            })
        });
    if log {
        plot = plot.y_axis_formatter(log_tick);
    }
    let mut lines = Lines::default();
    for (run, is_current) in runs_to_draw(cx.worker, cx.prefs.overlay_runs) {
        let points = series(&run.history, |r| Some(transform(r.loss)));
        lines.line(run_name(run, is_current), points, |l| {
            l.color(run.color).width(if is_current { 2.0 } else { 1.2 })
        });
    }
    if cx.prefs.overlay_runs
        && let Some(study) = cx.study.as_deref()
    {
        for (name, color, curve) in study.overlay_curves() {
            let points = curve.iter().map(|&(i, v)| [i, transform(v)]).collect();
            lines.line(name, points, |l| {
                l.color(color).width(1.2).style(LineStyle::dashed_dense())
            });
        }
    }
    lines.show(ui, plot, Corner::RightTop, Room::Vertical);
}

fn accuracy_ui(ui: &mut Ui, cx: &mut PlotContext<'_>) {
    let mut lines = Lines::default();
    for (run, is_current) in runs_to_draw(cx.worker, cx.prefs.overlay_runs) {
        let name = run_name(run, is_current);
        if is_current {
            lines.line(
                format!("{name} train"),
                series(&run.history, |r| r.train_accuracy),
                |l| l.color(run.color).width(2.0),
            );
        }
        lines.line(
            format!("{name} test"),
            series(&run.history, |r| r.test_accuracy),
            |l| {
                l.color(run.color)
                    .width(if is_current { 2.0 } else { 1.2 })
                    .style(LineStyle::dashed_loose())
            },
        );
    }
    let plot = Plot::new("accuracy-plot")
        .custom_x_axes(x_axis("iteration"))
        .y_axis_label("accuracy")
        .include_y(0.0)
        .include_y(1.0)
        .link_axis(egui::Id::unique("iteration-axis"), [true, false])
        .link_cursor(egui::Id::unique("iteration-axis"), [true, false])
        .y_axis_formatter(|mark, _| format!("{:.0}%", 100.0 * mark.value))
        .label_formatter(|hover| {
            hover_text(hover, |p| {
                format!("iteration {:.0}\naccuracy {:.1}%", p.x, 100.0 * p.y)
            })
        });
    lines.show(ui, plot, Corner::RightBottom, Room::Vertical);
}

/// This window's runs, then an open study's.
fn runs_ui(ui: &mut Ui, cx: &mut PlotContext<'_>) {
    let Some(study) = cx.study.as_deref_mut() else {
        window_runs_ui(ui, cx.worker);
        return;
    };
    let title = format!("Study: {} ({} runs)", study.name(), study.rows().len());
    egui::CollapsingHeader::new("This window's runs")
        .id_salt("window-runs")
        .default_open(false)
        .show(ui, |ui| window_runs_ui(ui, cx.worker));
    egui::CollapsingHeader::new(title)
        .id_salt("study-runs")
        .default_open(true)
        .show(ui, |ui| study_runs_ui(ui, study));
}

fn window_runs_ui(ui: &mut Ui, worker: &mut Worker) {
    let current = worker.current_run().map(|r| r.number);
    if worker.runs().iter().all(|r| r.history.is_empty()) {
        ui.label(RichText::new("No runs yet: press Train.").weak());
        return;
    }
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("runs-grid")
            .num_columns(5)
            .striped(true)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                ui.strong("Overlay");
                ui.strong("Settings");
                ui.strong("Iterations");
                ui.strong("Loss · train · test");
                ui.strong("Outcome");
                ui.end_row();
                for run in worker
                    .runs_mut()
                    .iter_mut()
                    .rev()
                    .filter(|r| !r.history.is_empty())
                {
                    let is_current = Some(run.number) == current;
                    let text = RichText::new(format!("Run {}", run.number))
                        .color(run.color)
                        .strong();
                    ui.checkbox(&mut run.visible, text).on_hover_text(
                        "Overlay this run, in its colour, on the loss, accuracy, ν(t) and \
                             divergence plots.",
                    );
                    ui.label(&run.label);
                    ui.label(run.history.last().map_or(0, |r| r.iteration).to_string());
                    let (train, test) = run.last_accuracy();
                    let percent = |a: Option<f64>| {
                        a.map_or_else(|| "–".into(), |a| format!("{:.1}%", 100.0 * a))
                    };
                    ui.label(format!(
                        "{:.3e} · {} · {}",
                        run.history.last().map_or(f64::NAN, |r| r.loss),
                        percent(train),
                        percent(test)
                    ));
                    let outcome = if is_current && run.outcome.is_none() {
                        "current".to_string()
                    } else {
                        run.outcome.clone().unwrap_or_default()
                    };
                    ui.add(egui::Label::new(outcome).truncate());
                    ui.end_row();
                }
            });
    });
}

/// The name of class `class` of a data set, as the legend shows it.
fn class_name(set: &crate::data::Dataset, class: usize) -> String {
    set.class_names
        .get(class)
        .cloned()
        .unwrap_or_else(|| class.to_string())
}

/// The legend entries of [`data_points`]: one per class.
#[must_use]
pub fn class_names(split: &Split) -> Vec<String> {
    (0..split.train.n_classes)
        .map(|class| class_name(&split.train, class))
        .collect()
}

/// The data as points: training points filled, test points as rings, one colour per class. One
/// legend entry per class (named by the class, for both sets: a narrow panel has no room for
/// more), which shows or hides both.
pub fn data_points(plot_ui: &mut egui_plot::PlotUi<'_>, split: &Split) {
    for (set, filled) in [(&split.train, true), (&split.test, false)] {
        let n_features = set.n_features();
        for class in 0..set.n_classes {
            let points: Vec<[f64; 2]> = scatter_rows(set.len(), MAX_SCATTER_POINTS)
                .filter(|&i| set.labels[i] == class)
                .map(|i| {
                    [
                        set.x[[i, 0]],
                        if n_features > 1 { set.x[[i, 1]] } else { 0.0 },
                    ]
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            plot_ui.points(
                Points::new(class_name(set, class), points)
                    .radius(if filled { 2.2 } else { 3.0 })
                    .filled(filled)
                    .shape(MarkerShape::Circle)
                    .color(class_color(class)),
            );
        }
    }
}

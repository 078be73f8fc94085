//! Pictures in the plane: eigenvalues over the stability region, feature trajectories, the
//! decision boundary.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, ColorImage, RichText, TextureOptions, Ui};
use egui_plot::{Corner, Legend, Line, Plot, PlotImage, PlotPoint, PlotPoints, Points, Polygon};

use super::{header_ui, palette};
use crate::diagnostics::{DiagnosticsReport, StabilityRegion};
use crate::gui::lines::{Room, keep_clear};
use crate::gui::panels::PaneKind;
use crate::gui::plots::{
    PlotContext, class_color, class_names, data_points, empty_ui, hover_text, x_axis,
};

pub(in crate::gui) fn eigenvalues_ui(
    ui: &mut Ui,
    spectrum: &crate::diagnostics::Spectrum,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let outside = spectrum.jacobian_eigenvalues.iter().flatten().count();
    header_ui(
        ui,
        report,
        cx.diagnostics.is_busy(),
        &format!(
            "{} probe states per layer, {outside} eigenvalues; shaded: the integrator's stability region",
            spectrum.eigenvalue_probes
        ),
    );
    let region_fill = if ui.visuals().dark_mode {
        Color32::from_rgba_unmultiplied(90, 160, 90, 50)
    } else {
        Color32::from_rgba_unmultiplied(60, 150, 60, 45)
    };
    let region_stroke = egui::Stroke::new(1.0, Color32::from_rgb(80, 160, 80));
    let reach = spectrum
        .jacobian_eigenvalues
        .iter()
        .flatten()
        .map(|[re, im]| re.abs().max(im.abs()))
        .fold(1.0_f64, f64::max)
        * 1.5;
    let layers = spectrum.jacobian_eigenvalues.len().max(1);
    let groups = 4.min(layers);
    let group_colors: Vec<Color32> = [0, 1, 2, 5][..groups]
        .iter()
        .map(|&i| palette(ui, i))
        .collect();
    Plot::new("eigenvalues")
        .data_aspect(1.0)
        .legend(
            Legend::default()
                .follow_insertion_order(true)
                .position(Corner::LeftTop),
        )
        .custom_x_axes(x_axis("Re(hλ)"))
        .y_axis_label("Im(hλ)")
        .label_formatter(|hover| hover_text(hover, |p| format!("hλ = {:.4} {:+.4}i", p.x, p.y)))
        .show(ui, |plot| {
            match &spectrum.stability {
                StabilityRegion::Polynomial { boundary, .. } => {
                    for (i, curve) in boundary.iter().enumerate() {
                        plot.polygon(
                            Polygon::new(
                                if i == 0 {
                                    "stability region |R(hλ)| ≤ 1"
                                } else {
                                    ""
                                },
                                PlotPoints::from(curve.clone()),
                            )
                            .fill_color(region_fill)
                            .stroke(region_stroke),
                        );
                    }
                }
                StabilityRegion::LeftHalfPlane => {
                    plot.polygon(
                        Polygon::new(
                            "stability region Re(hλ) ≤ 0",
                            PlotPoints::from(vec![
                                [-reach, -reach],
                                [0.0, -reach],
                                [0.0, reach],
                                [-reach, reach],
                            ]),
                        )
                        .fill_color(region_fill)
                        .stroke(region_stroke),
                    );
                }
                StabilityRegion::ImaginaryInterval { half_length } => {
                    plot.line(
                        Line::new(
                            format!("stable for hλ = is, |s| < {half_length}"),
                            PlotPoints::from(vec![[0.0, -half_length], [0.0, *half_length]]),
                        )
                        .color(region_stroke.color)
                        .width(5.0),
                    );
                }
            }
            let per_group = layers.div_ceil(groups);
            for (g, color) in group_colors.iter().enumerate() {
                let first = g * per_group;
                let last = ((g + 1) * per_group).min(layers);
                let points: Vec<[f64; 2]> = spectrum.jacobian_eigenvalues[first.min(layers)..last]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                if points.is_empty() {
                    continue;
                }
                plot.points(
                    Points::new(format!("layers {first}–{}", last - 1), points)
                        .radius(2.5)
                        .color(*color),
                );
            }
        });
}

pub(in crate::gui) fn trajectories_ui(
    ui: &mut Ui,
    trajectories: &crate::diagnostics::FeatureTrajectories,
    report: &DiagnosticsReport,
    cx: &mut PlotContext<'_>,
) {
    let layers = trajectories.times.len().saturating_sub(1);
    let state = &mut *cx.diagnostics;
    state.layer = state.layer.min(layers);
    let projection = match &trajectories.projection.method {
        crate::diagnostics::ProjectionMethod::Direct => "coordinates z₁, z₂".to_string(),
        crate::diagnostics::ProjectionMethod::PrincipalComponents { .. } => {
            match trajectories.projection.explained_variance {
                Some([first, second]) => format!(
                    "fixed PCA projection ({:.0}% + {:.0}% of the variance)",
                    100.0 * first,
                    100.0 * second
                ),
                None => "fixed PCA projection".to_string(),
            }
        }
    };
    header_ui(
        ui,
        report,
        state.is_busy(),
        &format!("{} points, {projection}", trajectories.paths.len()),
    );
    ui.horizontal(|ui| {
        let play = if state.playing {
            "Stop playing"
        } else {
            "Play layers"
        };
        if ui
            .button(play)
            .on_hover_text("Step through the layers z₀ → z_K")
            .clicked()
        {
            state.playing = !state.playing;
            state.last_tick = None;
            if state.playing && state.layer >= layers {
                state.layer = 0;
            }
        }
        // Room for the value and the word "layer" in a narrow panel.
        ui.spacing_mut().slider_width = (ui.available_width() - 110.0).clamp(40.0, 240.0);
        ui.add(egui::Slider::new(&mut state.layer, 0..=layers).text("layer"))
            .on_hover_text("The layer k whose states z_k are drawn as points");
    });
    if state.playing {
        let now = Instant::now();
        let due = state
            .last_tick
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(120));
        if due {
            state.last_tick = Some(now);
            if state.layer >= layers {
                state.playing = false;
            } else {
                state.layer += 1;
            }
        }
        ui.ctx().request_repaint_after(Duration::from_millis(30));
    }
    let layer = state.layer;
    let classes = trajectories
        .labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m + 1);
    let names: Vec<String> = (0..classes)
        .map(|class| format!("class {class} at layer {layer}"))
        .collect();
    let all: Vec<[f64; 2]> = trajectories.paths.iter().flatten().copied().collect();
    keep_clear(
        ui,
        Plot::new("trajectories").data_aspect(1.0),
        &names,
        &all,
        Corner::RightTop,
        Room::Spare,
    )
    .label_formatter(|hover| hover_text(hover, |p| format!("({:.3}, {:.3})", p.x, p.y)))
    .show(ui, |plot| {
        for (path, label) in trajectories.paths.iter().zip(&trajectories.labels) {
            let color = class_color(*label).gamma_multiply(0.35);
            plot.line(
                Line::new("", PlotPoints::from(path.clone()))
                    .color(color)
                    .width(1.0)
                    .allow_hover(false),
            );
        }
        for (class, name) in names.into_iter().enumerate() {
            let points: Vec<[f64; 2]> = trajectories
                .paths
                .iter()
                .zip(&trajectories.labels)
                .filter(|(_, l)| **l == class)
                .filter_map(|(path, _)| path.get(layer).copied())
                .collect();
            plot.points(
                Points::new(name, points)
                    .color(class_color(class))
                    .radius(3.0),
            );
        }
    });
}

/// The decision boundary as an image: the class colour, stronger where the model is sure.
pub(super) fn boundary_image(
    boundary: &crate::diagnostics::DecisionBoundary,
    classes: usize,
) -> ColorImage {
    let n = boundary.resolution.max(1);
    let two_d = boundary.features.len() > 1;
    let rows = if two_d { n } else { 1 };
    let floor = 1.0 / classes.max(2) as f64;
    let mut pixels = Vec::with_capacity(n * rows);
    for row in 0..rows {
        // Image rows run top to bottom, the second feature bottom to top.
        let j = rows - 1 - row;
        for i in 0..n {
            let index = j * n + i;
            let class = boundary.classes.get(index).copied().unwrap_or(0);
            let confidence = boundary.confidence.get(index).copied().unwrap_or(floor);
            let sure = ((confidence - floor) / (1.0 - floor)).clamp(0.0, 1.0);
            let [r, g, b, _] = class_color(class).to_array();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "in 0..=255"
            )]
            let alpha = (40.0 + 110.0 * sure) as u8;
            pixels.push(Color32::from_rgba_unmultiplied(r, g, b, alpha));
        }
    }
    ColorImage::new([n, rows], pixels)
}

/// Where the decision-boundary image goes in the plot.
///
/// The grid's values are samples *at* the points `x_i = lo + (hi − lo)·i/(n − 1)`, the first
/// and last on the edges of the data box, while a texel covers a cell with its sample at the
/// centre. So the image covers exactly the data box `[lo, hi]` and shows the texture from the
/// centre of its first texel to the centre of its last (`uv` inset by half a texel): texel `i`'s
/// centre lands on `x_i`, and linear filtering interpolates between grid points. (Stretching
/// all `n` texels over `[lo, hi]` instead puts texel `i` at `lo + (hi − lo)(i + ½)/n`, up to
/// half a cell away from its point: the regions looked shifted against the data.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct BoundaryPlacement {
    pub center: PlotPoint,
    /// Width and height in plot units.
    pub size: egui::Vec2,
    pub uv: egui::Rect,
}

impl BoundaryPlacement {
    pub fn of(boundary: &crate::diagnostics::DecisionBoundary) -> Self {
        let n = boundary.resolution.max(2) as f32;
        let [x0, x1] = boundary.ranges.first().copied().unwrap_or([-1.0, 1.0]);
        let two_d = boundary.features.len() > 1;
        // A one-feature grid is one row, drawn as a band around y = 0 where its points are.
        let [y0, y1] = if two_d {
            boundary.ranges.get(1).copied().unwrap_or([-1.0, 1.0])
        } else {
            [-0.25, 0.25]
        };
        let half_u = 0.5 / n;
        let half_v = if two_d { 0.5 / n } else { 0.5 };
        #[expect(clippy::cast_possible_truncation, reason = "plot sizes fit in f32")]
        let size = egui::vec2((x1 - x0) as f32, (y1 - y0) as f32);
        Self {
            center: PlotPoint::new(0.5 * (x0 + x1), 0.5 * (y0 + y1)),
            size,
            uv: egui::Rect::from_min_max(
                egui::pos2(half_u, half_v),
                egui::pos2(1.0 - half_u, 1.0 - half_v),
            ),
        }
    }
}

pub(in crate::gui) fn decision_boundary_ui(ui: &mut Ui, cx: &mut PlotContext<'_>) {
    let Some(split) = cx.worker.split().cloned() else {
        empty_ui(
            ui,
            PaneKind::DecisionBoundary,
            "no data: the experiment has problems",
        );
        return;
    };
    let report = cx.diagnostics.report.clone();
    let boundary = report.as_ref().and_then(|r| r.decision_boundary.computed());
    match (&report, boundary) {
        (Some(report), Some(boundary)) => {
            let mut note = String::from("filled: training points, rings: test points");
            if !boundary.fixed.is_empty() {
                let _ = write!(
                    note,
                    " · {} other features fixed at their training mean",
                    boundary.fixed.len()
                );
            }
            header_ui(ui, report, cx.diagnostics.is_busy(), &note);
            let stale = cx
                .diagnostics
                .boundary_texture
                .as_ref()
                .is_none_or(|(iteration, _)| *iteration != report.iteration);
            if stale {
                let image = boundary_image(boundary, split.train.n_classes);
                let texture =
                    ui.ctx()
                        .load_texture("decision-boundary", image, TextureOptions::LINEAR);
                cx.diagnostics.boundary_texture = Some((report.iteration, texture));
            }
        }
        (Some(report), None) => {
            let reason = report.decision_boundary.reason().unwrap_or_default();
            ui.label(
                RichText::new(format!("decision boundary not available: {reason}"))
                    .small()
                    .weak(),
            );
        }
        (None, _) => {
            ui.label(
                RichText::new(
                    cx.diagnostics
                        .unavailable()
                        .unwrap_or("waiting for diagnostics: the data alone for now"),
                )
                .small()
                .weak(),
            );
        }
    }
    let image = boundary
        .zip(cx.diagnostics.boundary_texture.as_ref())
        .map(|(b, (_, texture))| {
            let placement = BoundaryPlacement::of(b);
            // Unnamed: no legend entry (the colours are the classes').
            PlotImage::new("", texture.id(), placement.center, placement.size).uv(placement.uv)
        });
    // The legend (one entry per class) goes beside the data and the map, not over them.
    let mut extent: Vec<[f64; 2]> = boundary
        .map(|b| {
            let p = BoundaryPlacement::of(b);
            let (half_w, half_h) = (f64::from(p.size.x) / 2.0, f64::from(p.size.y) / 2.0);
            vec![
                [p.center.x - half_w, p.center.y - half_h],
                [p.center.x + half_w, p.center.y + half_h],
            ]
        })
        .unwrap_or_default();
    for set in [&split.train, &split.test] {
        let second = set.n_features() > 1;
        extent.extend(
            (0..set.labels.len())
                .map(|i| [set.x[[i, 0]], if second { set.x[[i, 1]] } else { 0.0 }]),
        );
    }
    let plot = keep_clear(
        ui,
        Plot::new("decision-boundary").data_aspect(1.0),
        &class_names(&split),
        &extent,
        Corner::RightTop,
        Room::Spare,
    );
    plot.custom_x_axes(x_axis(
        split
            .train
            .feature_names
            .first()
            .cloned()
            .unwrap_or_default(),
    ))
    .y_axis_label(
        split
            .train
            .feature_names
            .get(1)
            .cloned()
            .unwrap_or_default(),
    )
    .show(ui, |plot| {
        if let Some(image) = image {
            plot.image(image);
        }
        data_points(plot, &split);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::DecisionBoundary;

    fn grid(resolution: usize, ranges: Vec<[f64; 2]>) -> DecisionBoundary {
        let cells = resolution.pow(u32::try_from(ranges.len()).unwrap_or(2));
        DecisionBoundary {
            features: (0..ranges.len()).collect(),
            ranges,
            resolution,
            fixed: Vec::new(),
            classes: vec![0; cells],
            confidence: vec![1.0; cells],
        }
    }

    /// Where the centre of texel `i` of `n` (along one axis) lands in plot coordinates, for an
    /// image over `[lo, lo + size]` showing texture coordinates `[u0, u1]`.
    fn texel_centre(i: usize, n: usize, lo: f64, size: f32, u0: f32, u1: f32) -> f64 {
        let u = (i as f64 + 0.5) / n as f64;
        lo + (u - f64::from(u0)) / f64::from(u1 - u0) * f64::from(size)
    }

    #[test]
    fn every_texel_centre_lands_on_its_grid_point() {
        for n in [2, 3, 32, 101] {
            let ranges = vec![[-1.3, 0.9], [2.0, 5.5]];
            let b = grid(n, ranges.clone());
            let p = BoundaryPlacement::of(&b);
            let left = p.center.x - 0.5 * f64::from(p.size.x);
            let bottom = p.center.y - 0.5 * f64::from(p.size.y);
            assert!((left - ranges[0][0]).abs() < 1e-6);
            assert!((bottom - ranges[1][0]).abs() < 1e-6);
            for i in 0..n {
                let x = texel_centre(i, n, left, p.size.x, p.uv.min.x, p.uv.max.x);
                let expected =
                    ranges[0][0] + (ranges[0][1] - ranges[0][0]) * i as f64 / (n - 1) as f64;
                assert!(
                    (x - expected).abs() < 1e-5,
                    "n {n}, texel {i}: {x} vs {expected}"
                );
                // Image rows run top to bottom: texel row r holds grid row n − 1 − r, and the
                // texture's v grows downwards while plot y grows upwards.
                let top = bottom + f64::from(p.size.y);
                let v = (i as f64 + 0.5) / n as f64;
                let y = top
                    - (v - f64::from(p.uv.min.y)) / f64::from(p.uv.max.y - p.uv.min.y)
                        * f64::from(p.size.y);
                let j = n - 1 - i;
                let expected =
                    ranges[1][0] + (ranges[1][1] - ranges[1][0]) * j as f64 / (n - 1) as f64;
                assert!(
                    (y - expected).abs() < 1e-5,
                    "n {n}, row {i}: {y} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn a_one_feature_grid_is_a_band_around_zero() {
        let p = BoundaryPlacement::of(&grid(16, vec![[0.0, 3.0]]));
        assert_eq!(p.center, PlotPoint::new(1.5, 0.0));
        assert!((p.uv.min.y - 0.5).abs() < 1e-6 && (p.uv.max.y - 0.5).abs() < 1e-6);
        let image = boundary_image(&grid(16, vec![[0.0, 3.0]]), 2);
        assert_eq!(image.size, [16, 1]);
    }
}

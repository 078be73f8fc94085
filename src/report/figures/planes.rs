//! Figures in a plane: eigenvalues of `h·J` over the stability region, the decision boundary
//! with the data, feature trajectories.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Dash, DrawResult, Entry, Figure, Marker, Panel, Swatch};
use super::charts::{
    Ticks, draw_markers, draw_polyline, frame, mesh, mesh_with, padded_range, plot_size,
};
use super::style::{BLUE, GREEN, GREY, SKY, Scale, VERMILLION, class_color, tick, tint};
use crate::data::Split;
use crate::diagnostics::{
    DecisionBoundary, FeatureTrajectories, ProjectionMethod, Spectrum, StabilityRegion,
    in_stability_region,
};

/// Eigenvalues of `h·J` over the stability region.
pub(super) fn stability(spectrum: &Spectrum) -> Result<Figure<'_>, String> {
    if spectrum.eigenvalue_probes == 0 {
        return Err("no eigenvalues of h·J (diagnostics.eigenvalue_probes is 0)".to_owned());
    }
    Ok(Figure {
        panels: vec![Panel::Stability(spectrum)],
    })
}

/// The finite eigenvalues, split into those inside and outside the region.
fn split_eigenvalues(spectrum: &Spectrum) -> (Vec<(f64, f64)>, Vec<(f64, f64)>) {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for w in spectrum.jacobian_eigenvalues.iter().flatten() {
        if !(w[0].is_finite() && w[1].is_finite()) {
            continue;
        }
        if in_stability_region(&spectrum.stability, *w) {
            inside.push((w[0], w[1]));
        } else {
            outside.push((w[0], w[1]));
        }
    }
    (inside, outside)
}

fn region_label(region: &StabilityRegion) -> String {
    match region {
        StabilityRegion::Polynomial { .. } => "stability region |R(w)| ≤ 1".to_owned(),
        StabilityRegion::LeftHalfPlane => "stability region Re w ≤ 0, where |R(w)| ≤ 1".to_owned(),
        StabilityRegion::ImaginaryInterval { half_length } => format!(
            "stable segment w = iωh, |ωh| < {} (harmonic oscillator)",
            tick(*half_length)
        ),
    }
}

pub(super) fn stability_entries(spectrum: &Spectrum) -> Vec<Entry> {
    let (inside, outside) = split_eigenvalues(spectrum);
    let total = inside.len() + outside.len();
    let swatch = match spectrum.stability {
        StabilityRegion::ImaginaryInterval { .. } => Swatch::Line {
            color: GREEN,
            dash: Dash::Solid,
            width: 5.0,
            marker: None,
        },
        _ => Swatch::Area(tint(SKY, 0.35)),
    };
    let mut entries = vec![
        Entry {
            label: region_label(&spectrum.stability),
            swatch,
        },
        Entry {
            label: format!(
                "eigenvalues of h·J(y_k) inside: {} of {total} ({} probes × {} layers)",
                inside.len(),
                spectrum.eigenvalue_probes,
                spectrum.jacobian_eigenvalues.len()
            ),
            swatch: Swatch::Point {
                color: BLUE,
                marker: Marker::Circle,
                filled: true,
            },
        },
    ];
    if !outside.is_empty() {
        entries.push(Entry {
            label: format!("eigenvalues outside: {} of {total}", outside.len()),
            swatch: Swatch::Point {
                color: VERMILLION,
                marker: Marker::Triangle,
                filled: true,
            },
        });
    }
    entries
}

pub(super) fn draw_stability<DB: DrawingBackend>(
    spectrum: &Spectrum,
    area: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (inside, outside) = split_eigenvalues(spectrum);
    let mut xs: Vec<f64> = inside.iter().chain(&outside).map(|w| w.0).collect();
    let mut ys: Vec<f64> = inside.iter().chain(&outside).map(|w| w.1).collect();
    match &spectrum.stability {
        StabilityRegion::Polynomial { extent, .. } => {
            xs.extend([extent[0], extent[1]]);
            ys.extend([extent[2], extent[3]]);
        }
        StabilityRegion::LeftHalfPlane => {
            xs.extend([-1.0, 0.5]);
            ys.extend([-1.0, 1.0]);
        }
        StabilityRegion::ImaginaryInterval { half_length } => {
            xs.extend([-0.5 * half_length, 0.5 * half_length]);
            ys.extend([-1.1 * half_length, 1.1 * half_length]);
        }
    }
    let x = padded_range(xs.into_iter()).unwrap_or([-1.0, 1.0]);
    let y = padded_range(ys.into_iter()).unwrap_or([-1.0, 1.0]);
    // Equal scales on both axes, so the region keeps its shape.
    let (plot_w, plot_h) = plot_size(area.dim_in_pixel(), s);
    let per_px = ((x[1] - x[0]) / plot_w).max((y[1] - y[0]) / plot_h);
    let grow = |r: [f64; 2], px: f64| {
        let mid = 0.5 * (r[0] + r[1]);
        [mid - 0.5 * per_px * px, mid + 0.5 * per_px * px]
    };
    let (x, y) = (grow(x, plot_w), grow(y, plot_h));
    let title = format!(
        "Eigenvalues of h·J and stability region (h = {})",
        tick(spectrum.step)
    );
    let mut chart = frame(area, &title, s).build_cartesian_2d(x[0]..x[1], y[0]..y[1])?;
    let fill = tint(SKY, 0.35).filled();
    match &spectrum.stability {
        StabilityRegion::Polynomial { boundary, .. } => {
            chart.draw_series(boundary.iter().map(|curve| {
                Polygon::new(curve.iter().map(|w| (w[0], w[1])).collect::<Vec<_>>(), fill)
            }))?;
        }
        StabilityRegion::LeftHalfPlane => {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x[0], y[0]), (0.0, y[1])],
                fill,
            )))?;
        }
        StabilityRegion::ImaginaryInterval { .. } => {}
    }
    mesh(&mut chart, "Re(hλ)", "Im(hλ)", s)?;
    let edge = BLACK.stroke_width(s.stroke(1.5));
    match &spectrum.stability {
        StabilityRegion::Polynomial { boundary, .. } => {
            for curve in boundary {
                chart.draw_series(LineSeries::new(curve.iter().map(|w| (w[0], w[1])), edge))?;
            }
        }
        StabilityRegion::LeftHalfPlane => {
            chart.draw_series(LineSeries::new([(0.0, y[0]), (0.0, y[1])], edge))?;
        }
        StabilityRegion::ImaginaryInterval { half_length } => {
            chart.draw_series(LineSeries::new(
                [(0.0, -half_length), (0.0, *half_length)],
                GREEN.stroke_width(s.stroke(5.0)),
            ))?;
        }
    }
    draw_markers(
        &mut chart,
        &inside,
        Marker::Circle,
        BLUE.mix(0.7).filled(),
        3.0,
        s,
    )?;
    draw_markers(
        &mut chart,
        &outside,
        Marker::Triangle,
        VERMILLION.filled(),
        3.5,
        s,
    )?;
    Ok(())
}

/// Class names of a split (`class c` where a name is missing).
pub(super) fn class_names(split: &Split) -> Vec<String> {
    (0..split.train.n_classes)
        .map(|c| {
            split
                .train
                .class_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("class {c}"))
        })
        .collect()
}

/// How much of a class colour fills its region of the decision boundary.
const REGION_TINT: f64 = 0.35;

pub(super) fn boundary_entries(b: &DecisionBoundary, split: &Split) -> Vec<Entry> {
    let mut entries: Vec<Entry> = class_names(split)
        .into_iter()
        .enumerate()
        .map(|(c, name)| Entry {
            label: format!("predicted {name}"),
            swatch: Swatch::Area(tint(class_color(c), REGION_TINT)),
        })
        .collect();
    entries.push(Entry {
        label: format!("training points ({})", split.train.len()),
        swatch: Swatch::Point {
            color: GREY,
            marker: Marker::Circle,
            filled: true,
        },
    });
    if !split.test.is_empty() {
        entries.push(Entry {
            label: format!("test points ({})", split.test.len()),
            swatch: Swatch::Point {
                color: GREY,
                marker: Marker::Triangle,
                filled: false,
            },
        });
    }
    if !b.fixed.is_empty() {
        entries.push(Entry {
            label: {
                let fixed: Vec<String> = b
                    .fixed
                    .iter()
                    .map(|&(j, value)| format!("{} = {}", feature_name(split, j), tick(value)))
                    .collect();
                format!("fixed at the training mean: {}", fixed.join(", "))
            },
            swatch: Swatch::Note,
        });
    }
    entries
}

/// Name of input feature `j`, marked when standardised.
fn feature_name(split: &Split, j: usize) -> String {
    let name = split
        .train
        .feature_names
        .get(j)
        .cloned()
        .unwrap_or_else(|| format!("x{j}"));
    if split.standardization.is_some() {
        format!("{name} (standardised)")
    } else {
        name
    }
}

pub(super) fn draw_boundary<DB: DrawingBackend>(
    b: &DecisionBoundary,
    split: &Split,
    area: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = b.resolution.max(2);
    let range = |a: usize| b.ranges.get(a).copied().unwrap_or([0.0, 1.0]);
    let [x0, x1] = range(0);
    let two_d = b.features.len() >= 2;
    let cell_x = (x1 - x0) / (n - 1) as f64;
    let (y_lo, y_hi, cell_y) = if two_d {
        let [y0, y1] = range(1);
        let cell = (y1 - y0) / (n - 1) as f64;
        (y0 - 0.5 * cell, y1 + 0.5 * cell, cell)
    } else {
        (-0.5, split.train.n_classes as f64 - 0.5, 0.0)
    };
    let title = if two_d {
        "Decision boundary and data"
    } else {
        "Decision regions and data (one input feature)"
    };
    let mut chart = frame(area, title, s)
        .build_cartesian_2d((x0 - 0.5 * cell_x)..(x1 + 0.5 * cell_x), y_lo..y_hi)?;
    // Runs of equal class along each grid row become one rectangle each.
    let rows = if two_d { n } else { 1 };
    let mut cells = Vec::new();
    for j in 0..rows {
        let class_at = |i: usize| b.classes.get(j * n + i).copied().unwrap_or(0);
        let mut i = 0;
        while i < n {
            let class = class_at(i);
            let start = i;
            while i < n && class_at(i) == class {
                i += 1;
            }
            let left = x0 + (start as f64 - 0.5) * cell_x;
            let right = x0 + (i as f64 - 0.5) * cell_x;
            let (bottom, top) = if two_d {
                let y = range(1)[0] + j as f64 * cell_y;
                (y - 0.5 * cell_y, y + 0.5 * cell_y)
            } else {
                (y_lo, y_hi)
            };
            cells.push(Rectangle::new(
                [(left, bottom), (right, top)],
                tint(class_color(class), REGION_TINT).filled(),
            ));
        }
    }
    chart.draw_series(cells)?;
    if two_d {
        let y_desc = feature_name(split, b.features[1]);
        mesh(&mut chart, &feature_name(split, b.features[0]), &y_desc, s)?;
    } else {
        let names = class_names(split);
        let class_label = |v: &f64| -> String {
            let nearest = v.round();
            if (v - nearest).abs() < 1e-6 && nearest >= 0.0 {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a small non-negative integer"
                )]
                let index = nearest as usize;
                names.get(index).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        mesh_with(
            &mut chart,
            &feature_name(split, b.features[0]),
            "true class (train above, test below)",
            Ticks::NUMBERS,
            Ticks {
                format: Some(&class_label),
                ..Ticks::NUMBERS
            },
            s,
        )?;
    }
    let first = b.features.first().copied().unwrap_or(0);
    let second = b.features.get(1).copied();
    // With one feature, training points sit just above their class's line, test points below.
    let position = |x: &ndarray::Array2<f64>, r: usize, label: usize, shift: f64| -> (f64, f64) {
        let y = second.map_or(label as f64 + shift, |j| x[[r, j]]);
        (x[[r, first]], y)
    };
    let outline = RGBColor(40, 40, 40).stroke_width(s.stroke(0.5));
    for class in 0..split.train.n_classes {
        let color = class_color(class);
        let points = |data: &crate::data::Dataset, shift: f64| -> Vec<(f64, f64)> {
            data.labels
                .iter()
                .enumerate()
                .filter(|&(_, &l)| l == class)
                .map(|(r, &l)| position(&data.x, r, l, shift))
                .collect()
        };
        let train = points(&split.train, 0.1);
        draw_markers(&mut chart, &train, Marker::Circle, color.filled(), 3.0, s)?;
        draw_markers(&mut chart, &train, Marker::Circle, outline, 3.0, s)?;
        let test = points(&split.test, -0.1);
        let ring = color.stroke_width(s.stroke(1.5));
        draw_markers(&mut chart, &test, Marker::Triangle, ring, 4.0, s)?;
    }
    Ok(())
}

/// States of training points through the layers.
pub(super) fn trajectories<'a>(t: &'a FeatureTrajectories, split: &Split) -> Figure<'a> {
    Figure {
        panels: vec![Panel::Trajectories(t, class_names(split))],
    }
}

pub(super) fn trajectory_entries(t: &FeatureTrajectories, names: &[String]) -> Vec<Entry> {
    let mut present: Vec<usize> = t.labels.clone();
    present.sort_unstable();
    present.dedup();
    let mut entries: Vec<Entry> = present
        .into_iter()
        .map(|c| Entry {
            label: names
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("class {c}")),
            swatch: Swatch::Line {
                color: class_color(c),
                dash: Dash::Solid,
                width: 2.0,
                marker: None,
            },
        })
        .collect();
    entries.push(Entry {
        label: "start, t = 0".to_owned(),
        swatch: Swatch::Point {
            color: GREY,
            marker: Marker::Circle,
            filled: false,
        },
    });
    entries.push(Entry {
        label: format!(
            "end, t = T = {}",
            tick(t.times.last().copied().unwrap_or(f64::NAN))
        ),
        swatch: Swatch::Point {
            color: GREY,
            marker: Marker::Circle,
            filled: true,
        },
    });
    entries
}

/// Whether the states are one-dimensional (then drawn against time).
fn one_dimensional(t: &FeatureTrajectories) -> bool {
    matches!(t.projection.method, ProjectionMethod::Direct) && t.projection.mean.len() <= 1
}

pub(super) fn draw_trajectories<DB: DrawingBackend>(
    t: &FeatureTrajectories,
    area: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let against_time = one_dimensional(t);
    let paths: Vec<Vec<(f64, f64)>> = t
        .paths
        .iter()
        .map(|path| {
            if against_time {
                t.times
                    .iter()
                    .zip(path)
                    .map(|(&time, p)| (time, p[0]))
                    .collect()
            } else {
                path.iter().map(|p| (p[0], p[1])).collect()
            }
        })
        .collect();
    let x = padded_range(paths.iter().flatten().map(|p| p.0)).unwrap_or([0.0, 1.0]);
    let y = padded_range(paths.iter().flatten().map(|p| p.1)).unwrap_or([0.0, 1.0]);
    let (title, x_desc, y_desc) = match (&t.projection.method, t.projection.explained_variance) {
        _ if against_time => (
            "Feature trajectories z(t)".to_owned(),
            "layer time t_k".to_owned(),
            "state z_k".to_owned(),
        ),
        (ProjectionMethod::PrincipalComponents { .. }, Some(share)) => (
            "Feature trajectories, projected on principal axes".to_owned(),
            format!("principal axis 1 ({:.0}% of variance)", 100.0 * share[0]),
            format!("principal axis 2 ({:.0}% of variance)", 100.0 * share[1]),
        ),
        _ => (
            "Feature trajectories z(t), 0 ≤ t ≤ T".to_owned(),
            "z₁".to_owned(),
            "z₂".to_owned(),
        ),
    };
    let mut chart = frame(area, &title, s).build_cartesian_2d(x[0]..x[1], y[0]..y[1])?;
    mesh(&mut chart, &x_desc, &y_desc, s)?;
    for (path, &label) in paths.iter().zip(&t.labels) {
        let style = class_color(label).mix(0.5).stroke_width(s.stroke(1.25));
        for run in path.split(|p| !(p.0.is_finite() && p.1.is_finite())) {
            draw_polyline(&mut chart, run, style)?;
        }
    }
    let outline = BLACK.stroke_width(s.stroke(0.75));
    for class in t
        .labels
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let color = class_color(class);
        let ends = |pick: fn(&[(f64, f64)]) -> Option<&(f64, f64)>| -> Vec<(f64, f64)> {
            paths
                .iter()
                .zip(&t.labels)
                .filter(|&(_, &l)| l == class)
                .filter_map(|(p, _)| pick(p).copied())
                .collect()
        };
        let starts = ends(<[(f64, f64)]>::first);
        let finals = ends(<[(f64, f64)]>::last);
        draw_markers(
            &mut chart,
            &starts,
            Marker::Circle,
            color.stroke_width(s.stroke(1.25)),
            3.0,
            s,
        )?;
        draw_markers(&mut chart, &finals, Marker::Circle, color.filled(), 3.5, s)?;
        draw_markers(&mut chart, &finals, Marker::Circle, outline, 3.5, s)?;
    }
    Ok(())
}

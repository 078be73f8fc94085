//! Figures of a study (a grid of runs over settings and seeds): a metric against a varied
//! setting, one line per group with a band over the seeds ([`write_study_chart`]), and the loss
//! curves of every run overlaid, coloured by group ([`write_loss_curves`]).
//!
//! Groups take the palette in order, as runs do in the workbench; lines carry markers that
//! cycle with the colours, so that they stay apart in grey print.

use std::path::{Path, PathBuf};

use super::canvas::{Dash, LinePanel, Marker, Series, render};
use super::single;
use super::style::{GREY, class_color, tick};
use crate::report::Error;

/// One point of a study line: the mean over seeds at one x, and the band drawn around it.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyPoint {
    /// The value of the varied setting.
    pub x: f64,
    /// The metric's mean over the seeds.
    pub mean: f64,
    /// Bottom of the band (the caller chooses: the smallest seed, mean − one deviation, ...).
    pub low: f64,
    /// Top of the band.
    pub high: f64,
}

/// One line of a study chart (one group): its points in x order.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyLine {
    /// Legend text.
    pub label: String,
    /// The points, in x order.
    pub points: Vec<StudyPoint>,
}

/// A metric against a varied setting, one line per group with a band over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyChart {
    /// Title above the chart.
    pub title: String,
    /// Description of the x axis (the varied setting).
    pub x_desc: String,
    /// Description of the y axis (the metric).
    pub y_desc: String,
    /// Logarithmic x axis (values that are not positive are left out).
    pub log_x: bool,
    /// Logarithmic y axis (likewise).
    pub log_y: bool,
    /// The lines, coloured in the palette's order.
    pub lines: Vec<StudyLine>,
    /// Reference slopes on a log-log chart: dashed grey lines y = c·x^p, each through the first
    /// point of the first line, labelled "slope p".
    pub reference_slopes: Vec<f64>,
}

/// Loss curves of a study overlaid: each group's runs in the group's colour (thin), log y.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveGroup {
    /// Legend text (one entry for the group, however many runs it has).
    pub label: String,
    /// `(iteration, objective)` of each run.
    pub curves: Vec<Vec<(f64, f64)>>,
}

/// Markers cycle with the colours.
const MARKERS: [Marker; 3] = [Marker::Circle, Marker::Square, Marker::Triangle];

/// Writes `NAME.svg` and `NAME.png` of the chart into `dir` (created by the caller); returns
/// both paths. A chart without a single finite point (positive on a log axis) is refused.
pub fn write_study_chart(
    chart: &StudyChart,
    name: &str,
    dir: &Path,
) -> Result<[PathBuf; 2], Error> {
    let panel = study_panel(chart).map_err(|reason| refused(name, reason))?;
    render(&single(panel), name, dir)
}

/// Writes `NAME.svg` and `NAME.png` of every group's loss curves (thin lines in the group's
/// colour, log y) into `dir` (created by the caller); returns both paths. Refused when no
/// curve has a positive value.
pub fn write_loss_curves(
    title: &str,
    groups: &[CurveGroup],
    name: &str,
    dir: &Path,
) -> Result<[PathBuf; 2], Error> {
    let panel = loss_panel(title, groups).map_err(|reason| refused(name, reason))?;
    render(&single(panel), name, dir)
}

/// The error of a figure with nothing to draw.
fn refused(name: &str, reason: String) -> Error {
    Error::Figure {
        name: name.to_owned(),
        reason,
    }
}

/// Whether a value can be drawn on an axis: finite, and positive on a log axis.
fn drawable(value: f64, log: bool) -> bool {
    value.is_finite() && (!log || value > 0.0)
}

/// The panel of a study chart: per line its band (or error bar) and its marked line, then the
/// reference slopes.
fn study_panel(chart: &StudyChart) -> Result<LinePanel, String> {
    let (log_x, log_y) = (chart.log_x, chart.log_y);
    let mut series = Vec::new();
    for (i, line) in chart.lines.iter().enumerate() {
        let color = class_color(i);
        let points: Vec<&StudyPoint> = line
            .points
            .iter()
            .filter(|p| drawable(p.x, log_x) && drawable(p.mean, log_y))
            .collect();
        if points.is_empty() {
            continue;
        }
        let spread: Vec<(f64, f64, f64)> = points
            .iter()
            .filter(|p| drawable(p.low, log_y) && drawable(p.high, log_y))
            .map(|p| (p.x, p.low, p.high))
            .collect();
        if spread.len() >= 2 {
            // The band: low values left to right, then high values right to left.
            let mut polygon: Vec<(f64, f64)> = spread.iter().map(|b| (b.0, b.1)).collect();
            polygon.extend(spread.iter().rev().map(|b| (b.0, b.2)));
            series.push(Series::band(polygon, color));
        } else {
            series.push(Series::error_bars(&spread, color));
        }
        series.push(
            Series::line(
                line.label.clone(),
                points.iter().map(|p| (p.x, p.mean)).collect(),
                color,
            )
            .marked(MARKERS[i % MARKERS.len()]),
        );
    }
    if series.is_empty() {
        return Err(if log_x || log_y {
            "no finite point (positive on a log axis) to draw".to_owned()
        } else {
            "no finite point to draw".to_owned()
        });
    }
    if log_x && log_y {
        // Under the data (a reference through a line of its slope would hide it), yet after
        // the groups in the legend: drawn unlabelled here, listed by copies without points.
        let references = reference_slopes(chart);
        let legend = references.iter().map(|r| Series {
            points: Vec::new(),
            ..r.clone()
        });
        series.extend(legend.collect::<Vec<_>>());
        let drawn = references.into_iter().map(|r| Series {
            label: String::new(),
            ..r
        });
        series.splice(0..0, drawn);
    }
    Ok(LinePanel {
        title: chart.title.clone(),
        x_desc: chart.x_desc.clone(),
        y_desc: chart.y_desc.clone(),
        log_y,
        log_x,
        series,
    })
}

/// The reference slopes of a log-log chart: y = c·x^p through the first point of the first
/// line, over the chart's x values, cut where it leaves the range of the data's y values (a
/// steep reference would otherwise stretch the axis over decades that hold no data).
fn reference_slopes(chart: &StudyChart) -> Vec<Series> {
    let points = || {
        chart
            .lines
            .iter()
            .flat_map(|line| &line.points)
            .filter(|p| drawable(p.x, true) && drawable(p.mean, true))
    };
    let Some(first) = points().next() else {
        return Vec::new();
    };
    let (x0, y0) = (first.x.log10(), first.mean.log10());
    let extent = |values: &mut dyn Iterator<Item = f64>| {
        values
            .filter(|v| drawable(*v, true))
            .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], v| {
                [lo.min(v.log10()), hi.max(v.log10())]
            })
    };
    let x = extent(&mut points().map(|p| p.x));
    let y = extent(&mut points().flat_map(|p| [p.mean, p.low, p.high]));
    chart
        .reference_slopes
        .iter()
        .filter(|p| p.is_finite())
        .filter_map(|&p| {
            // In decades the reference is Y = y0 + p (X − x0); keep X where Y stays in y.
            let [mut lo, mut hi] = x;
            if p != 0.0 {
                let [a, b] = [x0 + (y[0] - y0) / p, x0 + (y[1] - y0) / p];
                lo = lo.max(a.min(b));
                hi = hi.min(a.max(b));
            }
            let at = |decade: f64| (10_f64.powf(decade), 10_f64.powf(y0 + p * (decade - x0)));
            (hi > lo).then(|| {
                Series::line(format!("slope {}", tick(p)), vec![at(lo), at(hi)], GREY)
                    .dashed(Dash::Dashed)
                    .width(1.5)
            })
        })
        .collect()
}

/// The panel of loss curves: thin lines, one legend entry per group.
fn loss_panel(title: &str, groups: &[CurveGroup]) -> Result<LinePanel, String> {
    let mut series = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        for (k, curve) in group.curves.iter().enumerate() {
            let label = if k == 0 { group.label.as_str() } else { "" };
            series.push(Series::line(label, curve.clone(), class_color(i)).width(1.0));
        }
    }
    let anything = series
        .iter()
        .flat_map(|s| &s.points)
        .any(|&(x, y)| x.is_finite() && drawable(y, true));
    if !anything {
        return Err("no loss curve has a finite, positive value".to_owned());
    }
    Ok(LinePanel {
        title: title.to_owned(),
        x_desc: "iteration".to_owned(),
        y_desc: "training objective".to_owned(),
        log_y: true,
        log_x: false,
        series,
    })
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::BufReader;

    use super::*;

    const GROUPS: [&str; 3] = ["explicit Euler", "Heun", "classical RK4"];

    /// Three groups × five step sizes: errors of order 1, 2 and 4 with a band of ±30%.
    fn convergence() -> StudyChart {
        let lines = GROUPS
            .iter()
            .zip([1, 2, 4])
            .map(|(label, order)| StudyLine {
                label: (*label).to_owned(),
                points: [0.025, 0.05, 0.1, 0.2, 0.4]
                    .iter()
                    .map(|&h: &f64| {
                        let mean = h.powi(order);
                        StudyPoint {
                            x: h,
                            mean,
                            low: 0.7 * mean,
                            high: 1.3 * mean,
                        }
                    })
                    .collect(),
            })
            .collect();
        StudyChart {
            title: "Global error at t = 1 against the step size".to_owned(),
            x_desc: "step size h".to_owned(),
            y_desc: "error |y_h(1) − y(1)| (mean over 5 seeds)".to_owned(),
            log_x: true,
            log_y: true,
            lines,
            reference_slopes: vec![1.0, 4.0],
        }
    }

    /// Loss curves of three groups of four runs.
    fn curves() -> Vec<CurveGroup> {
        GROUPS
            .iter()
            .enumerate()
            .map(|(g, label)| CurveGroup {
                label: (*label).to_owned(),
                curves: (0..4)
                    .map(|seed| {
                        let rate = 0.01 * f64::from(u8::try_from(g + 1).unwrap_or(1));
                        let start = 1.0 + 0.2 * f64::from(seed);
                        (0..300)
                            .map(|i| {
                                let t = f64::from(i);
                                let wiggle = 1.0 + 0.1 * (0.3 * t + f64::from(seed)).sin();
                                (t, start * (-rate * t).exp() * wiggle + 1e-3)
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect()
    }

    /// The size of an SVG from its root element.
    fn svg_size(text: &str) -> (u32, u32) {
        let attribute = |name: &str| -> u32 {
            let start = text.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            let end = start + text[start..].find('"').unwrap();
            text[start..end].parse().unwrap()
        };
        (attribute("width"), attribute("height"))
    }

    /// Checks the pair of files: the SVG names every label, the PNG decodes at twice its size
    /// and is not blank.
    fn check(files: &[PathBuf; 2], labels: &[&str]) {
        let [svg, png] = files;
        let text = fs::read_to_string(svg).unwrap();
        for label in labels {
            assert!(
                text.contains(label),
                "{label} missing from {}",
                svg.display()
            );
        }
        let (width, height) = svg_size(&text);
        assert_eq!(width, 600);
        assert!(height > 420, "no room for the legend: {height}");
        let decoder = png::Decoder::new(BufReader::new(fs::File::open(png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (2 * width, 2 * height));
        let ink = pixels
            .chunks(3)
            .filter(|p| p.iter().any(|&c| c < 200))
            .count();
        assert!(
            ink * 100 > pixels.len() / 3,
            "{} is nearly blank",
            png.display()
        );
    }

    fn write_all(dir: &Path) -> Vec<PathBuf> {
        let chart = convergence();
        let mut written = Vec::new();
        let files = write_study_chart(&chart, "convergence", dir).unwrap();
        check(
            &files,
            &[GROUPS[0], GROUPS[1], GROUPS[2], "slope 1", "slope 4"],
        );
        written.extend(files);

        // Linear axes; one group at a single x (an error bar), one with NaN and inf holes.
        let mut linear = chart.clone();
        linear.title = "Test accuracy against the width".to_owned();
        linear.y_desc = "test accuracy (%)".to_owned();
        linear.log_x = false;
        linear.log_y = false;
        linear.lines[0].points.truncate(1);
        linear.lines[1].points[2].mean = f64::NAN;
        linear.lines[2].points[1].high = f64::INFINITY;
        linear.lines[2].points[3].x = f64::NEG_INFINITY;
        let files = write_study_chart(&linear, "linear", dir).unwrap();
        check(&files, &GROUPS);
        written.extend(files);

        // Log axes with every group at one x: error bars, no reference (no x range to span).
        let mut single = chart.clone();
        single.title = "Error at h = 0.1".to_owned();
        for line in &mut single.lines {
            line.points.retain(|p| p.x == 0.1);
        }
        let files = write_study_chart(&single, "single", dir).unwrap();
        check(&files, &GROUPS);
        assert!(!fs::read_to_string(&files[0]).unwrap().contains("slope"));
        written.extend(files);

        let files = write_loss_curves("Training objective by integrator", &curves(), "loss", dir);
        let files = files.unwrap();
        check(&files, &GROUPS);
        written.extend(files);
        written
    }

    #[test]
    fn study_figures_name_every_group_and_decode() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_all(dir.path()).len(), 8);
    }

    /// Writes the figures for a look (`FLOWLAB_FIGURE_PREVIEW`, default a `flowlab_study_figures`
    /// folder in the temporary directory).
    #[test]
    #[ignore = "writes preview figures to look at"]
    fn preview_study_figures() {
        let dir = std::env::var_os("FLOWLAB_FIGURE_PREVIEW").map_or_else(
            || std::env::temp_dir().join("flowlab_study_figures"),
            PathBuf::from,
        );
        fs::create_dir_all(&dir).unwrap();
        for path in write_all(&dir) {
            println!("{}", path.display());
        }
    }

    #[test]
    fn a_chart_without_finite_points_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut chart = convergence();
        for point in chart.lines.iter_mut().flat_map(|l| &mut l.points) {
            (point.mean, point.low, point.high) = (f64::NAN, f64::NAN, f64::NAN);
        }
        let error = write_study_chart(&chart, "nothing", dir.path()).unwrap_err();
        assert!(matches!(error, Error::Figure { .. }), "{error}");
        assert!(error.to_string().contains("nothing"), "{error}");
        // Non-positive values on a log axis are not drawable either.
        for point in chart.lines.iter_mut().flat_map(|l| &mut l.points) {
            (point.mean, point.low, point.high) = (-1.0, -2.0, 0.0);
        }
        assert!(write_study_chart(&chart, "negative", dir.path()).is_err());
        let empty = StudyChart {
            lines: Vec::new(),
            ..chart
        };
        assert!(write_study_chart(&empty, "empty", dir.path()).is_err());
        let nan_curves = [CurveGroup {
            label: "diverged".to_owned(),
            curves: vec![vec![(0.0, f64::NAN), (1.0, f64::INFINITY), (2.0, 0.0)]],
        }];
        assert!(write_loss_curves("x", &nan_curves, "diverged", dir.path()).is_err());
        assert!(write_loss_curves("x", &[], "none", dir.path()).is_err());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing is written"
        );
    }
}

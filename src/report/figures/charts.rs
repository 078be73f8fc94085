//! Charts: axes, ranges, curves and markers in data coordinates.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::canvas::{Dash, DrawResult, LinePanel, Marker, Series, Shape, dash_pattern, triangle};
use super::style::{AXIS_SIZE, MARKER_RADIUS, Scale, TICK_SIZE, TITLE_SIZE, tick};

/// Markers at data points of a chart.
pub(super) fn draw_markers<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: &[(f64, f64)],
    marker: Marker,
    style: ShapeStyle,
    radius: f64,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let r = s.ipx(radius);
    let visible = points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite());
    match marker {
        Marker::Circle => {
            chart.draw_series(visible.map(|p| Circle::new(p, r, style)))?;
        }
        Marker::Square => {
            chart.draw_series(
                visible.map(|p| EmptyElement::at(p) + Rectangle::new([(-r, -r), (r, r)], style)),
            )?;
        }
        Marker::Triangle if style.filled => {
            chart.draw_series(
                visible.map(|p| EmptyElement::at(p) + Polygon::new(triangle(r), style)),
            )?;
        }
        Marker::Triangle => {
            let mut outline = triangle(r);
            outline.push(outline[0]);
            chart.draw_series(
                visible.map(|p| EmptyElement::at(p) + PathElement::new(outline.clone(), style)),
            )?;
        }
    }
    Ok(())
}

/// `[lo, hi]` of the finite values, padded by 5% (a unit interval around a single value).
pub(super) fn padded_range(values: impl Iterator<Item = f64>) -> Option<[f64; 2]> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let extent = hi - lo;
    if extent <= 1e-12 * hi.abs().max(lo.abs()) || extent == 0.0 {
        let half = if lo == 0.0 { 1.0 } else { 0.5 * lo.abs() };
        Some([lo - half, hi + half])
    } else {
        Some([lo - 0.05 * extent, hi + 0.05 * extent])
    }
}

/// The range of a log axis in decades (`log10` of the values): at least two decades, widened to
/// whole decades so that both ends carry a labelled tick (a curve near the top is read against
/// a number, not against the title), padded by a tenth of a decade so that no tick label
/// touches the title.
fn decade_range(decades: impl Iterator<Item = f64>) -> Option<[f64; 2]> {
    let (mut a, mut b) = decades
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if a > b {
        return None;
    }
    if b - a < 2.0 {
        let middle = 0.5 * (a + b);
        (a, b) = (middle - 1.0, middle + 1.0);
    }
    // Rounding: a value a hair above a decade does not add a whole decade.
    let (a, b) = ((a + 1e-9).floor(), (b - 1e-9).ceil());
    Some([a - 0.1, b + 0.1])
}

/// Superscript digits, for the exponents of decade labels.
const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/// The tick label of a position on a log axis drawn in decades: at whole decades `0.01` to
/// `100` as numbers and `10ⁿ` beyond, nothing between them.
fn decade_tick(decades: f64) -> String {
    let whole = decades.round();
    if (decades - whole).abs() >= 1e-6 {
        return String::new();
    }
    if whole.abs() <= 2.0 {
        return tick(10_f64.powf(whole));
    }
    let exponent: String = format!("{whole:.0}")
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            _ => c.to_digit(10).map_or(c, |d| SUPERSCRIPTS[d as usize]),
        })
        .collect();
    format!("10{exponent}")
}

/// The ticks of a log axis drawn in decades over `range`: at whole decades only. Plotters puts
/// up to `count` ticks at steps of 1, 2 or 5 times a power of ten; with no more ticks than
/// whole decades in the range, the step is a whole number of decades (seven at most, as on a
/// linear axis), and no tick sits unlabelled between two decades.
fn decade_ticks(range: [f64; 2], format: &dyn Fn(&f64) -> String) -> Ticks<'_> {
    let decades = (range[1].floor() - range[0].ceil() + 1.0).clamp(1.0, 7.0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a whole number in [1, 7]"
    )]
    let count = decades as usize;
    Ticks {
        count,
        format: Some(format),
    }
}

/// Splits points into runs of finite values.
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            run.push((x, y));
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// The chart frame of a panel: margins, title (smaller when it would not fit), label areas.
pub(super) fn frame<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    s: Scale,
) -> ChartBuilder<'a, 'b, DB> {
    let title = s.text(title);
    let (width, _) = area.dim_in_pixel();
    let room = f64::from(width) - f64::from(s.px(24.0));
    let mut size = TITLE_SIZE;
    while size > 12.0 {
        let fits = area
            .estimate_text_size(&title, &s.font(size))
            .is_ok_and(|(w, _)| f64::from(w) <= room);
        if fits {
            break;
        }
        size -= 1.0;
    }
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(s.px(10.0))
        .margin_right(s.px(22.0))
        .caption(title, s.font(size))
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(76.0));
    builder
}

/// The plot's size in pixels inside a [`frame`] of an area of `area_px` (for equal scales).
pub(super) fn plot_size(area_px: (u32, u32), s: Scale) -> (f64, f64) {
    (
        f64::from(area_px.0) - f64::from(s.px(10.0 + 22.0 + 76.0)),
        f64::from(area_px.1) - f64::from(s.px(10.0 + 10.0 + 50.0 + 1.3 * TITLE_SIZE)),
    )
}

/// The ticks of an axis: how many at most, and their text.
#[derive(Clone, Copy)]
pub(super) struct Ticks<'a> {
    /// Most ticks (and grid lines) on the axis.
    pub count: usize,
    /// Text of a tick (a compact number when `None`).
    pub format: Option<&'a dyn Fn(&f64) -> String>,
}

impl Ticks<'_> {
    /// Up to seven ticks labelled with compact numbers.
    pub(super) const NUMBERS: Ticks<'static> = Ticks {
        count: 7,
        format: None,
    };
}

/// Axis descriptions, tick labels and a light grid.
pub(super) fn mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    mesh_with(chart, x_desc, y_desc, Ticks::NUMBERS, Ticks::NUMBERS, s)
}

/// [`mesh`] with the ticks of each axis given.
pub(super) fn mesh_with<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x_ticks: Ticks,
    y_ticks: Ticks,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    // Tick positions come out of floating-point arithmetic: one at 3.5e-18 on an axis
    // spanning 0.03 is 0.
    let snap = |range: std::ops::Range<f64>| 1e-9 * (range.end - range.start).abs();
    let (x_zero, y_zero) = (snap(chart.x_range()), snap(chart.y_range()));
    let x_format = |v: &f64| tick(if v.abs() < x_zero { 0.0 } else { *v });
    let y_format = |v: &f64| tick(if v.abs() < y_zero { 0.0 } else { *v });
    chart
        .configure_mesh()
        .x_desc(s.text(x_desc))
        .y_desc(s.text(y_desc))
        .axis_desc_style(s.font(AXIS_SIZE))
        .label_style(s.font(TICK_SIZE))
        .x_label_formatter(x_ticks.format.unwrap_or(&x_format))
        .y_label_formatter(y_ticks.format.unwrap_or(&y_format))
        .x_labels(x_ticks.count)
        .y_labels(y_ticks.count)
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.stroke(1.0)))
        .axis_style(BLACK.stroke_width(s.stroke(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()?;
    Ok(())
}

/// Draws the series of a line panel on a chart.
fn draw_series_on<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    panel: &LinePanel,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    // Bands first, under every line.
    for series in panel
        .series
        .iter()
        .filter(|series| series.shape == Shape::Band)
    {
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if points.len() >= 3 {
            chart.draw_series(std::iter::once(Polygon::new(
                points,
                series.color.mix(BAND_OPACITY).filled(),
            )))?;
        }
    }
    for series in &panel.series {
        let style = series.color.stroke_width(s.stroke(series.width));
        match series.shape {
            Shape::Band => {}
            Shape::ErrorBars => draw_error_bars(chart, &series.points, style, s)?,
            Shape::Line => {
                let (size, spacing) = dash_pattern(series.dash, s);
                for run in segments(&series.points) {
                    if series.width > 0.0 {
                        if series.dash == Dash::Solid {
                            draw_polyline(chart, &run, style)?;
                        } else {
                            chart.draw_series(DashedLineSeries::new(
                                run.clone(),
                                size,
                                spacing,
                                style,
                            ))?;
                        }
                    }
                    if let Some(marker) = series.marker {
                        draw_markers(chart, &run, marker, series.color.filled(), MARKER_RADIUS, s)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Opacity of a band's fill: light enough that the lines and the other bands show through.
const BAND_OPACITY: f64 = 0.2;

/// Vertical error bars with caps a little wider than a marker; `points` are `(x, low)`,
/// `(x, high)` pairs, and a pair with a non-finite end is left out.
fn draw_error_bars<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: &[(f64, f64)],
    style: ShapeStyle,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let cap = s.ipx(MARKER_RADIUS + 2.5);
    for pair in points.chunks_exact(2) {
        let (low, high) = (pair[0], pair[1]);
        if !(low.0.is_finite() && low.1.is_finite() && high.0.is_finite() && high.1.is_finite()) {
            continue;
        }
        chart.draw_series(std::iter::once(PathElement::new(vec![low, high], style)))?;
        chart.draw_series([low, high].into_iter().map(|end| {
            EmptyElement::at(end) + PathElement::new(vec![(-cap, 0), (cap, 0)], style)
        }))?;
    }
    Ok(())
}

/// A solid polyline drawn segment by segment: plotters joins the segments of a wide line with
/// unlimited miters, which become long spikes where a path turns back sharply.
pub(super) fn draw_polyline<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: &[(f64, f64)],
    style: ShapeStyle,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    chart.draw_series(
        points
            .windows(2)
            .map(|pair| PathElement::new(vec![pair[0], pair[1]], style)),
    )?;
    Ok(())
}

/// Draws a line panel (log or linear axes).
pub(super) fn draw_lines<DB: DrawingBackend>(
    panel: &LinePanel,
    area: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    // Log axes are drawn in decades on a linear axis: plotters' log axis drops the ticks below
    // f64::EPSILON, where symplecticity defects and round-off errors live.
    let decades = |v: f64, log: bool| match (log, v > 0.0) {
        (false, _) => v,
        (true, true) => v.log10(),
        (true, false) => f64::NAN,
    };
    let drawn = LinePanel {
        series: panel
            .series
            .iter()
            .map(|series| Series {
                points: series
                    .points
                    .iter()
                    .map(|&(x, y)| (decades(x, panel.log_x), decades(y, panel.log_y)))
                    .collect(),
                ..series.clone()
            })
            .collect(),
        log_y: false,
        log_x: false,
        ..panel.clone()
    };
    let values = |pick: fn(&(f64, f64)) -> f64| {
        drawn
            .series
            .iter()
            .flat_map(move |s| s.points.iter().map(pick))
            .collect::<Vec<f64>>()
    };
    let range = |values: Vec<f64>, log: bool, default: [f64; 2]| {
        if log {
            decade_range(values.into_iter()).unwrap_or([-1.0, 1.0])
        } else {
            padded_range(values.into_iter()).unwrap_or(default)
        }
    };
    let x = range(values(|p| p.0), panel.log_x, [0.0, 1.0]);
    let y = range(values(|p| p.1), panel.log_y, [0.0, 1.0]);
    let decade_format = |v: &f64| decade_tick(*v);
    let ticks = |range: [f64; 2], log: bool| {
        if log {
            decade_ticks(range, &decade_format)
        } else {
            Ticks::NUMBERS
        }
    };
    let mut chart = frame(area, &panel.title, s).build_cartesian_2d(x[0]..x[1], y[0]..y[1])?;
    mesh_with(
        &mut chart,
        &panel.x_desc,
        &panel.y_desc,
        ticks(x, panel.log_x),
        ticks(y, panel.log_y),
        s,
    )?;
    draw_series_on(&mut chart, &drawn, s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_skip_nan_and_log_ticks_sit_on_decades() {
        let points = [
            (0.0, 1.0),
            (1.0, 0.0),
            (2.0, 2.0),
            (3.0, f64::NAN),
            (4.0, 3.0),
        ];
        assert_eq!(segments(&points).len(), 2);
        assert_eq!(decade_tick(-16.0), "10⁻¹⁶");
        assert_eq!(decade_tick(-2.0), "0.01");
        assert_eq!(decade_tick(2.0), "100");
        assert_eq!(decade_tick(3.0), "10³");
        assert_eq!(decade_tick(-1.5), "");
        // Two decades at least, widened to whole decades.
        let [lo, hi] = decade_range([-16.0, -15.5].into_iter()).unwrap_or_default();
        assert!(
            (lo + 17.1).abs() < 1e-12 && (hi + 13.9).abs() < 1e-12,
            "{lo} {hi}"
        );
        // A curve just below 1 gets the label 1 above it.
        let [lo, hi] = decade_range([-15.7, -0.6].into_iter()).unwrap_or_default();
        assert!(
            (lo + 16.1).abs() < 1e-12 && (hi - 0.1).abs() < 1e-12,
            "{lo} {hi}"
        );
    }
}

//! A figure: panels side by side with their legends, rendered to SVG and PNG files.

use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::draw_lines;
use super::planes;
use super::style::{
    FONT_FAMILY, GREY, LEGEND_ROW, LEGEND_SIZE, MARKER_RADIUS, PANEL_HEIGHT, PANEL_WIDTH, Scale,
    register_font, typeset,
};
use crate::data::Split;
use crate::diagnostics::{Bound, DecisionBoundary, FeatureTrajectories, Rigor, Spectrum};
use crate::experiment::files::{AtomicFile, write_atomic};
use crate::report::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dash {
    /// Measured quantities.
    Solid,
    /// Rigorous bounds.
    Dashed,
    /// Estimated bounds and reference lines.
    Dotted,
}

/// Point markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Marker {
    Circle,
    Square,
    Triangle,
}

/// How a series of a line panel is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// A polyline through the points (with markers when the series has one).
    Line,
    /// The closed polygon of the points, filled with a translucent tint of the colour (a band
    /// around a line), drawn under every line.
    Band,
    /// Vertical error bars with caps: the points taken in pairs `(x, low)`, `(x, high)`.
    ErrorBars,
}

/// One curve of a line panel.
#[derive(Clone, Debug)]
pub(super) struct Series {
    /// Legend text (none when empty).
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub dash: Dash,
    /// Line width at scale 1 (0: markers only).
    pub width: f64,
    pub marker: Option<Marker>,
    pub shape: Shape,
}

impl Series {
    /// A solid line.
    pub(super) fn line(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Self {
            label: label.into(),
            points,
            color,
            dash: Dash::Solid,
            width: 2.0,
            marker: None,
            shape: Shape::Line,
        }
    }

    /// A band (unlabelled): the closed polygon of `points`, filled with a translucent `color`.
    pub(super) fn band(points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Self {
            shape: Shape::Band,
            ..Self::line("", points, color)
        }
    }

    /// Error bars (unlabelled) from `low` to `high` at each `x`.
    pub(super) fn error_bars(bars: &[(f64, f64, f64)], color: RGBColor) -> Self {
        let points = bars
            .iter()
            .flat_map(|&(x, low, high)| [(x, low), (x, high)])
            .collect();
        Self {
            shape: Shape::ErrorBars,
            ..Self::line("", points, color).width(1.5)
        }
    }

    /// With a marker at every point.
    pub(super) fn marked(mut self, marker: Marker) -> Self {
        self.marker = Some(marker);
        self
    }

    /// Drawn dashed or dotted.
    pub(super) fn dashed(mut self, dash: Dash) -> Self {
        self.dash = dash;
        self
    }

    /// Of a different line width.
    pub(super) fn width(mut self, width: f64) -> Self {
        self.width = width;
        self
    }

    /// A bound, dashed when rigorous and dotted when estimated, and labelled so.
    pub(super) fn bound(bound: &Bound, times: &[f64], color: RGBColor) -> Self {
        let (rigor, dash) = match bound.rigor {
            Rigor::Rigorous => ("rigorous", Dash::Dashed),
            Rigor::Estimate => ("estimate", Dash::Dotted),
        };
        Self::line(
            format!("{} ({rigor})", bound.label),
            zip(times, &bound.values),
            color,
        )
        .dashed(dash)
    }
}

/// `(x, y)` pairs.
pub(super) fn zip(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

/// A horizontal reference line over `[x0, x1]`.
pub(super) fn reference(label: impl Into<String>, x: [f64; 2], y: f64) -> Series {
    Series::line(label, vec![(x[0], y), (x[1], y)], GREY)
        .dashed(Dash::Dotted)
        .width(1.5)
}

/// A legend entry's sample.
#[derive(Clone, Copy, Debug)]
pub(super) enum Swatch {
    Line {
        color: RGBColor,
        dash: Dash,
        width: f64,
        marker: Option<Marker>,
    },
    Point {
        color: RGBColor,
        marker: Marker,
        filled: bool,
    },
    Area(RGBColor),
    /// Text only.
    Note,
}

/// One entry of a legend.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub label: String,
    pub swatch: Swatch,
}

impl From<&Series> for Entry {
    fn from(s: &Series) -> Self {
        Self {
            label: s.label.clone(),
            swatch: Swatch::Line {
                color: s.color,
                dash: s.dash,
                width: s.width,
                marker: s.marker,
            },
        }
    }
}

/// A chart of curves against a common x axis.
#[derive(Clone, Debug)]
pub(super) struct LinePanel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    /// Logarithmic y axis (values that are not positive are left out).
    pub log_y: bool,
    /// Logarithmic x axis (likewise).
    pub log_x: bool,
    pub series: Vec<Series>,
}

/// A chart of a figure.
pub(super) enum Panel<'a> {
    Lines(LinePanel),
    Stability(&'a Spectrum),
    Boundary(&'a DecisionBoundary, &'a Split),
    Trajectories(&'a FeatureTrajectories, Vec<String>),
}

impl Panel<'_> {
    /// The legend entries.
    fn entries(&self) -> Vec<Entry> {
        match self {
            Panel::Lines(p) => p
                .series
                .iter()
                .filter(|s| !s.label.is_empty())
                .map(Entry::from)
                .collect(),
            Panel::Stability(spectrum) => planes::stability_entries(spectrum),
            Panel::Boundary(boundary, split) => planes::boundary_entries(boundary, split),
            Panel::Trajectories(t, names) => planes::trajectory_entries(t, names),
        }
    }
}

/// One figure: panels side by side, each with its legend below.
pub(super) struct Figure<'a> {
    pub panels: Vec<Panel<'a>>,
}

/// What drawing returns: the backends' errors differ, so they are boxed.
pub(super) type DrawResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------------------------
// Rendering

/// Writes `NAME.svg` and `NAME.png` of a figure into `dir`.
pub(super) fn render(figure: &Figure, name: &str, dir: &Path) -> Result<[PathBuf; 2], Error> {
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    let failed = |path: &Path, message: String| Error::Io {
        path: path.to_owned(),
        operation: "draw",
        error: io::Error::other(message),
    };
    register_font().map_err(|e| failed(&svg_path, e))?;
    let layouts: Vec<Legend> = figure.panels.iter().map(Legend::of).collect();
    let count = u32::try_from(figure.panels.len().max(1)).unwrap_or(1);
    let legend = layouts.iter().map(Legend::height).max().unwrap_or(0);
    let size = (PANEL_WIDTH * count, PANEL_HEIGHT + legend);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_figure(figure, &layouts, legend, &root, Scale::SVG)
            .and_then(|()| Ok(root.present()?))
            .map_err(|e| failed(&svg_path, e.to_string()))?;
    }
    write_atomic(&svg_path, svg.as_bytes()).map_err(|error| Error::Io {
        path: svg_path.clone(),
        operation: "write",
        error,
    })?;

    let scale = Scale::PNG;
    let (width, height) = (scale.px(f64::from(size.0)), scale.px(f64::from(size.1)));
    let mut pixels = vec![255_u8; 3 * width as usize * height as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw_figure(figure, &layouts, legend, &root, scale)
            .and_then(|()| Ok(root.present()?))
            .map_err(|e| failed(&png_path, e.to_string()))?;
    }
    write_png(&pixels, width, height, &png_path)?;
    Ok([svg_path, png_path])
}

/// Encodes 8-bit RGB pixels as a PNG file.
fn write_png(pixels: &[u8], width: u32, height: u32, path: &Path) -> Result<(), Error> {
    let io_error = |error: io::Error| Error::Io {
        path: path.to_owned(),
        operation: "write",
        error,
    };
    let mut file = AtomicFile::create(path).map_err(io_error)?;
    let mut encoder = png::Encoder::new(&mut file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder
        .write_header()
        .and_then(|mut writer| {
            writer.write_image_data(pixels)?;
            writer.finish()
        })
        .map_err(|e| io_error(io::Error::other(e)))?;
    file.commit().map_err(io_error)
}

/// A panel's legend laid out in lines: two columns when every label fits in half the panel,
/// otherwise one column with long labels wrapped.
struct Legend {
    entries: Vec<Entry>,
    columns: usize,
    /// Per entry, its text lines.
    lines: Vec<Vec<String>>,
}

impl Legend {
    /// Space of an entry's sample and the gaps around it, at scale 1.
    const SAMPLE_WIDTH: u32 = 16 + 30 + 8 + 12;

    fn of(panel: &Panel) -> Self {
        let entries = panel.entries();
        let font = (FONT_FAMILY, LEGEND_SIZE).into_font();
        // Widths of the SVG's text (the bitmap's is the same at twice the size).
        let width = |text: &str| -> u32 {
            font.box_size(&typeset(text, false))
                .map_or(u32::MAX, |(w, _)| w)
        };
        let room = PANEL_WIDTH - Self::SAMPLE_WIDTH;
        let half_room = PANEL_WIDTH / 2 - Self::SAMPLE_WIDTH;
        let columns = if entries.iter().all(|e| width(&e.label) <= half_room) {
            2
        } else {
            1
        };
        let lines = entries
            .iter()
            .map(|e| wrap(&e.label, room, width))
            .collect();
        Self {
            entries,
            columns,
            lines,
        }
    }

    /// Rows of text (an entry of several lines takes several rows).
    fn rows(&self) -> usize {
        if self.columns == 1 {
            self.lines.iter().map(Vec::len).sum()
        } else {
            self.entries.len().div_ceil(self.columns)
        }
    }

    /// Height at scale 1.
    fn height(&self) -> u32 {
        match u32::try_from(self.rows()) {
            Ok(0) | Err(_) => 0,
            Ok(rows) => rows * LEGEND_ROW + 10,
        }
    }
}

/// Splits a label at spaces into lines no wider than `room` as `width` measures them (a
/// longer word stays whole).
fn wrap(text: &str, room: u32, width: impl Fn(&str) -> u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && width(&candidate) > room {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    lines.push(line);
    lines
}

fn draw_figure<DB: DrawingBackend>(
    figure: &Figure,
    legends: &[Legend],
    legend_height: u32,
    root: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (_, height) = root.dim_in_pixel();
    let legend_px = s.px(f64::from(legend_height));
    let (plots, legend_strip) = root.split_vertically(height.saturating_sub(legend_px));
    let count = figure.panels.len().max(1);
    let plot_areas = plots.split_evenly((1, count));
    let legend_areas = legend_strip.split_evenly((1, count));
    for (((panel, area), legend_area), legend) in figure
        .panels
        .iter()
        .zip(&plot_areas)
        .zip(&legend_areas)
        .zip(legends)
    {
        match panel {
            Panel::Lines(p) => draw_lines(p, area, s)?,
            Panel::Stability(spectrum) => planes::draw_stability(spectrum, area, s)?,
            Panel::Boundary(boundary, split) => planes::draw_boundary(boundary, split, area, s)?,
            Panel::Trajectories(t, _) => planes::draw_trajectories(t, area, s)?,
        }
        draw_legend(legend, legend_area, s)?;
    }
    Ok(())
}

/// Draws a legend: a sample (line, marker or colour patch) and the label of every entry.
fn draw_legend<DB: DrawingBackend>(
    legend: &Legend,
    area: &DrawingArea<DB, Shift>,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (width, _) = area.dim_in_pixel();
    let columns = i32::try_from(legend.columns.max(1))?;
    let column_width = i32::try_from(width)? / columns;
    let row = s.ipx(f64::from(LEGEND_ROW));
    let font = s.font(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    let sample = s.ipx(30.0);
    let mut next_row = 0;
    for (i, (entry, lines)) in legend.entries.iter().zip(&legend.lines).enumerate() {
        let (column, first_row) = if legend.columns == 1 {
            let first = next_row;
            next_row += lines.len();
            (0, first)
        } else {
            (i % legend.columns, i / legend.columns)
        };
        let x0 = s.ipx(16.0) + column_width * i32::try_from(column)?;
        let y = row * i32::try_from(first_row)? + row / 2 + s.ipx(4.0);
        let centre = (x0 + sample / 2, y);
        match entry.swatch {
            Swatch::Line {
                color,
                dash,
                width,
                marker,
            } => {
                if width > 0.0 {
                    draw_path(area, vec![(x0, y), (x0 + sample, y)], color, dash, width, s)?;
                }
                if let Some(marker) = marker {
                    draw_marker(area, centre, marker, color.filled(), s)?;
                }
            }
            Swatch::Point {
                color,
                marker,
                filled,
            } => {
                let style = if filled {
                    color.filled()
                } else {
                    color.stroke_width(s.stroke(1.5))
                };
                draw_marker(area, centre, marker, style, s)?;
            }
            Swatch::Area(color) => {
                let half = s.ipx(7.0);
                let corners = [
                    (centre.0 - half, centre.1 - half),
                    (centre.0 + half, centre.1 + half),
                ];
                area.draw(&Rectangle::new(corners, color.filled()))?;
                area.draw(&Rectangle::new(corners, GREY.stroke_width(s.stroke(1.0))))?;
            }
            Swatch::Note => {}
        }
        let text_x = if matches!(entry.swatch, Swatch::Note) {
            x0
        } else {
            x0 + sample + s.ipx(8.0)
        };
        for (l, line) in lines.iter().enumerate() {
            area.draw(&Text::new(
                s.text(line),
                (text_x, y + row * i32::try_from(l)?),
                font.clone(),
            ))?;
        }
    }
    Ok(())
}

/// A polyline in the pixel coordinates of an area.
fn draw_path<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    color: RGBColor,
    dash: Dash,
    width: f64,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = color.stroke_width(s.stroke(width));
    let (size, spacing) = dash_pattern(dash, s);
    if dash == Dash::Solid {
        area.draw(&PathElement::new(points, style))?;
    } else {
        area.draw(&DashedPathElement::new(points, size, spacing, style))?;
    }
    Ok(())
}

/// Dash length and gap in pixels.
pub(super) fn dash_pattern(dash: Dash, s: Scale) -> (i32, i32) {
    match dash {
        Dash::Solid => (0, 0),
        Dash::Dashed => (s.ipx(7.0), s.ipx(4.0)),
        Dash::Dotted => (s.ipx(2.0), s.ipx(3.0)),
    }
}

/// The outline of a triangle marker of radius `r` around the origin.
pub(super) fn triangle(r: i32) -> Vec<(i32, i32)> {
    vec![(0, -r - r / 3), (-r - r / 6, r), (r + r / 6, r)]
}

/// A marker centred at a pixel of an area.
fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    marker: Marker,
    style: ShapeStyle,
    s: Scale,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let r = s.ipx(MARKER_RADIUS + 0.5);
    match marker {
        Marker::Circle => area.draw(&Circle::new(at, r, style))?,
        Marker::Square => {
            area.draw(&Rectangle::new(
                [(at.0 - r, at.1 - r), (at.0 + r, at.1 + r)],
                style,
            ))?;
        }
        Marker::Triangle => {
            let mut points: Vec<(i32, i32)> = triangle(r)
                .into_iter()
                .map(|(x, y)| (at.0 + x, at.1 + y))
                .collect();
            if style.filled {
                area.draw(&Polygon::new(points, style))?;
            } else {
                points.push(points[0]);
                area.draw(&PathElement::new(points, style))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words() {
        let chars = |t: &str| u32::try_from(t.chars().count()).unwrap_or(u32::MAX);
        assert_eq!(wrap("one two three", 7, chars), ["one two", "three"]);
        assert_eq!(wrap("unbreakable", 4, chars), ["unbreakable"]);
    }
}

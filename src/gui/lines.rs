//! A plot's lines gathered before it is drawn, so that its range can keep the legend's corner
//! clear of data: a legend drawn over the curves hides exactly the values a reader looks for
//! (the largest ν(t), the worst energy error), and in the small panels of the all-panels layout
//! it covers a third of the plot.

use eframe::egui::{TextStyle, Ui};
use egui_plot::{Corner, HLine, Legend, Line, Plot, PlotPoints, Points};

/// Logical pixels a plot gives its axes (tick labels and titles), outside the data area.
const AXES: [f32; 2] = [45.0, 40.0];

/// Never give the legend more than this fraction of the plot's height (or width): a legend that
/// needs more is left over the data rather than squeezing it flat.
const MAX_ROOM: f64 = 0.5;

enum Item {
    Line(Line<'static>),
    Points(Points<'static>),
    HLine(HLine),
}

/// The items of one plot and the points they draw.
#[derive(Default)]
pub struct Lines {
    items: Vec<Item>,
    /// Distinct legend names in order (items with one name share an entry).
    names: Vec<String>,
    points: Vec<[f64; 2]>,
    /// Values of horizontal lines (they span every x).
    levels: Vec<f64>,
}

/// Where the room for the legend is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// Above or below the data (a top or bottom corner): for plots whose axes scale freely.
    Vertical,
    /// Beside the data (a left or right corner).
    Horizontal,
    /// Along whichever axis the panel has spare room for: for plots with a fixed aspect ratio
    /// (equal units on both axes), which fill only one direction of a panel.
    Spare,
}

impl Lines {
    fn named(&mut self, name: &str) {
        if !name.is_empty() && !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_owned());
        }
    }

    /// A line through `points` (finite values only), styled by `style`.
    pub fn line(
        &mut self,
        name: impl Into<String>,
        points: Vec<[f64; 2]>,
        style: impl FnOnce(Line<'static>) -> Line<'static>,
    ) {
        let name = name.into();
        self.named(&name);
        self.points.extend(&points);
        self.items
            .push(Item::Line(style(Line::new(name, PlotPoints::from(points)))));
    }

    /// Markers at `points`, styled by `style`.
    pub fn markers(
        &mut self,
        name: impl Into<String>,
        points: Vec<[f64; 2]>,
        style: impl FnOnce(Points<'static>) -> Points<'static>,
    ) {
        let name = name.into();
        self.named(&name);
        self.points.extend(&points);
        self.items
            .push(Item::Points(style(Points::new(name, points))));
    }

    /// A horizontal line at `y`, styled by `style`.
    pub fn hline(&mut self, name: impl Into<String>, y: f64, style: impl FnOnce(HLine) -> HLine) {
        let name = name.into();
        self.named(&name);
        self.levels.push(y);
        self.items.push(Item::HLine(style(HLine::new(name, y))));
    }

    /// Draws the items in `plot` with the legend in `corner`, widening the plot's range (by
    /// `room`) just enough that no point lies under the legend. The plot's response (clicks,
    /// and the transform from plot to screen coordinates).
    pub fn show(
        self,
        ui: &mut Ui,
        plot: Plot<'_>,
        corner: Corner,
        room: Room,
    ) -> egui_plot::PlotResponse<()> {
        let mut points = self.points;
        let (x0, x1) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[0]), hi.max(p[0]))
            });
        // A horizontal line spans every x: its ends stand for it.
        for &y in &self.levels {
            points.extend([[x0, y], [x1, y]]);
        }
        let plot = keep_clear(ui, plot, &self.names, &points, corner, room);
        plot.show(ui, |plot_ui| {
            for item in self.items {
                match item {
                    Item::Line(line) => plot_ui.line(line),
                    Item::Points(points) => plot_ui.points(points),
                    Item::HLine(hline) => plot_ui.hline(hline),
                }
            }
        })
    }
}

/// `plot` with its legend (entries `names`) in `corner` and its range widened (by `room`) just
/// enough that the legend covers none of `points`, for a plot filling the rest of `ui`.
pub fn keep_clear<'a>(
    ui: &Ui,
    plot: Plot<'a>,
    names: &[String],
    points: &[[f64; 2]],
    corner: Corner,
    room: Room,
) -> Plot<'a> {
    let plot = plot.legend(
        Legend::default()
            .follow_insertion_order(true)
            .position(corner),
    );
    let Some(extent) = extent(points).filter(|_| !names.is_empty()) else {
        return plot;
    };
    let size = ui.available_size();
    let area = [
        f64::from((size.x - AXES[0]).max(1.0)),
        f64::from((size.y - AXES[1]).max(1.0)),
    ];
    match room_for(points, extent, area, legend_size(ui, names), corner, room) {
        Some((0, x)) => plot.include_x(x),
        Some((_, y)) => plot.include_y(y),
        None => plot,
    }
}

/// The points' `[x_min, x_max, y_min, y_max]` (finite ones), if there are any.
fn extent(points: &[[f64; 2]]) -> Option<[f64; 4]> {
    let mut e = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for &[x, y] in points {
        if x.is_finite() && y.is_finite() {
            e = [e[0].min(x), e[1].max(x), e[2].min(y), e[3].max(y)];
        }
    }
    (e[0] <= e[1] && e[2] <= e[3]).then_some(e)
}

/// The legend's `[width, height]` in logical pixels for these entries (egui_plot draws one row
/// of body text per entry after a coloured marker, in a framed box).
fn legend_size(ui: &Ui, names: &[String]) -> [f64; 2] {
    let row = ui.text_style_height(&TextStyle::Body) + ui.spacing().item_spacing.y;
    let char_width = 0.5 * ui.text_style_height(&TextStyle::Body);
    let widest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let frame = 2.0 * 8.0;
    [
        f64::from(widest as f32 * char_width + row + frame),
        f64::from(names.len() as f32 * row + frame),
    ]
}

/// Where the plot's range must reach (`(axis, value)`, axis 0 = x, 1 = y) so that a legend of
/// `legend` pixels in `corner` of a data area of `area` pixels covers no point; `None` when it
/// already covers none.
fn room_for(
    points: &[[f64; 2]],
    [x0, x1, y0, y1]: [f64; 4],
    area: [f64; 2],
    legend: [f64; 2],
    corner: Corner,
    room: Room,
) -> Option<(usize, f64)> {
    // Fractions of the data area under the legend, with some slack for egui_plot's margins.
    let fx = (1.05 * legend[0] / area[0]).min(MAX_ROOM);
    let fy = (1.1 * legend[1] / area[1]).min(MAX_ROOM);
    let (right, top) = match corner {
        Corner::RightTop => (true, true),
        Corner::RightBottom => (true, false),
        Corner::LeftTop => (false, true),
        Corner::LeftBottom => (false, false),
    };
    let span = |lo: f64, hi: f64| if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let (sx, sy) = (span(x0, x1), span(y0, y1));
    let x_covered = |x: f64| {
        if right {
            x >= x1 - fx * sx
        } else {
            x <= x0 + fx * sx
        }
    };
    let y_covered = |y: f64| {
        if top {
            y >= y1 - fy * sy
        } else {
            y <= y0 + fy * sy
        }
    };
    if !points.iter().any(|&[x, y]| x_covered(x) && y_covered(y)) {
        return None;
    }
    let room = match room {
        Room::Spare if area[0] / area[1] >= sx / sy => Room::Horizontal,
        Room::Spare => Room::Vertical,
        other => other,
    };
    // Widen the range so that the legend's fraction of the new range is new room.
    Some(match room {
        Room::Vertical => {
            let extra = sy * fy / (1.0 - fy);
            (1, if top { y1 + extra } else { y0 - extra })
        }
        Room::Horizontal | Room::Spare => {
            let extra = sx * fx / (1.0 - fx);
            (0, if right { x1 + extra } else { x0 - extra })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: [f64; 2] = [400.0, 200.0];
    const LEGEND: [f64; 2] = [120.0, 60.0];

    #[test]
    fn a_curve_under_the_legend_gets_room_above_it() {
        // A curve rising to the top right corner.
        let points: Vec<[f64; 2]> = (0..=10).map(|i| [f64::from(i), f64::from(i)]).collect();
        let extent = [0.0, 10.0, 0.0, 10.0];
        let (axis, top) = room_for(
            &points,
            extent,
            AREA,
            LEGEND,
            Corner::RightTop,
            Room::Vertical,
        )
        .unwrap();
        assert_eq!(axis, 1);
        // The legend's share of the widened range lies wholly above the data.
        let share = 1.1 * LEGEND[1] / AREA[1];
        assert!(top - share * (top - 0.0) >= 10.0 - 1e-9, "top {top}");
        // Beside.
        let (axis, right) = room_for(
            &points,
            extent,
            AREA,
            LEGEND,
            Corner::RightTop,
            Room::Horizontal,
        )
        .unwrap();
        assert_eq!(axis, 0);
        assert!(right > 10.0);
        // Equal units in a wide panel: the spare room is beside; in a tall one, above.
        let spare = |area| room_for(&points, extent, area, LEGEND, Corner::RightTop, Room::Spare);
        assert_eq!(spare(AREA).map(|r| r.0), Some(0));
        assert_eq!(spare([200.0, 400.0]).map(|r| r.0), Some(1));
    }

    #[test]
    fn a_clear_corner_needs_no_room() {
        // A falling curve leaves the top right corner empty.
        let points: Vec<[f64; 2]> = (0..=10)
            .map(|i| [f64::from(i), f64::from(10 - i)])
            .collect();
        let extent = [0.0, 10.0, 0.0, 10.0];
        assert_eq!(
            room_for(
                &points,
                extent,
                AREA,
                LEGEND,
                Corner::RightTop,
                Room::Vertical
            ),
            None
        );
        // But the bottom right one is taken, so room is made below.
        let (axis, bottom) = room_for(
            &points,
            extent,
            AREA,
            LEGEND,
            Corner::RightBottom,
            Room::Vertical,
        )
        .unwrap();
        assert_eq!(axis, 1);
        assert!(bottom < 0.0);
    }
}

//! The shared Okabe–Ito palette ([`crate::report::palette`]) as egui colours: classes, runs and
//! diagnostic lines have the colours they have in the figures.

use eframe::egui::Color32;

use crate::report::palette::{self, Rgb};

/// A colour of the shared palette as egui draws it.
const fn color(c: Rgb) -> Color32 {
    Color32::from_rgb(c.0, c.1, c.2)
}

/// Blue.
pub const BLUE: Color32 = color(palette::BLUE);
/// Orange.
pub const ORANGE: Color32 = color(palette::ORANGE);
/// Bluish green.
pub const GREEN: Color32 = color(palette::GREEN);
/// Reddish purple.
pub const PURPLE: Color32 = color(palette::PURPLE);
/// Vermillion.
pub const VERMILLION: Color32 = color(palette::VERMILLION);
/// Sky blue.
pub const SKY: Color32 = color(palette::SKY);
/// Yellow (for dark backgrounds).
pub const YELLOW: Color32 = color(palette::YELLOW);
/// A darkened yellow that stays readable on light backgrounds.
pub const DARK_YELLOW: Color32 = color(palette::DARK_YELLOW);

/// The colour of class (or run) `index`, in the order of [`palette::OKABE_ITO`].
#[must_use]
pub fn nth(index: usize) -> Color32 {
    color(palette::nth(index))
}

//! The Okabe–Ito colours (Okabe & Ito 2008: distinguishable with every common colour-vision
//! deficiency), one definition for the workbench and the figures, in one order: class, run and
//! series `i` have the same colour in a window and in a figure.

/// An 8-bit sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Blue.
pub const BLUE: Rgb = Rgb(0, 114, 178);
/// Orange.
pub const ORANGE: Rgb = Rgb(230, 159, 0);
/// Bluish green.
pub const GREEN: Rgb = Rgb(0, 158, 115);
/// Reddish purple.
pub const PURPLE: Rgb = Rgb(204, 121, 167);
/// Vermillion.
pub const VERMILLION: Rgb = Rgb(213, 94, 0);
/// Sky blue.
pub const SKY: Rgb = Rgb(86, 180, 233);
/// Yellow (for dark backgrounds).
pub const YELLOW: Rgb = Rgb(240, 228, 66);
/// A darkened yellow that stays readable on light backgrounds.
pub const DARK_YELLOW: Rgb = Rgb(120, 110, 0);
/// Neutral grey, in place of the palette's black (which would vanish on a dark theme): the
/// eighth class, reference lines.
pub const GREY: Rgb = Rgb(120, 120, 120);

/// The palette in the order classes, runs and series take it.
pub const OKABE_ITO: [Rgb; 8] = [BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY, YELLOW, GREY];

/// The colour of class (run, series) `index`, cycling through [`OKABE_ITO`].
#[must_use]
pub fn nth(index: usize) -> Rgb {
    OKABE_ITO[index % OKABE_ITO.len()]
}

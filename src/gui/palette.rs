//! The Okabe–Ito colours (distinguishable with every common colour-vision deficiency), shared by
//! classes, runs and diagnostic lines. The figures use the same colours (`report::figures`).

use eframe::egui::Color32;

/// Blue.
pub const BLUE: Color32 = Color32::from_rgb(0, 114, 178);
/// Orange.
pub const ORANGE: Color32 = Color32::from_rgb(230, 159, 0);
/// Bluish green.
pub const GREEN: Color32 = Color32::from_rgb(0, 158, 115);
/// Reddish purple.
pub const PURPLE: Color32 = Color32::from_rgb(204, 121, 167);
/// Vermillion.
pub const VERMILLION: Color32 = Color32::from_rgb(213, 94, 0);
/// Sky blue.
pub const SKY: Color32 = Color32::from_rgb(86, 180, 233);
/// Yellow (for dark backgrounds).
pub const YELLOW: Color32 = Color32::from_rgb(240, 228, 66);
/// A darkened yellow that stays readable on light backgrounds.
pub const DARK_YELLOW: Color32 = Color32::from_rgb(120, 110, 0);
/// Neutral grey (the palette's black would vanish on the dark theme).
pub const GREY: Color32 = Color32::from_rgb(120, 120, 120);

/// The palette in the order classes and runs take it.
pub const OKABE_ITO: [Color32; 8] = [BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY, YELLOW, GREY];

//! The look of the figures: the Okabe–Ito palette (the workbench's, [`crate::report::palette`]),
//! the embedded font, sizes, the two renderings (SVG and PNG) and how labels are typeset.

use std::sync::OnceLock;

use plotters::prelude::*;

use crate::report::palette::{self, Rgb};

/// A colour of the shared palette as plotters draws it.
const fn rgb(color: Rgb) -> RGBColor {
    RGBColor(color.0, color.1, color.2)
}

pub(super) const BLUE: RGBColor = rgb(palette::BLUE);
pub(super) const VERMILLION: RGBColor = rgb(palette::VERMILLION);
pub(super) const GREEN: RGBColor = rgb(palette::GREEN);
pub(super) const PURPLE: RGBColor = rgb(palette::PURPLE);
pub(super) const ORANGE: RGBColor = rgb(palette::ORANGE);
pub(super) const SKY: RGBColor = rgb(palette::SKY);
/// Reference lines and neutral legend samples.
pub(super) const GREY: RGBColor = rgb(palette::GREY);

/// The colour of class (or series) `c`: the workbench's ([`palette::nth`]).
pub(super) fn class_color(c: usize) -> RGBColor {
    rgb(palette::nth(c))
}

/// `color` mixed with white (`amount` of the colour).
pub(super) fn tint(color: RGBColor, amount: f64) -> RGBColor {
    let mix = |c: u8| -> u8 {
        let value = amount * f64::from(c) + (1.0 - amount) * 255.0;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to [0, 255]"
        )]
        let byte = value.round().clamp(0.0, 255.0) as u8;
        byte
    };
    RGBColor(mix(color.0), mix(color.1), mix(color.2))
}

/// Font sizes in pixels at scale 1.
pub(super) const TITLE_SIZE: f64 = 19.0;
pub(super) const AXIS_SIZE: f64 = 16.0;
pub(super) const TICK_SIZE: f64 = 14.0;
pub(super) const LEGEND_SIZE: f64 = 14.0;

/// Width of one panel and height of a figure at scale 1 (without the legend).
pub(super) const PANEL_WIDTH: u32 = 600;
pub(super) const PANEL_HEIGHT: u32 = 420;

/// Height of one legend line at scale 1.
pub(super) const LEGEND_ROW: u32 = 22;

/// Radius of point markers at scale 1.
pub(super) const MARKER_RADIUS: f64 = 3.5;

/// The PNG is drawn at this multiple of the SVG's size.
const PNG_SCALE: f64 = 2.0;

/// The family name text is drawn with (the embedded font is registered under it, and SVG
/// viewers substitute their own sans-serif).
pub(super) const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans 2.37: Greek, `‖`, `≤`, `Σ`, sub- and superscripts.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once.
pub(super) fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded font DejaVuSans.ttf cannot be read".to_owned())
        })
        .clone()
}

/// One rendering: its size factor (1 for the SVG, [`PNG_SCALE`] for the PNG) and whether it is
/// the bitmap.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    factor: f64,
    bitmap: bool,
}

impl Scale {
    /// The SVG: sizes as given, text with accents.
    pub(super) const SVG: Self = Self {
        factor: 1.0,
        bitmap: false,
    };

    /// The PNG: everything [`PNG_SCALE`] times larger.
    pub(super) const PNG: Self = Self {
        factor: PNG_SCALE,
        bitmap: true,
    };

    /// A length in pixels.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to the range of u32"
    )]
    pub(super) fn px(self, length: f64) -> u32 {
        (length * self.factor)
            .round()
            .clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// A signed length in pixels.
    pub(super) fn ipx(self, length: f64) -> i32 {
        i32::try_from(self.px(length)).unwrap_or(i32::MAX)
    }

    /// A line width in pixels (at least one).
    pub(super) fn stroke(self, width: f64) -> u32 {
        self.px(width).max(1)
    }

    /// A font of `size` pixels at scale 1.
    pub(super) fn font(self, size: f64) -> TextStyle<'static> {
        (FONT_FAMILY, size * self.factor).into_font().color(&BLACK)
    }

    /// Text as this rendering draws it (see [`typeset`]).
    pub(super) fn text(self, text: &str) -> String {
        typeset(text, self.bitmap)
    }
}

/// The Unicode subscript of a character, where there is one (and DejaVu Sans has it).
pub(super) fn subscript_of(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => char::from_u32(0x2080 + c.to_digit(10)?)?,
        '+' => '₊',
        '-' | '−' => '₋',
        '=' => '₌',
        '(' => '₍',
        ')' => '₎',
        'a' => 'ₐ',
        'e' => 'ₑ',
        'h' => 'ₕ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'o' => 'ₒ',
        'p' => 'ₚ',
        'r' => 'ᵣ',
        's' => 'ₛ',
        't' => 'ₜ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'x' => 'ₓ',
        _ => return None,
    })
}

/// Text as drawn. The labels of the diagnostics write subscripts the TeX way after a one-letter
/// symbol (`t_k`, `y_{k+1}`, `λ_max`); where every character of one has a Unicode subscript it
/// becomes one (`tₖ`, `yₖ₊₁`, `λₘₐₓ`, `Σⱼ<ₖ`), otherwise it stays as written (`y_K`, `g_DTO`);
/// names (`ring_a`) are left alone. The bitmap renderer
/// places every glyph at its advance without its side bearing, so a combining accent (the hat of
/// `ν̂`, U+0302) would land after its letter and be lost: PNG text writes the spacing modifier
/// `ˆ` (U+02C6) after the letter instead (`νˆₖ`), so that an estimate `L̂` and the bound `L`
/// still read differently; the labels say "estimate" in words as well.
pub(super) fn typeset(text: &str, bitmap: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if bitmap && c == '\u{302}' {
            out.push('\u{2c6}');
            i += 1;
            continue;
        }
        if c != '_' || !after_symbol(&chars[..i]) {
            out.push(c);
            i += 1;
            continue;
        }
        let (body, end) = if chars.get(i + 1) == Some(&'{') {
            match chars[i + 2..].iter().position(|&c| c == '}') {
                Some(close) => (&chars[i + 2..i + 2 + close], i + 3 + close),
                None => (&chars[i + 1..i + 1], i + 1),
            }
        } else {
            let run = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric())
                .count();
            (&chars[i + 1..i + 1 + run], i + 1 + run)
        };
        // Relations stay as they are between subscripts (`Σ_{j<k}` becomes `Σⱼ<ₖ`).
        let converted: Option<String> = body
            .iter()
            .map(|&c| subscript_of(c).or(matches!(c, '<' | '>' | ',' | '≤').then_some(c)))
            .collect();
        let any_subscript = body.iter().any(|&c| subscript_of(c).is_some());
        match converted {
            Some(sub) if any_subscript => {
                out.push_str(&sub);
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether text ends with a one-letter symbol (an accent on it included): `t`, `ν̂`, `(y`.
fn after_symbol(before: &[char]) -> bool {
    let combining = |c: &char| ('\u{300}'..='\u{36f}').contains(c);
    let mut letters = before.iter().rev().filter(|c| !combining(c));
    let symbol = letters.next().is_some_and(|c| c.is_alphanumeric());
    // `ΔH_k` and `∂y_k` are an operator applied to a symbol.
    let word = letters
        .next()
        .is_some_and(|c| c.is_alphanumeric() && !matches!(c, 'Δ' | '∂' | '∇'));
    symbol && !word
}

/// A compact tick label: plain decimals between 1e-3 and 1e4, scientific notation otherwise.
pub(super) fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e4).contains(&magnitude) {
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "-0" {
            "0".to_owned()
        } else {
            text.to_owned()
        }
    } else {
        format!("{value:.1e}").replace(".0e", "e")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_compact() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(1e-6), "1e-6");
        assert_eq!(tick(-0.25), "-0.25");
        assert_eq!(tick(12_000.0), "1.2e4");
    }

    #[test]
    fn subscripts_become_unicode_where_they_exist() {
        assert_eq!(typeset("t_k", false), "tₖ");
        assert_eq!(typeset("y_{k+1} and λ_max", false), "yₖ₊₁ and λₘₐₓ");
        assert_eq!(typeset("y_K, Σ_{j<k} g_DTO", false), "y_K, Σⱼ<ₖ g_DTO");
        assert_eq!(typeset("a_{<}", false), "a_{<}");
        assert_eq!(typeset("ν\u{302}_k", false), "ν\u{302}ₖ");
        assert_eq!(typeset("ν\u{302}_k", true), "ν\u{2c6}ₖ");
        assert_eq!(typeset("a_", false), "a_");
        assert_eq!(typeset("ring_a, x_1", false), "ring_a, x₁");
        assert_eq!(typeset("|ΔH_k|", false), "|ΔHₖ|");
    }
}

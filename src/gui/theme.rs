//! Preferences kept in eframe storage (never in the experiment file): theme, recent files, plot
//! options. The panel layout is stored next to them by [`super::panels`].

use std::path::{Path, PathBuf};

use crate::experiment::Limits;
use eframe::egui;
use serde::{Deserialize, Serialize};

/// The storage key of [`Preferences`].
pub const PREFERENCES_KEY: &str = "flowlab.preferences";

/// How many recent files the File menu lists.
const MAX_RECENT: usize = 8;

/// Dark or light.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    /// Light text on dark panels.
    #[default]
    Dark,
    /// Dark text on light panels.
    Light,
}

/// Installs DejaVu Sans as a fallback of the default fonts: the formulas in labels and tooltips
/// (σ₁, Aᵀ, ‖A‖₂, ν̂, ∂, ⊙, ...) need glyphs egui's own fonts do not have.
pub fn install_fonts(ctx: &egui::Context) {
    use egui::epaint::text::{FontInsert, FontPriority, InsertFontFamily};
    let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
        .into_iter()
        .map(|family| InsertFontFamily {
            family,
            priority: FontPriority::Lowest,
        })
        .collect();
    ctx.add_font(FontInsert::new(
        "DejaVuSans",
        egui::FontData::from_static(include_bytes!("../../assets/fonts/DejaVuSans.ttf")),
        families,
    ));
}

/// The size of small text (panel headers, notes under plots, the panels' buttons), in points:
/// egui's 9 is hard to read on a 1280×800 screen.
const SMALL_TEXT_SIZE: f32 = 10.5;

/// Text sizes of the workbench, for both themes.
pub fn install_text_sizes(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.text_styles.insert(
            egui::TextStyle::Small,
            egui::FontId::proportional(SMALL_TEXT_SIZE),
        );
    });
}

impl Theme {
    /// The other one.
    #[must_use]
    pub fn toggled(self) -> Self {
        match self {
            Self::Dark => Self::Light,
            Self::Light => Self::Dark,
        }
    }

    /// Applies the theme to the context.
    pub fn apply(self, ctx: &egui::Context) {
        ctx.set_theme(match self {
            Self::Dark => egui::ThemePreference::Dark,
            Self::Light => egui::ThemePreference::Light,
        });
    }
}

/// What the workbench remembers between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The theme.
    pub theme: Theme,
    /// Recently opened or saved files, newest first.
    pub recent: Vec<PathBuf>,
    /// Loss plots on a logarithmic y axis.
    pub log_loss: bool,
    /// Overlay earlier runs on the comparison plots.
    pub overlay_runs: bool,
    /// Compute diagnostics from the model's snapshots.
    pub live_diagnostics: bool,
    /// The memory budget in bytes an experiment must fit (its estimate is checked before its
    /// model is built); `None`: half of this machine's memory.
    pub memory_budget: Option<u64>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            theme: Theme::Dark,
            recent: Vec::new(),
            log_loss: true,
            overlay_runs: true,
            live_diagnostics: true,
            memory_budget: None,
        }
    }
}

impl Preferences {
    /// The limits experiments are checked within: the memory budget, one thread.
    #[must_use]
    pub fn limits(&self) -> Limits {
        let machine = Limits::machine();
        self.memory_budget
            .map_or(machine, |bytes| machine.with_memory(bytes))
    }

    /// Puts `path` first in the recent files.
    pub fn remember(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_unique_newest_first_and_bounded() {
        let mut prefs = Preferences::default();
        for i in 0..12 {
            prefs.remember(Path::new(&format!("/nonexistent/{i}.ron")));
        }
        prefs.remember(Path::new("/nonexistent/5.ron"));
        assert_eq!(prefs.recent.len(), MAX_RECENT);
        assert_eq!(prefs.recent[0], Path::new("/nonexistent/5.ron"));
        assert_eq!(
            prefs.recent.iter().filter(|p| p.ends_with("5.ron")).count(),
            1
        );
    }
}

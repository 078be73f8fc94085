//! The open document: which file, whether it has unsaved changes, the templates of New and the
//! loading and saving that the menus, drag and drop and tests share (dialogs only produce paths).

use std::path::{Path, PathBuf};

use crate::experiment::{self, DEFAULT_EXPERIMENT, Experiment};

/// The open file and what was last saved to (or read from) it.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// The file, once the document has one.
    pub path: Option<PathBuf>,
    /// The folder relative data paths (CSV) are taken from: the file's, or a template's.
    pub base_dir: Option<PathBuf>,
    /// The experiment (without checkpoint) and the iteration of its checkpoint as last saved or
    /// opened; `None` for a document that was never saved.
    saved: Option<(Experiment, usize)>,
}

impl Document {
    /// A document read from `path` (its experiment and checkpoint iteration).
    #[must_use]
    pub fn opened(path: &Path, exp: &Experiment) -> Self {
        Self {
            path: Some(path.to_owned()),
            base_dir: path.parent().map(Path::to_owned),
            saved: Some(Self::key(exp)),
        }
    }

    /// An untitled document recovered from a copy of unsaved changes: unsaved until saved.
    #[must_use]
    pub fn recovered() -> Self {
        Self {
            path: None,
            base_dir: None,
            saved: None,
        }
    }

    /// An untitled document made from a template (or the built-in default), unchanged so far.
    #[must_use]
    pub fn untitled(base_dir: Option<PathBuf>, exp: &Experiment) -> Self {
        Self {
            path: None,
            base_dir,
            saved: Some(Self::key(exp)),
        }
    }

    fn key(exp: &Experiment) -> (Experiment, usize) {
        let mut spec = exp.clone();
        let iteration = spec.checkpoint.take().map_or(0, |c| c.iteration);
        (spec, iteration)
    }

    /// Remembers that `exp` (with its checkpoint) was written to `path`.
    pub fn saved_to(&mut self, path: &Path, exp: &Experiment) {
        self.path = Some(path.to_owned());
        self.base_dir = path.parent().map(Path::to_owned);
        self.saved = Some(Self::key(exp));
    }

    /// Whether `spec` at `iteration` differs from what was last saved or opened.
    #[must_use]
    pub fn is_dirty(&self, spec: &Experiment, iteration: usize) -> bool {
        self.saved
            .as_ref()
            .is_none_or(|(saved, saved_iteration)| saved != spec || *saved_iteration != iteration)
    }

    /// The file name, or "Untitled".
    #[must_use]
    pub fn display_name(&self) -> String {
        self.path
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(|| "Untitled".into(), |n| n.to_string_lossy().into_owned())
    }

    /// The window title: file name, unsaved marker, program.
    #[must_use]
    pub fn title(&self, dirty: bool) -> String {
        format!(
            "{}{} — flowlab",
            self.display_name(),
            if dirty { " ●" } else { "" }
        )
    }
}

/// The built-in default experiment (`experiments/resnet_euler_spirals.ron`).
#[must_use]
pub fn default_experiment() -> Experiment {
    // The file is part of the crate and is tested to load; fall back to a parse error message
    // would be a bug, so keep the error visible in debug builds.
    experiment::from_ron_str(DEFAULT_EXPERIMENT).unwrap_or_else(|e| {
        debug_assert!(false, "the default experiment does not load: {e}");
        minimal_experiment()
    })
}

/// A tiny valid experiment, used only if the built-in default failed to parse (a bug).
fn minimal_experiment() -> Experiment {
    const MINIMAL: &str = "(format_version: 1, name: \"spirals\", \
        data: (source: TwoSpirals, size: 400, noise: 0.02), \
        model: (field: ResNet, activation: Tanh, width: 2, layers: 16, final_time: 1.6), \
        integrator: Euler, train: (optimizer: Adam(lr: 0.01), iterations: 100))";
    experiment::from_ron_str(MINIMAL).unwrap_or_else(|e| panic!("built-in experiment: {e}"))
}

/// The folder holding the experiment templates: `experiments/` in the working directory, or the
/// one of the source tree this binary was built from.
#[must_use]
pub fn templates_dir() -> Option<PathBuf> {
    [
        PathBuf::from("experiments"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments"),
    ]
    .into_iter()
    .find(|dir| dir.is_dir())
}

/// The templates (`*.ron` in [`templates_dir`]), sorted by file name.
#[must_use]
pub fn templates() -> Vec<PathBuf> {
    let Some(dir) = templates_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

/// Whether a path looks like an experiment file (for drag and drop).
#[must_use]
pub fn is_experiment_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ron"))
}

/// A label column for a CSV file: the last column, by header name when the first line is a
/// header (not all numbers), by index otherwise. Only the first line is read.
#[must_use]
pub fn guess_csv_label(path: &Path, delimiter: char) -> crate::data::LabelColumn {
    use crate::data::LabelColumn;
    let first_line = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let cells: Vec<&str> = first_line.split(delimiter).map(str::trim).collect();
    let is_header = cells.iter().any(|c| c.parse::<f64>().is_err());
    match cells.last() {
        Some(last) if is_header && !last.is_empty() => {
            LabelColumn::Name(last.trim_matches('"').to_owned())
        }
        _ => LabelColumn::Index(cells.len().saturating_sub(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_experiment_loads_and_is_clean() {
        let exp = default_experiment();
        let doc = Document::untitled(None, &exp);
        assert!(!doc.is_dirty(&exp, 0));
        assert!(doc.is_dirty(&exp, 3));
        assert_eq!(doc.title(false), "Untitled — flowlab");
        assert_eq!(doc.title(true), "Untitled ● — flowlab");
    }
}

//! Files and exports: every operation takes a path; dialogs only produce it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use super::{Banner, Confirm, NpzError, Then, Workbench};
use crate::data::{CsvSpec, DataSource};
use crate::gui::document::{self, Document};
use crate::gui::panels::PaneKind;
use crate::train::background::OneShot;

impl Workbench {
    // ----------------------------------------------------------------------------------------
    // Files.

    /// Opens an experiment file: it becomes current once its model is prepared (on a
    /// background thread). A file that cannot be read or parsed (the error has its line and
    /// column) is refused at once; one whose checkpoint does not fit its model when the model is
    /// ready. Either way nothing changes and the banner says why.
    pub fn open_path(&mut self, path: &Path) -> Result<(), crate::experiment::Error> {
        match crate::experiment::load(path) {
            Ok(exp) => {
                let document = Document::opened(path, &exp);
                self.prepare(exp, path.parent().map(Path::to_owned), Some(document));
                self.prefs.remember(path);
                self.banner = None;
                Ok(())
            }
            Err(error) => {
                self.banner = Some(Banner {
                    text: format!("Could not open the file: {error}"),
                    is_error: true,
                });
                Err(error)
            }
        }
    }

    /// A new untitled document from a template file (or the built-in default).
    pub(super) fn new_document(
        &mut self,
        template: Option<&Path>,
    ) -> Result<(), crate::experiment::Error> {
        let exp = match template {
            Some(path) => crate::experiment::load(path)?,
            None => document::default_experiment(),
        };
        let base = template.and_then(Path::parent).map(Path::to_owned);
        let document = Document::untitled(base.clone(), &exp);
        self.prepare(exp, base, Some(document));
        self.banner = None;
        Ok(())
    }

    /// Saves the experiment with its checkpoint (parameters, optimiser state, history) to
    /// `path`. A run in progress goes on from where it was.
    pub fn save_to(&mut self, path: &Path) -> Result<(), crate::experiment::Error> {
        self.rebase_csv(path);
        let mut exp = self.spec.clone();
        if self.worker.iteration() > 0 {
            exp.checkpoint = self.worker.with_session(|s| s.checkpoint());
        }
        match crate::experiment::save(&exp, path) {
            Ok(()) => {
                self.document.saved_to(path, &exp);
                self.prefs.remember(path);
                self.info(format!("Saved to {}", path.display()));
                Ok(())
            }
            Err(error) => {
                self.error(format!("Could not save: {error}"));
                Err(error)
            }
        }
    }

    /// A relative CSV path is relative to the experiment's folder: saving elsewhere makes it
    /// absolute so the data is still found.
    pub(super) fn rebase_csv(&mut self, path: &Path) {
        let DataSource::Csv(csv) = &self.spec.data.source else {
            return;
        };
        let target = path.parent().map(Path::to_owned).unwrap_or_default();
        let base = self.document.base_dir.clone().unwrap_or_default();
        if Path::new(&csv.path).is_absolute() || same_dir(&base, &target) {
            return;
        }
        let absolute =
            std::path::absolute(base.join(&csv.path)).unwrap_or_else(|_| base.join(&csv.path));
        let csv = CsvSpec {
            path: absolute.to_string_lossy().into_owned(),
            ..csv.clone()
        };
        self.spec.data.source = DataSource::Csv(csv.clone());
        if let Some((model, plan)) = &mut self.model_spec {
            model.data.source = DataSource::Csv(csv.clone());
            plan.data.source = DataSource::Csv(csv);
        }
    }

    pub(super) fn info(&mut self, text: String) {
        self.banner = Some(Banner {
            text,
            is_error: false,
        });
    }

    pub(super) fn error(&mut self, text: String) {
        self.banner = Some(Banner {
            text,
            is_error: true,
        });
    }

    /// Does `then` now if nothing unsaved would be lost, otherwise asks first.
    pub(super) fn guard(&mut self, then: Then) {
        if self.is_dirty() && !self.allow_close {
            self.confirm = Some(Confirm::DiscardChanges(then));
        } else {
            self.perform(then);
        }
    }

    pub(super) fn perform(&mut self, then: Then) {
        match then {
            Then::Open(path) => {
                let _ = self.open_path(&path);
            }
            Then::OpenDialog => {
                if let Some(path) = self.file_dialog().pick_file() {
                    let _ = self.open_path(&path);
                }
            }
            Then::New(template) => {
                if let Err(e) = self.new_document(template.as_deref()) {
                    self.error(format!("Could not open the template: {e}"));
                }
            }
            Then::Quit => {
                self.allow_close = true;
                self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    pub(super) fn file_dialog(&self) -> rfd::FileDialog {
        let dialog = rfd::FileDialog::new().add_filter("flowlab experiment", &["ron"]);
        match self.document.base_dir.as_deref() {
            Some(dir) if dir.is_dir() => dialog.set_directory(dir),
            _ => dialog,
        }
    }

    pub(super) fn save_dialog(&self, name: &str, filter: (&str, &[&str])) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new()
            .add_filter(filter.0, filter.1)
            .set_file_name(name);
        if let Some(dir) = self.document.base_dir.as_deref().filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        dialog.save_file()
    }

    // ----------------------------------------------------------------------------------------
    // Exports.

    /// Asks for a PNG of the whole window, written to `path` when the pixels arrive.
    pub fn export_window_png(&mut self, path: PathBuf) {
        self.capture.request(&self.ctx, path, None);
    }

    /// Asks for a PNG of one panel, written to `path` when the pixels arrive.
    pub fn export_panel_png(&mut self, kind: PaneKind, path: PathBuf) {
        match self.layout.rect(kind) {
            Some(rect) => self.capture.request(&self.ctx, path, Some(rect)),
            None => self.error(format!("{} is not on screen", kind.title())),
        }
    }

    /// Writes the model as .npz (parameters, trajectories, gradients; see [`crate::report`]) on
    /// a background thread: the export runs the model forward and backward over the whole
    /// training set and holds its trajectories, which takes a while for large data. It works on
    /// a copy of the model as it is now (a run in progress goes on); the banner says when the
    /// file is written.
    pub fn export_npz(&mut self, path: PathBuf) {
        let plan = self.model_spec.as_ref().map(|(_, plan)| plan.clone());
        let (Some(mut plan), Some(checkpoint), Some(split)) = (
            plan,
            self.worker.with_session(|s| s.checkpoint()),
            self.worker.split().cloned(),
        ) else {
            self.error("Export failed: there is no model to export".into());
            return;
        };
        plan.checkpoint = Some(checkpoint);
        let started = OneShot::spawn("flowlab-export", Some(Arc::clone(&self.waker)), move || {
            let mut session = plan.session_on((*split).clone(), 1)?;
            crate::report::export_npz(&mut session, &plan, &path)?;
            Ok::<_, NpzError>(path)
        });
        match started {
            Ok(export) => {
                self.npz = Some(export);
                self.info("Writing the archive…".into());
            }
            Err(e) => self.error(format!("Export failed: could not start a thread: {e}")),
        }
    }

    /// Reports an .npz export that finished.
    pub(super) fn poll_npz(&mut self) {
        if let Some(result) = self.npz.as_ref().and_then(OneShot::poll) {
            self.npz = None;
            match result {
                Ok(Ok(path)) => self.info(format!("Wrote {}", path.display())),
                Ok(Err(e)) => self.error(format!("Export failed: {e}")),
                Err(e) => self.error(format!("Export failed: {e}")),
            }
        }
    }

    /// Writes the current run's history as CSV.
    pub fn export_metrics(&mut self, path: &Path) -> Result<(), crate::report::Error> {
        let result = crate::report::write_metrics_csv(self.worker.history(), path);
        match &result {
            Ok(()) => self.info(format!("Wrote {}", path.display())),
            Err(e) => self.error(format!("Export failed: {e}")),
        }
        result
    }

    /// Draws the figures of the newest diagnostics and the current history into `dir` (SVG and
    /// PNG, see [`crate::report::write_figures`]) on a background thread; the banner says where
    /// they went when they are written.
    pub fn export_figures(&mut self, dir: PathBuf) {
        let (Some(report), Some(split)) = (
            self.diagnostics.report.clone(),
            self.worker.split().cloned(),
        ) else {
            self.error("Export failed: there are no diagnostics to draw yet".into());
            return;
        };
        let history = self.worker.history().to_vec();
        let started = OneShot::spawn(
            "flowlab-figures",
            Some(Arc::clone(&self.waker)),
            move || {
                crate::report::write_figures(&report, &history, &split, &dir)
                    .map(|figures| (dir, figures))
            },
        );
        match started {
            Ok(figures) => {
                self.figures = Some(figures);
                self.info("Drawing the figures…".into());
            }
            Err(e) => self.error(format!("Export failed: could not start a thread: {e}")),
        }
    }

    /// Reports a figure export that finished.
    pub(super) fn poll_figures(&mut self) {
        let Some(result) = self.figures.as_ref().and_then(OneShot::poll) else {
            return;
        };
        self.figures = None;
        match result {
            Ok(Ok((dir, figures))) => {
                let mut text = format!(
                    "Wrote {} figure files to {}",
                    figures.written.len(),
                    dir.display()
                );
                if !figures.skipped.is_empty() {
                    let skipped: Vec<String> = figures
                        .skipped
                        .iter()
                        .map(|s| format!("{} ({})", s.name, s.reason))
                        .collect();
                    text.push_str("; not drawn: ");
                    text.push_str(&skipped.join("; "));
                }
                self.info(text);
            }
            Ok(Err(e)) => self.error(format!("Export failed: {e}")),
            Err(e) => self.error(format!("Export failed: {e}")),
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

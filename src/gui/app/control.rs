//! Commands: whether each can run now (and why not), and what it does.

use std::path::Path;

use eframe::egui;

use super::{Then, Workbench};
use crate::gui::commands::UiCommand;
use crate::gui::screenshot;
use crate::gui::worker::RunState;

impl Workbench {
    /// Whether a command can run now.
    #[must_use]
    pub fn is_enabled(&self, command: UiCommand) -> bool {
        if self.confirm.is_some() {
            return false;
        }
        let ready = self.is_ready();
        match command {
            UiCommand::Train => ready && self.worker.can_train(),
            UiCommand::Step => ready && self.worker.can_step(),
            UiCommand::PauseResume => self.worker.can_pause(),
            UiCommand::Stop => self.worker.can_stop(),
            UiCommand::Reset => {
                ready && (self.worker.has_progress() || self.worker.state() == RunState::Failed)
            }
            UiCommand::ExportNpz => self.worker.snapshot().is_some(),
            UiCommand::ExportMetrics => !self.worker.history().is_empty(),
            UiCommand::ExportFigures => self.diagnostics.report.is_some() && self.figures.is_none(),
            _ => true,
        }
    }

    pub(super) fn disabled_reason(&self, command: UiCommand) -> String {
        if self.confirm.is_some() {
            return "answer the question first".into();
        }
        if let Err(problems) = &self.checked {
            return format!(
                "the experiment has {} problem{}; see the composer",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
        }
        if let Some(error) = &self.build_error {
            return error.to_string();
        }
        if self.preparing.is_some() {
            return "the model is being prepared".into();
        }
        match command {
            UiCommand::Train | UiCommand::Step
                if self.worker.iteration() >= self.worker.total() =>
            {
                format!(
                    "the run reached its {} iterations; raise Iterations (Training) to continue, or Reset",
                    self.worker.total()
                )
            }
            UiCommand::Train | UiCommand::Step => "a run is in progress".into(),
            UiCommand::PauseResume | UiCommand::Stop => "nothing is training".into(),
            UiCommand::Reset => "the model has not trained yet".into(),
            _ => "not available now".into(),
        }
    }

    /// Runs a command (a button, a menu entry or a shortcut).
    pub fn run_command(&mut self, command: UiCommand) {
        if !self.is_enabled(command) {
            return;
        }
        match command {
            UiCommand::Open => self.guard(Then::OpenDialog),
            UiCommand::OpenStudy => {
                if let Some(dir) = rfd::FileDialog::new()
                    .set_title("Open a study folder (it holds study.json)")
                    .pick_folder()
                {
                    let _ = self.open_study(&dir);
                }
            }
            UiCommand::Save => match self.document.path.clone() {
                Some(path) => {
                    let _ = self.save_to(&path);
                }
                None => self.run_command(UiCommand::SaveAs),
            },
            UiCommand::SaveAs => {
                let name = self
                    .document
                    .path
                    .as_deref()
                    .and_then(Path::file_name)
                    .map_or_else(
                        || "experiment.ron".into(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                if let Some(path) = self.save_dialog(&name, ("flowlab experiment", &["ron"])) {
                    let _ = self.save_to(&path);
                }
            }
            UiCommand::Train => {
                self.keep_recovery_copy(true);
                if let Err(e) = self.worker.train() {
                    self.error(e);
                } else {
                    self.banner = None;
                }
            }
            UiCommand::PauseResume => self.worker.toggle_pause(),
            UiCommand::Step => {
                if let Err(e) = self.worker.step() {
                    self.error(e);
                }
            }
            UiCommand::Stop => {
                self.worker.stop();
                self.keep_recovery_copy(true);
            }
            UiCommand::Reset => {
                self.rebuild();
                self.banner = None;
            }
            UiCommand::ScreenshotWindow => {
                if let Some(path) = self.save_dialog(
                    &screenshot::default_export_name("window", "png"),
                    ("PNG image", &["png"]),
                ) {
                    self.export_window_png(path);
                }
            }
            UiCommand::ExportNpz => {
                if let Some(path) = self.save_dialog(
                    &screenshot::default_export_name("params", "npz"),
                    ("NumPy archive", &["npz"]),
                ) {
                    self.export_npz(path);
                }
            }
            UiCommand::ExportMetrics => {
                if let Some(path) = self.save_dialog(
                    &screenshot::default_export_name("metrics", "csv"),
                    ("CSV", &["csv"]),
                ) {
                    let _ = self.export_metrics(&path);
                }
            }
            UiCommand::ExportFigures => {
                let mut dialog = rfd::FileDialog::new().set_title("Folder for the figures");
                if let Some(dir) = self.document.base_dir.as_deref().filter(|d| d.is_dir()) {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(dir) = dialog.pick_folder() {
                    self.export_figures(dir);
                }
            }
            UiCommand::ToggleTheme => self.prefs.theme = self.prefs.theme.toggled(),
            UiCommand::Quit => self.guard(Then::Quit),
        }
    }

    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        // Most modifiers first: egui ignores extra Shift, so Shift+F5 must be tried before F5.
        let mut commands: Vec<UiCommand> = UiCommand::ALL.to_vec();
        commands.sort_by_key(|c| {
            std::cmp::Reverse(c.shortcut().map_or(0, |s| {
                u32::from(s.modifiers.shift)
                    + u32::from(s.modifiers.command)
                    + u32::from(s.modifiers.alt)
            }))
        });
        for command in commands {
            if let Some(shortcut) = command.shortcut()
                && ctx.input_mut(|i| i.consume_shortcut(&shortcut))
            {
                self.run_command(command);
            }
        }
    }
}

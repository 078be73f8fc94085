//! The frame around the plots: menus, toolbar, status bar, banner, confirmation dialogs and
//! the composer panel.

use eframe::egui::{self, Button, RichText, Ui};

use super::{Banner, Confirm, Then, Workbench};
use crate::data::{CsvSpec, DataSource};
use crate::gui::commands::UiCommand;
use crate::gui::composer::{ComposerAction, ComposerContext, composer_ui};
use crate::gui::document;
use crate::gui::panels::{Layout, PaneKind};
use crate::gui::screenshot;
use crate::gui::theme::Theme;
use crate::gui::worker::RunState;

impl Workbench {
    pub(super) fn menu_ui(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                ui.menu_button("New", |ui| {
                    if ui
                        .button("Default experiment")
                        .on_hover_text("ResNet / explicit Euler on two spirals")
                        .clicked()
                    {
                        self.guard(Then::New(None));
                    }
                    let templates = document::templates();
                    if !templates.is_empty() {
                        ui.separator();
                    }
                    for template in templates {
                        if path_button(ui, template.file_stem(), &template) {
                            self.guard(Then::New(Some(template)));
                        }
                    }
                });
                self.command_button(ui, UiCommand::Open);
                self.command_button(ui, UiCommand::OpenStudy);
                ui.menu_button("Open recent", |ui| {
                    if self.prefs.recent.is_empty() {
                        ui.label(RichText::new("no recent files").weak());
                    }
                    for path in self.prefs.recent.clone() {
                        if path_button(ui, path.file_name(), &path) {
                            self.guard(Then::Open(path));
                        }
                    }
                });
                ui.separator();
                self.command_button(ui, UiCommand::Save);
                self.command_button(ui, UiCommand::SaveAs);
                ui.separator();
                self.command_button(ui, UiCommand::Quit);
            });
            ui.menu_button("Run", |ui| {
                for command in [
                    UiCommand::Train,
                    UiCommand::PauseResume,
                    UiCommand::Step,
                    UiCommand::Stop,
                    UiCommand::Reset,
                ] {
                    self.command_button(ui, command);
                }
            });
            ui.menu_button("View", |ui| {
                self.command_button(ui, UiCommand::ToggleTheme);
                ui.checkbox(&mut self.prefs.live_diagnostics, "Live diagnostics")
                    .on_hover_text(
                        "Compute the diagnostics on a background thread from snapshots of the \
                         model while it trains (switch off on a slow machine)",
                    );
                self.memory_budget_ui(ui);
                ui.separator();
                for kind in PaneKind::ALL {
                    let mut visible = self.layout.is_visible(kind);
                    if ui
                        .checkbox(&mut visible, kind.title())
                        .on_hover_text(kind.description())
                        .changed()
                    {
                        self.layout.set_visible(kind, visible);
                    }
                }
                ui.separator();
                if ui
                    .button("Reset layout")
                    .on_hover_text("Put every panel back where it was at first")
                    .clicked()
                {
                    self.layout = Layout::default();
                }
                if ui
                    .button("Show every panel")
                    .on_hover_text("Every panel on screen at once, each in its own tile")
                    .clicked()
                {
                    self.layout = Layout::every_panel();
                }
            });
            ui.menu_button("Export", |ui| {
                self.command_button(ui, UiCommand::ScreenshotWindow);
                ui.menu_button("Screenshot of a panel", |ui| {
                    for kind in PaneKind::ALL {
                        if ui.button(kind.title()).clicked()
                            && let Some(path) = self.save_dialog(
                                &screenshot::default_export_name("panel", "png"),
                                ("PNG image", &["png"]),
                            )
                        {
                            self.export_panel_png(kind, path);
                        }
                    }
                });
                self.command_button(ui, UiCommand::ExportNpz);
                self.command_button(ui, UiCommand::ExportMetrics);
                self.command_button(ui, UiCommand::ExportFigures);
            });
        });
    }

    pub(super) fn command_text(&self, command: UiCommand) -> &'static str {
        match command {
            UiCommand::PauseResume if self.worker.state() == RunState::Paused => "Resume",
            other => other.text(),
        }
    }

    pub(super) fn command_button(&mut self, ui: &mut Ui, command: UiCommand) {
        let mut button = Button::new(self.command_text(command));
        if let Some(shortcut) = command.shortcut() {
            button = button.shortcut_text(ui.ctx().format_shortcut(&shortcut));
        }
        let enabled = self.is_enabled(command);
        let response = ui
            .add_enabled(enabled, button)
            .on_hover_text(command.tooltip())
            .on_disabled_hover_text(self.disabled_reason(command));
        if response.clicked() {
            self.run_command(command);
        }
    }

    pub(super) fn toolbar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            for command in [
                UiCommand::Train,
                UiCommand::PauseResume,
                UiCommand::Step,
                UiCommand::Stop,
                UiCommand::Reset,
            ] {
                let text = self.command_text(command);
                let tip = match command.shortcut() {
                    Some(s) => format!("{} ({})", command.tooltip(), ui.ctx().format_shortcut(&s)),
                    None => command.tooltip().to_string(),
                };
                let strong = command == UiCommand::Train;
                let label = if strong {
                    RichText::new(text).strong()
                } else {
                    RichText::new(text)
                };
                let response = ui
                    .add_enabled(
                        self.is_enabled(command),
                        Button::new(label).min_size(egui::vec2(64.0, 24.0)),
                    )
                    .on_hover_text(tip)
                    .on_disabled_hover_text(self.disabled_reason(command));
                if response.clicked() {
                    self.run_command(command);
                }
            }
            ui.separator();
            ui.label(RichText::new(&self.spec.name).strong())
                .on_hover_text(if self.spec.notes.is_empty() {
                    "(no notes)"
                } else {
                    &self.spec.notes
                });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let theme = match self.prefs.theme {
                    Theme::Dark => "Light theme",
                    Theme::Light => "Dark theme",
                };
                if ui
                    .button(theme)
                    .on_hover_text(UiCommand::ToggleTheme.tooltip())
                    .clicked()
                {
                    self.run_command(UiCommand::ToggleTheme);
                }
            });
        });
    }

    /// View ▸ Memory budget: the budget in GB (half of this machine's memory by default).
    fn memory_budget_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let limits = self.prefs.limits();
            #[expect(clippy::cast_precision_loss, reason = "bytes shown in GB")]
            let mut gigabytes = limits.memory as f64 / 1e9;
            let changed = ui
                .label("Memory budget")
                .on_hover_text(
                    "An experiment whose estimated memory exceeds this is refused before its \
                     model is built (half of this machine's memory by default)",
                )
                .union(
                    ui.add(
                        egui::DragValue::new(&mut gigabytes)
                            .range(0.01..=1.0e6)
                            .speed(0.1)
                            .suffix(" GB"),
                    ),
                )
                .changed();
            let reset = self.prefs.memory_budget.is_some()
                && ui
                    .small_button("Default")
                    .on_hover_text("Half of this machine's memory")
                    .clicked();
            if changed || reset {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a positive number of gigabytes within the range above"
                )]
                let bytes = (gigabytes * 1e9) as u64;
                self.set_memory_budget((!reset).then_some(bytes));
            }
        });
    }

    pub(super) fn status_ui(&self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let state = self.worker.state();
            if self.preparing.is_some() {
                // No spinner: an animation would ask for frames all the time.
                ui.label(RichText::new("preparing …").strong())
                    .on_hover_text("generating or reading the data and drawing the parameters");
            } else {
                let color = match state {
                    RunState::Failed | RunState::Invalid => crate::gui::widgets::problem_color(ui),
                    RunState::Running => ui.visuals().selection.bg_fill,
                    _ => ui.visuals().text_color(),
                };
                ui.label(RichText::new(state.label()).color(color).strong());
            }
            ui.separator();
            ui.label(format!(
                "iteration {} / {}",
                self.worker.iteration(),
                self.worker.total()
            ));
            let history = self.worker.history();
            if let Some(last) = history.last() {
                ui.separator();
                ui.label(format!("loss {:.4e}", last.loss));
            }
            if let Some(run) = self.worker.current_run() {
                let (train, test) = run.last_accuracy();
                if let Some(train) = train {
                    ui.separator();
                    ui.label(format!("train {:.1}%", 100.0 * train));
                }
                if let Some(test) = test {
                    ui.separator();
                    ui.label(format!("test {:.1}%", 100.0 * test));
                }
            }
            if let Some(rate) = self.worker.rate() {
                ui.separator();
                ui.label(format!("{rate:.0} it/s"));
            }
            let elapsed = self.worker.elapsed().as_secs_f64();
            if elapsed > 0.0 {
                ui.separator();
                ui.label(format!(
                    "{:.0}:{:04.1}",
                    (elapsed / 60.0).floor(),
                    elapsed % 60.0
                ))
                .on_hover_text(
                    "Wall time spent training this model in this window (minutes:seconds)",
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                match self.document.path.as_deref() {
                    Some(path) => ui
                        .label(RichText::new(self.document.display_name()).weak().small())
                        .on_hover_text(path.display().to_string()),
                    None => ui.label(RichText::new("not saved yet").weak().small()),
                };
            });
        });
    }

    pub(super) fn banner_ui(&mut self, ui: &mut Ui) {
        let failure = self.worker.failure().map(|f| Banner {
            text: format!("The run failed: {f}"),
            is_error: true,
        });
        let Some(banner) = self.banner.clone().or(failure) else {
            return;
        };
        let color = if banner.is_error {
            crate::gui::widgets::problem_color(ui)
        } else {
            ui.visuals().text_color()
        };
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.small_button("Dismiss").clicked() {
                    self.banner = None;
                }
                ui.add(egui::Label::new(RichText::new(&banner.text).color(color)).wrap());
            });
        });
    }

    pub(super) fn confirm_ui(&mut self, ctx: &egui::Context) {
        let Some(confirm) = self.confirm.clone() else {
            return;
        };
        let (question, yes, no) = match &confirm {
            Confirm::DiscardRun(_) => (
                format!(
                    "This change rebuilds the model from its seed and ends the current run \
                     (iteration {}). The run stays in the runs list for comparison.",
                    self.worker.iteration()
                ),
                "Apply and start a new run",
                "Keep the current run",
            ),
            Confirm::DiscardChanges(_) => (
                format!(
                    "{} has unsaved changes (settings or training progress).",
                    self.document.display_name()
                ),
                "Discard changes",
                "Cancel",
            ),
            Confirm::Recover(found) => (
                format!(
                    "flowlab closed without saving the changes to “{}”{}. A copy was kept; \
                     recover it as an untitled document?",
                    found.experiment.name,
                    found
                        .written
                        .elapsed()
                        .map(|age| format!(" ({} ago)", ago(age)))
                        .unwrap_or_default()
                ),
                "Recover",
                "Discard the copy",
            ),
        };
        let mut answer = None;
        let modal = egui::Modal::new(egui::Id::unique("flowlab-confirm")).show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.heading("Are you sure?");
            ui.add(egui::Label::new(question).wrap());
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(yes).clicked() {
                    answer = Some(true);
                }
                if ui.button(no).clicked() {
                    answer = Some(false);
                }
            });
        });
        if modal.should_close() && answer.is_none() {
            answer = Some(false);
        }
        let Some(yes) = answer else { return };
        self.confirm = None;
        if let (false, Confirm::Recover(_)) = (yes, &confirm)
            && let Some(recovery) = &self.recovery
        {
            recovery.remove();
        }
        if !yes {
            return;
        }
        match confirm {
            Confirm::DiscardRun(draft) => {
                self.spec = *draft;
                self.rebuild();
            }
            Confirm::DiscardChanges(then) => {
                self.allow_close = matches!(then, Then::Quit);
                self.perform(then);
            }
            Confirm::Recover(found) => self.recover(*found),
        }
    }

    pub(super) fn composer_panel(&mut self, ui: &mut Ui) {
        egui::Panel::left("composer")
            .resizable(true)
            .default_size(340.0)
            .min_size(260.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    // While a file (or a template) is being opened, the document on screen is
                    // about to be replaced: it is not edited meanwhile.
                    if self
                        .preparing
                        .as_ref()
                        .is_some_and(|p| p.document.is_some())
                    {
                        ui.disable();
                    }
                    let mut draft = self.spec.clone();
                    let split = self.worker.split().cloned();
                    let actions = composer_ui(
                        ui,
                        &mut draft,
                        &ComposerContext {
                            problems: self.problems(),
                            build_error: self.build_error.as_ref().map(ToString::to_string),
                            split: split.as_deref(),
                            resources: self
                                .checked
                                .as_ref()
                                .ok()
                                .map(|plan| (&plan.resources, plan.limits.memory)),
                        },
                    );
                    if self.confirm.is_none() {
                        self.apply_edit(draft);
                    }
                    for action in actions {
                        match action {
                            ComposerAction::LoadCsv => self.load_csv_dialog(),
                        }
                    }
                });
            });
    }

    pub(super) fn load_csv_dialog(&mut self) {
        let Some(path) = rfd::FileDialog::new()
            .add_filter("CSV", &["csv", "txt"])
            .pick_file()
        else {
            return;
        };
        let mut draft = self.spec.clone();
        let delimiter = ',';
        draft.data.source = DataSource::Csv(CsvSpec {
            label: document::guess_csv_label(&path, delimiter),
            path: path.to_string_lossy().into_owned(),
            header: None,
            delimiter,
        });
        self.apply_edit(draft);
    }
}

/// A menu button named `name` (a part of `path`) with the whole path as its tooltip.
fn path_button(ui: &mut Ui, name: Option<&std::ffi::OsStr>, path: &std::path::Path) -> bool {
    let name = name
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    ui.button(name)
        .on_hover_text(path.display().to_string())
        .clicked()
}

/// A duration in words: "40 s", "12 min", "3 h", "2 days".
fn ago(age: std::time::Duration) -> String {
    let seconds = age.as_secs();
    match seconds {
        0..=89 => format!("{seconds} s"),
        90..=5399 => format!("{} min", (seconds + 30) / 60),
        5400..=172_799 => format!("{} h", (seconds + 1800) / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

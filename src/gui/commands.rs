//! Commands: one enum drives the toolbar, the menus and the keyboard shortcuts, so a button, its
//! menu entry and its shortcut always do the same thing and say the same words.

use eframe::egui::{Key, KeyboardShortcut, Modifiers};

/// Everything the user can ask for from a button, a menu or a shortcut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UiCommand {
    /// Open an experiment file (dialog).
    Open,
    /// Open a study folder (dialog).
    OpenStudy,
    /// Save to the current file (or ask for one).
    Save,
    /// Save to a new file (dialog).
    SaveAs,
    /// Start training, or continue a stopped run.
    Train,
    /// Pause a running run, or resume a paused one.
    PauseResume,
    /// One iteration, then pause.
    Step,
    /// End the run after the current iteration (the model is kept; Train continues it).
    Stop,
    /// Re-initialise the model from its seed (the run stays in the runs list).
    Reset,
    /// Save a PNG of the whole window.
    ScreenshotWindow,
    /// Save the parameters, trajectories and gradients as .npz.
    ExportNpz,
    /// Save the loss and accuracy history as CSV.
    ExportMetrics,
    /// Draw the current figures (training and diagnostics) as SVG and PNG files.
    ExportFigures,
    /// Switch between the dark and the light theme.
    ToggleTheme,
    /// Close the workbench.
    Quit,
}

impl UiCommand {
    /// Every command, in menu order.
    pub const ALL: [Self; 15] = [
        Self::Open,
        Self::OpenStudy,
        Self::Save,
        Self::SaveAs,
        Self::Train,
        Self::PauseResume,
        Self::Step,
        Self::Stop,
        Self::Reset,
        Self::ScreenshotWindow,
        Self::ExportNpz,
        Self::ExportMetrics,
        Self::ExportFigures,
        Self::ToggleTheme,
        Self::Quit,
    ];

    /// The words on the button or menu entry.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::Open => "Open…",
            Self::OpenStudy => "Open study…",
            Self::Save => "Save",
            Self::SaveAs => "Save as…",
            Self::Train => "Train",
            Self::PauseResume => "Pause",
            Self::Step => "Step",
            Self::Stop => "Stop",
            Self::Reset => "Reset",
            Self::ScreenshotWindow => "Screenshot of the window…",
            Self::ExportNpz => "Parameters as .npz…",
            Self::ExportMetrics => "Metrics as CSV…",
            Self::ExportFigures => "Figures as SVG and PNG…",
            Self::ToggleTheme => "Dark / light theme",
            Self::Quit => "Quit",
        }
    }

    /// What the command does, for its tooltip.
    #[must_use]
    pub fn tooltip(self) -> &'static str {
        match self {
            Self::Open => "Open an experiment file (.ron). Unsaved changes are asked about first.",
            Self::Save => {
                "Save the experiment with its checkpoint (parameters, optimiser state, history), \
                 so reopening it shows the trained model and can resume training."
            }
            Self::SaveAs => "Save the experiment and its checkpoint to a new file.",
            Self::OpenStudy => {
                "Open a study folder (made by `flowlab study run` or `flowlab study slurm`): its \
                 runs in the Runs panel, its summary chart in the Study panel, live while it runs."
            }
            Self::Train => {
                "Train on a background thread until the iteration count is reached. Continues a \
                 stopped or reopened run; a fresh model starts a new run in the runs list."
            }
            Self::PauseResume => "Pause after the current iteration, or resume a paused run.",
            Self::Step => "Do exactly one iteration, then pause.",
            Self::Stop => {
                "End the run after the current iteration. The model is kept: Train continues it, \
                 Reset starts again from the seed."
            }
            Self::Reset => {
                "Re-initialise the parameters from the initialisation seed. The current run stays \
                 in the runs list for comparison."
            }
            Self::ScreenshotWindow => "Save a PNG of the whole window.",
            Self::ExportNpz => {
                "Save the model as .npz: raw and effective parameters, the states z_k of every \
                 training point after every layer, logits and gradients (numpy.load reads it)."
            }
            Self::ExportMetrics => {
                "Save the history as CSV: iteration, loss, gradient norm, train and test accuracy."
            }
            Self::ExportFigures => {
                "Draw the training curves and the newest diagnostics as SVG and PNG figures \
                 into a folder (the same figures as `flowlab run --figures`)."
            }
            Self::ToggleTheme => "Switch between the dark and the light theme.",
            Self::Quit => "Close the workbench (unsaved changes are asked about first).",
        }
    }

    /// The keyboard shortcut, if the command has one.
    #[must_use]
    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        let key = |modifiers, key| Some(KeyboardShortcut::new(modifiers, key));
        match self {
            Self::Open => key(Modifiers::COMMAND, Key::O),
            Self::Save => key(Modifiers::COMMAND, Key::S),
            Self::SaveAs => key(Modifiers::COMMAND | Modifiers::SHIFT, Key::S),
            Self::Train => key(Modifiers::NONE, Key::F5),
            Self::PauseResume => key(Modifiers::NONE, Key::F6),
            Self::Step => key(Modifiers::NONE, Key::F10),
            Self::Stop => key(Modifiers::SHIFT, Key::F5),
            Self::Reset => key(Modifiers::COMMAND, Key::R),
            Self::ScreenshotWindow => key(Modifiers::NONE, Key::F12),
            Self::ToggleTheme => key(Modifiers::COMMAND, Key::T),
            Self::Quit => key(Modifiers::COMMAND, Key::Q),
            Self::OpenStudy | Self::ExportNpz | Self::ExportMetrics | Self::ExportFigures => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UiCommand;

    #[test]
    fn shortcuts_are_unique() {
        let shortcuts: Vec<_> = UiCommand::ALL.iter().filter_map(|c| c.shortcut()).collect();
        for (i, a) in shortcuts.iter().enumerate() {
            assert!(
                shortcuts[i + 1..].iter().all(|b| b != a),
                "{a:?} is used twice"
            );
        }
    }

    #[test]
    fn every_command_has_words() {
        for command in UiCommand::ALL {
            assert!(!command.text().is_empty() && !command.tooltip().is_empty());
        }
    }
}

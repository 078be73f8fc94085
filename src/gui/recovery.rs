//! A recovery copy of the experiment while it has unsaved changes, as desktop editors keep one:
//! written every minute and when a run starts or stops, removed when the changes are saved or
//! discarded and when the window closes normally. A copy found when the workbench starts was
//! left by a session that ended without closing (a crash, a killed process): it is offered back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::experiment::{self, Experiment};

/// How often a changed experiment is copied.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// The recovery copy in a folder (eframe's storage folder for the real window).
#[derive(Debug)]
pub struct Recovery {
    path: PathBuf,
    last_written: Option<Instant>,
}

/// A copy left by an earlier session: the experiment and when it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The experiment, with its checkpoint if it had trained.
    pub experiment: Experiment,
    /// When the copy was written.
    pub written: SystemTime,
}

impl Recovery {
    /// The copy in `folder` (`recovery.ron`).
    #[must_use]
    pub fn in_folder(folder: &Path) -> Self {
        Self {
            path: folder.join("recovery.ron"),
            last_written: None,
        }
    }

    /// The copy an earlier session left, if it is there and reads as an experiment (a copy
    /// that does not is removed: it cannot be offered).
    pub fn left_behind(&self) -> Option<Found> {
        let written = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()?;
        if let Ok(experiment) = experiment::load(&self.path) {
            Some(Found {
                experiment,
                written,
            })
        } else {
            self.remove();
            None
        }
    }

    /// Whether a minute has passed since the last copy (or none was written yet).
    #[must_use]
    pub fn is_due(&self) -> bool {
        self.last_written.is_none_or(|t| t.elapsed() >= INTERVAL)
    }

    /// Writes the copy (atomically; its folder is created).
    pub fn write(&mut self, exp: &Experiment) -> Result<(), experiment::Error> {
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder).map_err(|error| experiment::Error::Io {
                path: folder.to_owned(),
                operation: "create the folder of",
                error,
            })?;
        }
        experiment::save(exp, &self.path)?;
        self.last_written = Some(Instant::now());
        Ok(())
    }

    /// Removes the copy (nothing is left to recover).
    pub fn remove(&self) {
        // Missing already, or not removable: nothing more to do about it here.
        let _ = std::fs::remove_file(&self.path);
    }

    /// Whether a copy is on disk.
    #[must_use]
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }
}

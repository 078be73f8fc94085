//! The workbench (cargo feature `gui`): compose an experiment, train it on the engine's runner
//! thread and watch it live.
//!
//! Module map:
//! - [`app`]: [`Workbench`], the `eframe::App`: layout, files, confirmations, exports.
//! - [`commands`]: [`UiCommand`], one enum for the toolbar, the menus and the shortcuts.
//! - [`composer`]: the left panel that edits the experiment.
//! - [`worker`]: the bridge to [`crate::train::Runner`] (events, run control, runs list).
//! - [`analysis`]: diagnostics computed on a background thread from the runner's snapshots.
//! - [`panels`]: the tiled plot area (rearrange, maximise, hide); [`plots`] and
//!   [`diagnostic_plots`]: what each panel shows.
//! - [`document`]: the open file, its unsaved state, templates and recent files.
//! - [`screenshot`]: window and single-plot PNG exports, and the `--screenshot` mode.
//! - [`recovery`]: the copy of unsaved changes that a crash leaves to recover.
//! - [`study`]: an open study folder: its runs, its live chart, Run study.
//! - [`theme`]: preferences kept in eframe storage (theme, recent files, layout).
//!
//! The workbench talks to the engine only through [`crate::train`], [`crate::experiment`],
//! [`crate::diagnostics`] and the exports of [`crate::report`]: no numerics here.

pub mod analysis;
pub mod app;
pub mod commands;
pub mod composer;
pub mod diagnostic_plots;
pub mod document;
pub mod lines;
pub mod palette;
pub mod panels;
pub mod plots;
pub mod recovery;
pub mod screenshot;
pub mod study;
pub mod theme;
pub mod widgets;
pub mod worker;

use std::path::PathBuf;

pub use app::{StartOptions, Workbench};
pub use commands::UiCommand;
pub use screenshot::ScreenshotRequest;
pub use worker::RunState;

/// The window's initial size in points: readable at 1280×800.
pub const INITIAL_WINDOW_SIZE: [f32; 2] = [1440.0, 900.0];

/// Opens the workbench on `file` (or the default experiment), with the study folder `study`
/// if given, and runs until the window closes.
///
/// With `screenshot`, the workbench trains `after_iterations` iterations with the plots live,
/// saves a PNG of the window to the request's path and exits; an error if no PNG was written.
pub fn run(
    file: Option<PathBuf>,
    study: Option<PathBuf>,
    screenshot: Option<ScreenshotRequest>,
) -> anyhow::Result<()> {
    let started = std::time::SystemTime::now();
    let target = screenshot.as_ref().map(|r| r.path.clone());
    open_window(file, study, screenshot)?;
    if let Some(path) = target {
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= started);
        if !written {
            anyhow::bail!("the screenshot was not written: {}", path.display());
        }
    }
    Ok(())
}

/// The window of [`run`].
fn open_window(
    file: Option<PathBuf>,
    study: Option<PathBuf>,
    screenshot: Option<ScreenshotRequest>,
) -> anyhow::Result<()> {
    let size = screenshot
        .as_ref()
        .and_then(|s| s.window_size)
        .unwrap_or(INITIAL_WINDOW_SIZE);
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("flowlab")
            .with_app_id("flowlab")
            .with_inner_size(size)
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        // Pinned: dev-dependencies turn on eframe's wgpu feature in test builds, and the
        // binary should behave the same however it was built.
        renderer: eframe::Renderer::Glow,
        // A screenshot run must not remember (or disturb) the user's window layout.
        persist_window: screenshot.is_none(),
        ..Default::default()
    };
    let recovery = screenshot
        .is_none()
        .then(|| eframe::storage_dir("flowlab"))
        .flatten();
    let start = StartOptions {
        file,
        screenshot,
        recovery,
        study,
        study_runner: None,
    };
    eframe::run_native(
        "flowlab",
        options,
        Box::new(move |cc| Ok(Box::new(Workbench::new(cc, start)))),
    )
    .map_err(|e| anyhow::anyhow!("the workbench window failed: {e}"))
}

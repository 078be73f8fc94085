//! PNG exports of the window or of one panel (the integration reads the rendered pixels, the
//! callback hands them back to the UI thread, which crops and writes them), and the
//! `--screenshot PATH [--after-iterations N]` mode: open, train N iterations with the plots
//! live, save a screenshot, exit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use eframe::egui::{self, ColorImage, Rect};

/// What `flowlab --screenshot` asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenshotRequest {
    /// Where to write the PNG.
    pub path: PathBuf,
    /// Train this many iterations first (0: the model as opened).
    pub after_iterations: usize,
    /// The window's inner size in points (`None`: the workbench's default size).
    pub window_size: Option<[f32; 2]>,
}

/// A capture asked for and not yet written.
#[derive(Debug)]
struct Pending {
    path: PathBuf,
    crop: Option<Rect>,
}

/// Window captures: asks the integration for pixels and writes them when they arrive.
#[derive(Debug)]
pub struct Capture {
    sender: Sender<Arc<ColorImage>>,
    receiver: Receiver<Arc<ColorImage>>,
    pending: Option<Pending>,
}

impl Default for Capture {
    fn default() -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        Self {
            sender,
            receiver,
            pending: None,
        }
    }
}

impl Capture {
    /// Asks for the window's pixels; `crop` (in points) keeps only that part (one panel).
    pub fn request(&mut self, ctx: &egui::Context, path: PathBuf, crop: Option<Rect>) {
        let sender = self.sender.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let _ = sender.send(image);
            repaint.request_repaint();
        });
        self.pending = Some(Pending { path, crop });
    }

    /// Whether a capture is on its way.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Writes the capture once its pixels arrived: `Some(Ok(path))` or `Some(Err(message))`.
    pub fn poll(&mut self, pixels_per_point: f32) -> Option<Result<PathBuf, String>> {
        let image = self.receiver.try_recv().ok()?;
        let pending = self.pending.take()?;
        let image = match pending.crop {
            Some(rect) => image.region(&rect, Some(pixels_per_point)),
            None => (*image).clone(),
        };
        Some(write_png(&image, &pending.path).map(|()| pending.path))
    }
}

/// Writes an RGBA image as PNG.
pub fn write_png(image: &ColorImage, path: &Path) -> Result<(), String> {
    let [width, height] = image.size;
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(format!("the image is too large ({width}×{height})"));
    };
    let buffer = image::RgbaImage::from_raw(w, h, image.as_raw().to_vec())
        .ok_or_else(|| format!("the image has the wrong size ({width}×{height})"))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the folder ({e}): {}", parent.display()))?;
    }
    // Best compression: screenshots go into READMEs and repositories.
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write the PNG ({e}): {}", path.display()))?;
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        std::io::BufWriter::new(file),
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    buffer
        .write_with_encoder(encoder)
        .map_err(|e| format!("cannot write the PNG ({e}): {}", path.display()))
}

/// A default file name for an export: `flowlab-<what>-<unix seconds>.<ext>` in the working
/// directory.
#[must_use]
pub fn default_export_name(what: &str, extension: &str) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("flowlab-{what}-{seconds}.{extension}")
}

/// Where the `--screenshot` mode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The first frames: let the window settle, then start training.
    Starting,
    /// Training until the requested iteration.
    Training,
    /// The iteration was reached: let the plots (and diagnostics) catch up.
    Settling,
    /// The screenshot was asked for.
    Capturing,
    /// Written (or failed); the window closes.
    Done,
}

/// The `--screenshot` mode's progress.
#[derive(Debug)]
pub struct ScreenshotMode {
    /// The request.
    pub request: ScreenshotRequest,
    /// Where it is.
    pub phase: Phase,
    /// Frames drawn in the current phase.
    pub frames: u32,
    /// When the current phase started.
    pub since: Instant,
}

/// Give up training and take the screenshot anyway after this long.
pub const TRAINING_TIMEOUT: Duration = Duration::from_secs(600);

/// Wait at most this long for diagnostics after training.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

impl ScreenshotMode {
    /// The mode at its start.
    #[must_use]
    pub fn new(request: ScreenshotRequest) -> Self {
        Self {
            request,
            phase: Phase::Starting,
            frames: 0,
            since: Instant::now(),
        }
    }

    /// Moves to `phase`.
    pub fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.frames = 0;
        self.since = Instant::now();
    }
}

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

/// The pixel density of PNG exports: 2 pixels per point, whatever the screen's.
pub const EXPORT_PIXELS_PER_POINT: f32 = 2.0;

/// A capture asked for and not yet written.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Where the PNG goes.
    pub path: PathBuf,
    /// The part of the window (in points) to keep, or the whole window.
    pub crop: Option<Rect>,
}

/// Window captures at [`EXPORT_PIXELS_PER_POINT`]: the workbench renders itself once more,
/// off screen at that density ([`render_at_density`], with the window's OpenGL context); without
/// one (the headless tests) the integration's screenshot of the window at its own density is
/// used. PNGs are encoded on a background thread.
#[derive(Debug)]
pub struct Capture {
    sender: Sender<Arc<ColorImage>>,
    receiver: Receiver<Arc<ColorImage>>,
    /// Waiting for the next frame that can render it.
    requested: Option<Pending>,
    /// Waiting for the integration's screenshot.
    pending: Option<Pending>,
    written_sender: Sender<Result<PathBuf, String>>,
    written: Receiver<Result<PathBuf, String>>,
    writing: usize,
}

impl Default for Capture {
    fn default() -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        let (written_sender, written) = std::sync::mpsc::channel();
        Self {
            sender,
            receiver,
            requested: None,
            pending: None,
            written_sender,
            written,
            writing: 0,
        }
    }
}

impl Capture {
    /// Asks for a PNG of the window; `crop` (in points) keeps only that part (one panel). It
    /// is made at the end of the next frame ([`Self::take_request`]).
    pub fn request(&mut self, ctx: &egui::Context, path: PathBuf, crop: Option<Rect>) {
        self.requested = Some(Pending { path, crop });
        ctx.request_repaint();
    }

    /// The capture to make in this frame, if one was asked for.
    pub fn take_request(&mut self) -> Option<Pending> {
        self.requested.take()
    }

    /// Falls back to the integration's screenshot of the window (at the screen's density).
    pub fn request_native(&mut self, ctx: &egui::Context, pending: Pending) {
        let sender = self.sender.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let _ = sender.send(image);
            repaint.request_repaint();
        });
        self.pending = Some(pending);
    }

    /// Crops `image` (made at `pixels_per_point`) and writes it on a background thread.
    pub fn write(
        &mut self,
        ctx: &egui::Context,
        image: &ColorImage,
        pixels_per_point: f32,
        pending: Pending,
    ) {
        let image = match pending.crop {
            Some(rect) => image.region(&rect, Some(pixels_per_point)),
            None => image.clone(),
        };
        let sender = self.written_sender.clone();
        let repaint = ctx.clone();
        let path = pending.path;
        let spawned = std::thread::Builder::new()
            .name("flowlab-png".into())
            .spawn(move || {
                let _ = sender.send(write_png(&image, &path).map(|()| path));
                repaint.request_repaint();
            });
        match spawned {
            Ok(_) => self.writing += 1,
            Err(e) => {
                let _ = self
                    .written_sender
                    .send(Err(format!("could not start a thread: {e}")));
            }
        }
    }

    /// Hands the integration's screenshot to the writer, and returns a finished PNG:
    /// `Some(Ok(path))` or `Some(Err(message))`.
    pub fn poll(&mut self, ctx: &egui::Context) -> Option<Result<PathBuf, String>> {
        if let Ok(image) = self.receiver.try_recv()
            && let Some(pending) = self.pending.take()
        {
            self.write(ctx, &image, ctx.pixels_per_point(), pending);
        }
        let result = self.written.try_recv().ok()?;
        self.writing = self.writing.saturating_sub(1);
        Some(result)
    }
}

/// Draws `draw` once more in a separate egui context with `ctx`'s memory (panel sizes, plot
/// bounds, open sections), style and fonts at `pixels_per_point`, paints it with the window's
/// OpenGL context into the window's back buffer tile by tile (the window is smaller than the
/// picture) and reads the pixels back. The back buffer is cleared again afterwards, so the
/// frame eframe paints next is unaffected.
pub fn render_at_density(
    ctx: &egui::Context,
    gl: &Arc<eframe::glow::Context>,
    window_px: [u32; 2],
    pixels_per_point: f32,
    clear: egui::Color32,
    mut draw: impl FnMut(&mut egui::Ui),
) -> Result<ColorImage, String> {
    use eframe::egui_glow;
    let size = ctx.content_rect().size();
    if window_px[0] == 0 || window_px[1] == 0 || !size.x.is_finite() || size.x <= 0.0 {
        return Err("the window has no size".into());
    }
    let off = egui::Context::default();
    off.memory_mut(|memory| *memory = ctx.memory(Clone::clone));
    // After the memory, where font insertions wait for the next pass.
    super::theme::install_fonts(&off);
    let mut painter = egui_glow::Painter::new(Arc::clone(gl), "", None, false)
        .map_err(|e| format!("OpenGL: {e}"))?;
    let mut input = egui::RawInput {
        screen_rect: Some(Rect::from_min_size(egui::Pos2::ZERO, size)),
        max_texture_side: Some(painter.max_texture_side()),
        ..Default::default()
    };
    input
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .native_pixels_per_point = Some(pixels_per_point / off.zoom_factor());
    // A few passes: the first lays out with no knowledge of sizes it has not seen yet.
    let mut output = off.run_ui(input.clone(), &mut draw);
    for _ in 0..2 {
        for (id, deltas) in std::mem::take(&mut output.textures_delta.set) {
            for delta in deltas {
                painter.set_texture(id, &delta);
            }
        }
        for id in std::mem::take(&mut output.textures_delta.free) {
            painter.free_texture(id);
        }
        output = off.run_ui(input.clone(), &mut draw);
    }
    let ppp = output.pixels_per_point;
    let primitives = off.tessellate(std::mem::take(&mut output.shapes), ppp);
    for (id, deltas) in std::mem::take(&mut output.textures_delta.set) {
        for delta in deltas {
            painter.set_texture(id, &delta);
        }
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a window's size in pixels"
    )]
    let [width, height] = [
        (size.x * ppp).round() as usize,
        (size.y * ppp).round() as usize,
    ];
    let [tile_w, tile_h] = window_px.map(|v| v as usize);
    let clear_color = egui::Rgba::from(clear).to_array();
    let mut pixels = vec![egui::Color32::TRANSPARENT; width * height];
    for top in (0..height).step_by(tile_h) {
        for left in (0..width).step_by(tile_w) {
            let shift = -egui::vec2(left as f32, top as f32) / ppp;
            let shifted: Vec<egui::ClippedPrimitive> = primitives
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.clip_rect = p.clip_rect.translate(shift);
                    if let egui::epaint::Primitive::Mesh(mesh) = &mut p.primitive {
                        mesh.translate(shift);
                    }
                    p
                })
                .collect();
            egui_glow::painter::clear(gl, window_px, clear_color);
            painter.paint_primitives(window_px, ppp, &shifted);
            let tile = painter.read_screen_rgba(window_px);
            let rows = tile_h.min(height - top);
            let columns = tile_w.min(width - left);
            for row in 0..rows {
                let from = row * tile_w;
                let to = (top + row) * width + left;
                pixels[to..to + columns].copy_from_slice(&tile.pixels[from..from + columns]);
            }
        }
    }
    for id in std::mem::take(&mut output.textures_delta.free) {
        painter.free_texture(id);
    }
    painter.destroy();
    egui_glow::painter::clear(gl, window_px, clear_color);
    Ok(ColorImage::new([width, height], pixels))
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
    // Best compression: screenshots go into READMEs and repositories. Written atomically, as
    // every file flowlab writes.
    let mut file = crate::experiment::files::AtomicFile::create(path)
        .map_err(|e| format!("cannot write the PNG ({e}): {}", path.display()))?;
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut file,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    buffer
        .write_with_encoder(encoder)
        .map_err(|e| format!("cannot write the PNG ({e}): {}", path.display()))?;
    file.commit()
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

//! [`Workbench`], the `eframe::App`: the composer on the left, run controls on top, the status
//! bar at the bottom and the plot panels in the middle; files, confirmations and exports.
//!
//! Every file operation is a method taking a path ([`Workbench::open_path`],
//! [`Workbench::save_to`], the `export_*` methods): the menus and dialogs only produce the
//! path, so tests call the same code the user does.

mod control;
mod files;
mod frame;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::{self, Ui};

use super::analysis::DiagnosticsState;
use super::document::{self, Document};
use super::panels::{LAYOUT_KEY, Layout, PanelAction};
use super::plots::PlotContext;
use super::recovery::{Found, Recovery};
use super::screenshot::{self, Capture, Pending, Phase, ScreenshotMode, ScreenshotRequest};
use super::study::{StudyAction, StudyView};
use super::theme::{PREFERENCES_KEY, Preferences, Theme};
use super::worker::{RunState, Worker};
use crate::experiment::{self, BuildError, Experiment, Plan, Problem, Problems, Record};
use crate::train::background::{NoResult, OneShot, Waker};
use crate::train::{Session, SessionError, Snapshot};

/// What a figure export thread sends back: the folder and what was written, or the error.
type FiguresResult = Result<(PathBuf, crate::report::Figures), crate::report::Error>;

/// What an .npz export thread sends back: the path written, or why not.
type NpzResult = Result<PathBuf, NpzError>;

/// Why an .npz export failed: the model copy could not be built, or the archive not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NpzError {
    /// The copy of the model.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// The archive.
    #[error("{0}")]
    Report(#[from] crate::report::Error),
}

/// How long `logic` may spend handling training events per frame.
const EVENT_BUDGET: Duration = Duration::from_millis(8);

/// What the workbench opens with.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// The experiment file (`None`: the built-in default).
    pub file: Option<PathBuf>,
    /// The `--screenshot` mode.
    pub screenshot: Option<ScreenshotRequest>,
    /// The folder of the recovery copy of unsaved changes (`None`: no copy is kept). The
    /// window keeps it where eframe keeps its state.
    pub recovery: Option<PathBuf>,
    /// A study folder to open (File ▸ Open study…).
    pub study: Option<PathBuf>,
    /// The flowlab binary that runs a study's runs (Run study); `None`: this program.
    pub study_runner: Option<PathBuf>,
}

/// A message over the plots: where an export wrote, why a file did not open, why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banner {
    /// The message.
    pub text: String,
    /// An error (red) or information.
    pub is_error: bool,
}

/// What to do once unsaved changes may be discarded.
#[derive(Clone, Debug, PartialEq)]
enum Then {
    Open(PathBuf),
    OpenDialog,
    /// A template, or the built-in default experiment.
    New(Option<PathBuf>),
    Quit,
}

/// A question the workbench is waiting for the user to answer.
#[derive(Clone, Debug, PartialEq)]
enum Confirm {
    /// An edit would rebuild the model and end the current run.
    DiscardRun(Box<Experiment>),
    /// Unsaved changes would be lost.
    DiscardChanges(Then),
    /// A recovery copy of an earlier session's unsaved changes was found.
    Recover(Box<Found>),
}

/// A model being prepared on a background thread (data generated or read, parameters drawn or
/// restored from the checkpoint), and what becomes current with it.
struct Preparing {
    job: OneShot<Result<Session, BuildError>>,
    /// The experiment (without checkpoint) and its plan.
    spec: Experiment,
    plan: Plan,
    /// The document that comes with it (opening a file, New); `None` for an edit of the current
    /// one.
    document: Option<Document>,
}

/// The workbench.
pub struct Workbench {
    ctx: egui::Context,
    prefs: Preferences,
    layout: Layout,
    document: Document,
    spec: Experiment,
    /// What [`experiment::check`] made of `spec`.
    checked: Result<Plan, Problems>,
    /// The part of the experiment the current model was built from (see [`model_part`]), and
    /// its plan.
    model_spec: Option<(Experiment, Plan)>,
    /// Why the model of a valid experiment could not be built.
    build_error: Option<BuildError>,
    /// A model on its way.
    preparing: Option<Preparing>,
    /// The recovery copy of unsaved changes.
    recovery: Option<Recovery>,
    waker: Waker,
    worker: Worker,
    diagnostics: DiagnosticsState,
    confirm: Option<Confirm>,
    banner: Option<Banner>,
    capture: Capture,
    /// A figure export in progress.
    figures: Option<OneShot<FiguresResult>>,
    /// An .npz export in progress.
    npz: Option<OneShot<NpzResult>>,
    /// The open study.
    study: Option<StudyView>,
    /// See [`StartOptions::study_runner`].
    study_runner: Option<PathBuf>,
    screenshot: Option<ScreenshotMode>,
    title: String,
    allow_close: bool,
    applied_theme: Option<Theme>,
    /// When this frame's `logic` started, and how long the last frame's `logic` + `ui` took.
    frame_started: Option<Instant>,
    frame_work: Option<Duration>,
}

impl std::fmt::Debug for Workbench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workbench")
            .field("file", &self.document.path)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

/// The experiment without what can change under a model without rebuilding it: the name,
/// notes, diagnostics settings and iteration count.
fn model_part(exp: &Experiment) -> Experiment {
    let mut part = exp.clone();
    part.name.clear();
    part.notes.clear();
    part.diagnostics = experiment::DiagnosticsSpec::default();
    part.train.iterations = 0;
    part.checkpoint = None;
    part
}

/// A short description of a model's settings for the runs list.
fn run_label(exp: &Experiment) -> String {
    let m = &exp.model;
    let integrator = match &exp.integrator {
        experiment::IntegratorSpec::Tableau(t) if !t.name.is_empty() => t.name.clone(),
        other => format!("{other:?}")
            .split(['(', ' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    format!(
        "{:?} · {} · {} · {} · d={} K={} T={}",
        m.field,
        m.activation.name(),
        m.constraint.name(),
        integrator,
        m.width,
        m.layers,
        m.final_time
    )
}

impl Workbench {
    /// The workbench as eframe creates it: preferences from storage, the start file (or the
    /// default experiment) opened.
    pub fn new(cc: &eframe::CreationContext<'_>, start: StartOptions) -> Self {
        // A `--screenshot` picture does not depend on (or change) the user's preferences.
        let storage = cc.storage.filter(|_| start.screenshot.is_none());
        let (prefs, layout) = storage.map_or_else(
            || (Preferences::default(), Layout::default()),
            |storage| {
                (
                    eframe::get_value(storage, PREFERENCES_KEY).unwrap_or_default(),
                    eframe::get_value::<Layout>(storage, LAYOUT_KEY)
                        .map(Layout::checked)
                        .unwrap_or_default(),
                )
            },
        );
        let mut app = Self::with_preferences(&cc.egui_ctx, prefs, layout);
        if let Some(path) = &start.file
            && let Err(e) = app.open_path(path)
        {
            app.banner = Some(Banner {
                text: format!("{e}; the default experiment is open instead"),
                is_error: true,
            });
        }
        app.study_runner = start.study_runner;
        if let Some(dir) = &start.study {
            let _ = app.open_study(dir);
        }
        if let Some(request) = start.screenshot {
            app.allow_close = true;
            app.screenshot = Some(ScreenshotMode::new(request));
        } else if let Some(folder) = start.recovery {
            let recovery = Recovery::in_folder(&folder);
            if let Some(found) = recovery.left_behind() {
                app.confirm = Some(Confirm::Recover(Box::new(found)));
            }
            app.recovery = Some(recovery);
        }
        app
    }

    /// A workbench on the default experiment with the given preferences and layout.
    fn with_preferences(ctx: &egui::Context, prefs: Preferences, layout: Layout) -> Self {
        super::theme::install_fonts(ctx);
        super::theme::install_text_sizes(ctx);
        let repaint = ctx.clone();
        let waker: Waker =
            Arc::new(move || repaint.request_repaint_after(Duration::from_millis(15)));
        let exp = document::default_experiment();
        let mut app = Self {
            ctx: ctx.clone(),
            prefs,
            layout,
            document: Document::default(),
            // Until the default experiment's model is prepared: nothing to train, no problems.
            checked: Err(Problems::default()),
            spec: exp.clone(),
            model_spec: None,
            build_error: None,
            preparing: None,
            recovery: None,
            waker: Arc::clone(&waker),
            worker: Worker::new(Arc::clone(&waker)),
            diagnostics: DiagnosticsState::new(Arc::clone(&waker)),
            confirm: None,
            banner: None,
            capture: Capture::default(),
            figures: None,
            npz: None,
            study: None,
            study_runner: None,
            screenshot: None,
            title: String::new(),
            allow_close: false,
            applied_theme: None,
            frame_started: None,
            frame_work: None,
        };
        let document = Document::untitled(None, &exp);
        app.prepare(exp, None, Some(document));
        app
    }

    // ----------------------------------------------------------------------------------------
    // Reading the state (the tests use these).

    /// The experiment being edited (without checkpoint).
    #[must_use]
    pub fn experiment(&self) -> &Experiment {
        &self.spec
    }

    /// The validator's problems of the experiment.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        self.checked.as_ref().err().map_or(&[], Problems::as_slice)
    }

    /// Why the model could not be built although the experiment is valid.
    #[must_use]
    pub fn build_error(&self) -> Option<&BuildError> {
        self.build_error.as_ref()
    }

    /// Whether a model is being prepared (its data generated or read) on a background thread.
    #[must_use]
    pub fn is_preparing(&self) -> bool {
        self.preparing.is_some()
    }

    /// Whether the experiment is valid and its model built (Train may start).
    fn is_ready(&self) -> bool {
        self.checked.is_ok() && self.build_error.is_none() && self.preparing.is_none()
    }

    /// The run state.
    #[must_use]
    pub fn state(&self) -> RunState {
        self.worker.state()
    }

    /// Iterations done by the current model.
    #[must_use]
    pub fn iteration(&self) -> usize {
        self.worker.iteration()
    }

    /// The current model's history.
    #[must_use]
    pub fn history(&self) -> &[Record] {
        self.worker.history()
    }

    /// Every run of this window, oldest first (the current one last).
    #[must_use]
    pub fn runs(&self) -> &[super::worker::Run] {
        self.worker.runs()
    }

    /// The newest copy of the current model.
    #[must_use]
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        self.worker.snapshot()
    }

    /// The newest diagnostics of the current model, once computed.
    #[must_use]
    pub fn diagnostics(&self) -> Option<&Arc<crate::diagnostics::DiagnosticsReport>> {
        self.diagnostics.report.as_ref()
    }

    /// The message over the plots, if any.
    #[must_use]
    pub fn banner(&self) -> Option<&Banner> {
        self.banner.as_ref()
    }

    /// The run's failure, while the failed model is current.
    #[must_use]
    pub fn failure(&self) -> Option<&super::worker::Failure> {
        self.worker.failure()
    }

    /// The open file.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.document.path.as_deref()
    }

    /// Whether there are unsaved changes.
    #[must_use]
    pub fn is_dirty(&self) -> bool {
        self.document.is_dirty(&self.spec, self.worker.iteration())
    }

    /// The window title.
    #[must_use]
    pub fn title(&self) -> String {
        self.document.title(self.is_dirty())
    }

    /// Switches the diagnostics computation on or off (View ▸ Live diagnostics).
    pub fn set_live_diagnostics(&mut self, live: bool) {
        self.prefs.live_diagnostics = live;
        if self.diagnostics.set_live(live) {
            self.request_diagnostics_now();
        }
    }

    /// How long the last frame's UI work took (`logic` and `ui`, not egui's tessellation):
    /// what `benches/frame_time.rs` reports.
    #[must_use]
    pub fn frame_work(&self) -> Option<Duration> {
        self.frame_work
    }

    /// The panel layout.
    pub fn layout_mut(&mut self) -> &mut Layout {
        &mut self.layout
    }

    // ----------------------------------------------------------------------------------------
    // Models.

    /// Checks `exp` (which may carry a checkpoint) and, when it is valid, prepares its model on
    /// a background thread (data relative to `base`); [`Workbench::poll_preparing`] makes it
    /// current when it is ready. `document` comes with it (opening a file, New); `None` keeps
    /// the current document (an edit). A newer preparation replaces one in flight.
    fn prepare(&mut self, exp: Experiment, base: Option<PathBuf>, document: Option<Document>) {
        let checked = experiment::check_with(&exp, self.prefs.limits());
        let mut spec = exp;
        spec.checkpoint = None;
        self.preparing = None;
        let plan = match checked {
            Ok(plan) => plan,
            Err(problems) => {
                self.commit(spec, Err(problems), document, None);
                return;
            }
        };
        if document.is_none() {
            // An edit: the composer shows the new settings at once; the model follows.
            self.spec.clone_from(&spec);
            self.checked = Ok(plan.clone());
        }
        // A run of the model being replaced stops now, not when the new model is ready (its
        // session is kept: a file that cannot be opened leaves it as it was, stopped).
        self.worker.shutdown();
        let (job_plan, job_base) = (plan.clone(), base.clone());
        let job = OneShot::spawn(
            "flowlab-prepare",
            Some(Arc::clone(&self.waker)),
            move || job_plan.session(job_base.as_deref(), 1),
        );
        if let Ok(job) = job {
            self.preparing = Some(Preparing {
                job,
                spec,
                plan,
                document,
            });
        } else {
            // The system refused a thread: build the model on this one.
            let session = plan.session(base.as_deref(), 1);
            self.commit(spec, Ok(plan), document, Some(session));
        }
    }

    /// Makes a prepared model current once it is ready. A file whose checkpoint does not fit its
    /// model is not opened: everything stays as it was and the banner says why.
    fn poll_preparing(&mut self) {
        let Some(result) = self.preparing.as_ref().and_then(|p| p.job.poll()) else {
            return;
        };
        let Some(Preparing {
            spec,
            plan,
            document,
            ..
        }) = self.preparing.take()
        else {
            return;
        };
        let opening = document.as_ref().and_then(|d| d.path.clone());
        match result {
            Ok(Err(BuildError::Session(error @ SessionError::Checkpoint(_))))
                if opening.is_some() =>
            {
                let path = opening.unwrap_or_default();
                self.error(format!(
                    "Could not open the file: {error}: {}",
                    path.display()
                ));
            }
            Ok(session) => self.commit(spec, Ok(plan), document, Some(session)),
            Err(NoResult) => self.error(format!(
                "Could not prepare the model: {NoResult} (a bug in flowlab)"
            )),
        }
    }

    /// Makes `spec` current with what [`experiment::check`] made of it and its model (`None`
    /// when it has problems).
    fn commit(
        &mut self,
        spec: Experiment,
        checked: Result<Plan, Problems>,
        document: Option<Document>,
        session: Option<Result<Session, BuildError>>,
    ) {
        if let Some(document) = document {
            self.document = document;
        }
        self.spec = spec;
        self.build_error = None;
        self.model_spec = None;
        match (session, &checked) {
            (Some(Ok(session)), Ok(plan)) => {
                self.model_spec = Some((model_part(&self.spec), plan.clone()));
                self.worker.install(session, run_label(&self.spec));
            }
            (Some(Err(error)), _) => {
                self.build_error = Some(error);
                self.worker.clear();
            }
            _ => self.worker.clear(),
        }
        self.checked = checked;
        self.diagnostics.reset_model();
        self.request_diagnostics_now();
    }

    /// Sets the memory budget (`None`: half of this machine's memory) and checks the experiment
    /// again within it: a refusal shows at once (and Train waits for a fitting experiment); an
    /// experiment that now fits and has no model gets one.
    pub fn set_memory_budget(&mut self, bytes: Option<u64>) {
        self.prefs.memory_budget = bytes;
        self.checked = experiment::check_with(&self.spec, self.prefs.limits());
        let without_model = self.worker.snapshot().is_none() && self.preparing.is_none();
        if self.checked.is_ok() && without_model {
            self.rebuild();
        }
    }

    /// Rebuilds the model from the edited experiment (fresh parameters from the seed).
    fn rebuild(&mut self) {
        let base = self.document.base_dir.clone();
        self.prepare(self.spec.clone(), base, None);
    }

    /// Applies the composer's edit: at once if it leaves the model as it is or no run would be
    /// lost, otherwise after asking.
    fn apply_edit(&mut self, draft: Experiment) {
        if draft == self.spec {
            return;
        }
        let same_model = self.preparing.is_none()
            && self
                .model_spec
                .as_ref()
                .is_some_and(|(m, _)| *m == model_part(&draft));
        if same_model {
            let iterations = draft.train.iterations;
            let iterations_changed = iterations != self.spec.train.iterations;
            let diagnostics_changed = draft.diagnostics != self.spec.diagnostics;
            self.spec = draft;
            self.checked = experiment::check_with(&self.spec, self.prefs.limits());
            if iterations_changed && iterations > 0 {
                self.worker.set_total_iterations(iterations);
            }
            if diagnostics_changed && self.checked.is_ok() {
                self.request_diagnostics_now();
            }
            return;
        }
        if self.worker.has_progress() {
            self.confirm = Some(Confirm::DiscardRun(Box::new(draft)));
        } else {
            self.spec = draft;
            self.rebuild();
        }
    }

    // ----------------------------------------------------------------------------------------
    // Diagnostics.

    /// Asks for diagnostics of the current model's newest snapshot (with the checked
    /// diagnostics settings; none while they have problems).
    fn request_diagnostics_now(&mut self) {
        if let (Some(snapshot), Some(split), Ok(plan)) =
            (self.worker.snapshot(), self.worker.split(), &self.checked)
        {
            let run = self.worker.current_run().map(|r| r.number);
            self.diagnostics
                .request(snapshot, split, &plan.diagnostics, run);
        }
    }

    /// Asks for diagnostics when the newest snapshot is due (see
    /// [`DiagnosticsState::request_if_due`]).
    fn on_snapshots(&mut self) {
        if let (Some(snapshot), Some(split), Ok(plan)) =
            (self.worker.snapshot(), self.worker.split(), &self.checked)
        {
            let run = self.worker.current_run().map(|r| r.number);
            let training = self.worker.state() == RunState::Running;
            self.diagnostics
                .request_if_due(snapshot, split, &plan.diagnostics, run, training);
        }
    }

    // ----------------------------------------------------------------------------------------
    // The frame.

    fn screenshot_logic(&mut self, ctx: &egui::Context) {
        let ready = self.is_ready();
        let Some(mode) = &mut self.screenshot else {
            return;
        };
        mode.frames += 1;
        match mode.phase {
            Phase::Starting => {
                let prepared =
                    self.preparing.is_none() || mode.since.elapsed() > screenshot::TRAINING_TIMEOUT;
                if mode.frames >= 3 && prepared {
                    // The run ends exactly at the requested iteration (its count is set to it),
                    // so the picture does not depend on how fast frames are drawn.
                    let target = mode.request.after_iterations;
                    if ready && target > self.worker.iteration() {
                        self.worker.set_total_iterations(target);
                    }
                    if ready && target > self.worker.iteration() && self.worker.train().is_ok() {
                        mode.enter(Phase::Training);
                    } else {
                        mode.enter(Phase::Settling);
                    }
                }
            }
            Phase::Training => {
                let done = self.worker.iteration() >= mode.request.after_iterations
                    || !self.worker.state().is_active()
                    || mode.since.elapsed() > screenshot::TRAINING_TIMEOUT;
                if done {
                    if self.worker.state() == RunState::Running {
                        self.worker.toggle_pause();
                    }
                    mode.enter(Phase::Settling);
                }
            }
            Phase::Settling => {
                let busy = self.diagnostics.is_busy()
                    || self.study.as_ref().is_some_and(StudyView::is_reading);
                let waiting = busy && mode.since.elapsed() < screenshot::SETTLE_TIMEOUT;
                if mode.frames >= 10 && !waiting {
                    let path = mode.request.path.clone();
                    mode.enter(Phase::Capturing);
                    self.capture.request(ctx, path, None);
                }
            }
            Phase::Capturing | Phase::Done => {}
        }
        ctx.request_repaint();
    }

    /// Everything the window shows (also drawn off screen for PNG exports).
    fn draw_ui(&mut self, ui: &mut Ui) {
        egui::Panel::top("menu-and-toolbar").show(ui, |ui| {
            self.menu_ui(ui);
            ui.separator();
            self.toolbar_ui(ui);
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        self.composer_panel(ui);
        egui::CentralPanel::default().show(ui, |ui| {
            self.banner_ui(ui);
            let mut cx = PlotContext {
                worker: &mut self.worker,
                prefs: &mut self.prefs,
                spec: &self.spec,
                diagnostics: &mut self.diagnostics,
                study: self.study.as_mut(),
            };
            let actions = self.layout.ui(ui, &mut cx);
            for action in actions {
                if let PanelAction::ExportPng(kind) = action
                    && let Some(path) = self.save_dialog(
                        &screenshot::default_export_name(
                            &kind.title().to_lowercase().replace(' ', "-"),
                            "png",
                        ),
                        ("PNG image", &["png"]),
                    )
                {
                    self.export_panel_png(kind, path);
                }
            }
        });
        let ctx = ui.ctx().clone();
        self.confirm_ui(&ctx);
    }

    /// Makes the PNG asked for: the window drawn again off screen at 2 pixels per point with
    /// the window's OpenGL context, or (without one: the headless tests) the integration's
    /// screenshot at the screen's density.
    fn capture_now(&mut self, ctx: &egui::Context, frame: &eframe::Frame, pending: Pending) {
        let Some(gl) = frame.gl().cloned() else {
            self.capture.request_native(ctx, pending);
            return;
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a window's size in pixels"
        )]
        let window_px = {
            let size = ctx.content_rect().size() * ctx.pixels_per_point();
            [size.x.round() as u32, size.y.round() as u32]
        };
        let clear = ctx.global_style().visuals.panel_fill;
        // The decision boundary's texture belongs to this context: the off-screen one loads
        // its own, and this one's is put back afterwards.
        let texture = self.diagnostics.boundary_texture.take();
        let image = screenshot::render_at_density(
            ctx,
            &gl,
            window_px,
            screenshot::EXPORT_PIXELS_PER_POINT,
            clear,
            |ui| self.draw_ui(ui),
        );
        self.diagnostics.boundary_texture = texture;
        match image {
            Ok(image) => {
                self.capture
                    .write(ctx, &image, screenshot::EXPORT_PIXELS_PER_POINT, pending);
            }
            Err(e) => {
                // Still a PNG, at the screen's density, and the log says why.
                eprintln!(
                    "warning: the 2× rendering failed ({e}); the screenshot has the window's own density"
                );
                self.capture.request_native(ctx, pending);
            }
        }
    }

    fn poll_capture(&mut self, ctx: &egui::Context) {
        let Some(result) = self.capture.poll(ctx) else {
            return;
        };
        match result {
            Ok(path) => self.info(format!("Wrote {}", path.display())),
            Err(e) => self.error(format!("Screenshot failed: {e}")),
        }
        if let Some(mode) = &mut self.screenshot
            && mode.phase == Phase::Capturing
        {
            if let Some(Banner { text, is_error }) = &self.banner {
                if *is_error {
                    eprintln!("error: {text}");
                } else {
                    eprintln!("{text}");
                }
            }
            mode.enter(Phase::Done);
            self.worker.shutdown();
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn file_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_owned())
                .collect()
        });
        if let Some(path) = dropped
            .into_iter()
            .find(|p| document::is_experiment_file(p))
        {
            self.guard(Then::Open(path));
        }
    }

    fn close_request(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) {
            if self.is_dirty() && !self.allow_close {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.confirm = Some(Confirm::DiscardChanges(Then::Quit));
            } else {
                self.worker.shutdown();
                // A normal close: nothing is left to recover.
                if let Some(recovery) = &self.recovery {
                    recovery.remove();
                }
            }
        }
    }

    /// Writes the recovery copy of unsaved changes (with the checkpoint of a trained model: a
    /// run in progress goes on from where it was); removes it when there are none. `force`
    /// writes it now, otherwise once a minute.
    pub fn keep_recovery_copy(&mut self, force: bool) {
        let dirty = self.is_dirty();
        let Some(recovery) = &self.recovery else {
            return;
        };
        if !dirty {
            if recovery.exists() {
                recovery.remove();
            }
            return;
        }
        if !force && !recovery.is_due() {
            return;
        }
        let mut copy = self.spec.clone();
        if self.worker.iteration() > 0 {
            copy.checkpoint = self.worker.with_session(|s| s.checkpoint());
        }
        if let Some(recovery) = &mut self.recovery
            && let Err(e) = recovery.write(&copy)
        {
            eprintln!("warning: could not keep a recovery copy: {e}");
        }
    }

    /// Makes a recovered copy the current, unsaved document.
    fn recover(&mut self, found: Found) {
        let document = Document::recovered();
        self.prepare(found.experiment, None, Some(document));
    }
}

impl Workbench {
    // ----------------------------------------------------------------------------------------
    // Studies.

    /// Opens the study folder `dir` (it holds `study.json`): its runs are read on a background
    /// thread and shown in the Runs and Study panels. A folder that is not a study is refused
    /// and the banner says why; an open study is closed first.
    pub fn open_study(&mut self, dir: &Path) -> Result<(), crate::study::StudyError> {
        match StudyView::open(dir, Arc::clone(&self.waker)) {
            Ok(view) => {
                self.study = Some(view);
                self.layout
                    .set_visible(super::panels::PaneKind::Study, true);
                self.info(format!("Opened the study in {}", dir.display()));
                Ok(())
            }
            Err(error) => {
                self.error(format!("Could not open the study: {error}"));
                Err(error)
            }
        }
    }

    /// The open study.
    #[must_use]
    pub fn study(&self) -> Option<&StudyView> {
        self.study.as_ref()
    }

    /// The open study, to change its view (filters, sorting, overlays) as its panels do.
    pub fn study_mut(&mut self) -> Option<&mut StudyView> {
        self.study.as_mut()
    }

    /// Runs the open study's unfinished runs here, one per core (Run study).
    pub fn run_study(&mut self) {
        let exe = match self
            .study_runner
            .clone()
            .map_or_else(std::env::current_exe, Ok)
        {
            Ok(exe) => exe,
            Err(e) => {
                self.error(format!("Could not run the study: where is flowlab? ({e})"));
                return;
            }
        };
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        let Some(study) = &mut self.study else {
            return;
        };
        match study.run(exe, jobs) {
            Ok(()) => self.info(format!("Running the study, {jobs} runs at a time…")),
            Err(message) => self.error(message),
        }
    }

    /// What the study's panels asked for, its readings and the end of a study run here.
    fn poll_study(&mut self, ctx: &egui::Context) {
        let Some(study) = &mut self.study else {
            return;
        };
        let ended = study.poll(ctx);
        let actions = study.take_actions();
        match ended {
            Some(Ok(text)) => self.info(text),
            Some(Err(text)) => self.error(text),
            None => {}
        }
        for action in actions {
            match action {
                StudyAction::OpenRun(index) => {
                    if let Some(path) = self.study.as_ref().and_then(|s| s.run_file(index)) {
                        self.guard(Then::Open(path));
                    }
                }
                StudyAction::Run => self.run_study(),
                StudyAction::Stop => {
                    if let Some(study) = &mut self.study {
                        study.stop();
                    }
                }
                StudyAction::Close => self.study = None,
            }
        }
    }
}

impl eframe::App for Workbench {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frame_started = Some(Instant::now());
        if self.applied_theme != Some(self.prefs.theme) {
            self.prefs.theme.apply(ctx);
            self.applied_theme = Some(self.prefs.theme);
        }
        if self.confirm.is_none() {
            self.shortcuts(ctx);
        }
        self.file_drops(ctx);
        self.close_request(ctx);
        self.poll_preparing();
        if self.confirm.is_none() {
            self.keep_recovery_copy(false);
        }
        let (snapshots, more) = self.worker.poll(EVENT_BUDGET);
        if more {
            ctx.request_repaint();
        }
        if !snapshots.is_empty() || self.worker.state() != RunState::Running {
            self.on_snapshots();
        }
        if self.diagnostics.set_live(self.prefs.live_diagnostics) {
            self.request_diagnostics_now();
        }
        self.diagnostics.poll();
        self.poll_capture(ctx);
        self.poll_figures();
        self.poll_npz();
        self.poll_study(ctx);
        self.screenshot_logic(ctx);
        let title = self.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        self.draw_ui(ui);
        self.frame_work = self.frame_started.take().map(|t| t.elapsed());
        if let Some(pending) = self.capture.take_request() {
            self.capture_now(ui.ctx(), frame, pending);
        }
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        // A screenshot shows the workbench, not where the pointer happens to rest (under Xvfb:
        // the middle of the screen, over a plot, with its hover read-out).
        if self.screenshot.is_some() {
            raw_input.events.retain(|event| {
                !matches!(
                    event,
                    egui::Event::PointerMoved(_) | egui::Event::PointerButton { .. }
                )
            });
            raw_input.events.push(egui::Event::PointerGone);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.screenshot.is_some() {
            return;
        }
        eframe::set_value(storage, PREFERENCES_KEY, &self.prefs);
        eframe::set_value(storage, LAYOUT_KEY, &self.layout);
    }
}

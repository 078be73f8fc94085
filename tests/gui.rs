//! The workbench, driven through its accessibility tree with egui_kittest (no display needed),
//! plus one real-window test that needs a display (ignored by default; `.ci/run` runs it under
//! xvfb-run).
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use flowlab::experiment::{self, Experiment, FieldKind, IntegratorSpec};
use flowlab::gui::panels::PaneKind;
use flowlab::gui::{RunState, StartOptions, UiCommand, Workbench};
use flowlab::model::{Activation, Constraint};
use flowlab::train::optimizer::OptimizerSpec;

/// A tall window, so every composer control is on screen without scrolling, showing the
/// default experiment's model.
fn harness() -> Harness<'static, Workbench> {
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([1400.0, 2000.0])
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    prepared(&mut harness);
    harness
}

/// Steps frames until the model being prepared on the background thread (after opening a file
/// or an edit) is current.
fn prepared(harness: &mut Harness<'_, Workbench>) {
    assert!(
        run_until(harness, Duration::from_secs(60), |app| !app.is_preparing()),
        "the model was not prepared in time"
    );
    harness.run();
}

/// Opens `path` and waits for its model.
fn open(harness: &mut Harness<'_, Workbench>, path: &Path) {
    harness.state_mut().open_path(path).unwrap();
    prepared(harness);
}

/// Steps frames (training runs in real time on its own thread) until `done` or `timeout`.
fn run_until(
    harness: &mut Harness<'_, Workbench>,
    timeout: Duration,
    done: impl Fn(&Workbench) -> bool,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        harness.step();
        if done(harness.state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Steps frames for a while (to let in-flight events arrive).
fn settle(harness: &mut Harness<'_, Workbench>, duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Picks `option` in the combo box labelled `label` (and waits for a model it rebuilds).
fn choose(harness: &mut Harness<'_, Workbench>, label: &str, option: &str) {
    harness.get_by_label(label).click();
    harness.run();
    harness.get_by_label(option).click();
    harness.run();
    prepared(harness);
}

fn is_disabled(harness: &Harness<'_, Workbench>, label: &str) -> bool {
    harness.get_by_label(label).accesskit_node().is_disabled()
}

/// A small quick version of the default experiment.
fn small_experiment() -> Experiment {
    let mut exp = common::default_experiment();
    exp.data.size = 200;
    exp.model.layers = 8;
    exp.model.final_time = 2.0;
    exp.train.iterations = 100_000;
    exp
}

fn write(dir: &Path, name: &str, exp: &Experiment) -> std::path::PathBuf {
    let path = dir.join(name);
    experiment::save(exp, &path).unwrap();
    path
}

/// A workbench showing [`small_experiment`], saved as `small.ron` in `dir`.
fn open_small(dir: &Path) -> Harness<'static, Workbench> {
    let path = write(dir, "small.ron", &small_experiment());
    let mut harness = harness();
    open(&mut harness, &path);
    harness
}

/// Clicks Step and waits for iteration 1.
fn step_once(harness: &mut Harness<'_, Workbench>) {
    harness.get_by_label("Step").click();
    assert!(run_until(harness, Duration::from_secs(30), |app| app
        .iteration()
        == 1));
}

/// [`step_once`], then Stop.
fn step_once_and_stop(harness: &mut Harness<'_, Workbench>) {
    step_once(harness);
    harness.get_by_label("Stop").click();
    assert!(run_until(harness, Duration::from_secs(10), |app| app
        .state()
        == RunState::Stopped));
}

#[test]
fn launches_on_the_default_experiment() {
    let mut harness = harness();
    harness.run();
    let app = harness.state();
    assert_eq!(app.experiment().name, "ResNet / Euler on two spirals");
    assert_eq!(app.state(), RunState::Ready);
    assert!(app.problems().is_empty());
    assert!(!app.is_dirty());
    assert!(!is_disabled(&harness, "Train"));
    assert!(is_disabled(&harness, "Stop"));
    // Diagnostics panels say they wait until their data arrives, then show it.
    if harness.state().diagnostics().is_none() {
        harness.get_by_label_contains("waiting for diagnostics");
    }
    assert!(
        run_until(&mut harness, Duration::from_secs(60), |app| app
            .diagnostics()
            .is_some()),
        "no diagnostics arrived"
    );
    assert_eq!(harness.state().diagnostics().unwrap().iteration, 0);
    harness.step();
    assert!(
        harness
            .query_by_label_contains("waiting for diagnostics")
            .is_none()
    );
}

#[test]
fn field_integrator_and_constraint_change_through_their_labels() {
    let mut harness = harness();
    harness.run();
    choose(&mut harness, "Field", "Gradient flow");
    choose(&mut harness, "Integrator", "Heun");
    choose(&mut harness, "Constraint on A", "Spectral norm");
    let app = harness.state();
    let exp = app.experiment();
    assert_eq!(exp.model.field, FieldKind::GradientFlow);
    assert_eq!(exp.integrator, IntegratorSpec::Heun);
    assert!(matches!(
        exp.model.constraint,
        Constraint::SpectralNorm { .. }
    ));
    assert!(app.problems().is_empty(), "{:?}", app.problems());
    assert_eq!(app.state(), RunState::Ready);
    assert!(app.is_dirty());
    assert!(app.title().contains('●'));
}

#[test]
fn an_invalid_setting_shows_the_validators_words_and_disables_train() {
    let mut harness = harness();
    harness.run();
    // A symplectic integrator needs a separable Hamiltonian field.
    choose(&mut harness, "Integrator", "Störmer–Verlet");
    let problems = harness.state().problems().to_vec();
    assert!(!problems.is_empty());
    assert!(
        problems.iter().any(|p| p.path.starts_with("integrator")),
        "{problems:?}"
    );
    for problem in &problems {
        harness.get_by_label_contains(&problem.to_string());
    }
    assert!(is_disabled(&harness, "Train"));
    harness.state_mut().run_command(UiCommand::Train);
    assert_eq!(harness.state().state(), RunState::Invalid);

    // Width 0, set through the drag value's accessibility action.
    choose(&mut harness, "Integrator", "Explicit Euler");
    harness.get_by_label("Width d").set_value_accesskit(0.0);
    harness.run();
    let problems = harness.state().problems().to_vec();
    assert!(
        problems
            .iter()
            .any(|p| p.to_string().starts_with("model.width: must be at least 1")),
        "{problems:?}"
    );
    harness.get_by_label_contains("model.width: must be at least 1");
    assert!(is_disabled(&harness, "Train"));
}

#[test]
fn an_edit_prepares_the_new_model_off_the_ui_thread() {
    let mut harness = harness();
    let before = harness.state().snapshot().unwrap().raw.len();
    harness.get_by_label("Depth K").set_value_accesskit(12.0);
    // The frame that applies the edit starts the preparation; the next frames pick it up.
    harness.step();
    assert!(harness.state().is_preparing());
    assert!(!harness.state().is_enabled(UiCommand::Train));
    assert_eq!(harness.state().experiment().model.layers, 12);
    prepared(&mut harness);
    let app = harness.state();
    assert_eq!(app.state(), RunState::Ready);
    assert!(app.is_enabled(UiCommand::Train));
    let after = app.snapshot().unwrap().raw.len();
    assert!(
        after < before,
        "the model of 12 layers has fewer parameters ({after} vs {before})"
    );
}

#[test]
fn a_file_whose_checkpoint_does_not_fit_its_model_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = small_experiment();
    exp.train.iterations = 2;
    let mut session = common::session(&exp, None, 1);
    session.step().unwrap();
    let mut checkpoint = session.checkpoint();
    checkpoint.params.push(0.0);
    checkpoint.optimizer = flowlab::train::optimizer::OptimizerState::Adam {
        t: 0,
        m: Vec::new(),
        v: Vec::new(),
    };
    let path = write(dir.path(), "misfit.ron", &exp.with_checkpoint(checkpoint));
    let mut harness = harness();
    let before = harness.state().experiment().clone();
    open(&mut harness, &path);
    let app = harness.state();
    assert_eq!(app.experiment(), &before);
    assert_eq!(app.path(), None);
    assert_eq!(app.state(), RunState::Ready);
    let banner = app.banner().unwrap();
    assert!(
        banner.is_error && banner.text.contains("checkpoint") && banner.text.contains("misfit.ron"),
        "{banner:?}"
    );
}

#[test]
fn the_composer_shows_the_estimate_and_refuses_what_exceeds_the_budget() {
    let mut harness = harness();
    harness.get_by_label_contains("Estimated: about");
    harness.state_mut().set_memory_budget(Some(100_000));
    harness.run();
    let problems = harness.state().problems().to_vec();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("more than the memory budget of 100 kB")),
        "{problems:?}"
    );
    assert!(!harness.state().is_enabled(UiCommand::Train));
    harness.get_by_label_contains("more than the memory budget");
    harness.state_mut().set_memory_budget(None);
    prepared(&mut harness);
    assert!(harness.state().problems().is_empty());
    assert!(harness.state().is_enabled(UiCommand::Train));
}

/// A workbench that keeps its recovery copy in `folder`.
fn with_recovery(folder: &Path) -> Harness<'static, Workbench> {
    let folder = folder.to_owned();
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([1400.0, 2000.0])
        .build_eframe(move |cc| {
            Workbench::new(
                cc,
                StartOptions {
                    recovery: Some(folder),
                    ..StartOptions::default()
                },
            )
        });
    prepared(&mut harness);
    harness
}

#[test]
fn unsaved_changes_left_by_a_crash_are_offered_back() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("recovery.ron");
    let mut harness = with_recovery(dir.path());
    harness.state_mut().keep_recovery_copy(true);
    assert!(!copy.exists(), "no copy without changes");
    choose(&mut harness, "Field", "Gradient flow");
    harness.state_mut().keep_recovery_copy(true);
    assert!(copy.exists());
    let changed = harness.state().experiment().clone();
    // The window is gone without closing: a crash. The next one offers the copy back.
    drop(harness);
    let mut again = with_recovery(dir.path());
    again.get_by_label_contains("flowlab closed without saving");
    again.get_by_label("Recover").click();
    again.run();
    prepared(&mut again);
    assert_eq!(again.state().experiment(), &changed);
    assert!(again.state().is_dirty());
    assert_eq!(again.state().path(), None);

    // Saved, nothing is left to recover; "Discard the copy" removes an offered one.
    let saved = dir.path().join("saved.ron");
    again.state_mut().save_to(&saved).unwrap();
    again.state_mut().keep_recovery_copy(true);
    assert!(!copy.exists());
    std::fs::copy(&saved, &copy).unwrap();
    let mut third = with_recovery(dir.path());
    third.get_by_label("Discard the copy").click();
    third.run();
    assert!(!copy.exists());
    assert_eq!(
        third.state().experiment().name,
        "ResNet / Euler on two spirals"
    );
}

#[test]
fn train_pause_step_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = open_small(dir.path());

    harness.get_by_label("Train").click();
    assert!(
        run_until(&mut harness, Duration::from_secs(60), |app| app
            .history()
            .len()
            >= 30),
        "the iteration count did not grow"
    );
    let app = harness.state();
    assert_eq!(app.state(), RunState::Running);
    let history = app.history();
    let first = history[0].loss;
    let last = history.last().unwrap().loss;
    assert!(last < first, "the loss did not fall: {first} → {last}");

    // Pause: the count stops (after the iteration in flight).
    harness.get_by_label("Pause").click();
    harness.step();
    assert_eq!(harness.state().state(), RunState::Paused);
    settle(&mut harness, Duration::from_millis(300));
    let paused_at = harness.state().iteration();
    settle(&mut harness, Duration::from_millis(300));
    assert_eq!(harness.state().iteration(), paused_at);

    // Step: exactly one more.
    harness.get_by_label("Step").click();
    assert!(run_until(&mut harness, Duration::from_secs(10), |app| app
        .iteration()
        > paused_at));
    settle(&mut harness, Duration::from_millis(300));
    assert_eq!(harness.state().iteration(), paused_at + 1);
    assert_eq!(harness.state().state(), RunState::Paused);

    // Resume, then Stop ends the run and keeps the model.
    harness.get_by_label("Resume").click();
    harness.step();
    assert_eq!(harness.state().state(), RunState::Running);
    harness.get_by_label("Stop").click();
    assert!(run_until(&mut harness, Duration::from_secs(10), |app| app
        .state()
        == RunState::Stopped));
    let stopped_at = harness.state().iteration();
    assert!(stopped_at > paused_at);
    assert_eq!(harness.state().history().len(), stopped_at);
    settle(&mut harness, Duration::from_millis(200));
    assert_eq!(harness.state().iteration(), stopped_at);
    assert!(
        !is_disabled(&harness, "Train"),
        "Train continues a stopped run"
    );
    assert!(is_disabled(&harness, "Stop"));
}

#[test]
fn save_and_reopen_gives_the_same_settings_parameters_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = small_experiment();
    exp.train.iterations = 25;
    exp.model.field = FieldKind::GradientFlow;
    exp.model.constraint = Constraint::SpectralNorm { max: 2.0 };
    let path = write(dir.path(), "start.ron", &exp);
    let mut harness = harness();
    open(&mut harness, &path);
    harness.get_by_label("Train").click();
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .state()
        == RunState::Completed));
    let saved = dir.path().join("saved.ron");
    harness.state_mut().save_to(&saved).unwrap();
    harness.run();
    assert!(!harness.state().is_dirty());
    let before_spec = harness.state().experiment().clone();
    let before_params = harness.state().snapshot().unwrap().raw.clone();
    let before_history = harness.state().history().to_vec();
    assert_eq!(before_history.len(), 25);

    let mut reopened = Harness::builder()
        .with_max_steps(16)
        .with_size([1400.0, 2000.0])
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    open(&mut reopened, &saved);
    let app = reopened.state();
    assert_eq!(app.experiment(), &before_spec);
    assert_eq!(app.snapshot().unwrap().raw, before_params);
    assert_eq!(app.history(), before_history.as_slice());
    assert_eq!(app.iteration(), 25);
    assert_eq!(app.state(), RunState::Completed);
    assert!(!app.is_dirty());
    assert_eq!(app.path(), Some(saved.as_path()));
}

#[test]
fn a_reopened_checkpoint_resumes_training() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = small_experiment();
    exp.train.iterations = 10;
    let mut session = common::session(&exp, None, 1);
    for _ in 0..10 {
        session.step().unwrap();
    }
    let mut trained = exp.with_checkpoint(session.checkpoint());
    trained.train.iterations = 20;
    let path = write(dir.path(), "trained.ron", &trained);
    let mut harness = harness();
    open(&mut harness, &path);
    assert_eq!(harness.state().iteration(), 10);
    assert_eq!(harness.state().history().len(), 10);
    harness.get_by_label("Train").click();
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .state()
        == RunState::Completed));
    assert_eq!(harness.state().iteration(), 20);
    assert_eq!(harness.state().history().len(), 20);
}

#[test]
fn a_broken_file_shows_its_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.ron");
    std::fs::write(
        &broken,
        "(\n    format_version: 1,\n    name: \"x\",\n    wdith: 3,\n)\n",
    )
    .unwrap();
    let mut harness = harness();
    harness.run();
    let before = harness.state().experiment().clone();
    let error = harness
        .state_mut()
        .open_path(&broken)
        .unwrap_err()
        .to_string();
    harness.run();
    assert!(error.contains("line 4"), "{error}");
    assert_eq!(harness.state().experiment(), &before);
    assert_eq!(harness.state().path(), None);
    let banner = harness.state().banner().unwrap();
    assert!(
        banner.is_error && banner.text.contains("line 4"),
        "{banner:?}"
    );
    harness.get_by_label_contains("Could not open the file");
}

#[test]
fn a_diverging_run_shows_the_failure_and_keeps_the_last_good_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = small_experiment();
    exp.train.optimizer = OptimizerSpec::Sgd {
        lr: 1e3,
        momentum: 0.0,
    };
    exp.model.activation = Activation::Identity;
    exp.model.final_time = 8.0;
    exp.train.iterations = 200;
    let path = write(dir.path(), "diverges.ron", &exp);
    let mut harness = harness();
    open(&mut harness, &path);
    harness.get_by_label("Train").click();
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .state()
        == RunState::Failed));
    settle(&mut harness, Duration::from_millis(100));
    let app = harness.state();
    let failure = app.failure().unwrap().to_string();
    assert!(failure.contains("diverged"), "{failure}");
    let snapshot = app.snapshot().unwrap();
    assert!(snapshot.raw.iter().all(|p| p.is_finite()));
    assert_eq!(snapshot.iteration, app.iteration());
    assert_eq!(app.history().len(), app.iteration());
    harness.get_by_label_contains("The run failed");
}

#[test]
fn changing_the_architecture_of_a_trained_model_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = open_small(dir.path());
    step_once_and_stop(&mut harness);
    choose(&mut harness, "Field", "Gradient flow");
    // Not applied yet: the question is open.
    assert_eq!(harness.state().experiment().model.field, FieldKind::ResNet);
    harness.get_by_label("Keep the current run").click();
    harness.run();
    assert_eq!(harness.state().experiment().model.field, FieldKind::ResNet);
    assert_eq!(harness.state().iteration(), 1);
    choose(&mut harness, "Field", "Gradient flow");
    harness.get_by_label("Apply and start a new run").click();
    harness.run();
    prepared(&mut harness);
    assert_eq!(
        harness.state().experiment().model.field,
        FieldKind::GradientFlow
    );
    assert_eq!(harness.state().iteration(), 0);
}

#[test]
fn exports_say_where_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = open_small(dir.path());
    step_once(&mut harness);
    let npz = dir.path().join("params.npz");
    // Written on a background thread from a copy of the model.
    harness.state_mut().export_npz(npz.clone());
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .banner()
        .is_some_and(|b| b.text.starts_with("Wrote"))));
    harness.get_by_label_contains(&format!("Wrote {}", npz.display()));
    // The same archive as the model itself gives: the same experiment trained one iteration.
    let plan = experiment::check(harness.state().experiment()).unwrap();
    let mut session = plan.session(Some(dir.path()), 1).unwrap();
    session.step().unwrap();
    let direct = dir.path().join("direct.npz");
    flowlab::report::export_npz(&mut session, &plan, &direct).unwrap();
    assert_eq!(
        std::fs::read(&npz).unwrap(),
        std::fs::read(&direct).unwrap()
    );
    let csv = dir.path().join("metrics.csv");
    harness.state_mut().export_metrics(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("iteration,loss"));
    assert_eq!(text.lines().count(), 2);
    // The paused run goes on after the export.
    assert_eq!(harness.state().state(), RunState::Paused);

    // Figures of the diagnostics, drawn on a background thread.
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .diagnostics()
        .is_some()));
    let figures = dir.path().join("figures");
    harness.state_mut().export_figures(figures.clone());
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .banner()
        .is_some_and(|b| b.text.starts_with("Wrote"))));
    let banner = harness.state().banner().unwrap().text.clone();
    assert!(banner.contains(&figures.display().to_string()), "{banner}");
    assert!(figures.join("training.svg").exists(), "{banner}");
}

/// Software renderers (llvmpipe GL, lavapipe Vulkan) agree to a few pixels of antialiasing.
fn snapshot_options() -> egui_kittest::SnapshotOptions {
    egui_kittest::SnapshotOptions::new()
        .threshold(1.0)
        .max_failed_pixels(200)
}

/// The default window, rendered with a software adapter.
#[test]
fn snapshot_of_the_default_window() {
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([1280.0, 800.0])
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    // Without diagnostics, whose numbers are not this picture's business (and change with
    // the diagnostics code).
    harness.state_mut().set_live_diagnostics(false);
    prepared(&mut harness);
    harness.snapshot_options("workbench_default", &snapshot_options());
}

/// One plot: the loss of a checkpoint trained headless, maximised.
#[test]
fn snapshot_of_the_loss_plot() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = small_experiment();
    exp.train.iterations = 40;
    let mut session = common::session(&exp, None, 1);
    for _ in 0..40 {
        session.step().unwrap();
    }
    let path = write(
        dir.path(),
        "trained.ron",
        &exp.with_checkpoint(session.checkpoint()),
    );
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([900.0, 560.0])
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    open(&mut harness, &path);
    harness.state_mut().layout_mut().maximise(PaneKind::Loss);
    harness.run();
    harness.snapshot_options("loss_plot", &snapshot_options());
}

/// The real binary in a real window: `--screenshot` writes a PNG of the window and exits.
#[test]
#[ignore = "needs a display (run under xvfb-run)"]
fn the_binary_writes_a_screenshot() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("window.png");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flowlab"))
        .arg("--screenshot")
        .arg(&png)
        .args(["--after-iterations", "20", "--window-size", "1200x800"])
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "flowlab failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let image = image::open(&png).unwrap().to_rgba8();
    // The requested size in points at 2 pixels per point, whatever the screen's density.
    let (width, height) = (image.width(), image.height());
    assert_eq!((width, height), (2400, 1600));
    let mut colors = std::collections::HashSet::new();
    for pixel in image.pixels().step_by(97) {
        colors.insert(pixel.0);
    }
    assert!(
        colors.len() > 20,
        "the screenshot looks blank ({} colours)",
        colors.len()
    );
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(harness: &mut Harness<'_, Workbench>, path: &Path) {
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.to_owned())));
    harness.run();
    prepared(harness);
}

#[test]
fn dropping_a_file_asks_before_discarding_unsaved_changes() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "first.ron", &small_experiment());
    let mut other = small_experiment();
    other.name = "the other one".into();
    let second = write(dir.path(), "second.ron", &other);
    let mut harness = harness();
    drop_file(&mut harness, &first);
    assert_eq!(harness.state().path(), Some(first.as_path()));
    assert!(!harness.state().is_dirty());
    assert_eq!(harness.state().title(), "first.ron — flowlab");

    choose(&mut harness, "Field", "Gradient flow");
    assert!(harness.state().is_dirty());
    drop_file(&mut harness, &second);
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(harness.state().path(), Some(first.as_path()));
    assert_eq!(
        harness.state().experiment().model.field,
        FieldKind::GradientFlow
    );

    drop_file(&mut harness, &second);
    harness.get_by_label("Discard changes").click();
    harness.run();
    prepared(&mut harness);
    assert_eq!(harness.state().path(), Some(second.as_path()));
    assert_eq!(harness.state().experiment().name, "the other one");
    assert!(!harness.state().is_dirty());
}

#[test]
fn keyboard_shortcuts_drive_the_run() {
    use eframe::egui::{Key, Modifiers};
    let dir = tempfile::tempdir().unwrap();
    let mut harness = open_small(dir.path());
    harness.key_press(Key::F5);
    assert!(run_until(&mut harness, Duration::from_secs(30), |app| app
        .iteration()
        > 3));
    harness.key_press(Key::F6);
    harness.step();
    assert_eq!(harness.state().state(), RunState::Paused);
    harness.key_press_modifiers(Modifiers::SHIFT, Key::F5);
    assert!(run_until(&mut harness, Duration::from_secs(10), |app| app
        .state()
        == RunState::Stopped));
    harness.key_press_modifiers(Modifiers::COMMAND, Key::R);
    harness.step();
    prepared(&mut harness);
    assert_eq!(harness.state().state(), RunState::Ready);
    assert_eq!(harness.state().iteration(), 0);
}

#[test]
fn runs_stay_listed_with_their_colours_and_toggle_their_overlays() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = open_small(dir.path());
    step_once_and_stop(&mut harness);
    choose(&mut harness, "Integrator", "RK4");
    harness.get_by_label("Apply and start a new run").click();
    harness.run();
    prepared(&mut harness);
    step_once_and_stop(&mut harness);

    let runs = harness.state().runs().to_vec();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0].color, runs[1].color);
    assert!(runs[0].label.contains("Euler") && runs[1].label.contains("Rk4"));
    assert!(runs.iter().all(|r| r.visible && r.history.len() == 1));

    // The Runs panel lists both; unticking run 1 takes it off the overlays.
    harness.state_mut().layout_mut().maximise(PaneKind::Runs);
    harness.run();
    harness.get_by_label_contains(runs[1].label.as_str());
    harness.get_by_label("Run 1").click();
    harness.run();
    assert!(!harness.state().runs()[0].visible);
    assert!(harness.state().runs()[1].visible);
}

#[test]
fn quitting_with_unsaved_changes_asks_first() {
    use eframe::egui::{ViewportCommand, ViewportEvent, ViewportId};
    let sent = |harness: &Harness<'_, Workbench>, wanted: &ViewportCommand| {
        harness
            .output()
            .viewport_output
            .get(&ViewportId::ROOT)
            .is_some_and(|v| v.commands.contains(wanted))
    };
    let mut harness = harness();
    harness.run();
    choose(&mut harness, "Field", "Gradient flow");
    assert!(harness.state().is_dirty());

    // The window's close button: cancelled, and the question is asked.
    harness
        .input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    harness.step();
    assert!(sent(&harness, &ViewportCommand::CancelClose));
    harness.run();
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(
        harness.state().experiment().model.field,
        FieldKind::GradientFlow
    );

    // File ▸ Quit: asked again; Discard changes closes the window.
    harness.state_mut().run_command(UiCommand::Quit);
    harness.run();
    harness.get_by_label("Discard changes").click();
    harness.step();
    assert!(sent(&harness, &ViewportCommand::Close));
}

#[test]
fn open_recent_lists_the_files_opened() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "first.ron", &small_experiment());
    let mut other = small_experiment();
    other.name = "second".into();
    let second = write(dir.path(), "second.ron", &other);
    let mut harness = harness();
    harness.state_mut().open_path(&first).unwrap();
    open(&mut harness, &second);
    assert_eq!(harness.state().path(), Some(second.as_path()));
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Open recent").click();
    harness.run();
    harness.get_by_label("first.ron").click();
    harness.run();
    prepared(&mut harness);
    assert_eq!(
        harness
            .state()
            .path()
            .map(std::fs::canonicalize)
            .unwrap()
            .unwrap(),
        std::fs::canonicalize(&first).unwrap()
    );
    assert_eq!(harness.state().title(), "first.ron — flowlab");
}

/// eframe storage in memory.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

#[test]
fn theme_preferences_and_layout_are_remembered_in_eframe_storage() {
    use eframe::App as _;
    use eframe::egui::Theme;
    let mut harness = harness();
    harness.run();
    assert_eq!(harness.ctx.theme(), Theme::Dark);
    harness.get_by_label("Light theme").click();
    harness.run();
    assert_eq!(harness.ctx.theme(), Theme::Light);
    harness.get_by_label("Log scale").click();
    harness
        .state_mut()
        .layout_mut()
        .set_visible(PaneKind::Energy, false);
    harness.run();
    let mut storage = MemoryStorage::default();
    harness.state_mut().save(&mut storage);
    // Nothing of the experiment goes there: only preferences and the layout.
    assert!(storage.0.keys().all(|k| k.starts_with("flowlab.")));

    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let mut again = Harness::builder()
        .with_max_steps(16)
        .with_size([1400.0, 2000.0])
        .build_eframe(|cc| {
            cc.storage = Some(storage);
            Workbench::new(cc, StartOptions::default())
        });
    again.run();
    assert_eq!(again.ctx.theme(), Theme::Light);
    assert!(!again.state_mut().layout_mut().is_visible(PaneKind::Energy));
    assert!(again.state_mut().layout_mut().is_visible(PaneKind::Loss));
    let log_scale = again.get_by_label("Log scale");
    assert_eq!(
        log_scale.accesskit_node().toggled(),
        Some(eframe::egui::accesskit::Toggled::False)
    );
}

#[test]
fn window_and_panel_pngs_say_where_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    // Two pixels per point, as the window exports are (headless: the renderer's own density).
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([1000.0, 700.0])
        .with_pixels_per_point(2.0)
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    harness.state_mut().set_live_diagnostics(false);
    prepared(&mut harness);
    let window = dir.path().join("window.png");
    harness.state_mut().export_window_png(window.clone());
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .banner()
        .is_some_and(|b| b.text.starts_with("Wrote"))));
    harness.get_by_label_contains(&format!("Wrote {}", window.display()));
    let image = image::open(&window).unwrap();
    assert_eq!((image.width(), image.height()), (2000, 1400));

    let panel = dir.path().join("loss.png");
    let rect = harness
        .state_mut()
        .layout_mut()
        .rect(PaneKind::Loss)
        .unwrap();
    harness
        .state_mut()
        .export_panel_png(PaneKind::Loss, panel.clone());
    assert!(run_until(&mut harness, Duration::from_secs(60), |app| app
        .banner()
        .is_some_and(|b| b.text.contains("loss.png"))));
    let image = image::open(&panel).unwrap();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let expected = (
        (rect.width() * 2.0).round() as u32,
        (rect.height() * 2.0).round() as u32,
    );
    assert!(
        image.width().abs_diff(expected.0) <= 2 && image.height().abs_diff(expected.1) <= 2,
        "{}×{} for a panel of {rect:?}",
        image.width(),
        image.height()
    );
}

#[test]
fn the_layer_slider_and_play_button_step_through_the_layers() {
    use eframe::egui::accesskit::Role;
    let mut harness = harness();
    harness
        .state_mut()
        .layout_mut()
        .maximise(PaneKind::Trajectories);
    assert!(
        run_until(&mut harness, Duration::from_secs(60), |app| app
            .diagnostics()
            .is_some()),
        "no diagnostics arrived"
    );
    harness.step();
    let layers = harness.state().experiment().model.layers;
    let value = |harness: &Harness<'_, Workbench>| {
        harness
            .get_by_role_and_label(Role::Slider, "layer")
            .accesskit_node()
            .numeric_value()
    };
    // A new model shows its final layer.
    #[allow(clippy::cast_precision_loss)]
    let last = layers as f64;
    assert_eq!(value(&harness), Some(last));
    harness
        .get_by_role_and_label(Role::Slider, "layer")
        .set_value_accesskit(3.0);
    harness.step();
    assert_eq!(value(&harness), Some(3.0));
    harness.get_by_label("Play layers").click();
    harness.step();
    harness.step();
    harness.get_by_label("Stop playing");
    // A layer every 120 ms.
    settle(&mut harness, Duration::from_millis(800));
    assert!(
        value(&harness).is_some_and(|v| v > 3.0),
        "playing did not advance the layer: {:?}",
        value(&harness)
    );
}

/// A study of 2 integrators × 2 final times × 2 seeds (8 runs of 20 iterations) written into
/// `dir/study` with `flowlab study ARGS`: `run` trains it, `slurm` only expands it.
fn make_study(dir: &Path, command: &str) -> std::path::PathBuf {
    let base = common::TINY_EXPERIMENT;
    let file = dir.join("study.ron");
    std::fs::write(
        &file,
        format!(
            r#"(format_version: 1, name: "gui study", base: Inline({base}),
                axes: [Vary("integrator", List([Euler, Rk4])),
                       Vary("model.final_time", List([1.0, 4.0])),
                       Vary("train.seeds.init", Seeds(2))],
                x: "h", metrics: ["final_loss"])"#
        ),
    )
    .unwrap();
    let out = dir.join("study");
    let mut args = vec![
        "study",
        command,
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if command == "run" {
        args.push("--quiet");
    }
    let output = common::flowlab(&args);
    assert!(output.status.success(), "{}", common::stderr(&output));
    out
}

/// A workbench whose Run study uses the flowlab binary, with the study in `dir` open and read.
fn open_study(dir: &Path) -> Harness<'static, Workbench> {
    let mut harness = Harness::builder()
        .with_max_steps(16)
        .with_size([1400.0, 1200.0])
        .build_eframe(|cc| {
            Workbench::new(
                cc,
                StartOptions {
                    study_runner: Some(env!("CARGO_BIN_EXE_flowlab").into()),
                    ..StartOptions::default()
                },
            )
        });
    prepared(&mut harness);
    harness.state_mut().open_study(dir).unwrap();
    assert!(
        run_until(&mut harness, Duration::from_secs(30), |app| app
            .study()
            .is_some_and(|s| !s.is_reading() && !s.rows().is_empty())),
        "the study was not read"
    );
    harness.run();
    harness
}

#[test]
fn a_study_folder_lists_its_runs_sorted_and_filtered_and_opens_one() {
    let dir = tempfile::tempdir().unwrap();
    let folder = make_study(dir.path(), "run");
    let mut harness = open_study(&folder);
    let study = harness.state().study().unwrap();
    assert_eq!(study.rows().len(), 8);
    assert_eq!(study.counts().unwrap().done, 8);
    // The Study panel (made visible on opening) draws the final loss against h.
    assert_eq!(study.charts().metrics.len(), 1);
    assert_eq!(
        study.charts().metrics[0].chart.lines.len(),
        2,
        "Euler and Rk4"
    );
    harness.get_by_label("Close study");

    // The Runs panel lists the runs with their varied settings.
    harness
        .state_mut()
        .layout_mut()
        .set_visible(PaneKind::Runs, true);
    harness.run();
    harness.get_by_label("Study: gui study (8 runs)");
    assert_eq!(harness.get_all_by_label("open").count(), 8);

    // Filtered by a setting: only its runs.
    let view = harness.state_mut().study_mut().unwrap();
    view.set_filter("integrator", Some("Rk4".into()));
    let shown = view.shown_rows();
    assert_eq!(shown.len(), 4);
    assert!(shown.iter().all(|r| r.settings[0].1 == "Rk4"));
    // Sorted by a setting, descending: the longest final time first, ties by index.
    view.sort_by_setting(Some("model.final_time"), true);
    let order: Vec<usize> = view.shown_rows().iter().map(|r| r.index).collect();
    assert_eq!(order, [6, 7, 4, 5]);
    harness.run();
    assert_eq!(harness.get_all_by_label("open").count(), 4);

    // A tick overlays the run's loss curve.
    assert!(harness.state().study().unwrap().overlay_curves().is_empty());
    harness.get_by_label("6").click();
    harness.run();
    let curves = harness.state().study().unwrap().overlay_curves();
    assert_eq!(curves.len(), 1);
    assert!(curves[0].0.contains("integrator=Rk4"), "{}", curves[0].0);
    assert_eq!(curves[0].2.len(), 20, "one point per iteration");

    // "open" opens the run's experiment: the first row shown is run 6.
    let expected = harness.state().study().unwrap().run_file(6).unwrap();
    harness.get_all_by_label("open").next().unwrap().click();
    harness.run();
    prepared(&mut harness);
    assert_eq!(harness.state().path(), Some(expected.as_path()));
    assert_eq!(harness.state().experiment().model.final_time, 4.0);
    assert!(matches!(
        harness.state().experiment().integrator,
        IntegratorSpec::Rk4
    ));
}

#[test]
fn run_study_runs_the_pending_runs_and_the_chart_follows() {
    let dir = tempfile::tempdir().unwrap();
    // Expanded, not run.
    let folder = make_study(dir.path(), "slurm");
    let mut harness = open_study(&folder);
    assert_eq!(
        harness.state().study().unwrap().counts().unwrap().pending,
        8
    );
    assert!(harness.state().study().unwrap().charts().metrics.is_empty());
    harness.get_by_label("Run study").click();
    // Not `run`: the spinner repaints while the study runs.
    harness.step();
    harness.step();
    assert!(harness.state().study().unwrap().is_running());
    assert!(
        run_until(&mut harness, Duration::from_secs(120), |app| app
            .study()
            .is_some_and(|s| !s.is_running() && !s.is_reading())),
        "the study did not finish"
    );
    let study = harness.state().study().unwrap();
    assert_eq!(study.counts().unwrap().done, 8, "{:?}", study.counts());
    assert_eq!(study.charts().metrics.len(), 1);
    assert!(folder.join("results.csv").is_file(), "collected at the end");
    let banner = harness.state().banner().unwrap();
    assert!(
        !banner.is_error && banner.text.starts_with("Study finished"),
        "{banner:?}"
    );
    // Each run equals `flowlab run` of its file: its metrics.csv is that of a direct run.
    let run = study.run_file(3).unwrap().parent().unwrap().to_owned();
    let direct = dir.path().join("direct");
    let output = common::flowlab(&[
        "run",
        run.join("experiment.ron").to_str().unwrap(),
        "--out",
        direct.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success());
    assert_eq!(
        std::fs::read(run.join("metrics.csv")).unwrap(),
        std::fs::read(direct.join("metrics.csv")).unwrap()
    );
}

#[test]
fn a_folder_that_is_not_a_study_is_refused_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness();
    let error = harness.state_mut().open_study(dir.path()).unwrap_err();
    assert!(error.to_string().contains("study.json"), "{error}");
    assert!(harness.state().study().is_none());
    let banner = harness.state().banner().unwrap();
    assert!(
        banner.is_error && banner.text.contains("study.json"),
        "{banner:?}"
    );
}

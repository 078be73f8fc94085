//! Frame time of the workbench, driven headless by egui_kittest at 60 frames per second with
//! every panel on screen at once (View ▸ Show every panel) and live diagnostics, in two phases:
//!
//! 1. while a run streams events: the default experiment training for a few seconds;
//! 2. while models are rebuilt: the composer's "Points N" set to 100 000 and 99 999 over
//!    and over, each edit preparing a new model (data generated, parameters drawn) on the
//!    background thread while the window shows "preparing …".
//!
//! `cargo bench --bench frame_time` prints percentiles of three times per frame:
//! - UI work: the workbench's `logic` + `ui` (draining training events, laying out the composer,
//!   the toolbar and every plot), measured inside the app;
//! - egui pass: the whole `Context::run` around it, including egui's own end of frame and the
//!   AccessKit tree that kittest always asks for (the real window builds it only for a screen
//!   reader);
//! - pass + tessellation: the pass and turning its shapes into triangles, which eframe also does
//!   on the UI thread (the GPU upload and drawing are not included).
//!
//! - CPU time of the UI thread over the pass and the tessellation (`CLOCK_THREAD_CPUTIME_ID`):
//!   the same work without the time the thread waited for a core
//!   (training and diagnostics run on their own threads, and on a busy 2-core machine the UI
//!   thread is often descheduled in the middle of a frame).
//!
//! Options (environment): `FLOWLAB_FRAME_SECONDS` (default 10), `FLOWLAB_FRAME_PPP` (pixels
//! per point, default 1; 2 for a 4K-like screen).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use flowlab::gui::panels::{Layout, PaneKind};
use flowlab::gui::{INITIAL_WINDOW_SIZE, RunState, StartOptions, UiCommand, Workbench};

/// The 60 frames per second the issue asks for.
const FRAME: Duration = Duration::from_micros(16_667);

fn env_f32(name: &str, default: f32) -> f32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Time this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`; Unix).
#[cfg(unix)]
#[expect(
    unsafe_code,
    reason = "one libc call that writes a timespec on the stack"
)]
fn thread_cpu_time() -> Option<Duration> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable timespec; the clock id is a constant.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut time) };
    (status == 0).then(|| {
        Duration::new(
            u64::try_from(time.tv_sec).unwrap_or(0),
            u32::try_from(time.tv_nsec).unwrap_or(0),
        )
    })
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

/// `(p50, p95, p99, max)` in milliseconds.
fn percentiles(samples: &mut [Duration]) -> [f64; 4] {
    samples.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[i].as_secs_f64() * 1e3
    };
    [at(0.5), at(0.95), at(0.99), at(1.0)]
}

fn report(what: &str, samples: &mut [Duration]) {
    let [p50, p95, p99, max] = percentiles(samples);
    let over = samples.iter().filter(|d| **d > FRAME).count();
    println!(
        "{what:<22} p50 {p50:6.2} ms   p95 {p95:6.2} ms   p99 {p99:6.2} ms   max {max:6.2} ms   \
         over 16.7 ms: {over}"
    );
}

/// The times of the frames of one phase.
#[derive(Default)]
struct Frames {
    work: Vec<Duration>,
    pass: Vec<Duration>,
    total: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Frames {
    /// Steps one frame and records its times, then sleeps until the next 60 Hz tick.
    fn step(&mut self, harness: &mut Harness<'_, Workbench>, ppp: f32, next: &mut Instant) {
        let cpu0 = thread_cpu_time();
        let t0 = Instant::now();
        harness.step();
        let t1 = Instant::now();
        let shapes = harness.output().shapes.clone();
        let _primitives = harness.ctx.tessellate(shapes, ppp);
        let t2 = Instant::now();
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_time()) {
            self.cpu.push(b.saturating_sub(a));
        }
        self.work
            .push(harness.state().frame_work().unwrap_or_default());
        self.pass.push(t1 - t0);
        self.total.push(t2 - t0);
        *next += FRAME;
        let now = Instant::now();
        if *next > now {
            std::thread::sleep(*next - now);
        } else {
            *next = now;
        }
    }

    fn report(mut self) {
        let slowest = self
            .total
            .iter()
            .enumerate()
            .max_by_key(|(_, d)| **d)
            .map_or(0, |(i, _)| i);
        println!(
            "slowest frame: number {slowest} ({:.1} s into the phase)",
            slowest as f64 * FRAME.as_secs_f64()
        );
        report("UI work (logic + ui)", &mut self.work);
        report("egui pass", &mut self.pass);
        report("pass + tessellation", &mut self.total);
        if !self.cpu.is_empty() {
            report("  of which on a CPU", &mut self.cpu);
        }
    }
}

/// A workbench with every panel on screen.
fn workbench(ppp: f32) -> Harness<'static, Workbench> {
    let mut harness = Harness::builder()
        .with_size(INITIAL_WINDOW_SIZE)
        .with_pixels_per_point(ppp)
        .with_max_steps(64)
        .with_step_dt(FRAME.as_secs_f32())
        .build_eframe(|cc| Workbench::new(cc, StartOptions::default()));
    *harness.state_mut().layout_mut() = Layout::every_panel();
    harness.run_steps(5);
    for kind in PaneKind::ALL {
        assert!(
            harness.state_mut().layout_mut().is_on_screen(kind),
            "{kind:?} is not on screen"
        );
    }
    harness
}

/// Steps frames until the model being prepared is current.
fn wait_for_the_model(harness: &mut Harness<'_, Workbench>) {
    let start = Instant::now();
    while harness.state().is_preparing() {
        assert!(start.elapsed().as_secs() < 60, "the model was not prepared");
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn training_phase(seconds: f32, ppp: f32) {
    let mut harness = workbench(ppp);
    // The default experiment with enough iterations to stream events for the whole measurement.
    let mut exp =
        flowlab::experiment::from_ron_str(flowlab::experiment::DEFAULT_EXPERIMENT).unwrap();
    exp.train.iterations = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.ron");
    flowlab::experiment::save(&exp, &path).unwrap();
    harness.state_mut().open_path(&path).unwrap();
    wait_for_the_model(&mut harness);
    harness.run_steps(5);
    harness.state_mut().run_command(UiCommand::Train);
    assert_eq!(harness.state().state(), RunState::Running);

    let mut frames = Frames::default();
    let mut reports = 0;
    let mut last_report = None;
    let start = Instant::now();
    let mut next = start;
    while start.elapsed().as_secs_f32() < seconds {
        frames.step(&mut harness, ppp, &mut next);
        let iteration = harness.state().diagnostics().map(|r| r.iteration);
        if iteration != last_report {
            reports += 1;
            last_report = iteration;
        }
    }
    let app = harness.state();
    assert_eq!(app.state(), RunState::Running, "{:?}", app.failure());
    println!(
        "frame time, default experiment, every panel on screen ({} of them), {}×{} points at {} \
         pixels per point, while training: {} frames in {:.1} s, {} iterations, {} diagnostics \
         reports",
        PaneKind::ALL.len(),
        INITIAL_WINDOW_SIZE[0],
        INITIAL_WINDOW_SIZE[1],
        ppp,
        frames.work.len(),
        start.elapsed().as_secs_f64(),
        app.iteration(),
        reports
    );
    frames.report();
    harness.state_mut().run_command(UiCommand::Stop);
    let _ = harness.try_run();
}

fn rebuild_phase(seconds: f32, ppp: f32) {
    const SIZES: [f64; 2] = [100_000.0, 99_999.0];
    let mut harness = workbench(ppp);
    wait_for_the_model(&mut harness);
    let mut frames = Frames::default();
    let (mut edits, mut preparing_frames, mut done) = (0, 0, 0);
    let start = Instant::now();
    let mut next = start;
    while start.elapsed().as_secs_f32() < seconds {
        if harness.state().is_preparing() {
            preparing_frames += 1;
        } else {
            if edits > 0 {
                done += 1;
            }
            harness
                .get_by_label("Points N")
                .set_value_accesskit(SIZES[edits % 2]);
            edits += 1;
        }
        frames.step(&mut harness, ppp, &mut next);
    }
    assert!(done > 0, "no model was rebuilt in {seconds} s");
    let size = harness.state().experiment().data.size;
    assert!(
        size >= 99_999,
        "the edit did not reach the data size ({size})"
    );
    println!(
        "frame time while rebuilding models of N = 100 000 points (every panel on screen, {} \
         pixels per point): {} frames in {:.1} s, {done} models rebuilt, {preparing_frames} \
         frames with a rebuild in flight",
        ppp,
        frames.work.len(),
        start.elapsed().as_secs_f64(),
    );
    frames.report();
}

fn main() {
    let seconds = env_f32("FLOWLAB_FRAME_SECONDS", 10.0);
    let ppp = env_f32("FLOWLAB_FRAME_PPP", 1.0);
    training_phase(seconds, ppp);
    rebuild_phase(seconds, ppp);
}

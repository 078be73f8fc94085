//! A study in the workbench (File ▸ Open study…): its runs in the Runs panel with their varied
//! settings (sortable, filtered by setting, ticked to overlay their loss curves), and the Study
//! panel's summary chart, re-read from the run folders while the study runs, whether it runs
//! here (Run study: [`crate::study::local`] on a background thread, the code of
//! `flowlab study run`), from a terminal or on a cluster.
//!
//! Reading and summarising happen in [`crate::study`] ([`crate::study::gather`],
//! [`crate::study::charts`]); this module only draws them.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{Corner, LineStyle, MarkerShape, Plot};

use super::lines::{Lines, Room};
use super::panels::PaneKind;
use super::plots::{empty_ui, hover_text, log_tick, x_axis};
use crate::study::collect::ResultRow;
use crate::study::folder::Counts;
use crate::study::local::{self, LocalOptions, LocalReport, Progress};
use crate::study::{self, Charts, Gathered, StudyError, StudyFolder};
use crate::train::background::{OneShot, Waker};

/// The shortest time between two readings of a study's folders while it runs.
const REREAD_INTERVAL: Duration = Duration::from_secs(2);

/// What the study's panels ask the workbench to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StudyAction {
    /// Open run `index`'s experiment file.
    OpenRun(usize),
    /// Run the study's unfinished runs here.
    Run,
    /// Stop running it (the runs running resume next time from their checkpoints).
    Stop,
    /// Close the study.
    Close,
}

/// A reading of the study: its rows and the charts made of them.
type Reading = Result<(Gathered, Charts), StudyError>;

/// The study running here, started by Run study.
struct Running {
    job: OneShot<Result<LocalReport, StudyError>>,
    stop: Arc<AtomicBool>,
    progress: Arc<Shared>,
    started: Instant,
}

/// Progress of a running study, as the runner reports it.
struct Shared {
    state: Mutex<(Counts, usize)>,
    waker: Waker,
}

impl Progress for Shared {
    fn update(&self, counts: Counts, running: usize) {
        if let Ok(mut state) = self.state.lock() {
            *state = (counts, running);
        }
        (self.waker)();
    }
}

/// A table column of the study's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Index,
    /// A varied setting, by its axis.
    Setting(usize),
    Status,
    Loss,
    TestAccuracy,
}

/// An open study.
pub struct StudyView {
    folder: StudyFolder,
    waker: Waker,
    /// The newest reading.
    gathered: Option<Gathered>,
    charts: Charts,
    /// Why the newest reading failed.
    error: Option<String>,
    /// A reading in progress.
    reading: Option<OneShot<Reading>>,
    /// When the newest reading started, and how long it took.
    last_read: Option<(Instant, Duration)>,
    running: Option<Running>,
    /// The chart shown: an index into `charts.metrics`.
    chart: usize,
    sort: (Column, bool),
    /// Per axis: the value a row must have (`None`: any).
    filters: Vec<Option<String>>,
    /// Runs whose loss curves are overlaid on the Loss panel.
    overlay: BTreeSet<usize>,
    /// What the user asked for in the last frame.
    actions: Vec<StudyAction>,
    /// Readings taken so far (the key of `order`).
    readings: u64,
    /// The table's rows in order, and what it was made from (readings, filters, sort).
    order: Option<(OrderKey, Arc<Vec<usize>>)>,
}

/// What the table's order depends on.
type OrderKey = (u64, Vec<Option<String>>, (Column, bool));

impl std::fmt::Debug for StudyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudyView")
            .field("folder", &self.folder.dir)
            .field("runs", &self.rows().len())
            .finish_non_exhaustive()
    }
}

impl Drop for StudyView {
    /// A study closed while it runs here stops (its runs resume from their checkpoints).
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.stop.store(true, Ordering::SeqCst);
        }
    }
}

impl StudyView {
    /// Opens the study in `dir`: `study.json` is read now (an error if it is not a study
    /// folder), the run folders on a background thread.
    pub fn open(dir: &Path, waker: Waker) -> Result<Self, StudyError> {
        let folder = StudyFolder::new(dir);
        folder.manifest()?;
        let mut view = Self {
            folder,
            waker,
            gathered: None,
            charts: Charts::default(),
            error: None,
            reading: None,
            last_read: None,
            running: None,
            chart: 0,
            sort: (Column::Index, false),
            filters: Vec::new(),
            overlay: BTreeSet::new(),
            actions: Vec::new(),
            readings: 0,
            order: None,
        };
        view.read();
        Ok(view)
    }

    /// The study folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.folder.dir
    }

    /// The study's name (once read).
    #[must_use]
    pub fn name(&self) -> &str {
        self.gathered
            .as_ref()
            .map_or("", |g| g.manifest.name.as_str())
    }

    /// Every run's row, in index order (empty until the first reading).
    #[must_use]
    pub fn rows(&self) -> &[ResultRow] {
        self.gathered.as_ref().map_or(&[], |g| g.rows.as_slice())
    }

    /// How the runs stand at the newest reading.
    #[must_use]
    pub fn counts(&self) -> Option<Counts> {
        self.gathered.as_ref().map(|g| g.counts)
    }

    /// The charts of the newest reading.
    #[must_use]
    pub fn charts(&self) -> &Charts {
        &self.charts
    }

    /// Whether the run folders are being read.
    #[must_use]
    pub fn is_reading(&self) -> bool {
        self.reading.is_some()
    }

    /// Whether the study runs here (Run study).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The folder of run `index`'s experiment file.
    #[must_use]
    pub fn run_file(&self, index: usize) -> Option<PathBuf> {
        let gathered = self.gathered.as_ref()?;
        let run = gathered.manifest.runs.get(index)?;
        Some(self.folder.run_dir(run).join("experiment.ron"))
    }

    /// Ticks or unticks run `index` for the Loss panel's overlay.
    pub fn set_overlay(&mut self, index: usize, on: bool) {
        if on {
            self.overlay.insert(index);
        } else {
            self.overlay.remove(&index);
        }
    }

    /// Keeps only rows whose setting `setting` has `value` (`None`: every value).
    pub fn set_filter(&mut self, setting: &str, value: Option<String>) {
        let Some(axis) = self.axis_of(setting) else {
            return;
        };
        if self.filters.len() <= axis {
            self.filters.resize(axis + 1, None);
        }
        self.filters[axis] = value;
    }

    fn axis_of(&self, setting: &str) -> Option<usize> {
        self.gathered
            .as_ref()?
            .manifest
            .axes
            .iter()
            .position(|a| a.setting == setting)
    }

    /// The rows the table shows, in its order: filtered by setting, sorted by the chosen
    /// column.
    #[must_use]
    pub fn shown_rows(&self) -> Vec<&ResultRow> {
        let mut rows: Vec<&ResultRow> = self
            .rows()
            .iter()
            .filter(|row| {
                self.filters.iter().enumerate().all(|(axis, wanted)| {
                    wanted
                        .as_ref()
                        .is_none_or(|w| row.settings.get(axis).is_some_and(|(_, v)| v == w))
                })
            })
            .collect();
        let (column, descending) = self.sort;
        rows.sort_by(|a, b| {
            let order = match column {
                Column::Index => a.index.cmp(&b.index),
                Column::Setting(axis) => compare_values(
                    a.settings.get(axis).map(|s| s.1.as_str()),
                    b.settings.get(axis).map(|s| s.1.as_str()),
                ),
                Column::Status => a.status.cmp(b.status),
                Column::Loss => compare_numbers(a.metric("final_loss"), b.metric("final_loss")),
                Column::TestAccuracy => {
                    compare_numbers(a.metric("test_accuracy"), b.metric("test_accuracy"))
                }
            };
            let order = if descending { order.reverse() } else { order };
            order.then(a.index.cmp(&b.index))
        });
        rows
    }

    /// The indices of [`StudyView::shown_rows`], kept until the rows, the filters or the order
    /// change (a study of 10 000 runs is not sorted again every frame).
    fn shown_order(&mut self) -> Arc<Vec<usize>> {
        let key = (self.readings, self.filters.clone(), self.sort);
        if let Some((cached, order)) = &self.order
            && *cached == key
        {
            return Arc::clone(order);
        }
        let order = Arc::new(self.shown_rows().iter().map(|r| r.index).collect());
        self.order = Some((key, Arc::clone(&order)));
        order
    }

    /// Sorts the table by setting `setting` (or by run index for `None`), descending or not.
    pub fn sort_by_setting(&mut self, setting: Option<&str>, descending: bool) {
        let column = setting
            .and_then(|s| self.axis_of(s))
            .map_or(Column::Index, Column::Setting);
        self.sort = (column, descending);
    }

    /// What the panels asked for since the last call.
    pub fn take_actions(&mut self) -> Vec<StudyAction> {
        std::mem::take(&mut self.actions)
    }

    /// Starts reading the run folders (unless a reading is in progress).
    pub fn read(&mut self) {
        if self.reading.is_some() {
            return;
        }
        let folder = self.folder.clone();
        let job = OneShot::spawn(
            "flowlab-study-read",
            Some(Arc::clone(&self.waker)),
            move || {
                let gathered = study::gather(&folder)?;
                let charts = study::charts(&gathered.manifest, &gathered.rows);
                Ok((gathered, charts))
            },
        );
        match job {
            Ok(job) => {
                self.reading = Some(job);
                self.last_read = Some((Instant::now(), Duration::ZERO));
            }
            Err(e) => self.error = Some(format!("could not start a thread: {e}")),
        }
    }

    /// Takes a finished reading, starts the next one when the study is running (here or
    /// elsewhere: runs started and not finished), and takes the runner's end. The message for
    /// the banner when a run here ended.
    pub fn poll(&mut self, ctx: &egui::Context) -> Option<Result<String, String>> {
        if let Some(result) = self.reading.as_ref().and_then(OneShot::poll) {
            self.reading = None;
            if let Some((started, took)) = &mut self.last_read {
                *took = started.elapsed();
            }
            match result {
                Ok(Ok((gathered, charts))) => {
                    self.filters.resize(gathered.manifest.axes.len(), None);
                    self.gathered = Some(gathered);
                    self.charts = charts;
                    self.readings += 1;
                    self.chart = self.chart.min(self.charts.metrics.len().saturating_sub(1));
                    self.error = None;
                }
                Ok(Err(e)) => self.error = Some(e.to_string()),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        let mut ended = None;
        if let Some(result) = self.running.as_ref().and_then(|r| r.job.poll()) {
            let running = self.running.take();
            let seconds = running.map_or(0.0, |r| r.started.elapsed().as_secs_f64());
            ended = Some(match result {
                Ok(Ok(report)) => Ok(format!(
                    "Study finished in {seconds:.0} s: {}; results.csv, summary.csv and figures \
                     in {}",
                    report.counts,
                    self.folder.dir.display()
                )),
                Ok(Err(e)) => Err(format!("The study stopped: {e}")),
                Err(e) => Err(format!("The study stopped: {e}")),
            });
            self.read();
        }
        let live = self.running.is_some() || self.counts().is_some_and(|c| c.started > 0);
        if live && self.reading.is_none() {
            // Re-read no more often than every REREAD_INTERVAL, nor than four times the last
            // reading took (a study of 10 000 runs takes seconds to read).
            let wait = self.last_read.map_or(Duration::ZERO, |(started, took)| {
                REREAD_INTERVAL
                    .max(took * 4)
                    .saturating_sub(started.elapsed())
            });
            if wait.is_zero() {
                self.read();
            } else {
                ctx.request_repaint_after(wait);
            }
        }
        ended
    }

    /// Runs the study's unfinished runs here with `jobs` at once, each as `exe run`
    /// (the command `flowlab study run` uses), then collects it.
    pub fn run(&mut self, exe: PathBuf, jobs: usize) -> Result<(), String> {
        if self.running.is_some() {
            return Ok(());
        }
        let manifest = self
            .folder
            .manifest()
            .map_err(|e| format!("Could not run the study: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Shared {
            state: Mutex::new((self.counts().unwrap_or_default(), 0)),
            waker: Arc::clone(&self.waker),
        });
        let options = LocalOptions {
            jobs: jobs.max(1),
            exe,
            checkpoint_every: 30.0,
            stop: Some(Arc::clone(&stop)),
        };
        let folder = self.folder.clone();
        let shared = Arc::clone(&progress);
        let job = OneShot::spawn("flowlab-study", Some(Arc::clone(&self.waker)), move || {
            let report = local::run_local(&folder, &manifest, &options, &*shared)?;
            study::collect(&folder)?;
            Ok(report)
        })
        .map_err(|e| format!("Could not run the study: could not start a thread: {e}"))?;
        self.running = Some(Running {
            job,
            stop,
            progress,
            started: Instant::now(),
        });
        self.read();
        Ok(())
    }

    /// Stops a study running here: no run starts, the runs running end and resume next time.
    pub fn stop(&mut self) {
        if let Some(running) = &self.running {
            running.stop.store(true, Ordering::SeqCst);
        }
    }

    /// The loss curves of the runs ticked for the overlay: `(name, colour, points)`.
    #[must_use]
    pub fn overlay_curves(&self) -> Vec<Overlay<'_>> {
        self.rows()
            .iter()
            .filter(|row| self.overlay.contains(&row.index) && !row.loss_curve.is_empty())
            .map(|row| {
                (
                    format!("study run {}: {}", row.index, settings_text(row)),
                    run_color(row.index),
                    row.loss_curve.as_slice(),
                )
            })
            .collect()
    }
}

/// A study run's loss curve on the Loss panel: its name, colour and `(iteration, loss)` points.
pub type Overlay<'a> = (String, Color32, &'a [(f64, f64)]);

/// The colour of study run `index` in overlays and the table.
fn run_color(index: usize) -> Color32 {
    super::palette::nth(index)
}

/// `setting=value, ...` of a row.
fn settings_text(row: &ResultRow) -> String {
    row.settings
        .iter()
        .map(|(s, v)| format!("{s}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Orders two settings' values: as numbers when both are, otherwise as text; missing last.
fn compare_values(a: Option<&str>, b: Option<&str>) -> CmpOrdering {
    match (a, b) {
        (Some(a), Some(b)) => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => a.cmp(b),
        },
        (Some(_), None) => CmpOrdering::Less,
        (None, Some(_)) => CmpOrdering::Greater,
        (None, None) => CmpOrdering::Equal,
    }
}

/// Orders two metrics, missing ones last.
fn compare_numbers(a: Option<f64>, b: Option<f64>) -> CmpOrdering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => CmpOrdering::Less,
        (None, Some(_)) => CmpOrdering::Greater,
        (None, None) => CmpOrdering::Equal,
    }
}

/// The counts line: `12 done · 1 failed · 2 running · 49 pending`.
fn counts_text(counts: Counts, running_here: Option<usize>) -> String {
    let mut parts = vec![format!("{} done", counts.done)];
    if counts.failed > 0 {
        parts.push(format!("{} failed", counts.failed));
    }
    let running = running_here.unwrap_or(counts.started);
    if running > 0 {
        parts.push(format!("{running} running"));
    }
    let waiting = counts.pending + counts.started.saturating_sub(running);
    if waiting > 0 {
        parts.push(format!("{waiting} to run"));
    }
    if counts.broken > 0 {
        parts.push(format!("{} unreadable", counts.broken));
    }
    parts.join(" · ")
}

/// The Study panel: the study's name and progress, Run / Stop, and the summary chart.
pub fn study_ui(ui: &mut Ui, view: Option<&mut StudyView>) {
    let Some(view) = view else {
        empty_ui(
            ui,
            PaneKind::Study,
            "No study open: File ▸ Open study… opens a folder made by `flowlab study run` or \
             `flowlab study slurm`.",
        );
        return;
    };
    header_ui(ui, view);
    let Some(gathered) = &view.gathered else {
        ui.label(RichText::new("Reading the run folders…").weak());
        return;
    };
    if view.charts.metrics.is_empty() {
        let message = if gathered.counts.done == 0 {
            "No run has finished yet: the chart appears with the first.".to_owned()
        } else {
            let mut text = "Nothing to chart: the study has no numeric x axis (name one with \
                            `x` in the study file)."
                .to_owned();
            for skipped in &view.charts.skipped {
                text.push('\n');
                text.push_str(skipped);
            }
            text
        };
        ui.label(RichText::new(message).weak());
        return;
    }
    ui.horizontal_wrapped(|ui| {
        let current = &view.charts.metrics[view.chart];
        egui::ComboBox::from_id_salt("study-chart")
            .selected_text(chart_name(current))
            .show_ui(ui, |ui| {
                for (i, chart) in view.charts.metrics.iter().enumerate() {
                    ui.selectable_value(&mut view.chart, i, chart_name(chart));
                }
            })
            .response
            .on_hover_text(
                "The metric drawn against the study's x axis: one line per group through the \
                 means over seeds, a bar from the smallest to the largest value. Click a point \
                 to open its run.",
            );
    });
    chart_ui(ui, view);
}

/// A chart's name in the chooser: its metric and facet.
fn chart_name(chart: &study::MetricChart) -> String {
    match chart.chart.title.split_once(" — ") {
        Some((_, facet)) => format!("{} ({facet})", chart.chart.y_desc),
        None => chart.chart.y_desc.clone(),
    }
}

fn header_ui(ui: &mut Ui, view: &mut StudyView) {
    ui.horizontal_wrapped(|ui| {
        ui.strong(view.name().to_owned())
            .on_hover_text(view.folder.dir.display().to_string());
        let running_here = view.running.as_ref().map(|r| {
            r.progress
                .state
                .lock()
                .map(|s| (s.0, s.1))
                .unwrap_or_default()
        });
        let counts = running_here.map(|(c, _)| c).or_else(|| view.counts());
        if let Some(counts) = counts {
            ui.label(counts_text(counts, running_here.map(|(_, r)| r)));
        }
        if view.running.is_some() {
            ui.spinner();
            let stopping = view
                .running
                .as_ref()
                .is_some_and(|r| r.stop.load(Ordering::SeqCst));
            let stop = ui
                .add_enabled(!stopping, egui::Button::new("Stop study"))
                .on_hover_text(
                    "Start no more runs and end the runs running; they resume from their \
                     checkpoints when the study runs again.",
                );
            if stop.clicked() {
                view.actions.push(StudyAction::Stop);
            }
        } else {
            let unfinished = counts.is_some_and(|c| c.pending + c.started + c.broken > 0);
            let run = ui
                .add_enabled(unfinished, egui::Button::new("Run study"))
                .on_hover_text(
                    "Run the unfinished runs on this machine, one per core, each as `flowlab \
                     run` of its file (as `flowlab study run` does), then collect the results.",
                )
                .on_disabled_hover_text("Every run has finished.");
            if run.clicked() {
                view.actions.push(StudyAction::Run);
            }
        }
        if ui
            .button("Close study")
            .on_hover_text("Close the study (a study running here stops).")
            .clicked()
        {
            view.actions.push(StudyAction::Close);
        }
        if view.reading.is_some() {
            ui.label(RichText::new("reading…").weak().small());
        }
    });
    if let Some(error) = &view.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
}

/// Draws the chosen chart: each group's means joined by a line, min–max bars at each x.
fn chart_ui(ui: &mut Ui, view: &mut StudyView) {
    let Some(metric) = view.charts.metrics.get(view.chart) else {
        return;
    };
    let chart = &metric.chart;
    let (log_x, log_y) = (chart.log_x, chart.log_y);
    let fx = move |x: f64| if log_x { x.log10() } else { x };
    let fy = move |y: f64| {
        if log_y {
            y.max(f64::MIN_POSITIVE).log10()
        } else {
            y
        }
    };
    let mut lines = Lines::default();
    // Where each drawn point is, and the runs behind it.
    let mut targets: Vec<([f64; 2], usize)> = Vec::new();
    for (l, line) in chart.lines.iter().enumerate() {
        let color = super::palette::nth(l);
        let points: Vec<[f64; 2]> = line
            .points
            .iter()
            .filter(|p| (!log_x || p.x > 0.0) && (!log_y || p.mean > 0.0))
            .map(|p| [fx(p.x), fy(p.mean)])
            .collect();
        for (p, point) in line.points.iter().enumerate() {
            if (log_x && point.x <= 0.0) || (log_y && point.low <= 0.0) {
                continue;
            }
            if point.high > point.low {
                lines.line(
                    line.label.clone(),
                    vec![[fx(point.x), fy(point.low)], [fx(point.x), fy(point.high)]],
                    |l| l.color(color).width(1.0),
                );
            }
            if let Some(&first) = metric
                .runs
                .get(l)
                .and_then(|r| r.get(p))
                .and_then(|r| r.first())
            {
                targets.push(([fx(point.x), fy(point.mean)], first));
            }
        }
        lines.markers(line.label.clone(), points.clone(), |m| {
            m.color(color)
                .radius(3.5)
                .shape(MarkerShape::Circle)
                .filled(true)
        });
        lines.line(line.label.clone(), points, |l| {
            l.color(color).width(1.6).style(LineStyle::Solid)
        });
    }
    let x_label = if log_x {
        format!("{} (log scale)", chart.x_desc)
    } else {
        chart.x_desc.clone()
    };
    let y_label = if log_y {
        format!("{} (log scale)", chart.y_desc)
    } else {
        chart.y_desc.clone()
    };
    let mut plot = Plot::new("study-plot")
        .custom_x_axes(x_axis(x_label))
        .y_axis_label(y_label)
        .label_formatter(move |hover| {
            hover_text(hover, |p| {
                let x = if log_x { 10f64.powf(p.x) } else { p.x };
                let y = if log_y { 10f64.powf(p.y) } else { p.y };
                format!("x {x:.4}\ny {y:.4e}")
            })
        });
    if log_x {
        plot = plot.x_axis_formatter(log_tick);
    }
    if log_y {
        plot = plot.y_axis_formatter(log_tick);
    }
    let response = lines.show(ui, plot, Corner::RightBottom, Room::Vertical);
    if response.response.clicked()
        && let Some(pointer) = response.response.interact_pointer_pos()
    {
        let nearest = targets
            .iter()
            .map(|(p, index)| {
                let at = response
                    .transform
                    .position_from_point(&egui_plot::PlotPoint::new(p[0], p[1]));
                (at.distance(pointer), *index)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((distance, index)) = nearest
            && distance < 12.0
        {
            view.actions.push(StudyAction::OpenRun(index));
        }
    }
}

/// The study's runs in the Runs panel: filters per varied setting, a table sortable by any
/// column, a tick per run for the overlay, and a link that opens the run's experiment.
pub fn study_runs_ui(ui: &mut Ui, view: &mut StudyView) {
    let Some(gathered) = &view.gathered else {
        ui.label(RichText::new("Reading the study's run folders…").weak());
        return;
    };
    let axes: Vec<(String, Vec<String>)> = gathered
        .manifest
        .axes
        .iter()
        .map(|a| (a.setting.clone(), a.values.clone()))
        .collect();
    // Column widths from the longest text each holds.
    let char_width = 7.5;
    let setting_widths: Vec<f32> = axes
        .iter()
        .enumerate()
        .map(|(axis, (setting, _))| {
            let longest = gathered
                .rows
                .iter()
                .filter_map(|r| r.settings.get(axis).map(|s| s.1.chars().count()))
                .max()
                .unwrap_or(0)
                .max(setting.chars().count() + 2);
            #[expect(clippy::cast_precision_loss, reason = "a few characters")]
            let width = longest as f32 * char_width + 8.0;
            width.min(260.0)
        })
        .collect();
    ui.horizontal_wrapped(|ui| {
        ui.label("Show runs with")
            .on_hover_text("Keep only the runs with these values");
        for (axis, (setting, values)) in axes.iter().enumerate() {
            let mut wanted = view.filters.get(axis).cloned().flatten();
            ui.label(setting.as_str());
            egui::ComboBox::from_id_salt(("study-filter", axis))
                .selected_text(wanted.clone().unwrap_or_else(|| "all".to_owned()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut wanted, None, "all");
                    for value in values {
                        ui.selectable_value(&mut wanted, Some(value.clone()), value.as_str());
                    }
                })
                .response
                .on_hover_text(format!("Only the runs with this value of {setting}"));
            if view.filters.get(axis) != Some(&wanted) {
                view.set_filter(setting, wanted);
            }
        }
    });
    let mut columns: Vec<(Column, String, f32)> = vec![(Column::Index, "Run".into(), 64.0)];
    for (axis, (setting, _)) in axes.iter().enumerate() {
        columns.push((Column::Setting(axis), setting.clone(), setting_widths[axis]));
    }
    columns.push((Column::Status, "Status".into(), 70.0));
    columns.push((Column::Loss, "Final loss".into(), 90.0));
    columns.push((Column::TestAccuracy, "Test acc.".into(), 80.0));
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    egui::ScrollArea::horizontal()
        .id_salt("study-runs-h")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                for (column, title, width) in &columns {
                    let arrow = match view.sort {
                        (c, false) if c == *column => " ↑",
                        (c, true) if c == *column => " ↓",
                        _ => "",
                    };
                    let header = ui
                        .add_sized(
                            [*width, row_height],
                            egui::Button::new(RichText::new(format!("{title}{arrow}")).strong())
                                .frame(false),
                        )
                        .on_hover_text("Sort by this column (again: the other way)");
                    if header.clicked() {
                        view.sort = match view.sort {
                            (c, descending) if c == *column => (c, !descending),
                            _ => (*column, false),
                        };
                    }
                }
            });
            ui.separator();
            let shown = view.shown_order();
            egui::ScrollArea::vertical()
                .id_salt("study-runs-v")
                .auto_shrink([false, true])
                .show_rows(ui, row_height, shown.len(), |ui, range| {
                    for &index in &shown[range] {
                        // Only the rows on screen are copied (without their loss curves).
                        let Some(row) = view.rows().get(index).map(|r| ResultRow {
                            loss_curve: Vec::new(),
                            ..r.clone()
                        }) else {
                            continue;
                        };
                        ui.horizontal(|ui| {
                            let mut ticked = view.overlay.contains(&row.index);
                            let tick = ui
                                .add_sized(
                                    [columns[0].2 - 28.0, row_height],
                                    egui::Checkbox::new(
                                        &mut ticked,
                                        RichText::new(row.index.to_string())
                                            .color(run_color(row.index)),
                                    ),
                                )
                                .on_hover_text("Overlay this run's loss on the Loss panel");
                            if tick.changed() {
                                view.set_overlay(row.index, ticked);
                            }
                            if ui
                                .add_sized([24.0, row_height], egui::Link::new("open"))
                                .on_hover_text("Open this run's experiment file")
                                .clicked()
                            {
                                view.actions.push(StudyAction::OpenRun(row.index));
                            }
                            for (axis, (_, _, width)) in columns[1..=axes.len()].iter().enumerate()
                            {
                                let value = row.settings.get(axis).map_or("", |s| s.1.as_str());
                                ui.add_sized(
                                    [*width, row_height],
                                    egui::Label::new(value).truncate(),
                                );
                            }
                            let status = ui.add_sized(
                                [columns[axes.len() + 1].2, row_height],
                                egui::Label::new(row.status),
                            );
                            if !row.message.is_empty() {
                                status.on_hover_text(&row.message);
                            }
                            let loss = row
                                .metric("final_loss")
                                .map_or_else(|| "–".to_owned(), |v| format!("{v:.3e}"));
                            ui.add_sized(
                                [columns[axes.len() + 2].2, row_height],
                                egui::Label::new(loss),
                            );
                            let accuracy = row
                                .metric("test_accuracy")
                                .map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", 100.0 * v));
                            ui.add_sized(
                                [columns[axes.len() + 3].2, row_height],
                                egui::Label::new(accuracy),
                            );
                        });
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_sort_as_numbers_when_they_are() {
        assert_eq!(compare_values(Some("0.5"), Some("10")), CmpOrdering::Less);
        assert_eq!(
            compare_values(Some("Rk4"), Some("Euler")),
            CmpOrdering::Greater
        );
        assert_eq!(compare_values(Some("1"), None), CmpOrdering::Less);
        assert_eq!(compare_numbers(None, Some(1.0)), CmpOrdering::Greater);
    }

    #[test]
    fn the_counts_line_names_what_is_left() {
        let counts = Counts {
            done: 3,
            failed: 1,
            started: 2,
            pending: 4,
            broken: 0,
        };
        assert_eq!(
            counts_text(counts, None),
            "3 done · 1 failed · 2 running · 4 to run"
        );
        assert_eq!(
            counts_text(counts, Some(1)),
            "3 done · 1 failed · 1 running · 5 to run"
        );
    }
}

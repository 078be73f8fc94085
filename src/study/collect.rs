//! Collecting a study: `results.csv` (one row per run), `summary.csv` (mean, standard deviation,
//! min, max and count over the seeds) and figures (each metric against `x`, one line per group
//! with a band over the seeds; the loss curves overlaid per group). Read from the run folders
//! alone: a partial study is collected with its missing runs named, a broken run folder is
//! reported, never a crash.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::StudyError;
use super::folder::{Counts, Manifest, ManifestAxis, ManifestRun, RunState, StudyFolder};
use crate::experiment::{self, files};
use crate::report::{self, CurveGroup, StudyChart, StudyLine, StudyPoint};

/// The metrics of a run, the columns of `results.csv` after the settings and the status.
pub const METRICS: [&str; 10] = [
    "iterations",
    "final_loss",
    "train_accuracy",
    "test_accuracy",
    "wall_seconds",
    "max_one_sided_lipschitz",
    "divergence_amplification",
    "step_condition",
    "energy_error",
    "gradient_difference",
];

/// What the metrics mean, for the figures' axes.
fn describe_metric(metric: &str) -> &str {
    match metric {
        "iterations" => "iterations",
        "final_loss" => "final training loss",
        "train_accuracy" => "train accuracy",
        "test_accuracy" => "test accuracy",
        "wall_seconds" => "wall time (s)",
        "max_one_sided_lipschitz" => "max one-sided Lipschitz estimate ν̂",
        "divergence_amplification" => "worst-case divergence amplification at T",
        "step_condition" => "max h‖A_k‖₂² · max σ′",
        "energy_error" => "max relative energy error",
        "gradient_difference" => "DTO vs OTD-backward gradient difference",
        other => other,
    }
}

/// The metrics drawn when the study names none.
const DEFAULT_FIGURE_METRICS: [&str; 2] = ["final_loss", "test_accuracy"];

/// One row of `results.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    /// The run's index.
    pub index: usize,
    /// Its settings.
    pub settings: Vec<(String, String)>,
    /// `done`, `failed`, `started`, `pending`, `broken`.
    pub status: &'static str,
    /// The metrics, in the order of [`METRICS`] (`None`: not measured).
    pub metrics: [Option<f64>; METRICS.len()],
    /// Why it failed, or what is wrong with its folder.
    pub message: String,
    /// `(iteration, loss)` of its history.
    pub loss_curve: Vec<(f64, f64)>,
}

impl ResultRow {
    /// The value of metric `name`.
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<f64> {
        METRICS
            .iter()
            .position(|m| *m == name)
            .and_then(|i| self.metrics[i])
    }
}

/// What `collect` wrote and found.
#[derive(Clone, Debug)]
pub struct Collected {
    /// Every run's row, in index order.
    pub rows: Vec<ResultRow>,
    /// How the runs stand.
    pub counts: Counts,
    /// The files written (results, summary, figures).
    pub written: Vec<PathBuf>,
    /// Figures that could not be drawn, and why.
    pub skipped_figures: Vec<String>,
}

impl Collected {
    /// Runs not done, with their state: `(index, "pending")`, ...
    #[must_use]
    pub fn missing(&self) -> Vec<(usize, &'static str)> {
        self.rows
            .iter()
            .filter(|r| r.status != "done")
            .map(|r| (r.index, r.status))
            .collect()
    }
}

/// A study as its folder tells it now: what [`collect()`] reads, with nothing written (the
/// workbench re-reads a running study this way).
#[derive(Clone, Debug)]
pub struct Gathered {
    /// `study.json`.
    pub manifest: Manifest,
    /// Every run's row, in index order.
    pub rows: Vec<ResultRow>,
    /// How the runs stand.
    pub counts: Counts,
}

/// Reads `study.json` and every run folder (in parallel) of the study in `folder`.
pub fn gather(folder: &StudyFolder) -> Result<Gathered, StudyError> {
    let manifest = folder.manifest()?;
    let rows: Vec<ResultRow> = manifest
        .runs
        .par_iter()
        .map(|run| read_run(folder, run))
        .collect();
    let states: Vec<&'static str> = rows.iter().map(|r| r.status).collect();
    let counts = Counts {
        done: states.iter().filter(|s| **s == "done").count(),
        failed: states.iter().filter(|s| **s == "failed").count(),
        started: states.iter().filter(|s| **s == "started").count(),
        pending: states.iter().filter(|s| **s == "pending").count(),
        broken: states.iter().filter(|s| **s == "broken").count(),
    };
    Ok(Gathered {
        manifest,
        rows,
        counts,
    })
}

/// Collects the study in `folder`: reads every run folder (in parallel), writes
/// `results.csv`, `summary.csv` and `figures/` atomically.
pub fn collect(folder: &StudyFolder) -> Result<Collected, StudyError> {
    let Gathered {
        manifest,
        rows,
        counts,
    } = gather(folder)?;
    let write = |name: &str, text: String| -> Result<PathBuf, StudyError> {
        let path = folder.dir.join(name);
        files::write_atomic(&path, text.as_bytes())
            .map_err(|e| StudyError::Folder(format!("cannot write {} ({e})", path.display())))?;
        Ok(path)
    };
    let mut written = vec![
        write("results.csv", results_csv(&manifest, &rows))?,
        write("summary.csv", summary_csv(&manifest, &rows))?,
    ];
    let (figures, skipped_figures) = figures(&manifest, &rows, &folder.dir.join("figures"));
    written.extend(figures);
    Ok(Collected {
        rows,
        counts,
        written,
        skipped_figures,
    })
}

/// One run's row, from its folder.
fn read_run(folder: &StudyFolder, run: &ManifestRun) -> ResultRow {
    let dir = folder.run_dir(run);
    let state = folder.state(run);
    let mut row = ResultRow {
        index: run.index,
        settings: run.settings.clone(),
        status: state.word(),
        metrics: [None; METRICS.len()],
        message: String::new(),
        loss_curve: Vec::new(),
    };
    let set = |row: &mut ResultRow, name: &str, value: Option<f64>| {
        if let Some(i) = METRICS.iter().position(|m| *m == name) {
            row.metrics[i] = value.filter(|v| v.is_finite());
        }
    };
    match &state {
        RunState::Done(status) | RunState::Failed(status) => {
            set(&mut row, "wall_seconds", Some(status.wall_seconds));
            row.message.clone_from(&status.message);
        }
        RunState::Broken(message) => row.message.clone_from(message),
        RunState::Pending | RunState::Started { .. } => {}
    }
    match read_metrics(&dir.join("metrics.csv")) {
        Ok(Some(history)) => {
            set(&mut row, "iterations", history.iterations.map(|n| n as f64));
            set(&mut row, "final_loss", history.final_loss);
            set(&mut row, "train_accuracy", history.train_accuracy);
            set(&mut row, "test_accuracy", history.test_accuracy);
            row.loss_curve = thin(history.curve, CURVE_POINTS);
        }
        Err(message) if row.message.is_empty() => row.message = message,
        Ok(None) | Err(_) => {}
    }
    if let Some(report) = last_diagnostics(&dir.join("diagnostics.jsonl")) {
        let max = |pointer: &str| {
            report.pointer(pointer).and_then(|v| {
                v.as_array().and_then(|values| {
                    values
                        .iter()
                        .filter_map(serde_json::Value::as_f64)
                        .filter(|x| x.is_finite())
                        .reduce(f64::max)
                })
            })
        };
        set(
            &mut row,
            "max_one_sided_lipschitz",
            max("/report/lipschitz/value/one_sided"),
        );
        set(
            &mut row,
            "divergence_amplification",
            max("/report/divergence/value/worst_case_gain"),
        );
        set(
            &mut row,
            "step_condition",
            max("/report/lipschitz/value/step_size_condition/values"),
        );
        set(
            &mut row,
            "energy_error",
            max("/report/structure/value/energy/value/relative_max"),
        );
        set(
            &mut row,
            "gradient_difference",
            max("/report/gradients/value/backward_vs_dto"),
        );
    }
    row
}

/// Points kept of each run's loss curve (for the figure; the first and last are always kept).
const CURVE_POINTS: usize = 250;

/// Runs drawn per group in the loss-curve figure (the first ones in grid order).
const CURVES_PER_GROUP: usize = 100;

/// At most `keep` of `points`, evenly spaced, the first and the last included.
fn thin(points: Vec<(f64, f64)>, keep: usize) -> Vec<(f64, f64)> {
    if points.len() <= keep || keep < 2 {
        return points;
    }
    let last = points.len() - 1;
    (0..keep).map(|i| points[i * last / (keep - 1)]).collect()
}

/// What a run's `metrics.csv` tells.
struct History {
    iterations: Option<usize>,
    final_loss: Option<f64>,
    train_accuracy: Option<f64>,
    test_accuracy: Option<f64>,
    curve: Vec<(f64, f64)>,
}

/// Reads `metrics.csv` (`iteration,loss,grad_norm,train_accuracy,test_accuracy`); `None` when
/// there is none, an error naming the line when it is broken.
fn read_metrics(path: &Path) -> Result<Option<History>, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let mut history = History {
        iterations: None,
        final_loss: None,
        train_accuracy: None,
        test_accuracy: None,
        curve: Vec::new(),
    };
    let number = |field: Option<&str>| field.and_then(|f| f.trim().parse::<f64>().ok());
    for (line_index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(iteration), Some(loss)) = (
            fields.first().and_then(|f| f.trim().parse::<usize>().ok()),
            number(fields.get(1).copied()),
        ) else {
            return Err(format!(
                "line {} of {} is not a metrics row",
                line_index + 1,
                path.display()
            ));
        };
        history.iterations = Some(iteration);
        history.final_loss = Some(loss);
        history.curve.push((iteration as f64, loss));
        if let Some(a) = number(fields.get(3).copied()) {
            history.train_accuracy = Some(a);
        }
        if let Some(a) = number(fields.get(4).copied()) {
            history.test_accuracy = Some(a);
        }
    }
    Ok(Some(history))
}

/// The last line of a diagnostics history, read from the end of the file.
fn last_diagnostics(path: &Path) -> Option<serde_json::Value> {
    const TAIL: u64 = 4 << 20;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    serde_json::from_str(line).ok()
}

/// A CSV field, quoted when it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A number as a CSV field: every digit needed to read it back (empty: none).
fn cell(value: Option<f64>) -> String {
    value.map(|v| format!("{v:?}")).unwrap_or_default()
}

fn results_csv(manifest: &Manifest, rows: &[ResultRow]) -> String {
    let mut header: Vec<String> = vec!["run".into()];
    header.extend(manifest.axes.iter().map(|a| field(&a.setting)));
    header.push("status".into());
    header.extend(METRICS.iter().map(|m| (*m).to_owned()));
    header.push("message".into());
    let mut s = header.join(",");
    s.push('\n');
    for row in rows {
        let mut cells = vec![row.index.to_string()];
        cells.extend(row.settings.iter().map(|(_, v)| field(v)));
        cells.push(row.status.to_owned());
        cells.extend(
            METRICS
                .iter()
                .zip(&row.metrics)
                .map(|(name, m)| match (*name, m) {
                    // A count, written as one.
                    ("iterations", Some(n)) => format!("{n:.0}"),
                    _ => cell(*m),
                }),
        );
        cells.push(field(row.message.lines().last().unwrap_or_default()));
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// Statistics of values: mean, sample standard deviation (n − 1; empty for one value), min,
/// max, count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (`None` for a single value).
    pub std: Option<f64>,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// How many.
    pub count: usize,
}

impl Stats {
    /// The statistics of the finite `values` (`None` if there is none).
    #[must_use]
    pub fn of(values: &[f64]) -> Option<Self> {
        let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let count = values.len();
        if count == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        let std = (count > 1).then(|| {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (count - 1) as f64).sqrt()
        });
        Some(Self {
            mean,
            std,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            count,
        })
    }
}

/// The settings of a row other than the seeds, in axis order.
fn group_key(manifest: &Manifest, row: &ResultRow) -> Vec<String> {
    manifest
        .axes
        .iter()
        .zip(&row.settings)
        .filter(|(axis, _)| !axis.seeds)
        .map(|(_, (_, value))| value.clone())
        .collect()
}

fn summary_csv(manifest: &Manifest, rows: &[ResultRow]) -> String {
    let settings: Vec<&ManifestAxis> = manifest.axes.iter().filter(|a| !a.seeds).collect();
    let mut header: Vec<String> = settings.iter().map(|a| field(&a.setting)).collect();
    header.extend(
        ["metric", "mean", "std", "min", "max", "count"]
            .iter()
            .map(|h| (*h).to_owned()),
    );
    let mut s = header.join(",");
    s.push('\n');
    // Groups in the order they first appear (grid order).
    let mut groups: Vec<(Vec<String>, Vec<&ResultRow>)> = Vec::new();
    for row in rows.iter().filter(|r| r.status == "done") {
        let key = group_key(manifest, row);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    for (key, members) in &groups {
        for (i, metric) in METRICS.iter().enumerate() {
            let values: Vec<f64> = members.iter().filter_map(|r| r.metrics[i]).collect();
            let Some(stats) = Stats::of(&values) else {
                continue;
            };
            let mut cells: Vec<String> = key.iter().map(|v| field(v)).collect();
            cells.push((*metric).to_owned());
            cells.push(cell(Some(stats.mean)));
            cells.push(cell(stats.std));
            cells.push(cell(Some(stats.min)));
            cells.push(cell(Some(stats.max)));
            cells.push(stats.count.to_string());
            s.push_str(&cells.join(","));
            s.push('\n');
        }
    }
    s
}

/// The x value of a row: the `x` setting as a number, or `h = final_time / layers`.
fn x_value(x: &str, row: &ResultRow, base: Option<&experiment::Experiment>) -> Option<f64> {
    let setting = |path: &str| {
        row.settings
            .iter()
            .find(|(s, _)| s == path)
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
    };
    if x == "h" {
        let final_time =
            setting("model.final_time").or_else(|| base.map(|b| b.model.final_time))?;
        let layers = setting("model.layers").or_else(|| base.map(|b| b.model.layers as f64))?;
        return Some(final_time / layers);
    }
    setting(x)
}

/// The figures' x axis: the study's, or the first axis of numbers that is not the seeds.
fn x_axis(manifest: &Manifest) -> Option<String> {
    if let Some(x) = &manifest.x {
        return Some(x.clone());
    }
    manifest
        .axes
        .iter()
        .find(|a| !a.seeds && a.values.iter().all(|v| v.trim().parse::<f64>().is_ok()))
        .map(|a| a.setting.clone())
}

/// File-name form of a text.
fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Least-squares slope of log y against log x (a convergence order).
fn log_slope(points: &[StudyPoint]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.x > 0.0 && p.mean > 0.0)
        .map(|p| (p.x.ln(), p.mean.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Draws every figure of the study into `dir`; the files written and the figures skipped.
fn figures(manifest: &Manifest, rows: &[ResultRow], dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut written = Vec::new();
    if let Err(e) = std::fs::create_dir_all(dir) {
        let skipped = vec![format!(
            "all figures: cannot create {} ({e})",
            dir.display()
        )];
        return (written, skipped);
    }
    let Charts {
        metrics,
        curves,
        mut skipped,
    } = charts(manifest, rows);
    for MetricChart { name, chart, .. } in &metrics {
        match report::write_study_chart(chart, name, dir) {
            Ok(paths) => written.extend(paths),
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    for CurveChart {
        name,
        title,
        groups,
    } in &curves
    {
        match report::write_loss_curves(title, groups, name, dir) {
            Ok(paths) => written.extend(paths),
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    (written, skipped)
}

/// A metric of a study against its `x` axis, as [`collect()`] draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricChart {
    /// The figure's file name (without extension): `final_loss_vs_h`, ...
    pub name: String,
    /// The metric (a column of `results.csv`).
    pub metric: String,
    /// The chart: one line per group, mean and range over the seeds at each x.
    pub chart: StudyChart,
    /// The runs behind each point: `runs[line][point]` are run indices.
    pub runs: Vec<Vec<Vec<usize>>>,
}

/// The loss curves of a study's runs overlaid per group.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveChart {
    /// The figure's file name (without extension).
    pub name: String,
    /// Its title.
    pub title: String,
    /// The groups and their runs' curves.
    pub groups: Vec<CurveGroup>,
}

/// Every chart of a study and those that cannot be drawn, with why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Charts {
    /// Each metric against `x`, per facet.
    pub metrics: Vec<MetricChart>,
    /// The loss curves, per facet.
    pub curves: Vec<CurveChart>,
    /// Charts left out, and why.
    pub skipped: Vec<String>,
}

/// The charts of a study from its rows (the finished runs): the figures of [`collect()`] and the
/// workbench's Study panel.
#[must_use]
pub fn charts(manifest: &Manifest, rows: &[ResultRow]) -> Charts {
    let mut out = Charts::default();
    let base = experiment::from_ron_str(&manifest.base).ok();
    let x = x_axis(manifest);
    // The settings the x value is made of: `h` is final_time / layers.
    let x_settings: Vec<&str> = match x.as_deref() {
        Some("h") => vec!["model.final_time", "model.layers"],
        Some(x) => vec![x],
        None => Vec::new(),
    };
    let on_x = |setting: &String| x_settings.contains(&setting.as_str());
    let group: Vec<String> = manifest.group.clone().unwrap_or_else(|| {
        manifest
            .axes
            .iter()
            .filter(|a| !a.seeds && !on_x(&a.setting))
            .map(|a| a.setting.clone())
            .collect()
    });
    // Varied settings neither x, nor seeds, nor group: a figure of their own per value.
    let facets: Vec<String> = manifest
        .axes
        .iter()
        .filter(|a| !a.seeds && !on_x(&a.setting) && !group.contains(&a.setting))
        .map(|a| a.setting.clone())
        .collect();
    let pick = |row: &ResultRow, names: &[String]| -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|n| row.settings.iter().find(|(s, _)| s == n).cloned())
            .collect()
    };
    let done: Vec<&ResultRow> = rows.iter().filter(|r| r.status == "done").collect();
    let mut facet_values: Vec<Vec<(String, String)>> = Vec::new();
    for row in &done {
        let key = pick(row, &facets);
        if !facet_values.contains(&key) {
            facet_values.push(key);
        }
    }
    let metrics: Vec<String> = if manifest.metrics.is_empty() {
        DEFAULT_FIGURE_METRICS
            .iter()
            .map(|m| (*m).to_owned())
            .collect()
    } else {
        manifest.metrics.clone()
    };
    for facet in &facet_values {
        let members: Vec<&ResultRow> = done
            .iter()
            .copied()
            .filter(|r| pick(r, &facets) == *facet)
            .collect();
        let facet_title = super::expand::describe(facet);
        let facet_slug = if facet.is_empty() {
            String::new()
        } else {
            format!("_{}", slug(&facet_title))
        };
        // The lines: groups in grid order.
        let mut lines: Vec<(String, Vec<&ResultRow>)> = Vec::new();
        for row in &members {
            let label = pick(row, &group)
                .iter()
                .map(|(s, v)| {
                    if group.len() == 1 {
                        v.clone()
                    } else {
                        format!("{s}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            match lines.iter_mut().find(|(l, _)| *l == label) {
                Some((_, list)) => list.push(row),
                None => lines.push((label, vec![row])),
            }
        }
        if let Some(x) = &x {
            for metric in &metrics {
                let Some(column) = METRICS.iter().position(|m| m == metric) else {
                    out.skipped
                        .push(format!("{metric}: not a metric of results.csv"));
                    continue;
                };
                let mut chart_lines = Vec::new();
                let mut line_runs = Vec::new();
                for (label, list) in &lines {
                    let mut by_x: BTreeMap<u64, (f64, Vec<f64>, Vec<usize>)> = BTreeMap::new();
                    for row in list {
                        if let (Some(xv), Some(y)) =
                            (x_value(x, row, base.as_ref()), row.metrics[column])
                        {
                            let entry =
                                by_x.entry(xv.to_bits())
                                    .or_insert((xv, Vec::new(), Vec::new()));
                            entry.1.push(y);
                            entry.2.push(row.index);
                        }
                    }
                    let mut points: Vec<(StudyPoint, Vec<usize>)> = by_x
                        .into_values()
                        .filter_map(|(xv, ys, indices)| {
                            Stats::of(&ys).map(|s| {
                                let point = StudyPoint {
                                    x: xv,
                                    mean: s.mean,
                                    low: s.min,
                                    high: s.max,
                                };
                                (point, indices)
                            })
                        })
                        .collect();
                    points.sort_by(|a, b| a.0.x.total_cmp(&b.0.x));
                    let (points, indices): (Vec<StudyPoint>, Vec<Vec<usize>>) =
                        points.into_iter().unzip();
                    if !points.is_empty() {
                        line_runs.push(indices);
                        chart_lines.push(StudyLine {
                            label: if label.is_empty() {
                                "all runs".into()
                            } else {
                                label.clone()
                            },
                            points,
                        });
                    }
                }
                let all = || chart_lines.iter().flat_map(|l| l.points.iter());
                let spans_decades = |values: Vec<f64>| {
                    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    lo > 0.0 && hi / lo >= 10.0
                };
                let log_x = spans_decades(all().map(|p| p.x).collect());
                let log_y = !metric.contains("accuracy")
                    && spans_decades(all().flat_map(|p| [p.low, p.mean, p.high]).collect());
                if log_x && log_y {
                    for line in &mut chart_lines {
                        if let Some(slope) = log_slope(&line.points) {
                            line.label = format!("{} (slope {slope:.2})", line.label);
                        }
                    }
                }
                let x_desc = if x == "h" {
                    "step h = T/K".to_owned()
                } else {
                    x.clone()
                };
                let chart = StudyChart {
                    title: if facet.is_empty() {
                        manifest.name.clone()
                    } else {
                        format!("{} — {facet_title}", manifest.name)
                    },
                    x_desc,
                    y_desc: describe_metric(metric).to_owned(),
                    log_x,
                    log_y,
                    lines: chart_lines,
                    reference_slopes: Vec::new(),
                };
                out.metrics.push(MetricChart {
                    name: format!("{}_vs_{}{facet_slug}", slug(metric), slug(x)),
                    metric: metric.clone(),
                    chart,
                    runs: line_runs,
                });
            }
        }
        let groups: Vec<CurveGroup> = lines
            .iter()
            .map(|(label, list)| CurveGroup {
                label: if label.is_empty() {
                    "all runs".into()
                } else {
                    label.clone()
                },
                curves: list
                    .iter()
                    .filter(|r| !r.loss_curve.is_empty())
                    .take(CURVES_PER_GROUP)
                    .map(|r| r.loss_curve.clone())
                    .collect(),
            })
            .collect();
        let name = format!("loss_curves{facet_slug}");
        let title = if facet.is_empty() {
            format!("{}: loss curves", manifest.name)
        } else {
            format!("{}: loss curves — {facet_title}", manifest.name)
        };
        out.curves.push(CurveChart {
            name,
            title,
            groups,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_a_direct_computation() {
        let values = [1.0, 2.0, 4.0, f64::NAN, 7.0];
        let s = Stats::of(&values).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 3.5);
        // Sample variance: ((2.5² + 1.5² + 0.5² + 3.5²) / 3) = 7.
        assert!((s.std.unwrap() - 7.0_f64.sqrt()).abs() < 1e-15);
        assert_eq!((s.min, s.max), (1.0, 7.0));
        assert_eq!(Stats::of(&[3.0]).unwrap().std, None);
        assert_eq!(Stats::of(&[f64::NAN]), None);
    }

    #[test]
    fn slopes_of_power_laws() {
        let points: Vec<StudyPoint> = [0.1, 0.2, 0.4, 0.8]
            .iter()
            .map(|&h: &f64| StudyPoint {
                x: h,
                mean: 3.0 * h.powi(4),
                low: 0.0,
                high: 0.0,
            })
            .collect();
        assert!((log_slope(&points).unwrap() - 4.0).abs() < 1e-12);
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(field("Rk4"), "Rk4");
        assert_eq!(field("Skew(gamma: 0.0), x"), "\"Skew(gamma: 0.0), x\"");
        assert_eq!(field("a \"b\""), "\"a \"\"b\"\"\"");
        assert_eq!(cell(Some(0.1)), "0.1");
        assert_eq!(cell(None), "");
    }

    #[test]
    fn thinning_keeps_both_ends() {
        let points: Vec<(f64, f64)> = (0..1000).map(|i| (f64::from(i), 1.0)).collect();
        let thinned = thin(points, 250);
        assert_eq!(thinned.len(), 250);
        assert_eq!((thinned[0].0, thinned[249].0), (0.0, 999.0));
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

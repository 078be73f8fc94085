//! A diagnostics report as files: the whole report as a versioned JSON document
//! ([`report_json`], `diagnostics.json`) and one CSV per series ([`write_diagnostics`]). The
//! one-line entries of a run's diagnostics history (`diagnostics.jsonl`) are
//! [`super::history`]'s.
//!
//! # CSV files
//!
//! Numbers are written with Rust's shortest representation that reads back to the same `f64`
//! (`NaN` where a value is not finite); an empty cell is a value that was not computed. The
//! labels of the bounds (their formulas) are in `diagnostics.json`; the CSV columns name them by
//! side and rigour (`nu_upper_bound_rigorous`, `upper_bound_estimate_2`, ...), in the order of
//! the JSON's `bounds` lists.
//!
//! | file | rows | columns |
//! |---|---|---|
//! | `singular_values_NAME.csv` | layers | `layer, t, sigma_1.., norm, smallest` |
//! | `jacobian_eigenvalues.csv` | eigenvalues of `h·J` | `layer, t, probe, re, im, inside_stability_region` |
//! | `stability_boundary.csv` | boundary points (explicit methods) | `curve, re, im` |
//! | `lipschitz.csv` | layers | `ν̂`, its bounds, field and step Lipschitz constants and bound, step-size condition |
//! | `divergence.csv` | times `t_0..t_K` | median and max amplification (random, worst case), bounds |
//! | `divergence_probes.csv` | probes | `probe, train_row, worst_case_gain` |
//! | `energy_error.csv`, `symplecticity.csv` | layers | Hamiltonian fields only |
//! | `volume.csv` | layers | `layer, t, log_det_max, log_det_median, log_det_min` |
//! | `reversibility.csv` | times | `k, t, error_max, error_median` |
//! | `gradient_consistency.csv` | layers | `dto_norm, partner_vs_dto, backward_vs_dto, dto_vs_finite_differences` |
//! | `robustness.csv` | perturbation sizes | `epsilon, random_accuracy, gradient_sign_accuracy` |
//! | `decision_boundary.csv` | grid points | the grid's features, `class, confidence` |
//! | `feature_trajectories.csv` | points × times | `point, train_row, label, k, t, u, v` |

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Error;
use crate::data::Split;
use crate::diagnostics::{
    Bound, BoundSide, DecisionBoundary, DiagnosticsReport, Divergence, FeatureTrajectories,
    GradientConsistency, Lipschitz, Rigor, Robustness, Spectrum, StabilityRegion, Structure,
    in_stability_region,
};
use crate::experiment::files::write_atomic;

/// Version of the diagnostics JSON documents: `diagnostics.json`, `flowlab diagnose --json`
/// and every line of `diagnostics.jsonl`.
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

/// A report wrapped with its format, version and experiment.
#[derive(Serialize)]
pub(super) struct Document<'a, R: Serialize> {
    /// `flowlab-diagnostics` (a whole report) or `flowlab-diagnostics-history` (a line of
    /// `diagnostics.jsonl`, without the bulky per-point arrays).
    pub(super) format: &'static str,
    pub(super) format_version: u32,
    pub(super) experiment: &'a str,
    pub(super) iteration: usize,
    pub(super) report: R,
}

/// The whole report as a pretty-printed JSON document: `{"format": "flowlab-diagnostics",
/// "format_version": 1, "experiment", "iteration", "report"}` (non-finite numbers are `null`).
pub fn report_json(experiment: &str, report: &DiagnosticsReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&Document {
        format: "flowlab-diagnostics",
        format_version: DIAGNOSTICS_FORMAT_VERSION,
        experiment,
        iteration: report.iteration,
        report,
    })
}

/// One CSV table: a header and rows of cells.
struct Table {
    name: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(name: impl Into<String>, header: &[&str]) -> Self {
        Self {
            name: name.into(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// The CSV text: the header line, then one line per row (cells quoted where needed).
    fn to_csv(&self) -> String {
        let line = |cells: &[String]| -> String {
            let quoted: Vec<String> = cells
                .iter()
                .map(|c| {
                    if c.contains([',', '"', '\n']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c.clone()
                    }
                })
                .collect();
            quoted.join(",") + "\n"
        };
        std::iter::once(&self.header)
            .chain(&self.rows)
            .map(|row| line(row))
            .collect()
    }
}

/// A number as a CSV cell (the shortest text that reads back to the same `f64`).
fn cell(value: f64) -> String {
    value.to_string()
}

/// `(index, time, value...)` rows of per-layer series.
fn layer_rows(times: &[f64], columns: &[&[f64]]) -> Vec<Vec<String>> {
    times
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let mut row = vec![k.to_string(), cell(t)];
            row.extend(
                columns
                    .iter()
                    .map(|c| cell(c.get(k).copied().unwrap_or(f64::NAN))),
            );
            row
        })
        .collect()
}

/// ASCII column names of bounds: `upper_bound_rigorous`, `lower_bound_estimate_2`, ...
fn bound_columns(prefix: &str, bounds: &[Bound]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for bound in bounds {
        let side = match bound.side {
            BoundSide::Upper => "upper",
            BoundSide::Lower => "lower",
        };
        let rigor = match bound.rigor {
            Rigor::Rigorous => "rigorous",
            Rigor::Estimate => "estimate",
        };
        let base = format!("{prefix}{side}_bound_{rigor}");
        let taken = names.iter().filter(|n| n.starts_with(&base)).count();
        names.push(if taken == 0 {
            base
        } else {
            format!("{base}_{}", taken + 1)
        });
    }
    names
}

/// Every series of a report as CSV tables (bound labels are in `diagnostics.json`), one
/// function per part.
fn diagnostics_tables(report: &DiagnosticsReport, split: &Split) -> Vec<Table> {
    let mut tables = Vec::new();
    if let Some(sp) = report.spectrum.computed() {
        tables.extend(spectrum_tables(sp, report.model.state_dim));
    }
    if let Some(l) = report.lipschitz.computed() {
        tables.push(lipschitz_table(l));
    }
    if let Some(d) = report.divergence.computed() {
        tables.extend(divergence_tables(d));
    }
    if let Some(st) = report.structure.computed() {
        tables.extend(structure_tables(st));
    }
    if let Some(g) = report.gradients.computed() {
        tables.push(gradients_table(g));
    }
    if let Some(r) = report.robustness.computed() {
        tables.push(robustness_table(r));
    }
    if let Some(b) = report.decision_boundary.computed() {
        tables.push(boundary_table(b, &split.train.feature_names));
    }
    if let Some(t) = report.trajectories.computed() {
        tables.push(trajectories_table(t));
    }
    tables
}

/// Singular values per matrix, eigenvalues of `h·J`, the stability boundary.
fn spectrum_tables(sp: &Spectrum, state_dim: usize) -> Vec<Table> {
    let mut tables = Vec::new();
    for m in &sp.matrices {
        let count = m.singular_values.iter().map(Vec::len).max().unwrap_or(0);
        let mut header = vec!["layer".to_owned(), "t".to_owned()];
        header.extend((1..=count).map(|i| format!("sigma_{i}")));
        header.extend(["norm".to_owned(), "smallest".to_owned()]);
        let rows = sp
            .times
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let mut row = vec![k.to_string(), cell(t)];
                let values = m.singular_values.get(k);
                row.extend(
                    (0..count)
                        .map(|i| cell(values.and_then(|v| v.get(i)).copied().unwrap_or(f64::NAN))),
                );
                row.push(cell(m.norm.get(k).copied().unwrap_or(f64::NAN)));
                row.push(cell(m.smallest.get(k).copied().unwrap_or(f64::NAN)));
                row
            })
            .collect();
        tables.push(Table {
            name: format!("singular_values_{}", m.name),
            header,
            rows,
        });
    }
    let mut eigen = Table::new(
        "jacobian_eigenvalues",
        &["layer", "t", "probe", "re", "im", "inside_stability_region"],
    );
    let dim = state_dim.max(1);
    for (k, values) in sp.jacobian_eigenvalues.iter().enumerate() {
        for (i, w) in values.iter().enumerate() {
            eigen.rows.push(vec![
                k.to_string(),
                cell(sp.times.get(k).copied().unwrap_or(f64::NAN)),
                (i / dim).to_string(),
                cell(w[0]),
                cell(w[1]),
                in_stability_region(&sp.stability, *w).to_string(),
            ]);
        }
    }
    tables.push(eigen);
    if let StabilityRegion::Polynomial { boundary, .. } = &sp.stability {
        let mut table = Table::new("stability_boundary", &["curve", "re", "im"]);
        for (c, curve) in boundary.iter().enumerate() {
            for w in curve {
                table.rows.push(vec![c.to_string(), cell(w[0]), cell(w[1])]);
            }
        }
        tables.push(table);
    }
    tables
}

/// `ν̂`, its bounds, the field and step Lipschitz constants, the step-size condition.
fn lipschitz_table(l: &Lipschitz) -> Table {
    let mut header = vec!["layer".to_owned(), "t".to_owned(), "nu_hat".to_owned()];
    header.extend(bound_columns("nu_", &l.one_sided_bounds));
    header.extend([
        "field_lipschitz_bound".to_owned(),
        "step_lipschitz".to_owned(),
    ]);
    let mut columns: Vec<&[f64]> = vec![&l.one_sided];
    columns.extend(l.one_sided_bounds.iter().map(|b| b.values.as_slice()));
    columns.extend([l.field_lipschitz_bound.as_slice(), l.step.as_slice()]);
    if let Some(bound) = &l.step_bound {
        header.push("step_lipschitz_bound_rigorous".to_owned());
        columns.push(&bound.values);
    }
    if let Some(c) = &l.step_size_condition {
        header.push("h_norm_a_squared_max_dsigma".to_owned());
        columns.push(&c.values);
    }
    Table {
        name: "lipschitz".to_owned(),
        header,
        rows: layer_rows(&l.times, &columns),
    }
}

/// Amplification over time with its bounds, and the worst-case gain of each probe.
fn divergence_tables(d: &Divergence) -> [Table; 2] {
    let mut header: Vec<String> = [
        "k",
        "t",
        "random_median",
        "random_max",
        "worst_case_median",
        "worst_case_max",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(bound_columns("", &d.bounds));
    let mut columns: Vec<&[f64]> = vec![
        &d.random.median,
        &d.random.max,
        &d.worst_case.median,
        &d.worst_case.max,
    ];
    columns.extend(d.bounds.iter().map(|b| b.values.as_slice()));
    let mut gains = Table::new(
        "divergence_probes",
        &["probe", "train_row", "worst_case_gain"],
    );
    for (i, gain) in d.worst_case_gain.iter().enumerate() {
        gains.rows.push(vec![
            i.to_string(),
            d.rows.get(i).map_or_else(String::new, ToString::to_string),
            cell(*gain),
        ]);
    }
    [
        Table {
            name: "divergence".to_owned(),
            header,
            rows: layer_rows(&d.times, &columns),
        },
        gains,
    ]
}

/// Energy error, symplecticity defect, volume change and reversibility, where computed.
fn structure_tables(st: &Structure) -> Vec<Table> {
    let mut tables = Vec::new();
    if let Some(e) = st.energy.computed() {
        tables.push(Table {
            header: [
                "layer",
                "t",
                "absolute_max",
                "relative_max",
                "relative_median",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows: layer_rows(
                &e.times,
                &[&e.absolute_max, &e.relative_max, &e.relative_median],
            ),
            name: "energy_error".to_owned(),
        });
    }
    if let Some(sy) = st.symplecticity.computed() {
        tables.push(Table {
            header: ["layer", "t", "defect_max", "defect_median"]
                .map(str::to_owned)
                .to_vec(),
            rows: layer_rows(&sy.times, &[&sy.defect_max, &sy.defect_median]),
            name: "symplecticity".to_owned(),
        });
    }
    if let Some(v) = st.volume.computed() {
        tables.push(Table {
            header: ["layer", "t", "log_det_max", "log_det_median", "log_det_min"]
                .map(str::to_owned)
                .to_vec(),
            rows: layer_rows(
                &v.times,
                &[&v.log_det_max, &v.log_det_median, &v.log_det_min],
            ),
            name: "volume".to_owned(),
        });
    }
    if let Some(r) = st.reversibility.computed() {
        tables.push(Table {
            header: ["k", "t", "error_max", "error_median"]
                .map(str::to_owned)
                .to_vec(),
            rows: layer_rows(&r.times, &[&r.error_max, &r.error_median]),
            name: "reversibility".to_owned(),
        });
    }
    tables
}

/// DTO against OTD and finite differences per layer.
fn gradients_table(g: &GradientConsistency) -> Table {
    Table {
        header: [
            "layer",
            "t",
            "dto_norm",
            "partner_vs_dto",
            "backward_vs_dto",
            "dto_vs_finite_differences",
        ]
        .map(str::to_owned)
        .to_vec(),
        // An empty cell: the layer was not checked against finite differences.
        rows: layer_rows(
            &g.times,
            &[&g.dto_norm, &g.partner_vs_dto, &g.backward_vs_dto],
        )
        .into_iter()
        .zip(&g.dto_vs_finite_differences)
        .map(|(mut row, fd)| {
            row.push(fd.map(cell).unwrap_or_default());
            row
        })
        .collect(),
        name: "gradient_consistency".to_owned(),
    }
}

/// Accuracy under random and gradient-sign perturbations of each size.
fn robustness_table(r: &Robustness) -> Table {
    let mut table = Table::new(
        "robustness",
        &["epsilon", "random_accuracy", "gradient_sign_accuracy"],
    );
    for (i, e) in r.epsilons.iter().enumerate() {
        table.rows.push(vec![
            cell(*e),
            cell(r.random.get(i).copied().unwrap_or(f64::NAN)),
            cell(r.gradient_sign.get(i).copied().unwrap_or(f64::NAN)),
        ]);
    }
    table
}

/// The grid's points (named by the data's features), predicted class and confidence.
fn boundary_table(b: &DecisionBoundary, feature_names: &[String]) -> Table {
    let mut header: Vec<String> = b
        .features
        .iter()
        .map(|&j| {
            feature_names
                .get(j)
                .cloned()
                .unwrap_or_else(|| format!("x{j}"))
        })
        .collect();
    header.extend(["class".to_owned(), "confidence".to_owned()]);
    let n = b.resolution.max(2);
    let axis = |a: usize, i: usize| -> f64 {
        let [lo, hi] = b.ranges.get(a).copied().unwrap_or([0.0, 1.0]);
        lo + (hi - lo) * i as f64 / (n - 1) as f64
    };
    let rows = b
        .classes
        .iter()
        .zip(&b.confidence)
        .enumerate()
        .map(|(p, (class, confidence))| {
            let mut row = vec![cell(axis(0, p % n))];
            if b.features.len() >= 2 {
                row.push(cell(axis(1, p / n)));
            }
            row.extend([class.to_string(), cell(*confidence)]);
            row
        })
        .collect();
    Table {
        name: "decision_boundary".to_owned(),
        header,
        rows,
    }
}

/// The projected path of every traced training point.
fn trajectories_table(t: &FeatureTrajectories) -> Table {
    let mut table = Table::new(
        "feature_trajectories",
        &["point", "train_row", "label", "k", "t", "u", "v"],
    );
    for (i, path) in t.paths.iter().enumerate() {
        for (k, position) in path.iter().enumerate() {
            table.rows.push(vec![
                i.to_string(),
                t.rows.get(i).map_or_else(String::new, ToString::to_string),
                t.labels
                    .get(i)
                    .map_or_else(String::new, ToString::to_string),
                k.to_string(),
                cell(t.times.get(k).copied().unwrap_or(f64::NAN)),
                cell(position[0]),
                cell(position[1]),
            ]);
        }
    }
    table
}

/// Writes `diagnostics.json` (the whole report, [`report_json`]) and one CSV per series into
/// `dir` (created if missing); returns the files written.
pub fn write_diagnostics(
    experiment: &str,
    report: &DiagnosticsReport,
    split: &Split,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let io_error = |path: &Path, operation: &'static str| {
        let path = path.to_owned();
        move |error: io::Error| Error::Io {
            path,
            operation,
            error,
        }
    };
    fs::create_dir_all(dir).map_err(io_error(dir, "create the folder"))?;
    let json_path = dir.join("diagnostics.json");
    let json = report_json(experiment, report)
        .map_err(|e| io_error(&json_path, "serialise")(io::Error::other(e)))?;
    write_atomic(&json_path, json.as_bytes()).map_err(io_error(&json_path, "write"))?;
    let mut written = vec![json_path];
    for table in diagnostics_tables(report, split) {
        let path = dir.join(format!("{}.csv", table.name));
        write_atomic(&path, table.to_csv().as_bytes()).map_err(io_error(&path, "write"))?;
        written.push(path);
    }
    Ok(written)
}

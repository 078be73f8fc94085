//! What a checked experiment will cost, estimated from its settings before anything is
//! allocated: the memory of training, of the diagnostics and of the NPZ export, and the work of
//! one training iteration. [`super::check`] refuses an experiment whose estimate exceeds the
//! memory budget of its [`Limits`] (and says which settings would fit), so no setting can
//! exhaust the machine's memory in a run, the command line or the workbench.
//!
//! The estimate counts the buffers the engine allocates, sized by the engine's own functions
//! (parameter layout, tape and record lengths of a block), with generous factors for copies
//! (snapshots, exports); it is meant to be an upper estimate within a factor of about two.

use std::fmt;

use crate::diagnostics::DiagnosticsSpec;
use crate::integrate::{Gradient, Integrator};
use crate::model::Field;
use crate::model::kernels::BLOCK;
use crate::model::params::{LayoutShape, ParamLayout};
use crate::train::optimizer::OptimizerSpec;
use crate::train::{Architecture, BatchSpec, LiftSpec, Training};

/// Bytes of one `f64`.
const F64: f64 = 8.0;

/// Bytes of one history record in memory (and its copy in the workbench's runs list).
const RECORD_BYTES: f64 = 2.0 * 56.0;

/// What a run may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The memory budget in bytes.
    pub memory: u64,
    /// Worker threads sharing a batch (each has its own block buffers).
    pub threads: usize,
}

impl Limits {
    /// Half of this machine's physical memory (8 GiB where it cannot be read), one thread.
    #[must_use]
    pub fn machine() -> Self {
        Self {
            memory: physical_memory().map_or(8 << 30, |bytes| bytes / 2),
            threads: 1,
        }
    }

    /// These limits with a memory budget of `bytes`.
    #[must_use]
    pub fn with_memory(self, bytes: u64) -> Self {
        Self {
            memory: bytes,
            ..self
        }
    }

    /// These limits with `threads` worker threads.
    #[must_use]
    pub fn with_threads(self, threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::machine()
    }
}

/// The physical memory of this machine in bytes, where the system tells it.
#[cfg(unix)]
#[expect(
    unsafe_code,
    reason = "two sysconf calls, which read system constants and touch no memory of ours"
)]
fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf takes a constant and returns a number; it has no memory effects.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let pages = u64::try_from(pages).ok()?;
    let page_size = u64::try_from(page_size).ok()?;
    pages.checked_mul(page_size).filter(|&bytes| bytes > 0)
}

/// The physical memory of this machine: not read on this platform.
#[cfg(not(unix))]
fn physical_memory() -> Option<u64> {
    None
}

/// The estimated cost of an experiment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resources {
    /// Bytes held while training: data, parameters and optimiser state, per-block gradients,
    /// the block buffers (trajectory, tape, scratch) of every thread, the history.
    pub training: f64,
    /// Bytes of one diagnostics computation (probes, Jacobians, grid, trajectories, ...).
    pub diagnostics: f64,
    /// Bytes of the NPZ export of the training set (trajectories of every point, in memory
    /// before the file is written).
    pub export: f64,
    /// Floating-point operations of one training iteration (forward and backward).
    pub flops_per_iteration: f64,
}

impl Resources {
    /// The most memory in use at once: training, with either a diagnostics computation or the
    /// export.
    #[must_use]
    pub fn peak(&self) -> f64 {
        self.training + self.diagnostics.max(self.export)
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "about {} of memory (training {}, diagnostics {}, export {}); {} per iteration",
            bytes(self.peak()),
            bytes(self.training),
            bytes(self.diagnostics),
            bytes(self.export),
            flops(self.flops_per_iteration)
        )
    }
}

/// A number of bytes in words: `512 B`, `3.2 MB`, `14 GB` (decimal units).
#[must_use]
pub fn bytes(value: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = value.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[unit])
    } else if value < 10.0 {
        format!("{value:.1} {}", units[unit])
    } else {
        format!("{value:.0} {}", units[unit])
    }
}

/// A number of floating-point operations in words.
fn flops(value: f64) -> String {
    let value = value.max(0.0);
    if value >= 1e12 {
        format!("{:.1} TFLOP", value / 1e12)
    } else if value >= 1e9 {
        format!("{:.1} GFLOP", value / 1e9)
    } else {
        format!("{:.1} MFLOP", value / 1e6)
    }
}

/// Reads a memory size: bytes (`1000000`) or with a unit, decimal (`kB`, `MB`, `GB`, `TB`) or
/// binary (`KiB`, `MiB`, `GiB`, `TiB`); `K`, `M`, `G`, `T` alone are binary (`4G` = 4 GiB).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a size such as 4G, 512MiB or 2000000000"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use B, MB, GB, MiB, GiB, ...)"
            ));
        }
    };
    let value = number * scale;
    if (1.0..1.8e19).contains(&value) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked to lie in [1, 1.8e19)"
        )]
        let bytes = value as u64;
        Ok(bytes)
    } else {
        Err(format!(
            "{text:?}: the size must be at least 1 byte and below 16 EiB"
        ))
    }
}

/// Everything the estimate depends on, from checked settings (every count within its range).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Shape {
    /// The vector field with its widths.
    pub field: Field,
    /// Layers `K`.
    pub layers: usize,
    /// The time stepper and the gradient method (stage and tape sizes).
    pub integrator: Integrator,
    pub gradient: Gradient,
    /// Input features and classes (the data spec's, or a bound before a CSV file is read).
    pub inputs: usize,
    pub classes: usize,
    /// Whether the lift is a trained linear map.
    pub linear_lift: bool,
    /// Points in all, of which `train_points` in the training set; `batch_points` per step.
    pub points: usize,
    pub train_points: usize,
    pub batch_points: usize,
    /// Parameter-sized buffers of the optimiser (Adam 2, SGD 1, Armijo's trial point 2).
    pub optimizer_buffers: usize,
    /// Iterations of the run (the history).
    pub iterations: usize,
    /// Worker threads.
    pub threads: usize,
    /// The diagnostics settings.
    pub diagnostics: DiagnosticsSpec,
}

/// The sizes of a data set: points in all and in the training set, input features, classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DataDims {
    pub points: usize,
    pub train_points: usize,
    pub inputs: usize,
    pub classes: usize,
}

impl Shape {
    /// The shape of a plan's parts on data of `dims` with `threads` workers.
    pub fn of(
        architecture: &Architecture,
        training: &Training,
        diagnostics: &DiagnosticsSpec,
        dims: DataDims,
        threads: usize,
    ) -> Self {
        let batch_points = match training.batch {
            BatchSpec::Full => dims.train_points,
            BatchSpec::MiniBatch(size) => size.min(dims.train_points),
        };
        let optimizer_buffers = match training.optimizer {
            OptimizerSpec::Sgd { .. } => 1,
            OptimizerSpec::Adam { .. } | OptimizerSpec::Armijo { .. } => 2,
        };
        Self {
            field: architecture.field,
            layers: architecture.layers,
            integrator: architecture.integrator.clone(),
            gradient: architecture.gradient.clone(),
            inputs: dims.inputs,
            classes: dims.classes,
            linear_lift: architecture.lift == LiftSpec::Linear,
            points: dims.points,
            train_points: dims.train_points,
            batch_points,
            optimizer_buffers,
            iterations: training.iterations,
            threads,
            diagnostics: diagnostics.clone(),
        }
    }

    /// Entries of the flat parameter buffer.
    fn params(&self) -> f64 {
        ParamLayout::new(&LayoutShape {
            layers: self.layers,
            width: self.field.width,
            hidden: self.field.hidden,
            second_matrix: self.field.second_matrix(),
            second_bias: self.field.second_bias() && !self.field.second_matrix(),
            learned: self.field.learned,
            linear_lift_inputs: self.linear_lift.then_some(self.inputs),
            outputs: self.classes,
        })
        .len() as f64
    }

    /// Bytes of the buffers of a block of `n` samples through all layers: trajectory, tape and
    /// the integrator's scratch.
    fn block_buffers(&self, n: usize) -> f64 {
        let dim = self.field.state_dim() as f64;
        let n_f = n as f64;
        let layers = self.layers as f64;
        let tape = self.integrator.tape_len(&self.field, n) as f64;
        let stages = match (&self.integrator, &self.gradient) {
            (Integrator::Explicit(t), Gradient::Backward(b)) => t.stages.max(b.stages) * 2,
            (Integrator::Explicit(t), _) => t.stages,
            (_, Gradient::Backward(b)) => b.stages * 2,
            _ => 1,
        } as f64;
        let implicit = self.integrator.is_implicit();
        let scratch = stages * dim * n_f
            + 5.0 * dim * n_f
            + 2.0 * self.field.record_len(n) as f64
            + self.field.scratch_len(n) as f64
            + if implicit { n_f * dim * dim } else { 0.0 }
            + if matches!(self.integrator, Integrator::Avf { .. }) {
                10.0 * self.field.hidden as f64 * n_f
            } else {
                0.0
            };
        F64 * ((layers + 1.0) * dim * n_f
            + layers * tape
            + scratch
            + 4.0 * self.classes as f64 * n_f)
    }

    /// The estimate.
    pub fn resources(&self) -> Resources {
        let p = self.params();
        let dim = self.field.state_dim() as f64;
        let layers = self.layers as f64;
        let points = self.points as f64;
        let train = self.train_points as f64;
        let inputs = self.inputs as f64;
        let classes = self.classes as f64;
        let blocks = self.batch_points.div_ceil(BLOCK) as f64;
        let d = &self.diagnostics;

        // Inputs and labels, generated, split and copied for the views.
        let data = 3.0 * F64 * points * (inputs + 1.0);
        // Raw, effective, gradients (effective and raw), the copy before a step, the
        // optimiser's buffers, and a snapshot (raw and effective).
        let params = F64 * p * (7.0 + self.optimizer_buffers as f64);
        // One gradient per block, summed in block order.
        let block_gradients = F64 * p * blocks;
        let workspaces = self.threads.max(1) as f64 * self.block_buffers(BLOCK);
        let history = RECORD_BYTES * self.iterations as f64;
        let training = data + params + block_gradients + workspaces + history;

        let probes = d.probes.min(self.train_points) as f64;
        let probe_block = self.block_buffers(d.probes.min(self.train_points).max(1));
        let jacobians = F64 * (probes + d.eigenvalue_probes as f64) * dim * dim * layers;
        let divergence = F64 * (d.random_directions as f64 + 2.0) * probes * (layers + 1.0) * dim;
        let grid_points = (d.grid * d.grid) as f64;
        let grid = F64 * grid_points * (classes + 3.0) + self.block_buffers(BLOCK);
        let trajectories = F64 * d.trajectory_points as f64 * (layers + 1.0) * (dim + 2.0);
        let robustness = 3.0 * F64 * d.robustness_points as f64 * (inputs + 1.0);
        let gradients =
            4.0 * F64 * p + self.block_buffers(d.gradient_points.min(self.train_points).max(1));
        let spectrum = 4.0 * F64 * layers * (self.field.hidden * self.field.width) as f64;
        // Half as much again for the intermediate copies of the parts' results.
        let diagnostics = 1.5
            * (2.0 * F64 * p
                + probe_block
                + jacobians
                + divergence
                + grid
                + trajectories
                + robustness
                + gradients
                + spectrum);

        // States of every training point at every layer, the logits, the parameters (raw,
        // effective, gradient), the inputs: as the engine's trajectory, as the exported arrays
        // and in the archive, whose buffer may hold twice what it has written.
        let export =
            4.0 * F64 * (train * ((layers + 1.0) * dim + classes + inputs + 1.0) + 3.0 * p)
                + self.block_buffers(BLOCK);

        let matrices = if self.field.second_matrix() { 2.0 } else { 1.0 };
        let products = 4.0 * (self.field.hidden * self.field.width) as f64 * matrices;
        let stages = match &self.integrator {
            Integrator::Explicit(t) => t.stages as f64,
            Integrator::Splitting(s) => s.substeps().len() as f64,
            Integrator::ImplicitMidpoint { .. } | Integrator::Avf { .. } => 4.0,
        };
        let flops_per_iteration = 3.0 * self.batch_points as f64 * layers * stages * products;
        Resources {
            training,
            diagnostics,
            export,
            flops_per_iteration,
        }
    }
}

/// A setting the estimate can be brought down by, with how to set it in a copy of the shape.
struct Knob {
    path: &'static str,
    value: fn(&Shape) -> usize,
    set: fn(&mut Shape, usize),
}

const KNOBS: [Knob; 9] = [
    Knob {
        path: "model.layers",
        value: |s| s.layers,
        set: |s, v| s.layers = v,
    },
    Knob {
        path: "data.size",
        value: |s| s.points,
        set: |s, v| {
            let fraction = s.train_points as f64 / s.points.max(1) as f64;
            let full_batch = s.batch_points >= s.train_points;
            s.points = v;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a fraction of a point count"
            )]
            let train = ((v as f64) * fraction).round() as usize;
            s.train_points = train.max(1);
            if full_batch {
                s.batch_points = s.train_points;
            }
        },
    },
    Knob {
        path: "model.width",
        value: |s| s.field.width,
        set: |s, v| {
            if s.field.hidden == s.field.width {
                s.field.hidden = v;
            }
            s.field.width = v;
        },
    },
    Knob {
        path: "model.hidden",
        value: |s| s.field.hidden,
        set: |s, v| s.field.hidden = v,
    },
    Knob {
        path: "diagnostics.grid",
        value: |s| s.diagnostics.grid,
        set: |s, v| s.diagnostics.grid = v,
    },
    Knob {
        path: "diagnostics.probes",
        value: |s| s.diagnostics.probes,
        set: |s, v| s.diagnostics.probes = v,
    },
    Knob {
        path: "diagnostics.random_directions",
        value: |s| s.diagnostics.random_directions,
        set: |s, v| s.diagnostics.random_directions = v,
    },
    Knob {
        path: "diagnostics.eigenvalue_probes",
        value: |s| s.diagnostics.eigenvalue_probes,
        set: |s, v| s.diagnostics.eigenvalue_probes = v,
    },
    Knob {
        path: "train.iterations",
        value: |s| s.iterations,
        set: |s, v| s.iterations = v,
    },
];

/// Why an experiment does not fit its memory budget: the estimate, and the settings that would
/// bring it within the budget with everything else as it is (the one that needs the smallest
/// change first).
#[derive(Clone, Debug, PartialEq)]
pub struct OverBudget {
    /// The estimate.
    pub resources: Resources,
    /// The budget in bytes.
    pub budget: u64,
    /// `(setting, the largest value that fits, its value now)`.
    pub would_fit: Vec<(&'static str, usize, usize)>,
}

impl OverBudget {
    /// The setting to name first: the one that needs the smallest change (`model.layers` when
    /// no single setting would do).
    #[must_use]
    pub fn path(&self) -> &'static str {
        self.would_fit
            .first()
            .map_or("model.layers", |(path, ..)| path)
    }
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[expect(clippy::cast_precision_loss, reason = "a byte count in words")]
        let budget = bytes(self.budget as f64);
        write!(
            f,
            "needs {}, more than the memory budget of {budget} (set by --max-memory or View ▸ \
             Memory budget; half of this machine's memory by default)",
            self.resources
        )?;
        if self.would_fit.is_empty() {
            write!(f, "; no single setting brings it within the budget")
        } else {
            let fits: Vec<String> = self
                .would_fit
                .iter()
                .map(|(path, fit, now)| format!("{path} ≤ {fit} (now {now})"))
                .collect();
            write!(f, "; it would fit with {}", fits.join(", or "))
        }
    }
}

/// The estimate of `shape` against `budget` bytes: `Ok` when it fits.
pub(super) fn fits(shape: &Shape, budget: u64) -> Result<Resources, OverBudget> {
    #[expect(
        clippy::cast_precision_loss,
        reason = "a byte count compared with an estimate"
    )]
    let limit = budget as f64;
    let resources = shape.resources();
    if resources.peak() <= limit {
        return Ok(resources);
    }
    let mut would_fit: Vec<(&'static str, usize, usize)> = KNOBS
        .iter()
        .filter_map(|knob| {
            let now = (knob.value)(shape);
            let peak_at = |value: usize| {
                let mut trial = shape.clone();
                (knob.set)(&mut trial, value);
                trial.resources().peak()
            };
            if now <= 1 || peak_at(1) > limit {
                return None;
            }
            // The estimate grows with each setting: bisect for the largest value that fits.
            let (mut fits, mut too_big) = (1, now);
            while too_big - fits > 1 {
                let mid = fits + (too_big - fits) / 2;
                if peak_at(mid) <= limit {
                    fits = mid;
                } else {
                    too_big = mid;
                }
            }
            Some((knob.path, fits, now))
        })
        .collect();
    // The smallest relative change first.
    #[expect(clippy::cast_precision_loss, reason = "a ratio of counts")]
    would_fit.sort_by(|a, b| (b.1 as f64 / b.2 as f64).total_cmp(&(a.1 as f64 / a.2 as f64)));
    would_fit.truncate(3);
    Err(OverBudget {
        resources,
        budget,
        would_fit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_and_without_units() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("4G"), Ok(4 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5 GB"), Ok(1_500_000_000));
        assert_eq!(parse_bytes(" 2kb "), Ok(2000));
        for bad in ["", "G", "-1G", "0", "4X", "1e30", "nan"] {
            assert!(parse_bytes(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn byte_counts_read_in_words() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3_200_000.0), "3.2 MB");
        assert_eq!(bytes(14e9), "14 GB");
    }
}

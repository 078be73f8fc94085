//! Metrics CSV, NPZ export, and the diagnostics as files ([`diagnostics`]), text
//! ([`summary`]) and figures ([`figures`]).
//!
//! # Metrics CSV ([`write_metrics_csv`])
//!
//! One header line `iteration,loss,grad_norm,train_accuracy,test_accuracy`, then one row per
//! [`Record`](crate::train::Record) of the history. An accuracy that was not evaluated at
//! that iteration is an empty cell. Floats are written with Rust's shortest representation that
//! reads back to the same `f64` (never an exponent: `0.0001`, not `1e-4`).
//!
//! # NPZ ([`export_npz`])
//!
//! An uncompressed `.npz` archive (`numpy.load` reads it) of the model at the session's current
//! iteration, evaluated on the **training** set (after standardisation, if the experiment asks
//! for it: exactly the inputs the network sees). `N` is the number of training points, `K` the
//! number of layers, `d` the width, `C` the number of head outputs (the number of classes,
//! except 1 for a sigmoid head on two classes).
//!
//! | key             | dtype   | shape          | content                                                       |
//! |-----------------|---------|----------------|---------------------------------------------------------------|
//! | `meta`          | unicode | `()`           | JSON document describing the model (below)                   |
//! | `x`             | f64     | `(N, n_in)`    | training inputs                                               |
//! | `y`             | i64     | `(N,)`         | training labels (class indices)                               |
//! | `z`             | f64     | `(K+1, N, d)`  | state `z` of every point after every layer; `z[0]` the lifted input |
//! | `p`             | f64     | `(K+1, N, d)`  | momentum `p`, only for states `(z, p)` (`Hamiltonian`, `HamiltonianShared`, `SecondOrder`) |
//! | `logits`        | f64     | `(N, C)`       | head outputs before the loss                                  |
//! | `loss`          | f64     | `()`           | training objective on the whole training set, regularisers included |
//! | `param.NAME`    | f64     | block shape    | raw parameters (before the constraint)                        |
//! | `effective.NAME`| f64     | block shape    | effective parameters (after the constraint): what the network uses |
//! | `grad.NAME`     | f64     | block shape    | gradient of `loss` with respect to `param.NAME`               |
//!
//! `NAME` runs over the parameter blocks the network has: `A`, `b` (or `A1`, `b1`, `A2`, `b2` for
//! the Hamiltonian field), `J` and `R` (port-Hamiltonian field with `interconnection: Learned`,
//! `dissipation: Learned`: `param.J` is the free `W`, `effective.J = W − Wᵀ`; `param.R` is `W`,
//! `effective.R = WᵀW`), `lift.W`, `lift.b` (linear lift only), `head.W`, `head.b`. Per-layer
//! blocks are stacked along a first axis of length `K`: `A` is `(K, m, d)`, `b` is `(K, m)`, `J`
//! and `R` are `(K, d, d)`; `lift.W` is `(d, n_in)`, `head.W` is `(C, d)`, the biases are
//! vectors.
//!
//! `meta` is a zero-dimensional numpy unicode array (dtype `<U…`), so in Python
//!
//! ```python
//! import json, numpy as np
//! f = np.load("params.npz")
//! meta = json.loads(str(f["meta"]))    # or f["meta"].item()
//! meta["integrator"], meta["params"]   # 'Euler', [{'name': 'A', 'shape': [8, 2, 2]}, ...]
//! ```
//!
//! Its fields: `format` (`"flowlab-npz"`), `format_version` ([`npz::NPZ_FORMAT_VERSION`]),
//! `flowlab_version`, `experiment` (its name), `iteration`, `data` (source name),
//! `train_points`, `inputs`, `classes`, `outputs`, `class_names`, `feature_names`, `field`,
//! `activations` (σ, or σ₁ and σ₂), `constraints` (matrix block name → constraint), `integrator`,
//! `gradient` (the gradient method), `h`, `layers` (`K`), `final_time`, `width` (`d`), `hidden`
//! (`m`), `state_dim`, `lift`, `head`, `loss` (the head's loss in words), `weight_decay`,
//! `time_smoothness`, `optimizer`, `params` (name and shape of every block, in buffer order).
//!
//! The NPZ reader of `ndarray-npy` cannot read unicode arrays; Rust code that wants the metadata
//! can build it from the session it exported.

pub mod check;
pub mod diagnostics;
pub mod figures;
pub mod history;
pub mod metrics;
pub mod npz;
pub mod palette;
pub mod status;
pub mod summary;

use std::io;
use std::path::PathBuf;

use crate::integrate::StepError;

pub use check::check_summary;
pub use diagnostics::{DIAGNOSTICS_FORMAT_VERSION, report_json, write_diagnostics};
pub use figures::study::{
    CurveGroup, StudyChart, StudyLine, StudyPoint, write_loss_curves, write_study_chart,
};
pub use figures::{Figures, SkippedFigure, write_figures};
pub use history::{HistoryPrefix, HistoryRecorder, earlier_history, history_line, history_prefix};
pub use metrics::{METRICS_HEADER, metrics_csv_string, write_metrics_csv};
pub use npz::export_npz;
pub use status::{RunOutcome, RunStatus};
pub use summary::{diagnostics_summary, failed_parts};

/// Everything that can go wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a file failed.
    #[error("cannot {operation} the file ({error}): {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done: "write", ...
        operation: &'static str,
        /// The operating system's error. Not exposed as `source()`: the message already
        /// contains it, and error chains would print it twice.
        error: io::Error,
    },
    /// The NPZ archive could not be assembled (in memory, before the file is written).
    #[error("cannot write {what} of the NPZ archive ({error}): {}", path.display())]
    Npz {
        /// The file the archive was meant for.
        path: PathBuf,
        /// What was being written: "array `z`", "the zip directory".
        what: String,
        /// The writer's error (in the message, not as `source()`).
        error: ndarray_npy::WriteNpzError,
    },
    /// A line of an earlier diagnostics history (`diagnostics.jsonl`) is not one flowlab wrote.
    #[error("line {line} of the diagnostics history: {problem}: {}", path.display())]
    History {
        /// The history file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The network could not be evaluated on the training set (an implicit solve that failed);
    /// nothing was written.
    #[error("cannot evaluate the network for the export ({error}): {}", path.display())]
    Evaluate {
        /// The file the archive was meant for.
        path: PathBuf,
        /// The failure (in the message, not as `source()`).
        error: StepError,
    },
    /// A figure has nothing to draw.
    #[error("cannot draw the figure {name}: {reason}")]
    Figure {
        /// The figure's file name (without extension).
        name: String,
        /// Why.
        reason: String,
    },
}

//! The document: the spec types of an experiment file, [`check`] (the one validation, into a
//! [`Plan`] of the engine's types) and file io (RON, `format_version`, atomic saves).
//!
//! From a document to a trained model and back, as the command line and the workbench go:
//!
//! ```
//! use flowlab::experiment;
//!
//! let exp = experiment::from_ron_str(experiment::DEFAULT_EXPERIMENT)?; // or experiment::load
//! let plan = experiment::check(&exp)?; // validate once: engine types, or every problem
//! let mut session = plan.session(None, 1)?; // data, network, parameters (or the checkpoint)
//! session.step()?; // one deterministic step
//! let saved = exp.with_checkpoint(session.checkpoint()); // what a run saves to resume
//! assert_eq!(saved.checkpoint.map(|c| c.iteration), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
pub mod files;
pub mod io;
mod plan;
pub mod resources;
pub mod spec;

pub use check::{
    MAX_DIAGNOSTIC_POINTS, MAX_GRID, MAX_LAYERS, MAX_NEWTON_ITERATIONS, MAX_POWER_ITERATIONS,
    MAX_PROBES, MAX_RANDOM_DIRECTIONS, MAX_ROBUSTNESS_EPSILONS, MAX_STAGES, MAX_WIDTH,
    MIN_NEWTON_TOLERANCE, Problem, Problems, check, check_with,
};
pub use io::{Error, from_ron_str, load, save, to_ron_string};
pub use plan::{BuildError, Plan};
pub use resources::{Limits, OverBudget, Resources};
pub use spec::*;

/// The experiment `cargo run` opens: a ResNet read as explicit Euler on two spirals.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../../experiments/resnet_euler_spirals.ron");

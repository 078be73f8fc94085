//! The document: the spec types of an experiment file, [`check`] (the one validation, into a
//! [`Plan`] of the engine's types) and file io (RON, `format_version`, atomic saves).

mod check;
pub mod io;
mod plan;
pub mod spec;

pub use check::{Problem, Problems, check};
pub use io::{Error, from_ron_str, load, save, to_ron_string};
pub use plan::{BuildError, Plan};
pub use spec::*;

/// The experiment `cargo run` opens: a ResNet read as explicit Euler on two spirals.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../../experiments/resnet_euler_spirals.ron");

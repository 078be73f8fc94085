//! # flowlab
//!
//! A workbench for *structure-preserving deep learning*: neural networks read as time-steppers of
//! an ODE `z' = f(z; θ(t))`. A ResNet layer `z_{k+1} = z_k + h σ(A_k z_k + b_k)` is one explicit
//! Euler step; flowlab lets you pick the vector field, constrain its parameters, choose the
//! integrator and the gradient method, and train while watching the structure the theory promises.
//!
//! The modules are the layers of the house (`DESIGN.md` §7), listed from the bottom up: each one
//! uses only the modules listed before it (`tests/house.rs` keeps this true). The engine is
//! everything down to [`report`]; it knows no egui (`cargo build --no-default-features`).
//!
//! - [`data`]: dataset generators, CSV import, train/test split, standardisation.
//! - [`model`]: the pieces of the ODE: activations, vector fields with their JVPs and VJPs,
//!   constraints, the flat parameter buffer, the small dense kernels (and the block size).
//! - [`integrate`]: Runge–Kutta tableaus, symplectic and implicit integrators, their exact discrete
//!   adjoints (DTO) and the continuous adjoints (OTD), on [`model`]'s fields.
//! - [`train`]: the network (lift → flow → head) and its batch engine, losses, regularisers,
//!   optimisers, the session (one deterministic step), checkpoints, the runner thread and the
//!   helpers for work off the caller's thread.
//! - [`diagnostics`]: spectra, Lipschitz estimates and bounds, divergence, energy and
//!   symplecticity, gradient consistency, robustness, decision boundaries (DESIGN §3), computed
//!   on [`train`]'s snapshots.
//! - [`experiment`]: the document (spec types, RON file io) and [`experiment::check`], the one
//!   validation, which turns a document into a [`experiment::Plan`] of the types above.
//! - [`report`]: what the command line writes and prints: metrics CSV, NPZ, diagnostics tables,
//!   histories, summaries, figures.
//! - [`study`]: grids of runs over settings and seeds: the study file, its expansion into
//!   ordinary experiment files, running them here or as a Slurm job array, collecting results.
//! - [`cli`]: the command line, a parser and dispatcher.
//! - `gui` (cargo feature `gui`, on by default): the workbench.

// The bottom: datasets, and the pieces of the network's ODE.
pub mod data;
pub mod model;
// Time steppers and their adjoints, on the model's fields.
pub mod integrate;
// The network, its training session and the threads that run it.
pub mod train;
// What the theory promises, measured on the session's snapshots.
pub mod diagnostics;
// The document, and its check into a plan of the types above.
pub mod experiment;
// Files, tables, text and figures of runs and diagnostics.
pub mod report;
// Grids of runs: study files, their expansion, local and Slurm runners, collection.
pub mod study;
// The two faces: the command line and the workbench.
pub mod cli;
#[cfg(feature = "gui")]
pub mod gui;

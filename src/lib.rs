//! # flowlab
//!
//! A workbench for *structure-preserving deep learning*: neural networks read as time-steppers of
//! an ODE `z' = f(z; θ(t))`. A ResNet layer `z_{k+1} = z_k + h σ(A_k z_k + b_k)` is one explicit
//! Euler step; flowlab lets you pick the vector field, constrain its parameters, choose the
//! integrator and the gradient method, and train while watching the structure the theory promises.
//!
//! Module map (see `DESIGN.md` §1):
//! - [`experiment`]: the document (spec types, validation into checked types, RON file io).
//! - [`data`]: dataset generators, CSV import, train/test split, standardisation.
//! - [`model`]: activations, vector fields, constraints, the flat parameter buffer, the network.
//! - [`integrate`]: Runge–Kutta tableaus, symplectic and implicit integrators, their exact discrete
//!   adjoints (DTO) and the continuous adjoints (OTD).
//! - [`train`]: losses, regularisers, optimisers, the training session, events and the runner.
//! - [`diagnostics`]: spectra, Lipschitz estimates and bounds, divergence, energy and
//!   symplecticity, gradient consistency, robustness, decision boundaries (DESIGN §3).
//! - [`report`]: metrics CSV and NPZ export.
//! - [`cli`]: the command line.
//! - `gui` (cargo feature `gui`, on by default): the workbench.

pub mod cli;
pub mod data;
pub mod diagnostics;
pub mod experiment;
#[cfg(feature = "gui")]
pub mod gui;
pub mod integrate;
pub mod model;
pub mod report;
pub mod train;

//! The [`Plan`]: a checked experiment as the engine's own types, and the one way from it to a
//! training session.

use std::path::Path;

use thiserror::Error;

use super::resources::{DataDims, Limits, OverBudget, Resources, Shape, fits};
use crate::data::{self, DataSpec, Split};
use crate::diagnostics::DiagnosticsSpec;
use crate::train::{Architecture, Checkpoint, Session, SessionError, Training};

/// A checked experiment: what [`super::check`] builds from a document that has no problems.
/// Its parts are the engine's types, handed to the engine's constructors as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The experiment's name (reports and histories are labelled with it).
    pub name: String,
    /// Where the data comes from (checked).
    pub data: DataSpec,
    /// Seed of the data generation and of the train/test split.
    pub data_seed: u64,
    /// The network: field, activations, constraints, lift, head, integrator, gradient method.
    pub architecture: Architecture,
    /// Optimiser, batches, regularisers, seeds, iterations.
    pub training: Training,
    /// Which diagnostics to compute and how.
    pub diagnostics: DiagnosticsSpec,
    /// Where a run resumes, if it does.
    pub checkpoint: Option<Checkpoint>,
    /// What it will cost, as far as the spec tells it (a CSV file's size is known once it is
    /// read; [`Plan::session`] checks again then).
    pub resources: Resources,
    /// The limits it was checked within.
    pub limits: Limits,
}

/// Why a session could not be built from a plan.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The data could not be generated or read. The data error is part of the message, not
    /// `source()`: error chains would print it twice.
    #[error("data: {0}")]
    Data(data::Error),
    /// The model does not fit its data, or the checkpoint does not fit the model.
    #[error("{0}")]
    Session(SessionError),
    /// With the data read, the experiment needs more memory than its budget.
    #[error("{0}")]
    TooLarge(OverBudget),
}

impl Plan {
    /// Generates or reads the data (relative CSV paths are taken from `base_dir`, the experiment
    /// file's folder), split and standardised as the plan says. A CSV file is streamed and may
    /// be at most half the memory budget.
    pub fn load_data(&self, base_dir: Option<&Path>) -> Result<Split, data::Error> {
        data::load_within(&self.data, self.data_seed, base_dir, self.limits.memory / 2)
    }

    /// A session on data already loaded for this plan ([`Plan::load_data`]), from the
    /// checkpoint if there is one; `threads` workers share each batch.
    pub fn session_on(&self, split: Split, threads: usize) -> Result<Session, SessionError> {
        Session::new(
            &self.architecture,
            &self.training,
            self.checkpoint.as_ref(),
            split,
            threads,
        )
    }

    /// Loads the data, checks the memory estimate again with its real sizes and `threads`
    /// workers, and builds the session.
    pub fn session(&self, base_dir: Option<&Path>, threads: usize) -> Result<Session, BuildError> {
        let split = self.load_data(base_dir).map_err(BuildError::Data)?;
        self.fits(&split, threads).map_err(BuildError::TooLarge)?;
        self.session_on(split, threads).map_err(BuildError::Session)
    }

    /// The estimate of this plan on `split` with `threads` workers, within the plan's memory
    /// budget.
    pub fn fits(&self, split: &Split, threads: usize) -> Result<Resources, OverBudget> {
        let dims = DataDims {
            points: split.train.len() + split.test.len(),
            train_points: split.train.len(),
            inputs: split.train.n_features(),
            classes: split.train.n_classes,
        };
        let shape = Shape::of(
            &self.architecture,
            &self.training,
            &self.diagnostics,
            dims,
            threads,
        );
        fits(&shape, self.limits.memory)
    }
}

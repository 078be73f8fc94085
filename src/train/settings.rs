//! How a session trains: the checked settings that `experiment::check` builds from a document's
//! `train` section.

use serde::{Deserialize, Serialize};

use super::optimizer::OptimizerSpec;
use super::regularizer::Regularizer;

/// Optimiser, batches, regularisers, seeds and the initial weights of a session.
#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    /// The optimiser and its settings.
    pub optimizer: OptimizerSpec,
    /// Full batch or mini-batches.
    pub batch: BatchSpec,
    /// Iterations a run performs in total (counting a resumed checkpoint).
    pub iterations: usize,
    /// Weight decay and time smoothness.
    pub regularizer: Regularizer,
    /// Standard deviation of the initial weights is `init_scale / sqrt(d)`.
    pub init_scale: f64,
    /// Seed of the parameter initialisation.
    pub init_seed: u64,
    /// Seed of the mini-batch order.
    pub batch_seed: u64,
    /// Evaluate train/test accuracy every this many iterations (at least 1).
    pub eval_every: usize,
}

/// Whether each iteration uses all training points or a random subset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchSpec {
    /// Every training point in every iteration.
    #[default]
    Full,
    /// Shuffled mini-batches of this size, a new permutation each epoch.
    MiniBatch(usize),
}

//! What a run leaves behind: its history, one [`Record`] per iteration, and the [`Checkpoint`]
//! that resumes it bit-exactly. Both are saved in the experiment file.

use serde::{Deserialize, Serialize};

use super::optimizer::OptimizerState;

/// One row of the training history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Iteration number after the step (1 for the first step).
    pub iteration: usize,
    /// Training objective of the batch before the step, regularisers included.
    pub loss: f64,
    /// Euclidean norm of the gradient.
    pub grad_norm: f64,
    /// Accuracy on the training set, when evaluated at this iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    /// Accuracy on the test set, when evaluated at this iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

/// Where a run stopped: parameters, optimiser state and history.
///
/// The mini-batch stream is a pure function of `(seeds.batch, iteration)`, so the iteration is
/// its position and nothing else needs saving to resume bit-exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Iterations performed so far.
    pub iteration: usize,
    /// The flat raw parameter buffer (before constraints).
    pub params: Vec<f64>,
    /// The optimiser's state.
    pub optimizer: OptimizerState,
    /// The loss history.
    pub history: Vec<Record>,
}

//! The training session: the model, the optimiser and the data, one deterministic step at a
//! time, no threads of its own (the batch may be spread over a fixed pool, see [`Engine`]).

use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use super::checkpoint::{Checkpoint, Record};
use super::engine::{BatchResult, Engine};
use super::network::{Architecture, Network, NetworkError};
use super::optimizer::{self, OptimizerError, OptimizerState};
use super::settings::{BatchSpec, Training};
use crate::data::Split;
use crate::integrate::StepError;

/// Why a session could not be created.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The architecture does not fit the data. The network error is part of the message, not
    /// `source()`: error chains would print it twice.
    #[error("{0}")]
    Network(NetworkError),
    /// The checkpoint does not fit the model.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The initial parameters (drawn from `init_scale`, or after a constraint) are not finite:
    /// training could only diverge.
    #[error(
        "the initial parameters are not finite ({what} parameter {index} of {block} is {value}); \
         lower model.init_scale"
    )]
    NotFinite {
        /// "raw" or "effective" (after the constraint).
        what: &'static str,
        /// The block the first such parameter belongs to.
        block: &'static str,
        /// Its index in the flat buffer.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The thread pool could not be built.
    #[error("could not start {threads} worker threads: {message}")]
    Threads {
        /// Threads requested.
        threads: usize,
        /// The system's message.
        message: String,
    },
}

/// Why a training step failed. The parameters are those before the step (the last finite ones).
#[derive(Clone, Debug, Error, PartialEq)]
pub enum TrainError {
    /// The loss or the gradient became NaN or infinite.
    #[error(
        "training diverged at iteration {iteration}: {what}; the last finite parameters were kept"
    )]
    Diverged {
        /// The iteration that failed (1-based).
        iteration: usize,
        /// What was not finite.
        what: String,
    },
    /// A step of the integrator failed (an implicit solve that did not converge).
    #[error("iteration {iteration}: {source}")]
    Step {
        /// The iteration that failed.
        iteration: usize,
        /// The failure.
        source: StepError,
    },
    /// The optimiser refused the step.
    #[error("iteration {iteration}: {source}")]
    Optimizer {
        /// The iteration that failed.
        iteration: usize,
        /// The failure.
        source: OptimizerError,
    },
}

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The history row of the step.
    pub record: Record,
    /// The optimiser's step size.
    pub step_size: f64,
    /// Accuracy on the whole training and test sets, when evaluated at this iteration.
    pub evaluation: Option<Evaluation>,
}

/// Accuracy and loss on the training and test sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// On the training set.
    pub train: BatchResult,
    /// On the test set (`None` when it is empty).
    pub test: Option<BatchResult>,
}

/// An immutable copy of the model at one iteration, for diagnostics and views on other threads.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Iterations done.
    pub iteration: usize,
    /// The network.
    pub network: Network,
    /// Raw parameters.
    pub raw: Vec<f64>,
    /// Effective parameters (constraints applied).
    pub effective: Vec<f64>,
}

/// A training run in progress.
pub struct Session {
    training: Training,
    split: Split,
    engine: Engine,
    raw: Vec<f64>,
    eff: Vec<f64>,
    grad_eff: Vec<f64>,
    grad: Vec<f64>,
    previous: Vec<f64>,
    previous_optimizer: OptimizerState,
    optimizer: OptimizerState,
    iteration: usize,
    history: Vec<Record>,
    train_rows: Vec<usize>,
    batch_rows: Vec<usize>,
    permutation: Option<(usize, Vec<usize>)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session training `architecture` on `split` as `training` says: from the checkpoint
    /// when there is one, otherwise from initial parameters drawn from the seed. `threads`
    /// workers share each batch (the result does not depend on their number).
    pub fn new(
        architecture: &Architecture,
        training: &Training,
        checkpoint: Option<&Checkpoint>,
        split: Split,
        threads: usize,
    ) -> Result<Self, SessionError> {
        let inputs = split.train.n_features();
        let classes = split.train.n_classes;
        let network = Network::new(architecture, inputs, classes).map_err(SessionError::Network)?;
        let p = network.layout.len();
        let (raw, optimizer, iteration, history) = match checkpoint {
            Some(cp) => {
                if cp.params.len() != p {
                    return Err(SessionError::Checkpoint(format!(
                        "params has {} entries but the model needs {p}; was it saved for another model?",
                        cp.params.len()
                    )));
                }
                cp.optimizer
                    .check(&training.optimizer, p)
                    .map_err(|e| SessionError::Checkpoint(e.to_string()))?;
                (
                    cp.params.clone(),
                    cp.optimizer.clone(),
                    cp.iteration,
                    cp.history.clone(),
                )
            }
            None => (
                network.init_params(training.init_scale, training.init_seed),
                training.optimizer.init_state(p),
                0,
                Vec::new(),
            ),
        };
        let engine = Engine::new(network, threads).map_err(|e| SessionError::Threads {
            threads,
            message: e.to_string(),
        })?;
        let mut eff = vec![0.0; p];
        engine.network().effective(&raw, &mut eff);
        for (what, values) in [("raw", &raw), ("effective", &eff)] {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                let layout = &engine.network().layout;
                let block = layout
                    .blocks()
                    .iter()
                    .find(|b| b.range().contains(&index))
                    .map_or("?", |b| b.name);
                return Err(SessionError::NotFinite {
                    what,
                    block,
                    index,
                    value: values[index],
                });
            }
        }
        let train_rows = (0..split.train.len()).collect();
        Ok(Self {
            training: training.clone(),
            split,
            engine,
            raw,
            eff,
            grad_eff: vec![0.0; p],
            grad: vec![0.0; p],
            previous: vec![0.0; p],
            previous_optimizer: optimizer.clone(),
            optimizer,
            iteration,
            history,
            train_rows,
            batch_rows: Vec::new(),
            permutation: None,
        })
    }

    /// How the session trains.
    #[must_use]
    pub fn training(&self) -> &Training {
        &self.training
    }

    /// The network.
    #[must_use]
    pub fn network(&self) -> &Network {
        self.engine.network()
    }

    /// The data.
    #[must_use]
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// Iterations done.
    #[must_use]
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// Whether the run has reached its iteration count.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.iteration >= self.training.iterations
    }

    /// The loss history.
    #[must_use]
    pub fn history(&self) -> &[Record] {
        &self.history
    }

    /// Raw parameters.
    #[must_use]
    pub fn params(&self) -> &[f64] {
        &self.raw
    }

    /// Effective parameters (constraints applied).
    #[must_use]
    pub fn effective_params(&self) -> &[f64] {
        &self.eff
    }

    /// The engine (for exports that need trajectories).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// An immutable copy of the model now.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            iteration: self.iteration,
            network: self.engine.network().clone(),
            raw: self.raw.clone(),
            effective: self.eff.clone(),
        })
    }

    /// A checkpoint of the current state, to save with the experiment and resume.
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            iteration: self.iteration,
            params: self.raw.clone(),
            optimizer: self.optimizer.clone(),
            history: self.history.clone(),
        }
    }

    /// Sets the iterations the run trains to in total (the workbench's Iterations).
    pub fn set_total_iterations(&mut self, iterations: usize) {
        self.training.iterations = iterations;
    }

    /// Rows of the training set used by the next step: all of them, or the next mini-batch of
    /// the epoch's permutation. The permutation of epoch `e` is drawn from a ChaCha8 stream
    /// `(seeds.batch, stream e)`, so the batch sequence is a pure function of the iteration.
    fn select_batch(&mut self) {
        let n = self.train_rows.len();
        match self.training.batch {
            BatchSpec::Full => {
                self.batch_rows.clone_from(&self.train_rows);
            }
            BatchSpec::MiniBatch(size) => {
                let size = size.min(n).max(1);
                let per_epoch = n.div_ceil(size);
                let epoch = self.iteration / per_epoch;
                let index = self.iteration % per_epoch;
                if self.permutation.as_ref().is_none_or(|(e, _)| *e != epoch) {
                    let mut rng = ChaCha8Rng::seed_from_u64(self.training.batch_seed);
                    rng.set_stream(epoch as u64);
                    let mut perm = self.train_rows.clone();
                    perm.shuffle(&mut rng);
                    self.permutation = Some((epoch, perm));
                }
                if let Some((_, perm)) = &self.permutation {
                    self.batch_rows.clear();
                    self.batch_rows
                        .extend_from_slice(&perm[index * size..((index + 1) * size).min(n)]);
                }
            }
        }
    }

    /// One optimiser step on the next batch. On failure the parameters are those before the
    /// step and the iteration count does not advance.
    pub fn step(&mut self) -> Result<StepReport, TrainError> {
        let iteration = self.iteration + 1;
        self.select_batch();
        let Self {
            training,
            split,
            engine,
            raw,
            eff,
            grad_eff,
            grad,
            previous,
            previous_optimizer,
            optimizer: state,
            batch_rows,
            ..
        } = self;
        let x = split.train.x.view();
        let labels = &split.train.labels;
        let result = engine
            .evaluate(eff, x, labels, batch_rows, Some(grad_eff))
            .map_err(|source| TrainError::Step { iteration, source })?;
        engine.network().pullback(raw, grad_eff, grad);
        let regularizer = &training.regularizer;
        let objective = result.loss + regularizer.apply(&engine.network().layout, raw, grad);
        if !objective.is_finite() {
            return Err(TrainError::Diverged {
                iteration,
                what: format!("the loss is {objective}"),
            });
        }
        if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
            return Err(TrainError::Diverged {
                iteration,
                what: format!("gradient entry {i} is {}", grad[i]),
            });
        }
        let grad_norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if !grad_norm.is_finite() {
            // Finite entries whose squares overflow: the optimiser's moments would not be.
            return Err(TrainError::Diverged {
                iteration,
                what: format!("the gradient norm is {grad_norm}"),
            });
        }
        previous.copy_from_slice(raw);
        previous_optimizer.clone_from(state);
        let spec = &training.optimizer;
        let mut trial_eff = vec![0.0; if spec.needs_objective() { raw.len() } else { 0 }];
        let mut scratch_grad = vec![0.0; trial_eff.len()];
        let mut objective_at = |trial: &[f64]| -> Option<f64> {
            engine.network().effective(trial, &mut trial_eff);
            let r = engine
                .evaluate(&trial_eff, x, labels, batch_rows, None)
                .ok()?;
            scratch_grad.fill(0.0);
            let value =
                r.loss + regularizer.apply(&engine.network().layout, trial, &mut scratch_grad);
            value.is_finite().then_some(value)
        };
        let info = optimizer::step(spec, state, raw, grad, objective, &mut objective_at)
            .map_err(|source| TrainError::Optimizer { iteration, source })?;
        // A step that leaves a parameter or the optimiser's state non-finite is undone: the
        // session keeps the last finite parameters and state, which a checkpoint saves.
        let what = match raw.iter().position(|p| !p.is_finite()) {
            Some(i) => Some(format!("parameter {i} became {} after the update", raw[i])),
            None => state
                .check(spec, raw.len())
                .err()
                .map(|error| format!("the optimiser's state became invalid: {error}")),
        };
        if let Some(what) = what {
            raw.copy_from_slice(previous);
            state.clone_from(previous_optimizer);
            return Err(TrainError::Diverged { iteration, what });
        }
        engine.network().effective(raw, eff);
        self.iteration = iteration;
        let mut record = Record {
            iteration,
            loss: objective,
            grad_norm,
            train_accuracy: None,
            test_accuracy: None,
        };
        let every = self.training.eval_every.max(1);
        let mut evaluation = None;
        if iteration.is_multiple_of(every) || self.is_finished() || iteration == 1 {
            let e = match self.evaluate() {
                Ok(e) => e,
                Err(source) => {
                    // The step is undone: the promise above holds for every failure.
                    self.iteration = iteration - 1;
                    self.raw.copy_from_slice(&self.previous);
                    self.optimizer.clone_from(&self.previous_optimizer);
                    self.engine.network().effective(&self.raw, &mut self.eff);
                    return Err(TrainError::Step { iteration, source });
                }
            };
            record.train_accuracy = Some(e.train.accuracy());
            record.test_accuracy = e.test.map(|t| t.accuracy());
            evaluation = Some(e);
        }
        self.history.push(record.clone());
        Ok(StepReport {
            record,
            step_size: info.step_size,
            evaluation,
        })
    }

    /// Loss and accuracy of the current parameters on the whole training and test sets.
    pub fn evaluate(&mut self) -> Result<Evaluation, StepError> {
        let train_rows: Vec<usize> = (0..self.split.train.len()).collect();
        let train = self.engine.evaluate(
            &self.eff,
            self.split.train.x.view(),
            &self.split.train.labels,
            &train_rows,
            None,
        )?;
        let test = if self.split.test.is_empty() {
            None
        } else {
            let rows: Vec<usize> = (0..self.split.test.len()).collect();
            Some(self.engine.evaluate(
                &self.eff,
                self.split.test.x.view(),
                &self.split.test.labels,
                &rows,
                None,
            )?)
        };
        Ok(Evaluation { train, test })
    }

    /// The training objective (mean loss + regularisers) at the current parameters on the full
    /// training set, and its gradient with respect to the raw parameters.
    pub fn objective_and_gradient(&mut self) -> Result<(f64, Vec<f64>), StepError> {
        let rows = self.train_rows.clone();
        let mut grad_eff = vec![0.0; self.raw.len()];
        let r = self.engine.evaluate(
            &self.eff,
            self.split.train.x.view(),
            &self.split.train.labels,
            &rows,
            Some(&mut grad_eff),
        )?;
        let mut grad = vec![0.0; self.raw.len()];
        self.engine
            .network()
            .pullback(&self.raw, &grad_eff, &mut grad);
        let reg =
            self.training
                .regularizer
                .apply(&self.engine.network().layout, &self.raw, &mut grad);
        Ok((r.loss + reg, grad))
    }
}

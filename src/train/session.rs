//! The training session: the model, the optimiser and the data, one deterministic step at a
//! time, no threads of its own (the batch may be spread over a fixed pool, see
//! [`crate::model::Engine`]).

use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use super::optimizer::{self, OptimizerError, OptimizerState};
use super::regularizer::Regularizer;
use crate::data::{self, Split};
use crate::experiment::{self, BatchSpec, Checkpoint, Experiment, Record};
use crate::integrate::StepError;
use crate::model::{BatchResult, Engine, Network};

impl From<data::Error> for SessionError {
    fn from(error: data::Error) -> Self {
        Self::Data(error)
    }
}

/// Why a session could not be created.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The experiment has problems (all listed).
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// The data could not be generated or read. The data error is part of the message, not
    /// `source()`: error chains would print it twice.
    #[error("data: {0}")]
    Data(data::Error),
    /// The checkpoint does not fit the model.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
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
    experiment: Experiment,
    split: Split,
    engine: Engine,
    regularizer: Regularizer,
    raw: Vec<f64>,
    eff: Vec<f64>,
    grad_eff: Vec<f64>,
    grad: Vec<f64>,
    previous: Vec<f64>,
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
            .field("name", &self.experiment.name)
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Validates the experiment, loads its data, builds the network and either initialises the
    /// parameters from the seed or restores the checkpoint. `base_dir` resolves relative data
    /// paths (the experiment file's folder).
    pub fn new(
        exp: &Experiment,
        base_dir: Option<&Path>,
        threads: usize,
    ) -> Result<Self, SessionError> {
        let problems = experiment::validate::problems(exp);
        if !problems.is_empty() {
            return Err(SessionError::Invalid(problems));
        }
        let split = data::load(&exp.data, exp.train.seeds.data, base_dir)?;
        Self::with_split(exp, split, threads)
    }

    /// [`Session::new`] on data already loaded for `exp` (the same data source and seed): no
    /// file is read again, so a copy of a session sees exactly its data.
    pub fn with_split(
        exp: &Experiment,
        split: Split,
        threads: usize,
    ) -> Result<Self, SessionError> {
        let problems = experiment::validate::problems(exp);
        if !problems.is_empty() {
            return Err(SessionError::Invalid(problems));
        }
        let inputs = split.train.n_features();
        let classes = split.train.n_classes;
        let network =
            Network::new(exp, inputs, classes).map_err(|e| SessionError::Invalid(vec![e]))?;
        let p = network.layout.len();
        let (raw, optimizer, iteration, history) = match &exp.checkpoint {
            Some(cp) => {
                if cp.params.len() != p {
                    return Err(SessionError::Checkpoint(format!(
                        "params has {} entries but the model needs {p}; was it saved for another model?",
                        cp.params.len()
                    )));
                }
                cp.optimizer
                    .check(&exp.train.optimizer, p)
                    .map_err(|e| SessionError::Checkpoint(e.to_string()))?;
                (
                    cp.params.clone(),
                    cp.optimizer.clone(),
                    cp.iteration,
                    cp.history.clone(),
                )
            }
            None => (
                network.init_params(exp.model.init_scale, exp.train.seeds.init),
                exp.train.optimizer.init_state(p),
                0,
                Vec::new(),
            ),
        };
        let regularizer = Regularizer {
            weight_decay: exp.train.weight_decay,
            time_smoothness: exp.train.time_smoothness,
            h: network.h,
        };
        let engine = Engine::new(network, threads).map_err(|e| SessionError::Threads {
            threads,
            message: e.to_string(),
        })?;
        let mut eff = vec![0.0; p];
        engine.network().effective(&raw, &mut eff);
        let train_rows = (0..split.train.len()).collect();
        let mut experiment = exp.clone();
        experiment.checkpoint = None;
        Ok(Self {
            experiment,
            split,
            engine,
            regularizer,
            raw,
            eff,
            grad_eff: vec![0.0; p],
            grad: vec![0.0; p],
            previous: vec![0.0; p],
            optimizer,
            iteration,
            history,
            train_rows,
            batch_rows: Vec::new(),
            permutation: None,
        })
    }

    /// The experiment (without checkpoint).
    #[must_use]
    pub fn experiment(&self) -> &Experiment {
        &self.experiment
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

    /// Whether the experiment's iteration count has been reached.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.iteration >= self.experiment.train.iterations
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

    /// The experiment with a checkpoint of the current state, ready to save and resume.
    #[must_use]
    pub fn to_experiment(&self) -> Experiment {
        let mut exp = self.experiment.clone();
        exp.checkpoint = Some(Checkpoint {
            iteration: self.iteration,
            params: self.raw.clone(),
            optimizer: self.optimizer.clone(),
            history: self.history.clone(),
        });
        exp
    }

    /// Extends the run to `iterations` in total (the command line's `--iterations`).
    pub fn set_total_iterations(&mut self, iterations: usize) {
        self.experiment.train.iterations = iterations;
    }

    /// Rows of the training set used by the next step: all of them, or the next mini-batch of
    /// the epoch's permutation. The permutation of epoch `e` is drawn from a ChaCha8 stream
    /// `(seeds.batch, stream e)`, so the batch sequence is a pure function of the iteration.
    fn select_batch(&mut self) {
        let n = self.train_rows.len();
        match self.experiment.train.batch {
            BatchSpec::Full => {
                self.batch_rows.clone_from(&self.train_rows);
            }
            BatchSpec::MiniBatch(size) => {
                let size = size.min(n).max(1);
                let per_epoch = n.div_ceil(size);
                let epoch = self.iteration / per_epoch;
                let index = self.iteration % per_epoch;
                if self.permutation.as_ref().is_none_or(|(e, _)| *e != epoch) {
                    let mut rng = ChaCha8Rng::seed_from_u64(self.experiment.train.seeds.batch);
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
            experiment,
            split,
            engine,
            regularizer,
            raw,
            eff,
            grad_eff,
            grad,
            previous,
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
        previous.copy_from_slice(raw);
        let spec = &experiment.train.optimizer;
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
        if let Some(i) = raw.iter().position(|p| !p.is_finite()) {
            raw.copy_from_slice(previous);
            return Err(TrainError::Diverged {
                iteration,
                what: format!("parameter {i} became {} after the update", raw[i]),
            });
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
        let every = self.experiment.train.eval_every.max(1);
        let mut evaluation = None;
        if iteration.is_multiple_of(every) || self.is_finished() || iteration == 1 {
            let e = self
                .evaluate()
                .map_err(|source| TrainError::Step { iteration, source })?;
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
        let reg = self
            .regularizer
            .apply(&self.engine.network().layout, &self.raw, &mut grad);
        Ok((r.loss + reg, grad))
    }
}

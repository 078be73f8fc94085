//! Whole-batch evaluation: the batch is cut into fixed blocks of [`BLOCK`] samples, blocks are
//! spread over threads, and per-block gradients are summed in block order — so the result does
//! not depend on the number of threads.

use ndarray::{Array2, Array3, ArrayView2};
use rayon::prelude::*;

use super::network::{Network, Workspace};
use crate::integrate::StepError;
use crate::model::kernels::BLOCK;

/// Mean loss and accuracy counts of a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchResult {
    /// Mean data loss over the batch (regularisers not included).
    pub loss: f64,
    /// Correctly classified samples.
    pub correct: usize,
    /// Samples in the batch.
    pub count: usize,
}

impl BatchResult {
    /// Fraction of correctly classified samples (NaN for an empty batch).
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.count as f64
    }
}

/// Evaluates a network on batches with reusable buffers and an optional thread pool.
pub struct Engine {
    network: Network,
    workspaces: Vec<Workspace>,
    block_grads: Vec<f64>,
    block_results: Vec<(f64, usize)>,
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("threads", &self.workspaces.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `network` using `threads` threads (1: the calling thread only).
    pub fn new(network: Network, threads: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let threads = threads.max(1);
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("flowlab-block-{i}"))
                    .build()?,
            )
        } else {
            None
        };
        let workspaces = (0..threads).map(|_| network.workspace(BLOCK)).collect();
        Ok(Self {
            network,
            workspaces,
            block_grads: Vec::new(),
            block_results: Vec::new(),
            pool,
        })
    }

    /// The network.
    #[must_use]
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Loss and accuracy on `rows` of `(x, labels)`; with `grad`, also the gradient of the mean
    /// loss with respect to the effective parameters (written, not added).
    pub fn evaluate(
        &mut self,
        eff: &[f64],
        x: ArrayView2<f64>,
        labels: &[usize],
        rows: &[usize],
        grad: Option<&mut [f64]>,
    ) -> Result<BatchResult, StepError> {
        let count = rows.len();
        if count == 0 {
            if let Some(g) = grad {
                g.fill(0.0);
            }
            return Ok(BatchResult {
                loss: f64::NAN,
                correct: 0,
                count: 0,
            });
        }
        let want_grad = grad.is_some();
        let p = self.network.layout.len();
        let blocks = count.div_ceil(BLOCK);
        let groups = self.workspaces.len().min(blocks);
        let per_group = blocks.div_ceil(groups);
        if want_grad && self.block_grads.len() < blocks * p {
            self.block_grads.resize(blocks * p, 0.0);
        }
        if self.block_results.len() < blocks {
            self.block_results.resize(blocks, (0.0, 0));
        }
        let weight = 1.0 / count as f64;
        let network = &self.network;
        let run_group = |group: usize,
                         ws: &mut Workspace,
                         grads: &mut [f64],
                         results: &mut [(f64, usize)]|
         -> Result<(), StepError> {
            for (local, result) in results.iter_mut().enumerate() {
                let block = group * per_group + local;
                let block_rows = &rows[block * BLOCK..((block + 1) * BLOCK).min(count)];
                let n = block_rows.len();
                network.load_inputs(&x, block_rows, ws);
                network.forward(eff, n, ws)?;
                *result = network.loss(block_rows, labels, weight, ws);
                if want_grad {
                    let g = &mut grads[local * p..(local + 1) * p];
                    g.fill(0.0);
                    network.backward(eff, n, ws, g)?;
                }
            }
            Ok(())
        };
        let results = &mut self.block_results[..blocks];
        let grads: &mut [f64] = if want_grad {
            &mut self.block_grads[..blocks * p]
        } else {
            &mut []
        };
        let grad_stride = if want_grad { per_group * p } else { 0 };
        let workspaces = &mut self.workspaces[..groups];
        let outcome: Result<(), StepError> = if let Some(pool) = &self.pool {
            pool.install(|| {
                let grad_groups: Vec<&mut [f64]> = if want_grad {
                    grads.chunks_mut(grad_stride).collect()
                } else {
                    (0..groups).map(|_| <&mut [f64]>::default()).collect()
                };
                workspaces
                    .par_iter_mut()
                    .zip(grad_groups)
                    .zip(results.par_chunks_mut(per_group))
                    .enumerate()
                    .try_for_each(|(g, ((ws, gr), res))| run_group(g, ws, gr, res))
            })
        } else {
            let mut grads = grads;
            let mut outcome = Ok(());
            for (g, res) in results.chunks_mut(per_group).enumerate() {
                let take = if want_grad { res.len() * p } else { 0 };
                let (gr, rest) = std::mem::take(&mut grads).split_at_mut(take);
                grads = rest;
                if let Err(e) = run_group(g, &mut workspaces[0], gr, res) {
                    outcome = Err(e);
                    break;
                }
            }
            outcome
        };
        outcome?;
        let mut loss = 0.0;
        let mut correct = 0;
        for &(l, c) in &self.block_results[..blocks] {
            loss += l;
            correct += c;
        }
        if let Some(g) = grad {
            g.fill(0.0);
            for block in 0..blocks {
                for (gi, &bi) in g
                    .iter_mut()
                    .zip(&self.block_grads[block * p..(block + 1) * p])
                {
                    *gi += bi;
                }
            }
        }
        Ok(BatchResult {
            loss: loss * weight,
            correct,
            count,
        })
    }

    /// The states of every sample at every layer, `(K+1, N, dim)`, and the logits `(N, C)`.
    pub fn trajectory(
        &mut self,
        eff: &[f64],
        x: ArrayView2<f64>,
    ) -> Result<(Array3<f64>, Array2<f64>), StepError> {
        let network = &self.network;
        let (count, dim, k) = (x.nrows(), network.state_dim(), network.layers);
        let mut states = Array3::zeros((k + 1, count, dim));
        let mut logits = Array2::zeros((count, network.outputs));
        let ws = &mut self.workspaces[0];
        let rows: Vec<usize> = (0..count).collect();
        for (block, block_rows) in rows.chunks(BLOCK).enumerate() {
            let n = block_rows.len();
            network.load_inputs(&x, block_rows, ws);
            network.forward(eff, n, ws)?;
            for layer in 0..=k {
                let s = ws.state(layer, dim, n);
                for t in 0..n {
                    for i in 0..dim {
                        states[[layer, block * BLOCK + t, i]] = s[i * n + t];
                    }
                }
            }
            let l = ws.logits(network.outputs, n);
            for t in 0..n {
                for i in 0..network.outputs {
                    logits[[block * BLOCK + t, i]] = l[i * n + t];
                }
            }
        }
        Ok((states, logits))
    }

    /// Predicted classes of the rows of `x`.
    pub fn predict(&mut self, eff: &[f64], x: ArrayView2<f64>) -> Result<Vec<usize>, StepError> {
        let network = &self.network;
        let ws = &mut self.workspaces[0];
        let rows: Vec<usize> = (0..x.nrows()).collect();
        let mut out = Vec::with_capacity(rows.len());
        for block_rows in rows.chunks(BLOCK) {
            network.load_inputs(&x, block_rows, ws);
            network.forward(eff, block_rows.len(), ws)?;
            network.predictions(block_rows.len(), ws, &mut out);
        }
        Ok(out)
    }
}

//! What the network does to the input space: the predicted class on a grid (the decision
//! boundary) and the paths of data points through the layers (feature trajectories).
//!
//! **Grid.** Over the bounding box of all data points (training and test), widened by 5% on each
//! side, `grid` points per side. With one input feature the grid is a line; with two it is the
//! plane of both; with more, the plane of the first two features with every other feature fixed
//! at its mean over the training set (listed in [`DecisionBoundary::fixed`]).
//!
//! **Trajectories.** The states `z_k` (the first `d` rows of the state: `z` without the momentum
//! of a Hamiltonian field) of `trajectory_points` training points at every layer. With `d ≤ 2`
//! they are reported as they are; otherwise they are projected on the two leading principal
//! axes of the *final-layer* states `z_K` of those points (where the classes should be
//! separable), or on a [`Projection`] the caller passes in — the way to keep one basis for a
//! whole run (pass the first report's).

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

use super::DiagnosticsSpec;
use super::{Context, Outcome, flow, times};
use crate::data::Split;
use crate::model::activation::sigmoid;
use crate::train::Snapshot;
use crate::train::{HeadSpec, Network};

/// Predicted classes on a grid over the input domain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionBoundary {
    /// The input features along the grid axes (one or two).
    pub features: Vec<usize>,
    /// `[min, max]` of each grid axis.
    pub ranges: Vec<[f64; 2]>,
    /// Points per side.
    pub resolution: usize,
    /// The other features and the value (training mean) they are fixed at.
    pub fixed: Vec<(usize, f64)>,
    /// Predicted class per grid point; in 2D row-major with the second feature outer:
    /// point `(i, j)` (`i` along the first axis) at `j · resolution + i`.
    pub classes: Vec<usize>,
    /// Confidence of the prediction per grid point: the largest softmax probability
    /// (`SoftmaxCrossEntropy`), the sigmoid probability of the predicted class
    /// (`SigmoidSquaredError`), the winning output clamped to `[0, 1]` (`LinearMse`).
    pub confidence: Vec<f64>,
}

/// How states are mapped to the plane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProjectionMethod {
    /// `d ≤ 2`: the coordinates themselves (a missing second coordinate is 0).
    Direct,
    /// Principal axes of a set of states.
    PrincipalComponents {
        /// Which states (e.g. `final-layer states z_K of 64 training points at iteration 100`).
        source: String,
    },
}

/// An affine map from `z ∈ R^d` to the plane: `[(z − mean)·axes[0], (z − mean)·axes[1]]`.
/// Deserialisable, so a resumed run can keep the projection of its diagnostics history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// How the axes were chosen.
    pub method: ProjectionMethod,
    /// Centre (`d` entries).
    pub mean: Vec<f64>,
    /// Two orthonormal axes (`d` entries each; the second is 0 when `d = 1`).
    pub axes: [Vec<f64>; 2],
    /// Fraction of the variance of the source states along each axis (`None` for `Direct`).
    pub explained_variance: Option<[f64; 2]>,
}

impl Projection {
    /// The plane coordinates of a state `z` (`d` entries).
    #[must_use]
    pub fn apply(&self, z: &[f64]) -> [f64; 2] {
        let along = |axis: &[f64]| -> f64 {
            z.iter()
                .zip(&self.mean)
                .zip(axis)
                .map(|((z, m), a)| (z - m) * a)
                .sum()
        };
        [along(&self.axes[0]), along(&self.axes[1])]
    }
}

/// Paths of data points through the layers, in the plane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureTrajectories {
    /// The projection used.
    pub projection: Projection,
    /// Times `t_k`, `k = 0..=K`.
    pub times: Vec<f64>,
    /// Training-set rows of the points.
    pub rows: Vec<usize>,
    /// Class of each point.
    pub labels: Vec<usize>,
    /// Per point, its `K + 1` positions in the plane.
    pub paths: Vec<Vec<[f64; 2]>>,
}

/// The decision-boundary diagnostic of a snapshot.
pub fn decision_boundary(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
) -> Outcome<DecisionBoundary> {
    compute_boundary(&Context::new(snapshot, split, spec))
}

/// The feature trajectories of a snapshot, projected on `projection` when given.
pub fn feature_trajectories(
    snapshot: &Snapshot,
    split: &Split,
    spec: &DiagnosticsSpec,
    projection: Option<&Projection>,
) -> Outcome<FeatureTrajectories> {
    compute_trajectories(&Context::new(snapshot, split, spec), projection)
}

/// Samples per forward pass over the grid.
const CHUNK: usize = 64;

/// Widening of the data's bounding box on each side, as a fraction of its extent.
const MARGIN: f64 = 0.05;

pub(crate) fn compute_boundary(ctx: &Context) -> Outcome<DecisionBoundary> {
    let network = ctx.network;
    let inputs = network.inputs;
    let resolution = ctx.spec.grid.max(2);
    let (train, test) = (&ctx.split.train, &ctx.split.test);
    let features: Vec<usize> = (0..inputs.min(2)).collect();
    let ranges: Vec<[f64; 2]> = features
        .iter()
        .map(|&j| {
            let values = train
                .x
                .column(j)
                .into_iter()
                .chain(test.x.column(j))
                .copied();
            let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            let extent = hi - lo;
            let pad = if extent > 0.0 { MARGIN * extent } else { 0.5 };
            [lo - pad, hi + pad]
        })
        .collect();
    if ranges.iter().flatten().any(|v| !v.is_finite()) {
        return Outcome::NotApplicable("the data's bounding box is not finite".to_owned());
    }
    let fixed: Vec<(usize, f64)> = (features.len()..inputs)
        .map(|j| {
            let column = train.x.column(j);
            (j, column.sum() / column.len().max(1) as f64)
        })
        .collect();
    let axis = |a: usize, i: usize| -> f64 {
        let [lo, hi] = ranges[a];
        lo + (hi - lo) * i as f64 / (resolution - 1) as f64
    };
    let total = resolution.pow(u32::try_from(features.len()).unwrap_or(2));
    let point = |p: usize, j: usize| -> f64 {
        match j {
            0 => axis(0, p % resolution),
            1 => axis(1, p / resolution),
            _ => fixed[j - features.len()].1,
        }
    };
    let mut evaluator = flow::Evaluator::new(network, ctx.eff, CHUNK.min(total));
    let mut classes = Vec::with_capacity(total);
    let mut confidence = Vec::with_capacity(total);
    let mut x = vec![0.0; inputs * CHUNK];
    let mut start = 0;
    while start < total {
        let n = CHUNK.min(total - start);
        for j in 0..inputs {
            for t in 0..n {
                x[j * n + t] = point(start + t, j);
            }
        }
        let logits = match evaluator.logits(&x[..inputs * n], n) {
            Ok(l) => l,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        for t in 0..n {
            let class = flow::predicted_class(network, &logits, n, t);
            classes.push(class);
            confidence.push(confidence_of(network, &logits, n, t, class));
        }
        start += n;
    }
    Outcome::Computed(DecisionBoundary {
        features,
        ranges,
        resolution,
        fixed,
        classes,
        confidence,
    })
}

/// The confidence of the prediction `class` of sample `t` (see [`DecisionBoundary::confidence`]).
fn confidence_of(network: &Network, logits: &[f64], n: usize, t: usize, class: usize) -> f64 {
    let outputs = network.outputs;
    let logit = |i: usize| logits[i * n + t];
    match network.head {
        HeadSpec::SoftmaxCrossEntropy => {
            let max = (0..outputs).map(logit).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..outputs).map(|i| (logit(i) - max).exp()).sum();
            (logit(class) - max).exp() / sum
        }
        HeadSpec::SigmoidSquaredError if outputs == 1 => {
            let p = sigmoid(logit(0));
            p.max(1.0 - p)
        }
        HeadSpec::SigmoidSquaredError => sigmoid(logit(class)),
        HeadSpec::LinearMse => logit(class).clamp(0.0, 1.0),
    }
}

pub(crate) fn compute_trajectories(
    ctx: &Context,
    projection: Option<&Projection>,
) -> Outcome<FeatureTrajectories> {
    let network = ctx.network;
    let d = network.field.width;
    let (rows, x) = ctx.training_inputs(ctx.spec.trajectory_points);
    let n = rows.len();
    if n == 0 {
        return Outcome::NotApplicable("diagnostics.trajectory_points is 0".to_owned());
    }
    if let Some(p) = projection
        && (p.mean.len() != d || p.axes.iter().any(|a| a.len() != d))
    {
        return Outcome::Failed(format!(
            "the projection is for states of width {}, the model's is {d}",
            p.mean.len()
        ));
    }
    let flow = match flow::Flow::from_inputs(network, ctx.eff, &x, n) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let layers = network.layers;
    let z = |k: usize, t: usize| -> Vec<f64> { flow::sample(&flow.state(k)[..d * n], d, n, t) };
    let projection = match projection {
        Some(p) => p.clone(),
        None if d <= 2 => Projection {
            method: ProjectionMethod::Direct,
            mean: vec![0.0; d],
            axes: [
                (0..d).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect(),
                (0..d).map(|i| if i == 1 { 1.0 } else { 0.0 }).collect(),
            ],
            explained_variance: None,
        },
        None => {
            let finals: Vec<Vec<f64>> = (0..n).map(|t| z(layers, t)).collect();
            match principal_axes(&finals) {
                Some(PrincipalAxes { mean, axes, shares }) => Projection {
                    method: ProjectionMethod::PrincipalComponents {
                        source: format!(
                            "final-layer states z_K of {n} training points at iteration {}",
                            ctx.iteration
                        ),
                    },
                    mean,
                    axes,
                    explained_variance: Some(shares),
                },
                None => {
                    return Outcome::Failed(
                        "the final-layer states are not finite: no principal axes".to_owned(),
                    );
                }
            }
        }
    };
    let paths = (0..n)
        .map(|t| (0..=layers).map(|k| projection.apply(&z(k, t))).collect())
        .collect();
    Outcome::Computed(FeatureTrajectories {
        projection,
        times: times(network, layers + 1),
        labels: rows.iter().map(|&r| ctx.split.train.labels[r]).collect(),
        rows,
        paths,
    })
}

/// The centre, the two leading principal axes and their shares of the variance of a point set.
struct PrincipalAxes {
    mean: Vec<f64>,
    axes: [Vec<f64>; 2],
    shares: [f64; 2],
}

/// The principal axes of points in `R^d`, `d ≥ 2` (each axis' sign fixed so that its largest
/// component is positive).
fn principal_axes(points: &[Vec<f64>]) -> Option<PrincipalAxes> {
    let n = points.len();
    let d = points.first()?.len();
    let mean: Vec<f64> = (0..d)
        .map(|i| points.iter().map(|p| p[i]).sum::<f64>() / n as f64)
        .collect();
    let covariance = DMatrix::from_fn(d, d, |i, j| {
        points
            .iter()
            .map(|p| (p[i] - mean[i]) * (p[j] - mean[j]))
            .sum::<f64>()
            / n as f64
    });
    if covariance.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let eigen = SymmetricEigen::try_new(covariance, f64::EPSILON, 10_000)?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let total: f64 = eigen.eigenvalues.iter().map(|v| v.max(0.0)).sum();
    let axis = |c: usize| -> Vec<f64> {
        let column: Vec<f64> = eigen
            .eigenvectors
            .column(order[c])
            .iter()
            .copied()
            .collect();
        let largest =
            column.iter().copied().fold(
                0.0_f64,
                |best, v| if v.abs() > best.abs() { v } else { best },
            );
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        column.iter().map(|v| sign * v).collect()
    };
    let share = |c: usize| -> f64 {
        if total > 0.0 {
            eigen.eigenvalues[order[c]].max(0.0) / total
        } else {
            0.0
        }
    };
    Some(PrincipalAxes {
        mean,
        axes: [axis(0), axis(1)],
        shares: [share(0), share(1)],
    })
}

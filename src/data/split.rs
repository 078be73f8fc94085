//! The seeded train/test split and the standardisation statistics.

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Split, Standardization};

/// The `ChaCha` stream the split shuffles with; generators draw from stream 0 of the same seed, so
/// the split does not replay the generator's numbers.
const SPLIT_STREAM: u64 = 1;

/// Below this fraction of the feature's magnitude a standard deviation is rounding noise of a
/// constant feature, and scaling by it would blow rounding errors up.
const CONSTANT_FEATURE_RELATIVE_STD: f64 = 1e-12;

/// Shuffles the points with `seed`, puts the first `round(train_fraction · N)` (at least 1 when
/// N ≥ 1, at most N) in the training set and the rest in the test set, and, if `standardize`,
/// standardises both with the training statistics.
///
/// A `train_fraction` outside (0, 1] is clamped into it (NaN counts as 1).
pub fn split(data: &Dataset, train_fraction: f64, standardize: bool, seed: u64) -> Split {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(SPLIT_STREAM);
    order.shuffle(&mut rng);

    let n_train = train_count(n, train_fraction);
    let mut train = data.select(&order[..n_train]);
    let mut test = data.select(&order[n_train..]);
    let standardization = standardize.then(|| {
        let statistics = fit_standardization(&train.x);
        statistics.apply(&mut train.x);
        statistics.apply(&mut test.x);
        statistics
    });
    Split {
        train,
        test,
        standardization,
    }
}

/// `round(train_fraction · n)`, within 1..=n (0 only when n is 0).
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the product is clamped to [0, n] before the cast"
)]
pub fn train_count(n: usize, train_fraction: f64) -> usize {
    let fraction = if train_fraction.is_nan() {
        1.0
    } else {
        train_fraction.clamp(0.0, 1.0)
    };
    let rounded = (fraction * n as f64).round().clamp(0.0, n as f64) as usize;
    rounded.clamp(n.min(1), n)
}

pub(super) fn fit_standardization(x: &Array2<f64>) -> Standardization {
    let n = x.nrows();
    if n == 0 {
        return Standardization {
            mean: vec![0.0; x.ncols()],
            std: vec![0.0; x.ncols()],
        };
    }
    let mut mean = Vec::with_capacity(x.ncols());
    let mut std = Vec::with_capacity(x.ncols());
    // Two passes (mean, then squared deviations): the one-pass formula loses digits when the mean
    // is large compared with the spread.
    for column in x.axis_iter(Axis(1)) {
        let column_mean = column.sum() / n as f64;
        let variance = column
            .iter()
            .map(|value| (value - column_mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let column_std = variance.sqrt();
        let threshold = CONSTANT_FEATURE_RELATIVE_STD * column_mean.abs().max(f64::MIN_POSITIVE);
        let is_constant = column_std.is_nan() || column_std <= threshold;
        mean.push(column_mean);
        std.push(if is_constant { 0.0 } else { column_std });
    }
    Standardization { mean, std }
}

#[cfg(test)]
// Exact comparisons are the point here (mirror images, exact zeros); casts turn small
// coordinates back into row and tile indices.
#[allow(
    clippy::float_cmp,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;
    use crate::data::{DataSource, generate};
    use ndarray::array;

    fn toy(n: usize) -> Dataset {
        Dataset {
            x: Array2::from_shape_fn((n, 3), |(i, j)| (i * (j + 1)) as f64 + 0.5 * j as f64),
            labels: (0..n).map(|i| i % 2).collect(),
            n_classes: 2,
            class_names: vec!["a".into(), "b".into()],
            feature_names: vec!["x0".into(), "x1".into(), "x2".into()],
        }
    }

    #[test]
    fn split_sizes_are_rounded_and_at_least_one() {
        assert_eq!(train_count(10, 0.8), 8);
        assert_eq!(train_count(10, 0.75), 8);
        assert_eq!(train_count(10, 0.74), 7);
        assert_eq!(train_count(10, 1.0), 10);
        assert_eq!(train_count(10, 0.01), 1);
        assert_eq!(train_count(1, 0.5), 1);
        assert_eq!(train_count(0, 0.5), 0);
        assert_eq!(train_count(7, f64::NAN), 7);
        assert_eq!(train_count(7, 2.0), 7);
        assert_eq!(train_count(7, -1.0), 1);
        for (n, fraction) in [(10, 0.8), (101, 0.3), (5, 1.0), (1, 0.2)] {
            let split = split(&toy(n), fraction, false, 3);
            assert_eq!(split.train.len(), train_count(n, fraction));
            assert_eq!(split.train.len() + split.test.len(), n);
            assert_eq!(split.test.x.ncols(), 3);
        }
    }

    #[test]
    fn split_is_a_seeded_partition() {
        // Row i of `toy` has x[i][0] = i, so the first column identifies the original row.
        let data = toy(50);
        let rows =
            |set: &Dataset| -> Vec<usize> { set.x.column(0).iter().map(|&v| v as usize).collect() };
        let a = split(&data, 0.7, false, 11);
        let mut all: Vec<usize> = rows(&a.train).into_iter().chain(rows(&a.test)).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..50).collect::<Vec<_>>(),
            "train and test partition the data"
        );
        for set in [&a.train, &a.test] {
            for (row, &label) in rows(set).iter().zip(&set.labels) {
                assert_eq!(label, row % 2, "labels travel with their rows");
            }
        }
        assert_eq!(split(&data, 0.7, false, 11), a, "same seed, same split");
        assert_ne!(rows(&split(&data, 0.7, false, 12).train), rows(&a.train));
    }

    #[test]
    fn standardisation_uses_training_statistics() {
        let data = generate(&DataSource::Gauss, 400, 0.2, 5).expect("generates");
        let split = split(&data, 0.75, true, 5);
        let statistics = split.standardization.as_ref().expect("asked for");
        let n = split.train.len() as f64;
        for column in split.train.x.axis_iter(Axis(1)) {
            let mean = column.sum() / n;
            let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!(mean.abs() < 1e-12, "train mean {mean}");
            assert!((std - 1.0).abs() < 1e-12, "train std {std}");
        }
        // The test set is transformed with the training statistics, not its own.
        let unscaled = super::split(&data, 0.75, false, 5);
        let mut expected = unscaled.test.x.clone();
        statistics.apply(&mut expected);
        assert_eq!(split.test.x, expected);
        assert!(
            super::split(&data, 0.75, false, 5)
                .standardization
                .is_none()
        );
    }

    #[test]
    fn constant_features_are_centred_not_scaled() {
        let mut x = array![[3.0, 1.0], [3.0, 2.0], [3.0, 3.0]];
        let statistics = fit_standardization(&x);
        assert_eq!(statistics.std[0], 0.0);
        statistics.apply(&mut x);
        assert!(x.iter().all(|v| v.is_finite()));
        assert_eq!(x.column(0).to_vec(), vec![0.0; 3]);
        // A single training point: every feature is constant.
        let single = split(&toy(5), 0.2, true, 1);
        assert!(single.train.x.iter().all(|&v| v == 0.0));
        assert!(single.test.x.iter().all(|v| v.is_finite()));
        // Rounding noise of a constant non-representable value counts as constant.
        let statistics = fit_standardization(&Array2::from_elem((7, 1), 0.1));
        assert_eq!(statistics.std, vec![0.0]);
    }
}

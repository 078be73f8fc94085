//! The built-in dataset generators. Their geometry and the meaning of `noise` are documented on
//! the [`DataSource`] variants; the constructions cite their sources there.

use std::f64::consts::PI;

use ndarray::Array2;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{DataSource, Dataset, Error};

/// The most points a generator draws (about 160 MB of inputs): a larger `size` is reported as a
/// problem of the spec rather than exhausting memory.
pub const MAX_GENERATED_POINTS: usize = 10_000_000;

/// Class boundaries of `peaks`: the quintiles of the peaks function over the uniform square
/// [−3, 3]², computed once on a 3000 × 3000 midpoint grid, so each class covers a fifth of it.
const PEAKS_LEVELS: [f64; 4] = [-0.3079, 0.001_668, 0.1536, 1.314];

/// Problems of a generator's `size` and `noise`, in words a user understands.
pub(super) fn problems(size: usize, noise: f64) -> Vec<String> {
    let mut problems = Vec::new();
    if size == 0 {
        problems.push("the number of points (size) must be at least 1".to_owned());
    } else if size > MAX_GENERATED_POINTS {
        problems.push(format!(
            "the number of points (size) is {size}, above the limit of {MAX_GENERATED_POINTS}"
        ));
    }
    if !noise.is_finite() {
        problems.push(format!(
            "the noise level must be a finite number, not {noise}"
        ));
    } else if noise < 0.0 {
        problems.push(format!("the noise level must be 0 or more, not {noise}"));
    }
    problems
}

/// Generates `size` points from a built-in generator (deterministic in `seed`, portable: the
/// stream is `ChaCha8Rng::seed_from_u64(seed)`).
///
/// The geometry of each generator and the meaning of `noise` are documented on its
/// [`DataSource`] variant. Errors if `source` is [`DataSource::Csv`], `size` is 0 or above
/// [`MAX_GENERATED_POINTS`], or `noise` is negative or not finite.
pub fn generate(source: &DataSource, size: usize, noise: f64, seed: u64) -> Result<Dataset, Error> {
    let mut problems = problems(size, noise);
    if matches!(source, DataSource::Csv(_)) {
        problems.push("a CSV file is not a built-in generator".to_owned());
    }
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    let rng = &mut ChaCha8Rng::seed_from_u64(seed);
    let points = match source {
        DataSource::TwoSpirals => two_spirals(size, noise, rng),
        DataSource::Donut1d => return Ok(donut_1d(size, noise, rng)),
        DataSource::Donut2d => donut_2d(size, noise, rng),
        DataSource::Squares => squares(size, noise, rng),
        DataSource::Spiral => spiral(size, noise, rng),
        DataSource::Circle => circle(size, noise, rng),
        DataSource::Xor => xor(size, noise, rng),
        DataSource::Gauss => gauss(size, noise, rng),
        DataSource::Moons => moons(size, noise, rng),
        DataSource::SwissRoll => swiss_roll(size, noise, rng),
        DataSource::Peaks => peaks(size, noise, rng),
        DataSource::Checkerboard => checkerboard(size, noise, rng),
        DataSource::HdnnSwissRoll => hdnn_swiss_roll(size, noise, rng),
        DataSource::DoubleCircles => double_circles(size, noise, rng),
        DataSource::DoubleMoons => double_moons(size, noise, rng),
        DataSource::Csv(_) => unreachable!("rejected above"),
    };
    Ok(points.into_dataset())
}

/// Points in the plane with their class, gathered before they become a [`Dataset`].
struct Points {
    xy: Vec<[f64; 2]>,
    labels: Vec<usize>,
    class_names: &'static [&'static str],
}

impl Points {
    fn new(capacity: usize, class_names: &'static [&'static str]) -> Points {
        Points {
            xy: Vec::with_capacity(capacity),
            labels: Vec::with_capacity(capacity),
            class_names,
        }
    }

    fn push(&mut self, xy: [f64; 2], label: usize) {
        self.xy.push(xy);
        self.labels.push(label);
    }

    /// Adds `noise · ξ` to every coordinate, row by row.
    fn add_gaussian_noise(&mut self, noise: f64, rng: &mut impl Rng) {
        for point in &mut self.xy {
            for coordinate in point {
                *coordinate += noise * standard_normal(rng);
            }
        }
    }

    fn into_dataset(self) -> Dataset {
        Dataset {
            x: Array2::from_shape_fn((self.xy.len(), 2), |(i, j)| self.xy[i][j]),
            labels: self.labels,
            n_classes: self.class_names.len(),
            class_names: self.class_names.iter().map(ToString::to_string).collect(),
            feature_names: vec!["x0".to_owned(), "x1".to_owned()],
        }
    }
}

fn standard_normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// A normal draw conditioned on [lo, hi] by rejection. Callers keep the interval within a few
/// standard deviations of the mean, so a draw almost never repeats; the clamp after many misses
/// only guards against an endless loop.
fn truncated_normal(mean: f64, std: f64, lo: f64, hi: f64, rng: &mut impl Rng) -> f64 {
    for _ in 0..1000 {
        let value = mean + std * standard_normal(rng);
        if (lo..=hi).contains(&value) {
            return value;
        }
    }
    mean.clamp(lo, hi)
}

/// `m` points evenly spaced from `start` to `end` (MATLAB's `linspace`; `[start]` when m = 1).
fn linspace(start: f64, end: f64, m: usize) -> impl Iterator<Item = f64> {
    let step = if m > 1 {
        (end - start) / (m - 1) as f64
    } else {
        0.0
    };
    (0..m).map(move |i| start + step * i as f64)
}

/// ⌈n/2⌉ and ⌊n/2⌋.
fn halves(n: usize) -> (usize, usize) {
    (n.div_ceil(2), n / 2)
}

fn two_spirals(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["spiral a", "spiral b"]);
    let (n_base, n_reflected) = halves(n);
    let base: Vec<[f64; 2]> = linspace(0.25, 0.25 + 3.5 * PI, n_base)
        .map(|t| {
            let r = t / (3.5 * PI);
            [r * t.cos(), r * t.sin()]
        })
        .collect();
    for &xy in &base {
        points.push(xy, 0);
    }
    for &[x, y] in &base[..n_reflected] {
        points.push([-x, -y], 1);
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn donut_1d(n: usize, noise: f64, rng: &mut impl Rng) -> Dataset {
    const SPREAD: f64 = 0.1;
    let n_inner = n.div_ceil(3);
    let mut x = Vec::with_capacity(n);
    for _ in 0..n_inner {
        x.push(truncated_normal(0.0, SPREAD, -1.0, 1.0, rng));
    }
    for _ in n_inner..n {
        let radius = truncated_normal(0.5, SPREAD, 0.0, 1.0, rng);
        x.push(if rng.random::<bool>() {
            radius
        } else {
            -radius
        });
    }
    for value in &mut x {
        *value += noise * standard_normal(rng);
    }
    let labels = (0..n).map(|i| usize::from(i >= n_inner)).collect();
    Dataset {
        x: Array2::from_shape_fn((n, 1), |(i, _)| x[i]),
        labels,
        n_classes: 2,
        class_names: vec!["inner".to_owned(), "outer".to_owned()],
        feature_names: vec!["x0".to_owned()],
    }
}

fn donut_2d(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    const SPREAD: f64 = 0.1;
    let mut points = Points::new(n, &["disc", "ring"]);
    let (n_disc, n_ring) = halves(n);
    for _ in 0..n_disc {
        // Radius from the 2-D Gaussian's radial law (Rayleigh), truncated to the unit disc.
        let radius = loop {
            let radius = SPREAD * (-2.0 * (1.0 - rng.random::<f64>()).ln()).sqrt();
            if radius <= 1.0 {
                break radius;
            }
        };
        let angle = rng.random_range(0.0..2.0 * PI);
        points.push([radius * angle.cos(), radius * angle.sin()], 0);
    }
    for _ in 0..n_ring {
        // A density exp(−(r − 0.5)²/(2σ²)) per unit area has radial law ∝ r·exp(..): draw r from
        // the Gaussian and accept it with probability r (r ≤ 1).
        let radius = loop {
            let radius = truncated_normal(0.5, SPREAD, 0.0, 1.0, rng);
            if rng.random::<f64>() < radius {
                break radius;
            }
        };
        let angle = rng.random_range(0.0..2.0 * PI);
        points.push([radius * angle.cos(), radius * angle.sin()], 1);
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn squares(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    const HALF_WIDTH: f64 = 0.7;
    let mut points = Points::new(n, &["opposite sign", "same sign"]);
    for _ in 0..n {
        let x = rng.random_range(-HALF_WIDTH..HALF_WIDTH);
        let y = rng.random_range(-HALF_WIDTH..HALF_WIDTH);
        points.push([x, y], usize::from(x * y > 0.0));
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn spiral(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["phase 0", "phase π"]);
    let (n_first, n_second) = halves(n);
    for (label, count, phase) in [(0, n_first, 0.0), (1, n_second, PI)] {
        for (r, a) in linspace(0.1, 1.0, count).zip(linspace(0.1, 2.0 * PI, count)) {
            points.push([r * (a + phase).cos(), r * (a + phase).sin()], label);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
}

/// TensorFlow Playground's `classifyCircleData`: the label of a point is decided at a displaced
/// copy, which is how the playground turns its noise into label noise.
fn circle(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    const RADIUS: f64 = 5.0;
    let mut points = Points::new(n, &["inside", "outside"]);
    let (n_inside, n_outside) = halves(n);
    for (count, r_min, r_max) in [
        (n_inside, 0.0, 0.5 * RADIUS),
        (n_outside, 0.7 * RADIUS, RADIUS),
    ] {
        for _ in 0..count {
            let r = rng.random_range(r_min..r_max);
            let angle = rng.random_range(0.0..2.0 * PI);
            let (x, y) = (r * angle.sin(), r * angle.cos());
            let noise_x = rng.random_range(-RADIUS..RADIUS) * noise;
            let noise_y = rng.random_range(-RADIUS..RADIUS) * noise;
            let is_inside = (x + noise_x).hypot(y + noise_y) < 0.5 * RADIUS;
            points.push([x, y], usize::from(!is_inside));
        }
    }
    points
}

/// TensorFlow Playground's `classifyXORData`.
fn xor(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    const PADDING: f64 = 0.3;
    let mut points = Points::new(n, &["opposite sign", "same sign"]);
    // Push the coordinate away from the axis, keeping its sign.
    let padded = |value: f64| value + PADDING.copysign(value);
    for _ in 0..n {
        let x = padded(rng.random_range(-5.0..5.0));
        let y = padded(rng.random_range(-5.0..5.0));
        let noise_x = rng.random_range(-5.0..5.0) * noise;
        let noise_y = rng.random_range(-5.0..5.0) * noise;
        points.push([x, y], usize::from((x + noise_x) * (y + noise_y) >= 0.0));
    }
    points
}

/// TensorFlow Playground's `classifyTwoGaussData`.
fn gauss(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["centre (-2, -2)", "centre (2, 2)"]);
    let std = (0.5 + 7.0 * noise).sqrt();
    let (n_first, n_second) = halves(n);
    for (label, count, centre) in [(0, n_first, -2.0), (1, n_second, 2.0)] {
        for _ in 0..count {
            let x = centre + std * standard_normal(rng);
            let y = centre + std * standard_normal(rng);
            points.push([x, y], label);
        }
    }
    points
}

fn moons(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["upper moon", "lower moon"]);
    let (n_upper, n_lower) = halves(n);
    for _ in 0..n_upper {
        let t = rng.random_range(0.0..=PI);
        points.push([t.cos() - 0.5, t.sin() - 0.25], 0);
    }
    for _ in 0..n_lower {
        let t = rng.random_range(0.0..=PI);
        points.push([0.5 - t.cos(), 0.25 - t.sin()], 1);
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn swiss_roll(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["inner roll", "outer roll"]);
    let (n_inner, n_outer) = halves(n);
    for (label, count, offset) in [(0, n_inner, 0.0), (1, n_outer, 0.2)] {
        for theta in linspace(0.0, 4.0 * PI, count) {
            let r = offset + theta / (4.0 * PI);
            points.push([r * theta.cos(), r * theta.sin()], label);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
}

/// MATLAB's `peaks` function.
fn peaks_value(x: f64, y: f64) -> f64 {
    3.0 * (1.0 - x).powi(2) * (-x * x - (y + 1.0).powi(2)).exp()
        - 10.0 * (x / 5.0 - x.powi(3) - y.powi(5)) * (-x * x - y * y).exp()
        - (-(x + 1.0).powi(2) - y * y).exp() / 3.0
}

fn peaks_class(value: f64) -> usize {
    PEAKS_LEVELS.iter().filter(|&&level| value > level).count()
}

fn peaks(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["level 0", "level 1", "level 2", "level 3", "level 4"]);
    let n_classes = PEAKS_LEVELS.len() + 1;
    let mut still_needed: Vec<usize> = (0..n_classes)
        .map(|class| n / n_classes + usize::from(class < n % n_classes))
        .collect();
    // Every class covers a fifth of the square, so this takes about n draws (plus a tail while
    // the last classes fill up).
    while points.labels.len() < n {
        let x = rng.random_range(-3.0..=3.0);
        let y = rng.random_range(-3.0..=3.0);
        let class = peaks_class(peaks_value(x, y));
        if still_needed[class] > 0 {
            still_needed[class] -= 1;
            points.push([x, y], class);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn checkerboard(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    const TILES: usize = 4;
    const TILE_WIDTH: f64 = 2.0 / TILES as f64;
    let mut points = Points::new(n, &["even tile", "odd tile"]);
    let (n_even, n_odd) = halves(n);
    for (class, count) in [(0, n_even), (1, n_odd)] {
        for _ in 0..count {
            // Column i uniform, then a row j of the right parity: uniform over the 8 tiles.
            let i = rng.random_range(0..TILES);
            let j = 2 * rng.random_range(0..TILES / 2) + (i + class) % 2;
            let x = -1.0 + TILE_WIDTH * (i as f64 + rng.random::<f64>());
            let y = -1.0 + TILE_WIDTH * (j as f64 + rng.random::<f64>());
            points.push([x, y], class);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
}

/// π as Galimberti et al.'s published code writes it in its ring and moon angles.
#[expect(
    clippy::approx_constant,
    reason = "the published code's 3.14, on purpose"
)]
const PI_OF_THE_CODE: f64 = 3.14;

fn hdnn_swiss_roll(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["outer roll", "inner roll"]);
    let (m, n_outer) = halves(n);
    let angle = |j: usize| 4.0 * PI * j as f64 / m as f64;
    let radius = |j: usize| {
        if m > 1 {
            j as f64 / (m - 1) as f64
        } else {
            0.0
        }
    };
    for j in 0..m {
        let (r, theta) = (radius(j), angle(j));
        points.push([r * theta.cos(), r * theta.sin()], 1);
    }
    for j in 0..n_outer {
        let (r, theta) = (0.2 + radius(j), angle(j));
        points.push([r * theta.cos(), r * theta.sin()], 0);
    }
    points.add_gaussian_noise(noise, rng);
    points
}

/// The sizes of `parts` groups of `n` points: ⌊n/parts⌋ each, the first `n mod parts` one more.
fn shares(n: usize, parts: usize) -> impl Iterator<Item = usize> {
    (0..parts).map(move |k| n / parts + usize::from(k < n % parts))
}

/// A uniform displacement in [−width/2, width/2] per coordinate, as the published code draws it.
fn jitter(width: f64, rng: &mut impl Rng) -> [f64; 2] {
    [
        width * (rng.random::<f64>() - 0.5),
        width * (rng.random::<f64>() - 0.5),
    ]
}

fn double_circles(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["rings 1 and 3", "rings 2 and 4"]);
    for (ring, count) in shares(n, 4).enumerate() {
        let r = (ring + 1) as f64;
        for i in 0..count {
            let theta = 4.0 * PI_OF_THE_CODE * i as f64 / count as f64;
            let [dx, dy] = jitter(0.6, rng);
            points.push([r * theta.cos() + dx, r * theta.sin() + dy], ring % 2);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
}

fn double_moons(n: usize, noise: f64, rng: &mut impl Rng) -> Points {
    let mut points = Points::new(n, &["upper moons", "lower moons"]);
    for (moon, count) in shares(n, 4).enumerate() {
        let shift = if moon >= 2 { 2.0 } else { 0.0 };
        for i in 0..count {
            let theta = PI_OF_THE_CODE * i as f64 / count as f64;
            let (c, s) = (theta.cos(), theta.sin());
            let xy = if moon % 2 == 0 {
                [shift + c, s]
            } else {
                [shift + 1.0 - c, 0.5 - s]
            };
            let [dx, dy] = jitter(0.3, rng);
            points.push([xy[0] + dx, xy[1] + dy], moon % 2);
        }
    }
    points.add_gaussian_noise(noise, rng);
    points
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

    fn generate_ok(source: &DataSource, size: usize, noise: f64, seed: u64) -> Dataset {
        generate(source, size, noise, seed)
            .unwrap_or_else(|error| panic!("{} fails: {error}", source.name()))
    }

    /// Noise that every generator feels (grid-based ones depend on the seed only through it).
    const SOME_NOISE: f64 = 0.05;

    #[test]
    fn generators_are_deterministic_in_their_seed() {
        for source in &DataSource::GENERATORS {
            let a = generate_ok(source, 200, SOME_NOISE, 7);
            let b = generate_ok(source, 200, SOME_NOISE, 7);
            let c = generate_ok(source, 200, SOME_NOISE, 8);
            assert_eq!(a, b, "{}: same seed, same data", source.name());
            assert_ne!(a.x, c.x, "{}: another seed, other data", source.name());
        }
    }

    #[test]
    fn generators_have_the_documented_shape() {
        for source in &DataSource::GENERATORS {
            let spec = crate::data::DataSpec {
                source: source.clone(),
                size: 301,
                noise: SOME_NOISE,
                train_fraction: 0.8,
                standardize: false,
            };
            for noise in [0.0, SOME_NOISE, 0.5] {
                let data = generate_ok(source, 301, noise, 1);
                let name = source.name();
                assert_eq!(data.len(), 301, "{name}");
                assert_eq!(data.x.nrows(), 301, "{name}");
                assert_eq!(Some(data.n_features()), spec.input_dim(), "{name}");
                assert_eq!(data.feature_names.len(), data.n_features(), "{name}");
                assert_eq!(Some(data.n_classes), spec.n_classes(), "{name}");
                assert_eq!(data.class_names.len(), data.n_classes, "{name}");
                assert!(data.x.iter().all(|v| v.is_finite()), "{name}: finite");
                assert!(data.labels.iter().all(|&l| l < data.n_classes), "{name}");
                assert!(
                    data.class_counts().iter().all(|&count| count > 0),
                    "{name}: every class is present: {:?}",
                    data.class_counts()
                );
            }
        }
    }

    #[test]
    fn noise_free_points_stay_in_the_documented_range() {
        let ranges: [(DataSource, f64, f64); 15] = [
            (DataSource::TwoSpirals, 1.03, 1.03),
            (DataSource::Donut1d, 1.0, 0.0),
            (DataSource::Donut2d, 1.0, 1.0),
            (DataSource::Squares, 0.7, 0.7),
            (DataSource::Spiral, 1.0, 1.0),
            (DataSource::Circle, 5.0, 5.0),
            (DataSource::Xor, 5.3, 5.3),
            (DataSource::Gauss, 8.0, 8.0),
            (DataSource::Moons, 1.5, 0.75),
            (DataSource::SwissRoll, 1.2, 1.2),
            (DataSource::Peaks, 3.0, 3.0),
            (DataSource::Checkerboard, 1.0, 1.0),
            (DataSource::HdnnSwissRoll, 1.2, 1.2),
            (DataSource::DoubleCircles, 4.3, 4.3),
            (DataSource::DoubleMoons, 4.15, 1.15),
        ];
        assert_eq!(ranges.len(), DataSource::GENERATORS.len());
        for (source, x_max, y_max) in ranges {
            let data = generate_ok(&source, 1000, 0.0, 2);
            for row in data.x.rows() {
                assert!(row[0].abs() <= x_max + 1e-12, "{}: {row}", source.name());
                if row.len() > 1 {
                    assert!(row[1].abs() <= y_max + 1e-12, "{}: {row}", source.name());
                }
            }
        }
    }

    #[test]
    fn classes_are_balanced_where_promised() {
        let n = 1001;
        for source in &DataSource::GENERATORS {
            let counts = generate_ok(source, n, SOME_NOISE, 3).class_counts();
            let expected: Vec<usize> = match source {
                DataSource::Donut1d => vec![334, 667],
                DataSource::Peaks => vec![201, 200, 200, 200, 200],
                // The published code's labels: the inner roll (the larger half) is class 1.
                DataSource::HdnnSwissRoll => vec![500, 501],
                // Labelled by position: balanced in expectation only.
                DataSource::Squares | DataSource::Xor => {
                    assert!(counts.iter().all(|&c| c.abs_diff(n / 2) < 80), "{counts:?}");
                    continue;
                }
                // Label noise moves points near the boundary across; without it, exact halves.
                DataSource::Circle => {
                    assert!(counts.iter().all(|&c| c.abs_diff(n / 2) < 30), "{counts:?}");
                    let exact = generate_ok(source, n, 0.0, 3).class_counts();
                    assert_eq!(exact, vec![501, 500]);
                    continue;
                }
                _ => vec![501, 500],
            };
            assert_eq!(counts, expected, "{}", source.name());
        }
    }

    #[test]
    fn two_spirals_follows_the_peers_formula() {
        // peers/common.py: t = 0.25 + 3.5π i/(n−1), r = t/(3.5π), class 1 = −class 0.
        let data = generate_ok(&DataSource::TwoSpirals, 8, 0.0, 0);
        let n = 4;
        for i in 0..n {
            let t = 0.25 + 3.5 * PI * i as f64 / (n - 1) as f64;
            let r = t / (3.5 * PI);
            assert!((data.x[[i, 0]] - r * t.cos()).abs() < 1e-15);
            assert!((data.x[[i, 1]] - r * t.sin()).abs() < 1e-15);
            assert_eq!(data.x[[n + i, 0]], -data.x[[i, 0]]);
            assert_eq!(data.x[[n + i, 1]], -data.x[[i, 1]]);
            assert_eq!((data.labels[i], data.labels[n + i]), (0, 1));
        }
    }

    #[test]
    fn galimbertis_data_sets_follow_the_published_construction() {
        // Swiss roll: m = 4 angles 0, π, 2π, 3π; inner radii j/3, outer 0.2 + j/3.
        let roll = generate_ok(&DataSource::HdnnSwissRoll, 8, 0.0, 0);
        for j in 0..4 {
            let theta = PI * j as f64;
            for (row, r, label) in [(j, j as f64 / 3.0, 1), (4 + j, 0.2 + j as f64 / 3.0, 0)] {
                assert!((roll.x[[row, 0]] - r * theta.cos()).abs() < 1e-15);
                assert!((roll.x[[row, 1]] - r * theta.sin()).abs() < 1e-15);
                assert_eq!(roll.labels[row], label);
            }
        }
        // Double circles: ring k (radius k + 1, label k mod 2) within the ±0.3 jitter box.
        let circles = generate_ok(&DataSource::DoubleCircles, 402, 0.0, 5);
        let mut row = 0;
        for (ring, count) in [101, 101, 100, 100].into_iter().enumerate() {
            for i in 0..count {
                let theta = 4.0 * PI_OF_THE_CODE * f64::from(i) / f64::from(count);
                let r = (ring + 1) as f64;
                assert!((circles.x[[row, 0]] - r * theta.cos()).abs() <= 0.3);
                assert!((circles.x[[row, 1]] - r * theta.sin()).abs() <= 0.3);
                assert_eq!(circles.labels[row], ring % 2);
                row += 1;
            }
        }
        // The jitter is uniform over the whole box, not a thin shell.
        let spread: f64 = (0..101)
            .map(|i| {
                let theta = 4.0 * PI_OF_THE_CODE * i as f64 / 101.0;
                (circles.x[[i, 0]] - theta.cos()).abs()
            })
            .fold(0.0, f64::max);
        assert!(spread > 0.25, "{spread}");
        // Double moons: moons 0 and 2 upper (class 0), 1 and 3 lower (class 1).
        let moons = generate_ok(&DataSource::DoubleMoons, 400, 0.0, 6);
        for (row, x) in moons.x.rows().into_iter().enumerate() {
            let (moon, i) = (row / 100, row % 100);
            let theta = PI_OF_THE_CODE * i as f64 / 100.0;
            let shift = if moon >= 2 { 2.0 } else { 0.0 };
            let expected = if moon % 2 == 0 {
                [shift + theta.cos(), theta.sin()]
            } else {
                [shift + 1.0 - theta.cos(), 0.5 - theta.sin()]
            };
            assert!((x[0] - expected[0]).abs() <= 0.15 && (x[1] - expected[1]).abs() <= 0.15);
            assert_eq!(moons.labels[row], moon % 2);
        }
    }

    #[test]
    fn labels_follow_the_documented_geometry() {
        let noise_free = |source| generate_ok(&source, 500, 0.0, 4);
        let data = noise_free(DataSource::Checkerboard);
        for (row, &label) in data.x.rows().into_iter().zip(&data.labels) {
            let tile = |v: f64| ((v + 1.0) / 0.5).floor() as usize;
            assert_eq!((tile(row[0]) + tile(row[1])) % 2, label, "{row}");
        }
        for source in [DataSource::Squares, DataSource::Xor] {
            let data = noise_free(source);
            for (row, &label) in data.x.rows().into_iter().zip(&data.labels) {
                assert_eq!(usize::from(row[0] * row[1] >= 0.0), label, "{row}");
            }
        }
        let data = noise_free(DataSource::Circle);
        for (row, &label) in data.x.rows().into_iter().zip(&data.labels) {
            assert_eq!(usize::from(row[0].hypot(row[1]) >= 2.5), label, "{row}");
        }
        let data = noise_free(DataSource::Peaks);
        for (row, &label) in data.x.rows().into_iter().zip(&data.labels) {
            assert_eq!(peaks_class(peaks_value(row[0], row[1])), label, "{row}");
        }
    }

    #[test]
    fn peaks_levels_split_the_square_into_fifths() {
        let grid = 400;
        let mut counts = [0usize; 5];
        for i in 0..grid {
            for j in 0..grid {
                let x = -3.0 + 6.0 * (i as f64 + 0.5) / grid as f64;
                let y = -3.0 + 6.0 * (j as f64 + 0.5) / grid as f64;
                counts[peaks_class(peaks_value(x, y))] += 1;
            }
        }
        let fifth = grid * grid / 5;
        assert!(
            counts.iter().all(|&c| c.abs_diff(fifth) < fifth / 50),
            "{counts:?}"
        );
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        let bad = [(0, 0.1), (10, -0.1), (10, f64::NAN), (10, f64::INFINITY)];
        for (size, noise) in bad {
            for source in &DataSource::GENERATORS {
                let error = generate(source, size, noise, 0).expect_err("invalid");
                assert!(matches!(error, Error::InvalidSpec(_)), "{error}");
            }
        }
        let error =
            generate(&DataSource::Moons, MAX_GENERATED_POINTS + 1, 0.0, 0).expect_err("too large");
        assert!(error.to_string().contains("limit"), "{error}");
        let csv = DataSource::Csv(crate::data::CsvSpec {
            path: "a.csv".into(),
            label: crate::data::LabelColumn::Index(0),
            header: None,
            delimiter: ',',
        });
        assert!(generate(&csv, 10, 0.0, 0).is_err());
        // One point is enough for every generator.
        for source in &DataSource::GENERATORS {
            assert_eq!(generate_ok(source, 1, 0.1, 0).len(), 1);
        }
    }
}

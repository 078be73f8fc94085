//! Datasets: seeded generators, CSV import, train/test split, standardisation.
//!
//! [`load`] turns a [`DataSpec`] into a [`Split`]: it generates the points ([`generate`]) or reads
//! a CSV file ([`read_csv`]), shuffles them with the data seed, keeps the first
//! `round(train_fraction · N)` for training and the rest for testing, and standardises the
//! features with the training statistics if asked.
//!
//! The built-in generators ([`DataSource::GENERATORS`]), their coordinates and what `noise` means
//! for each (details in the doc comment of each [`DataSource`] variant):
//!
//! | name           | classes | inputs | range (noise 0)      | `noise`                             |
//! |----------------|---------|--------|----------------------|-------------------------------------|
//! | `two_spirals`  | 2       | 2      | about [-1, 1]²       | std of added Gaussian noise (0.02)  |
//! | `donut_1d`     | 2       | 1      | [-1, 1]              | std of added Gaussian noise (0.1)   |
//! | `donut_2d`     | 2       | 2      | [-1, 1]²             | std of added Gaussian noise (0.1)   |
//! | `squares`      | 2       | 2      | [-0.7, 0.7]²         | std of added Gaussian noise (0.1)   |
//! | `spiral`       | 2       | 2      | [-1, 1]²             | std of added Gaussian noise (0.05)  |
//! | `circle`       | 2       | 2      | [-5, 5]²             | label noise, playground slider / 100 |
//! | `xor`          | 2       | 2      | [-5.3, 5.3]²         | label noise, playground slider / 100 |
//! | `gauss`        | 2       | 2      | about [-6, 6]²       | blob spread, playground slider / 100 |
//! | `moons`        | 2       | 2      | [-1.5, 1.5]×[-0.75, 0.75] | std of added Gaussian noise (0.1) |
//! | `swiss_roll`   | 2       | 2      | [-1.2, 1.2]²         | std of added Gaussian noise         |
//! | `peaks`        | 5       | 2      | [-3, 3]²             | std of added Gaussian noise         |
//! | `checkerboard` | 2       | 2      | [-1, 1]²             | std of added Gaussian noise         |
//!
//! The value in parentheses is the one used by the source the generator follows. The three
//! TensorFlow Playground generators keep the playground's own coordinates and noise scale (its
//! noise slider, 0 to 50, divided by 100), so what one sees there carries over; the others follow
//! their papers, which work on the unit square. Switch on `standardize` to put every generator on
//! the same footing.
//!
//! Every generator is deterministic in its seed and portable: the random stream is
//! `ChaCha8Rng::seed_from_u64(seed)` (stream 0); the split shuffles with stream 1 of the same seed.
//! Generators that lay their points on a fixed grid (`two_spirals`, `spiral`, `swiss_roll`) depend
//! on the seed only through the noise.

mod csv_import;
mod error;
mod generators;
mod split;

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use csv_import::{MAX_BYTES as MAX_CSV_BYTES, read_csv, read_csv_from, read_csv_within};
pub use error::Error;
pub use generators::{MAX_GENERATED_POINTS, generate};
pub use split::{split, train_count};

/// Where the data comes from and how it is split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A built-in generator or a CSV file.
    pub source: DataSource,
    /// Number of points a generator draws (train and test together); ignored for CSV.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Noise level of a generator (its meaning is documented per generator); ignored for CSV.
    #[serde(default)]
    pub noise: f64,
    /// Fraction of the points used for training, in (0, 1]; the rest is the test set.
    #[serde(default = "default_train_fraction")]
    pub train_fraction: f64,
    /// Shift and scale every feature to mean 0 and standard deviation 1 (statistics of the
    /// training set).
    #[serde(default)]
    pub standardize: bool,
}

fn default_size() -> usize {
    1000
}
fn default_train_fraction() -> f64 {
    0.8
}

/// A dataset generator or a CSV file.
///
/// Class indices and names of each generator are listed with its variant; "noise ξ" means
/// independent standard normal draws, one per coordinate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataSource {
    /// Two interleaved spirals, 2 classes (as in the peers' benchmark, `two_spirals` of
    /// `peers/common.py`).
    ///
    /// With n = ⌈N/2⌉ and i = 0..n: `t = 0.25 + 3.5π·i/(n−1)`, `r = t/(3.5π)`, class 0
    /// ("spiral a") is `(r cos t, r sin t)` and class 1 ("spiral b") its reflection through
    /// the origin (the first ⌊N/2⌋ points). Both spirals wind 1¾ turns out to radius ≈ 1.
    /// `noise` is the standard deviation of Gaussian noise added to every coordinate (peers: 0.02).
    TwoSpirals,
    /// Points on a line, inner interval vs outer (Benning et al. 2019), 1 input feature.
    ///
    /// Class 0 ("inner", ⌈N/3⌉ points): x ~ N(0, 0.1²); class 1 ("outer", the other ⅔, half on
    /// each side): |x| ~ N(0.5, 0.1²), both truncated to [-1, 1]. `noise` is the standard deviation
    /// of Gaussian noise added afterwards (the paper: 0.1).
    Donut1d,
    /// Disc inside a ring (Benning et al. 2019).
    ///
    /// Class 0 ("disc", ⌈N/2⌉ points): an isotropic Gaussian of standard deviation 0.1 at the
    /// origin; class 1 ("ring"): density ∝ exp(−(r − 0.5)²/(2·0.1²)) per unit area, i.e. a ring of
    /// radius 0.5 and width 0.1; both truncated to the unit disc. `noise` is the standard deviation
    /// of Gaussian noise added afterwards (the paper: 0.1).
    Donut2d,
    /// Squares (Benning et al. 2019): the four quadrants of [-0.7, 0.7]², alternating classes.
    ///
    /// Points uniform on [-0.7, 0.7]²; class 1 ("same sign") where x·y > 0, class 0 ("opposite
    /// sign") elsewhere, so classes are balanced on average. `noise` is the standard deviation of
    /// Gaussian noise added after labelling (the paper: 0.1), which blurs the quadrant borders.
    Squares,
    /// Spiral (Benning et al. 2019): two one-turn spirals, one rotated by π.
    ///
    /// Class 0 (⌈N/2⌉ points) and class 1 (⌊N/2⌋) lie on a grid along the curve: radius from 0.1
    /// to 1 and angle a from 0.1 to 2π, both linear in the point index; class 0 is
    /// (r cos a, r sin a), class 1 (r cos(a + π), r sin(a + π)). `noise` is the standard deviation
    /// of Gaussian noise added to every coordinate (the paper: 0.05).
    Spiral,
    /// Circle (TensorFlow Playground), playground coordinates.
    ///
    /// Class 0 ("inside", ⌈N/2⌉ points): radius uniform in [0, 2.5], class 1 ("outside"): radius
    /// uniform in [3.5, 5], angle uniform. `noise` (the playground's slider / 100, 0 to 0.5) is
    /// label noise, as in the playground: a point is labelled by whether its copy displaced by
    /// uniform(−5, 5)·noise in each coordinate lies within radius 2.5; the point itself is stored
    /// undisplaced.
    Circle,
    /// Xor (TensorFlow Playground), playground coordinates.
    ///
    /// x and y uniform in [−5, 5], pushed 0.3 away from the axes (so in [−5.3, 5.3]); class 1
    /// ("same sign") where x·y ≥ 0, class 0 ("opposite sign") elsewhere, balanced on average.
    /// `noise` (slider / 100) is label noise as for [`DataSource::Circle`]: the label is that of
    /// the point displaced by uniform(−5, 5)·noise per coordinate.
    Xor,
    /// Two Gaussian blobs (TensorFlow Playground), playground coordinates.
    ///
    /// Class 0 (⌈N/2⌉ points) centred at (−2, −2), class 1 at (2, 2); each coordinate has variance
    /// 0.5 + 7·noise (the playground maps its noise slider 0..50, i.e. noise 0..0.5, to variance
    /// 0.5..4), so the blobs overlap more as noise grows.
    Gauss,
    /// Two interleaved half moons, centred at the origin.
    ///
    /// Class 0 (⌈N/2⌉ points): (cos t − 0.5, sin t − 0.25), class 1: (0.5 − cos t, 0.25 − sin t),
    /// t uniform in [0, π] (scikit-learn's `make_moons`, shifted so the box
    /// [−1.5, 1.5]×[−0.75, 0.75] is centred). `noise` is the standard deviation of Gaussian noise
    /// added to every coordinate (0.1 is a common choice).
    Moons,
    /// Swiss roll (Haber & Ruthotto 2017): two spirals rolled into each other.
    ///
    /// As in Meganet's `setupSwissRoll`: on a grid of angles θ from 0 to 4π (two turns), class 0
    /// (⌈N/2⌉ points) has radius θ/(4π) (from 0 to 1) and class 1 radius 0.2 + θ/(4π) (from 0.2 to
    /// 1.2), both at (r cos θ, r sin θ). `noise` is the standard deviation of Gaussian noise added
    /// to every coordinate (the original has none).
    SwissRoll,
    /// Level sets of the peaks function, 5 classes (Haber & Ruthotto 2017).
    ///
    /// MATLAB's `peaks(x, y) = 3(1−x)² e^{−x²−(y+1)²} − 10(x/5 − x³ − y⁵) e^{−x²−y²}
    /// − ⅓ e^{−(x+1)²−y²}` on [−3, 3]². Class k ("level k") holds the points whose value lies
    /// between the k-th and (k+1)-th of the fixed thresholds −0.3079, 0.001668, 0.1536, 1.314:
    /// the quintiles of peaks over the uniform square, so each class covers a fifth of its area.
    /// Points are drawn uniformly and kept while their class still needs points, so the classes
    /// are exactly balanced (as in Meganet's `setupPeaks`, which draws the same number per
    /// class). `noise` is the standard deviation of Gaussian noise added after labelling.
    Peaks,
    /// The swiss roll of Galimberti et al.'s Hamiltonian deep neural networks (2023), as their
    /// published code makes it (`swiss_roll` in `data/datasets.py` of DecodEPFL/HamiltonianNet).
    ///
    /// With m = ⌈N/2⌉ angles θ_j = 4πj/m, j = 0..m−1 (two turns, 4π itself left out), class 1
    /// ("inner roll", m points) lies at radius r = j/(m−1) from 0 to 1 and class 0 ("outer roll",
    /// the first ⌊N/2⌋ angles) at 0.2 + r, both at (r cos θ, r sin θ): the same roll as
    /// [`DataSource::SwissRoll`] but for the open angle interval and the labels, which follow the
    /// published code. `noise` is the standard deviation of Gaussian noise added to every
    /// coordinate (the paper: none).
    HdnnSwissRoll,
    /// Double circles (Galimberti et al. 2023, `double_circles` of their published code): four
    /// rings of radii 1, 2, 3 and 4, labelled 0, 1, 0, 1 from the inside.
    ///
    /// Ring k holds ⌊N/4⌋ or ⌈N/4⌉ points at angles θ_i = 4·3.14·i/n_k (two turns, with the
    /// code's 3.14 for π), each coordinate displaced by uniform noise in [−0.3, 0.3] as in the
    /// code. `noise` is the standard deviation of Gaussian noise added afterwards (the paper:
    /// none).
    DoubleCircles,
    /// Double moons (Galimberti et al. 2023, `double_moons` of their published code): two pairs
    /// of interleaved half moons side by side.
    ///
    /// Four moons of ⌊N/4⌋ or ⌈N/4⌉ points at θ_i = 3.14·i/n_k: (cos θ, sin θ) and
    /// (2 + cos θ, sin θ) are class 0, (1 − cos θ, 0.5 − sin θ) and (3 − cos θ, 0.5 − sin θ)
    /// class 1; each coordinate is displaced by uniform noise in [−0.15, 0.15] as in the code.
    /// `noise` is the standard deviation of Gaussian noise added afterwards (the paper: none).
    DoubleMoons,
    /// A 4×4 checkerboard on [−1, 1]², tiles of side 0.5.
    ///
    /// The tile (i, j) (counted from the corner (−1, −1)) has class (i + j) mod 2; each class gets
    /// ⌈N/2⌉ or ⌊N/2⌋ points, uniform over its 8 tiles. `noise` is the standard deviation of
    /// Gaussian noise added after labelling.
    Checkerboard,
    /// User data from a CSV file.
    Csv(CsvSpec),
}

/// A CSV file of numeric features and one label column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSpec {
    /// Path of the file; relative paths are relative to the experiment file's folder.
    pub path: String,
    /// The label column.
    pub label: LabelColumn,
    /// Whether the first row is a header; `None` detects it (a first row that is not all
    /// numbers is a header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Field delimiter.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

fn default_delimiter() -> char {
    ','
}

/// Which column holds the class label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LabelColumn {
    /// By header name.
    Name(String),
    /// By zero-based index.
    Index(usize),
}

impl DataSpec {
    /// Every problem of the spec in words a user understands (empty if fine): size 0 for a
    /// generator, negative or non-finite noise, `train_fraction` outside (0, 1], empty CSV path,
    /// a delimiter that is not a single ASCII character, ...
    ///
    /// `size` and `noise` are only checked for generators (a CSV source ignores them).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match &self.source {
            DataSource::Csv(csv) => problems.extend(csv.problems()),
            _ => problems.extend(generators::problems(self.size, self.noise)),
        }
        if !(self.train_fraction > 0.0 && self.train_fraction <= 1.0) {
            problems.push(format!(
                "the training fraction (train_fraction) must be above 0 and at most 1, not {}",
                self.train_fraction
            ));
        }
        problems
    }

    /// Number of input features, if known without reading a file (generators: 2, `Donut1d`: 1;
    /// `Csv`: `None`).
    pub fn input_dim(&self) -> Option<usize> {
        match self.source {
            DataSource::Csv(_) => None,
            DataSource::Donut1d => Some(1),
            _ => Some(2),
        }
    }

    /// Number of classes, if known without reading a file (generators: 2, `Peaks`: 5; `Csv`:
    /// `None`).
    pub fn n_classes(&self) -> Option<usize> {
        match self.source {
            DataSource::Csv(_) => None,
            DataSource::Peaks => Some(5),
            _ => Some(2),
        }
    }
}

impl DataSource {
    /// Every built-in generator, in the order a user interface lists them.
    pub const GENERATORS: [DataSource; 15] = [
        DataSource::TwoSpirals,
        DataSource::Donut1d,
        DataSource::Donut2d,
        DataSource::Squares,
        DataSource::Spiral,
        DataSource::Circle,
        DataSource::Xor,
        DataSource::Gauss,
        DataSource::Moons,
        DataSource::SwissRoll,
        DataSource::Peaks,
        DataSource::Checkerboard,
        DataSource::HdnnSwissRoll,
        DataSource::DoubleCircles,
        DataSource::DoubleMoons,
    ];

    /// The `snake_case` name: `"two_spirals"`, `"donut_1d"`, ..., `"csv"`.
    pub fn name(&self) -> &'static str {
        match self {
            DataSource::TwoSpirals => "two_spirals",
            DataSource::Donut1d => "donut_1d",
            DataSource::Donut2d => "donut_2d",
            DataSource::Squares => "squares",
            DataSource::Spiral => "spiral",
            DataSource::Circle => "circle",
            DataSource::Xor => "xor",
            DataSource::Gauss => "gauss",
            DataSource::Moons => "moons",
            DataSource::SwissRoll => "swiss_roll",
            DataSource::Peaks => "peaks",
            DataSource::Checkerboard => "checkerboard",
            DataSource::HdnnSwissRoll => "hdnn_swiss_roll",
            DataSource::DoubleCircles => "double_circles",
            DataSource::DoubleMoons => "double_moons",
            DataSource::Csv(_) => "csv",
        }
    }

    /// The generator with this `snake_case` name ([`DataSource::name`]); `None` for `"csv"` and
    /// unknown names.
    pub fn generator_named(name: &str) -> Option<DataSource> {
        DataSource::GENERATORS
            .into_iter()
            .find(|generator| generator.name() == name)
    }
}

impl CsvSpec {
    /// Every problem of the CSV settings that shows without reading the file (empty if fine).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.path.trim().is_empty() {
            problems.push("the CSV file path is empty".to_owned());
        }
        if !self.delimiter.is_ascii() || matches!(self.delimiter, '"' | '\n' | '\r') {
            problems.push(format!(
                "the CSV delimiter must be one ASCII character other than a quote or a line \
                 break, not {:?}",
                self.delimiter
            ));
        }
        if let LabelColumn::Name(name) = &self.label
            && name.trim().is_empty()
        {
            problems.push("the label column name is empty".to_owned());
        }
        problems
    }
}

/// A labelled classification dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Inputs, one row per point: shape (N, `n_features`).
    pub x: Array2<f64>,
    /// Class index of each row, in `0..n_classes`.
    pub labels: Vec<usize>,
    /// Number of classes (a class may have no point in a subset).
    pub n_classes: usize,
    /// Name of each class (`n_classes` of them): a generator's names, or a CSV file's label values.
    pub class_names: Vec<String>,
    /// Name of each feature (`n_features` of them): a CSV header, or `"x0"`, `"x1"`, ...
    pub feature_names: Vec<String>,
}

impl Dataset {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no point.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of input features (columns of `x`).
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// The rows `rows` (in that order, repeats allowed), for mini-batches. Class and feature names
    /// are kept.
    ///
    /// # Panics
    /// If an index is out of range (a bug in the caller).
    #[must_use]
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(ndarray::Axis(0), rows),
            labels: rows.iter().map(|&row| self.labels[row]).collect(),
            n_classes: self.n_classes,
            class_names: self.class_names.clone(),
            feature_names: self.feature_names.clone(),
        }
    }

    /// Number of points of each class (`n_classes` entries).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &label in &self.labels {
            if let Some(count) = counts.get_mut(label) {
                *count += 1;
            }
        }
        counts
    }
}

/// Per-feature shift and scale that give the training set mean 0 and standard deviation 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// Mean of each feature over the training set.
    pub mean: Vec<f64>,
    /// Standard deviation (population, divisor N) of each feature over the training set; 0 for a
    /// feature that is constant there, which [`Standardization::apply`] then only centres.
    pub std: Vec<f64>,
}

impl Standardization {
    /// The statistics of the rows of `x` (shape (N, features)). An empty `x` gives mean 0 and
    /// std 0 (apply is then the identity).
    pub fn fit(x: &Array2<f64>) -> Standardization {
        split::fit_standardization(x)
    }

    /// Shifts and scales the features of `x` in place: (x − mean) / std, or only x − mean where
    /// std is 0.
    ///
    /// # Panics
    /// If `x` has another number of columns than the statistics (a bug in the caller).
    pub fn apply(&self, x: &mut Array2<f64>) {
        assert_eq!(
            x.ncols(),
            self.mean.len(),
            "standardisation fitted on {} features applied to {}",
            self.mean.len(),
            x.ncols()
        );
        for mut row in x.rows_mut() {
            for ((value, &mean), &std) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *value -= mean;
                if std > 0.0 {
                    *value /= std;
                }
            }
        }
    }
}

/// Training and test sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The points to train on (at least one).
    pub train: Dataset,
    /// The held-out points (empty when `train_fraction` is 1).
    pub test: Dataset,
    /// The statistics used to standardise both sets (training set only), if `standardize` is on.
    pub standardization: Option<Standardization>,
}

/// Generates or reads the data, splits it into train and test (seeded), standardises if asked.
///
/// `seed` is the data seed: it drives the generator and the shuffle of the split. `base_dir` is
/// the folder relative CSV paths are taken from (the experiment file's folder).
pub fn load(spec: &DataSpec, seed: u64, base_dir: Option<&Path>) -> Result<Split, Error> {
    load_within(spec, seed, base_dir, csv_import::MAX_BYTES)
}

/// [`load`], reading at most `max_csv_bytes` of a CSV file.
pub fn load_within(
    spec: &DataSpec,
    seed: u64,
    base_dir: Option<&Path>,
    max_csv_bytes: u64,
) -> Result<Split, Error> {
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    let data = match &spec.source {
        DataSource::Csv(csv) => read_csv_within(csv, base_dir, max_csv_bytes)?,
        generator => generate(generator, spec.size, spec.noise, seed)?,
    };
    Ok(split(&data, spec.train_fraction, spec.standardize, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator_spec(source: DataSource) -> DataSpec {
        DataSpec {
            source,
            size: 100,
            noise: 0.1,
            train_fraction: 0.8,
            standardize: false,
        }
    }

    fn csv_spec(path: &str) -> DataSpec {
        generator_spec(DataSource::Csv(CsvSpec {
            path: path.into(),
            label: LabelColumn::Index(0),
            header: None,
            delimiter: ',',
        }))
    }

    #[test]
    fn problems_are_reported_in_words() {
        assert!(generator_spec(DataSource::Moons).problems().is_empty());
        assert!(csv_spec("a.csv").problems().is_empty());
        let mut spec = generator_spec(DataSource::Moons);
        spec.size = 0;
        spec.noise = -1.0;
        spec.train_fraction = 0.0;
        let problems = spec.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("at least 1"), "{problems:?}");
        assert!(problems[1].contains("0 or more"), "{problems:?}");
        assert!(problems[2].contains("train_fraction"), "{problems:?}");
        for fraction in [f64::NAN, 1.5, -0.2] {
            spec = generator_spec(DataSource::Xor);
            spec.train_fraction = fraction;
            assert_eq!(spec.problems().len(), 1, "{fraction}");
        }
        spec = generator_spec(DataSource::Xor);
        spec.noise = f64::INFINITY;
        assert!(spec.problems()[0].contains("finite"));
        spec.train_fraction = 1.0;
        spec.noise = 0.0;
        assert!(spec.problems().is_empty(), "a fraction of 1 is allowed");
        // A CSV source ignores size and noise but checks its own settings.
        let mut spec = csv_spec("");
        spec.size = 0;
        spec.noise = f64::NAN;
        if let DataSource::Csv(csv) = &mut spec.source {
            csv.delimiter = '"';
            csv.label = LabelColumn::Name(String::new());
        }
        let problems = spec.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("path is empty"), "{problems:?}");
    }

    #[test]
    fn dimensions_and_names_of_the_sources() {
        let names: Vec<&str> = DataSource::GENERATORS
            .iter()
            .map(DataSource::name)
            .collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), DataSource::GENERATORS.len());
        assert!(names.contains(&"two_spirals") && names.contains(&"donut_1d"));
        assert!(names.contains(&"swiss_roll") && names.contains(&"checkerboard"));
        for generator in DataSource::GENERATORS {
            assert_eq!(
                DataSource::generator_named(generator.name()),
                Some(generator)
            );
        }
        assert_eq!(DataSource::generator_named("csv"), None);
        assert_eq!(csv_spec("a.csv").source.name(), "csv");
        assert_eq!(generator_spec(DataSource::Donut1d).input_dim(), Some(1));
        assert_eq!(generator_spec(DataSource::Peaks).input_dim(), Some(2));
        assert_eq!(generator_spec(DataSource::Peaks).n_classes(), Some(5));
        assert_eq!(generator_spec(DataSource::Moons).n_classes(), Some(2));
        assert_eq!(csv_spec("a.csv").input_dim(), None);
        assert_eq!(csv_spec("a.csv").n_classes(), None);
    }

    #[test]
    fn load_generates_splits_and_standardises() {
        let mut spec = generator_spec(DataSource::TwoSpirals);
        spec.standardize = true;
        let split = load(&spec, 42, None).expect("loads");
        assert_eq!((split.train.len(), split.test.len()), (80, 20));
        assert_eq!(split.train.n_features(), 2);
        assert!(split.standardization.is_some());
        assert_eq!(
            load(&spec, 42, None).expect("loads"),
            split,
            "same seed, same split"
        );
        assert_ne!(load(&spec, 43, None).expect("loads").train.x, split.train.x);
        spec.size = 0;
        assert!(matches!(load(&spec, 42, None), Err(Error::InvalidSpec(_))));
    }

    #[test]
    fn load_reads_csv_relative_to_the_base_folder() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let rows = "0,0.5\n1,1.5\n2,2.5\n0,3.5\n1,4.5\n2,5.5\n0,6.5\n1,7.5\n2,8.5\n0,9.5\n";
        std::fs::write(folder.path().join("points.csv"), rows).expect("write");
        let mut spec = csv_spec("points.csv");
        spec.train_fraction = 1.0;
        let split = load(&spec, 0, Some(folder.path())).expect("loads");
        assert_eq!((split.train.len(), split.test.len()), (10, 0));
        assert_eq!(split.train.class_names, ["0", "1", "2"]);
        assert_eq!(split.test.n_features(), 1);
        let error = load(&spec, 0, None).expect_err("not in the working folder");
        assert!(error.to_string().ends_with("points.csv"), "{error}");
    }

    #[test]
    fn select_picks_rows_and_keeps_names() {
        let data = generate(&DataSource::Moons, 10, 0.0, 1).expect("generates");
        let batch = data.select(&[3, 0, 3]);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.x.row(0), data.x.row(3));
        assert_eq!(batch.x.row(2), data.x.row(3));
        assert_eq!(
            batch.labels,
            [data.labels[3], data.labels[0], data.labels[3]]
        );
        assert_eq!(batch.class_names, data.class_names);
        let empty = data.select(&[]);
        assert!(empty.is_empty());
        assert_eq!(empty.n_features(), 2);
    }
}

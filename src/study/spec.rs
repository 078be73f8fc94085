//! The study file (RON): a base experiment and the settings that vary.
//!
//! ```ron
//! (
//!     format_version: 1,
//!     name: "Integrators on two spirals",
//!     base: File("../resnet_euler_spirals.ron"),
//!     axes: [
//!         Vary("integrator", List([Euler, Heun, Rk4])),
//!         Vary("model.final_time", Range(2.0, 16.0, 8)),
//!         Vary("train.seeds.init", Seeds(5)),
//!     ],
//!     x: "h",
//!     metrics: ["test_accuracy", "final_loss"],
//! )
//! ```

use std::path::Path;

use ron::extensions::Extensions;
use ron::value::RawValue;
use serde::{Deserialize, Serialize};

use super::StudyError;

/// The newest study format this build reads.
pub const STUDY_FORMAT_VERSION: u32 = 1;

/// A study: runs of one base experiment over a grid of settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Format version of the study file.
    pub format_version: u32,
    /// Short name (figures are titled with it).
    pub name: String,
    /// What the study shows.
    #[serde(default)]
    pub notes: String,
    /// The experiment every run starts from.
    pub base: Base,
    /// What varies. Axes combine as a full grid, the last one fastest; a `Zip` group advances
    /// its axes together.
    pub axes: Vec<Axis>,
    /// Columns of `results.csv` drawn against `x` (default: final loss and test accuracy).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The setting on the figures' x axis, or `h` (the step `final_time / layers`); default
    /// the first axis of numbers.
    #[serde(default)]
    pub x: Option<String>,
    /// The settings that make one line of a figure each (default: every varied setting other
    /// than `x` and the seeds). Other varied settings get a figure of their own per value.
    #[serde(default)]
    pub group: Option<Vec<String>>,
}

/// Where the base experiment comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Base {
    /// An experiment file, relative to the study file's folder.
    File(String),
    /// An experiment written in the study file.
    Inline(Box<RawValue>),
}

/// One axis of the grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Axis {
    /// A setting by its path in the experiment file and its values.
    Vary(String, Values),
    /// Axes of equal length that advance together (one grid axis).
    Zip(Vec<Axis>),
}

/// The values of a setting.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Values {
    /// RON values, written as in an experiment file: `List([Euler, Rk4])`,
    /// `List([None, Skew(gamma: 0.0)])`, `List([0.1, 0.2])`.
    List(Vec<Box<RawValue>>),
    /// `count` numbers evenly spaced from `start` to `end` (both included).
    Range(f64, f64, usize),
    /// `count` numbers evenly spaced in logarithm from `start` to `end` (both included, > 0).
    LogRange(f64, f64, usize),
    /// The seeds `0, 1, ..., n − 1` (the axis the summary averages over).
    Seeds(usize),
}

impl Values {
    /// The values as RON text, or what is wrong with them.
    pub fn texts(&self) -> Result<Vec<String>, String> {
        match self {
            Values::List(values) => Ok(values
                .iter()
                .map(|v| v.get_ron().trim().to_owned())
                .collect()),
            Values::Range(start, end, count) => {
                range(*start, *end, *count, false).map(|xs| xs.into_iter().map(number).collect())
            }
            Values::LogRange(start, end, count) => {
                range(*start, *end, *count, true).map(|xs| xs.into_iter().map(number).collect())
            }
            Values::Seeds(n) => Ok((0..*n).map(|seed| seed.to_string()).collect()),
        }
    }

    /// Whether the values are seeds.
    #[must_use]
    pub fn is_seeds(&self) -> bool {
        matches!(self, Values::Seeds(_))
    }
}

/// Evenly spaced numbers (in logarithm when `log`).
fn range(start: f64, end: f64, count: usize, log: bool) -> Result<Vec<f64>, String> {
    if !start.is_finite() || !end.is_finite() {
        return Err(format!(
            "the range's ends must be finite numbers (got {start}, {end})"
        ));
    }
    if log && (start <= 0.0 || end <= 0.0) {
        return Err(format!(
            "a LogRange's ends must be above 0 (got {start}, {end})"
        ));
    }
    if count == 0 {
        return Err("the range has no values (count 0)".to_owned());
    }
    if count == 1 {
        return Ok(vec![start]);
    }
    let (a, b) = if log {
        (start.ln(), end.ln())
    } else {
        (start, end)
    };
    Ok((0..count)
        .map(|i| {
            let value = if i + 1 == count {
                b
            } else {
                a + (b - a) * (i as f64) / ((count - 1) as f64)
            };
            if i == 0 {
                start
            } else if i + 1 == count {
                end
            } else {
                tidy(if log { value.exp() } else { value })
            }
        })
        .collect())
}

/// `value` rounded to 14 significant digits: `12.8`, not `12.800000000000004` (the error of the
/// arithmetic that made it).
fn tidy(value: f64) -> f64 {
    format!("{value:.13e}").parse().unwrap_or(value)
}

/// A number as RON text that reads back as the same bits: integral values without a fraction
/// (so that they fit integer settings too: RON reads `8` as a float where one is expected).
#[must_use]
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        format!("{value:.0}")
    } else {
        format!("{value:?}")
    }
}

fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Parses a study file's text.
pub fn from_ron_str(text: &str) -> Result<Study, StudyError> {
    let study: Study = ron_options()
        .from_str(text)
        .map_err(|e| StudyError::Syntax {
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })?;
    if study.format_version != STUDY_FORMAT_VERSION {
        return Err(StudyError::Version(study.format_version));
    }
    Ok(study)
}

/// Reads a study file.
pub fn load(path: &Path) -> Result<Study, StudyError> {
    let text = std::fs::read_to_string(path).map_err(|e| StudyError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    from_ron_str(&text).map_err(|e| StudyError::InFile {
        path: path.to_owned(),
        error: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reach_both_ends_exactly() {
        let r = range(0.1, 0.8, 8, false).unwrap();
        assert_eq!(r.len(), 8);
        assert_eq!(r[0], 0.1);
        assert_eq!(r[7], 0.8);
        let l = range(1e-3, 1.0, 4, true).unwrap();
        assert_eq!((l[0], l[3]), (1e-3, 1.0));
        assert_eq!((l[1], l[2]), (1e-2, 1e-1));
        assert_eq!(
            range(3.2, 51.2, 5, true).unwrap(),
            [3.2, 6.4, 12.8, 25.6, 51.2]
        );
        assert!(range(0.0, 1.0, 3, true).is_err());
        assert!(range(0.0, f64::NAN, 3, false).is_err());
        assert!(range(0.0, 1.0, 0, false).is_err());
    }

    #[test]
    fn numbers_read_back_bit_for_bit() {
        for value in [0.1, 1.0 / 3.0, 8.0, -2.0, 1e-300, 6.02e23, 0.5] {
            let text = number(value);
            let back: f64 = ron::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), value.to_bits(), "{text}");
        }
        assert_eq!(number(8.0), "8");
        let layers: usize = ron::from_str(&number(16.0)).unwrap();
        assert_eq!(layers, 16);
    }

    #[test]
    fn parses_a_study_with_every_kind_of_axis() {
        let study = from_ron_str(
            r#"(
                format_version: 1,
                name: "s",
                base: Inline((format_version: 1, name: "b")),
                axes: [
                    Vary("integrator", List([Euler, ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30)])),
                    Zip([Vary("model.field", List([GradientFlow, ResNet])),
                         Vary("model.constraint", List([NegDef(eps: 0.1), Skew(gamma: 0.0)]))]),
                    Vary("model.final_time", LogRange(0.5, 8.0, 5)),
                    Vary("train.seeds.init", Seeds(3)),
                ],
                x: "h",
                group: ["integrator"],
            )"#,
        )
        .unwrap();
        assert_eq!(study.axes.len(), 4);
        let Axis::Vary(_, values) = &study.axes[0] else {
            panic!("a Vary axis")
        };
        assert_eq!(
            values.texts().unwrap(),
            [
                "Euler",
                "ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30)"
            ]
        );
        let Base::Inline(base) = &study.base else {
            panic!("an inline base")
        };
        assert_eq!(base.get_ron().trim(), "(format_version: 1, name: \"b\")");
        assert_eq!(study.x.as_deref(), Some("h"));
    }
}

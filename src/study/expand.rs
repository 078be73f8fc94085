//! A study expanded into its runs: each a complete experiment, checked before anything starts.

use std::path::Path;

use super::StudyError;
use super::settings::{self, SettingError};
use super::spec::{Axis, Base, Study};
use crate::experiment::{self, Experiment, Limits};

/// The most runs a study expands to without `--force`.
pub const MAX_RUNS: usize = 10_000;

/// Settings an experiment file may leave out entirely (so they are not among the paths of a
/// written document), still valid to vary.
const OPTIONAL_PATHS: &[&str] = &[
    "model.hidden",
    "model.activation2",
    "model.constraint2",
    "data.standardize",
];

/// One varied setting and its values, as RON text.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisValues {
    /// Its path in the experiment file.
    pub setting: String,
    /// Its values.
    pub values: Vec<String>,
    /// Whether these are the seeds the summary averages over.
    pub seeds: bool,
}

/// One run of a study.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Its index, from 0 (its folder is `runs/NNNN`).
    pub index: usize,
    /// The value of every varied setting, in the order of the axes.
    pub settings: Vec<(String, String)>,
    /// The complete experiment it runs.
    pub experiment: Experiment,
}

/// A study's runs.
#[derive(Clone, Debug)]
pub struct Expansion {
    /// The study.
    pub study: Study,
    /// The base experiment as written to each run (before its settings).
    pub base: Experiment,
    /// The varied settings.
    pub axes: Vec<AxisValues>,
    /// Every run, grid order (the last axis fastest).
    pub runs: Vec<Run>,
}

/// Expands `study` (its file's folder is `study_dir`, for a base given by path): the grid of
/// its axes, every run's experiment parsed and checked within `limits`. Refuses (naming the
/// axis, or the runs and their settings) before anything runs: an unknown setting (with the
/// nearest valid paths), a value that does not fit its setting, an empty or duplicate axis, a
/// `Zip` of unequal lengths, runs that `check` refuses, more than [`MAX_RUNS`] runs unless
/// `force`.
pub fn expand(
    study: &Study,
    study_dir: &Path,
    limits: Limits,
    force: bool,
) -> Result<Expansion, StudyError> {
    let base = base_experiment(study, study_dir)?;
    let base_text =
        experiment::to_ron_string(&base).map_err(|e| StudyError::Base(e.to_string()))?;
    let known = known_paths(&base_text);

    // The grid's dimensions: each a list of rows of (setting, value) pairs.
    let mut problems = Vec::new();
    let mut axes = Vec::new();
    let mut dimensions: Vec<Vec<Vec<(String, String)>>> = Vec::new();
    if study.axes.is_empty() {
        problems.push("the study has no axes: name at least one setting to vary".to_owned());
    }
    for axis in &study.axes {
        let members: Vec<(&String, &super::Values)> = match axis {
            Axis::Vary(setting, values) => vec![(setting, values)],
            Axis::Zip(inner) => {
                let mut members = Vec::new();
                for axis in inner {
                    match axis {
                        Axis::Vary(setting, values) => members.push((setting, values)),
                        Axis::Zip(_) => problems.push(
                            "a Zip holds Vary axes only (a Zip inside a Zip is one Zip)".into(),
                        ),
                    }
                }
                if members.is_empty() {
                    problems.push("a Zip has no axes".to_owned());
                }
                members
            }
        };
        let mut columns = Vec::new();
        for (setting, values) in members {
            match values.texts() {
                Err(message) => problems.push(format!("{setting}: {message}")),
                Ok(texts) if texts.is_empty() => {
                    problems.push(format!("{setting}: the axis has no values"));
                }
                Ok(texts) => {
                    if axes.iter().any(|a: &AxisValues| a.setting == *setting) {
                        problems.push(format!("{setting}: varied by two axes"));
                        continue;
                    }
                    if let Err(problem) = check_setting(&base_text, &known, setting, &texts) {
                        problems.push(problem);
                        continue;
                    }
                    axes.push(AxisValues {
                        setting: setting.clone(),
                        values: texts.clone(),
                        seeds: values.is_seeds(),
                    });
                    columns.push((setting.clone(), texts));
                }
            }
        }
        if columns.is_empty() {
            continue;
        }
        let len = columns[0].1.len();
        if columns.iter().any(|(_, values)| values.len() != len) {
            let lengths: Vec<String> = columns
                .iter()
                .map(|(s, v)| format!("{s}: {}", v.len()))
                .collect();
            problems.push(format!(
                "the axes of a Zip advance together and need as many values each (got {})",
                lengths.join(", ")
            ));
            continue;
        }
        dimensions.push(
            (0..len)
                .map(|i| {
                    columns
                        .iter()
                        .map(|(s, v)| (s.clone(), v[i].clone()))
                        .collect()
                })
                .collect(),
        );
    }
    if !problems.is_empty() {
        return Err(StudyError::Axes(problems));
    }
    let total = dimensions
        .iter()
        .fold(1_u128, |n, d| n.saturating_mul(d.len() as u128));
    if total > MAX_RUNS as u128 && !force {
        return Err(StudyError::TooMany {
            runs: total,
            limit: MAX_RUNS,
        });
    }
    let total = usize::try_from(total).map_err(|_| StudyError::TooMany {
        runs: total,
        limit: MAX_RUNS,
    })?;

    let mut runs = Vec::with_capacity(total);
    let mut problems = Vec::new();
    for index in 0..total {
        // Mixed radix, the last axis fastest.
        let mut rest = index;
        let mut picks = vec![0; dimensions.len()];
        for (pick, dimension) in picks.iter_mut().zip(&dimensions).rev() {
            *pick = rest % dimension.len();
            rest /= dimension.len();
        }
        let settings: Vec<(String, String)> = dimensions
            .iter()
            .zip(&picks)
            .flat_map(|(dimension, &pick)| dimension[pick].iter().cloned())
            .collect();
        let label = describe(&settings);
        match run_experiment(&base_text, &base.name, &settings) {
            Err(message) => problems.push(format!("run {index} ({label}): {message}")),
            Ok(exp) => {
                if let Err(found) = experiment::check_with(&exp, limits) {
                    for problem in &found {
                        problems.push(format!("run {index} ({label}): {problem}"));
                    }
                }
                runs.push(Run {
                    index,
                    settings,
                    experiment: exp,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(StudyError::Runs(problems));
    }
    Ok(Expansion {
        study: study.clone(),
        base,
        axes,
        runs,
    })
}

/// `setting=value, ...`
#[must_use]
pub fn describe(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(s, v)| format!("{s}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The base experiment of a study, without a checkpoint.
fn base_experiment(study: &Study, study_dir: &Path) -> Result<Experiment, StudyError> {
    let exp = match &study.base {
        Base::File(path) => {
            let path = study_dir.join(path);
            let mut exp = experiment::load(&path).map_err(|e| StudyError::Base(e.to_string()))?;
            // Data paths are taken from the study's folder from here on.
            if let Some(dir) = path.parent() {
                experiment::io::rebase_paths(&mut exp, dir, study_dir);
            }
            exp
        }
        Base::Inline(raw) => experiment::from_ron_str(raw.get_ron())
            .map_err(|e| StudyError::Base(format!("(inline) {e}")))?,
    };
    if exp.checkpoint.is_some() {
        return Err(StudyError::Base(
            "it has a checkpoint (it is a saved run); a study's runs start from the beginning: \
             use the experiment file it was trained from"
                .to_owned(),
        ));
    }
    Ok(exp)
}

/// Every setting path of the base document and those a document may leave out.
fn known_paths(base_text: &str) -> Vec<String> {
    let mut known = settings::paths(base_text).unwrap_or_default();
    known.extend(OPTIONAL_PATHS.iter().map(|p| (*p).to_owned()));
    known
}

/// Whether `setting` exists and every value fits it (parses into the experiment).
fn check_setting(
    base_text: &str,
    known: &[String],
    setting: &str,
    values: &[String],
) -> Result<(), String> {
    if !known.iter().any(|k| k == setting) {
        let mut near: Vec<(usize, &String)> = known
            .iter()
            .filter(|k| !k.starts_with("checkpoint"))
            .map(|k| (distance(k, setting), k))
            .collect();
        near.sort();
        let near: Vec<&str> = near.iter().take(3).map(|(_, k)| k.as_str()).collect();
        return Err(format!(
            "{setting}: no such setting in the experiment file; nearest: {}",
            near.join(", ")
        ));
    }
    for value in values {
        let text = settings::set(base_text, setting, value).map_err(|e| match e {
            SettingError::NotAStructure { .. } => format!("{setting}: {e}"),
            other => format!("{setting} = {value}: {other}"),
        })?;
        if let Err(e) = experiment::from_ron_str(&text) {
            let message = match e {
                experiment::Error::Syntax { message, .. } => message,
                other => other.to_string(),
            };
            return Err(format!(
                "{setting} = {value}: the value does not fit the setting ({message})"
            ));
        }
    }
    Ok(())
}

/// The experiment of one run: the base with its settings, named after them.
fn run_experiment(
    base_text: &str,
    base_name: &str,
    settings: &[(String, String)],
) -> Result<Experiment, String> {
    let mut text = base_text.to_owned();
    for (setting, value) in settings {
        text = settings::set(&text, setting, value).map_err(|e| e.to_string())?;
    }
    let mut exp = experiment::from_ron_str(&text).map_err(|e| e.to_string())?;
    exp.name = format!("{base_name} [{}]", describe(settings));
    Ok(exp)
}

/// Edit distance of two paths (characters), for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

//! Reading and writing experiment files (RON), with format versions and atomic saves.
//!
//! # The file format
//!
//! An experiment file is one RON document, a struct whose first field is `format_version`:
//!
//! ```ron
//! (
//!     format_version: 1,
//!     name: "spirals",
//!     data: (source: TwoSpirals, size: 400, noise: 0.05),
//!     model: (field: ResNet, activation: Tanh, width: 2, layers: 16, final_time: 1.6),
//!     integrator: Rk4,
//!     train: (optimizer: Adam(lr: 0.01), iterations: 100),
//! )
//! ```
//!
//! Every struct refuses unknown fields, so a misspelt setting is an error with its line and
//! column, never silently ignored. Optional settings may be written bare: `hidden: 8` means
//! `hidden: Some(8)` (RON's `implicit_some` extension, always on; `Some(8)` is accepted too, and
//! no `#![enable(..)]` line is needed). Files are written in that bare form. One consequence of
//! the bare form: the constraint called `None` is written `r#None` (a raw identifier), so that
//! `constraint2: r#None` ("no constraint on `A₂`") differs from `constraint2: None` ("unset");
//! `constraint: None` is still read as the `None` constraint. Newtype variants keep RON's
//! standard double parentheses: `Tableau((a: [[0.0]], b: [1.0]))`.
//!
//! Floats are written in their shortest form that reads back to the same bits, so a checkpoint
//! saved and loaded resumes bit-exactly.
//!
//! # Versions
//!
//! [`from_ron_str`] reads `format_version` first, with a lenient parse that ignores every other
//! field: a file from a newer flowlab, which may have settings this build does not know, is
//! refused because of its version (naming both versions), not because of an unknown field.
//! Files of older versions are brought up to date by explicit migrations (see `migrate`).
//!
//! Loading does not validate: a file that parses but has problems (say, `width: 0`) loads, so
//! that a user interface can show it and list its problems ([`super::check`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ron::extensions::Extensions;
use serde::Deserialize;

use super::check::Problems;
use super::spec::{Checkpoint, Experiment, FORMAT_VERSION};

/// Everything that can go wrong reading, writing or validating an experiment.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The text is not a valid experiment document: RON syntax, an unknown or missing field, a
    /// value of the wrong type. Line and column are 1-based; the column counts characters.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based, in characters).
        column: usize,
        /// What is wrong, in words.
        message: String,
    },
    /// The document has no `format_version` field.
    #[error(
        "the document has no format_version; an experiment file starts with \
         `format_version: {FORMAT_VERSION}`"
    )]
    MissingVersion,
    /// The document states a format version that never existed (0).
    #[error("format_version {file_version} does not exist (versions start at 1)")]
    InvalidVersion {
        /// The version stated in the document.
        file_version: u32,
    },
    /// The document was written by a newer flowlab.
    #[error(
        "the file has format_version {file_version}, but this build of flowlab reads versions up \
         to {supported}; open it with a newer flowlab"
    )]
    TooNew {
        /// The version stated in the document.
        file_version: u32,
        /// The newest version this build reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// Reading or writing a file failed.
    #[error("cannot {operation} the file ({error}): {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done: "read", "write", ...
        operation: &'static str,
        /// The operating system's error. Not exposed as `source()`: the message already
        /// contains it, and error chains would print it twice.
        error: io::Error,
    },
    /// The experiment could not be written as RON.
    #[error("cannot write the experiment as RON: {message}")]
    Serialize {
        /// The serialiser's message.
        message: String,
    },
    /// The experiment parsed but has problems ([`super::check`]).
    #[error("{0}")]
    Invalid(Problems),
    /// An error of the document in a file: the message of `error` followed by the path.
    #[error("{error} in {}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        error: Box<Error>,
    },
}

impl Error {
    /// The error without the file it was found in: for [`Error::InFile`] the inner error,
    /// otherwise `self`. Handy to match on the kind of error a [`load`] returned.
    #[must_use]
    pub fn without_path(&self) -> &Error {
        match self {
            Error::InFile { error, .. } => error.without_path(),
            other => other,
        }
    }
}

/// The RON options used for reading and writing: `implicit_some` on by default (see the
/// module documentation).
fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Just the version of a document. Serde ignores the other fields (no `deny_unknown_fields`).
/// Named like the real struct, because RON checks a struct name written in the file
/// (`Experiment(format_version: 1, ..)`).
#[derive(Deserialize)]
#[serde(rename = "Experiment")]
struct VersionProbe {
    #[serde(default)]
    format_version: Option<u32>,
}

/// Parses an experiment document.
///
/// The version is read first: a missing `format_version`, version 0 and versions newer than
/// [`FORMAT_VERSION`] are refused before the rest of the document is looked at; older versions
/// are migrated. The result is not validated (see [`super::check`]).
///
/// ```
/// use flowlab::experiment::{check, from_ron_str, to_ron_string};
///
/// let text = r#"(
///     format_version: 1,
///     name: "spirals",
///     data: (source: TwoSpirals, size: 400, noise: 0.05),
///     model: (field: ResNet, activation: Tanh, width: 2, layers: 16, final_time: 1.6),
///     integrator: Rk4,
///     train: (optimizer: Adam(lr: 0.01), iterations: 100),
/// )"#;
/// let exp = from_ron_str(text)?;
/// assert!(check(&exp).is_ok());
/// assert_eq!(from_ron_str(&to_ron_string(&exp)?)?, exp);
///
/// let typo = text.replace("width", "widht");
/// let error = from_ron_str(&typo).unwrap_err().to_string();
/// assert!(error.starts_with("syntax error at line 5, column 46: "), "{error}");
/// # Ok::<(), flowlab::experiment::Error>(())
/// ```
pub fn from_ron_str(text: &str) -> Result<Experiment, Error> {
    let probe: VersionProbe = ron_options()
        .from_str(text)
        .map_err(|error| syntax_error(text, &error))?;
    match probe.format_version {
        None => Err(Error::MissingVersion),
        Some(0) => Err(Error::InvalidVersion { file_version: 0 }),
        Some(FORMAT_VERSION) => parse_current(text),
        Some(file_version) if file_version > FORMAT_VERSION => Err(Error::TooNew {
            file_version,
            supported: FORMAT_VERSION,
        }),
        Some(file_version) => migrate(text, file_version),
    }
}

/// Parses a document of the current format version.
fn parse_current(text: &str) -> Result<Experiment, Error> {
    ron_options()
        .from_str(text)
        .map_err(|error| syntax_error(text, &error))
}

/// Reads a document of an older format version and brings it up to [`FORMAT_VERSION`].
///
/// Migrations work on typed documents, not on a generic RON tree: `ron::Value` forgets enum
/// variant names (`Rk4` becomes `()`) and narrows floats, so it cannot carry an experiment.
/// When version `n + 1` appears, the version-`n` spec types are frozen in `experiment/v{n}.rs`
/// with a `From<v{n}::Experiment>` for the next version, and this function gets one arm per past
/// version: parse with that version's types, then convert step by step up to the current one.
/// Each migration gets a test that loads a file written by the old version.
fn migrate(text: &str, from_version: u32) -> Result<Experiment, Error> {
    // FORMAT_VERSION is 1: no older version exists yet. The match is where the arms go, e.g.
    // `1 => v1::parse(text).map(v2::Experiment::from).map(Experiment::from)`.
    match from_version {
        FORMAT_VERSION => parse_current(text),
        file_version => Err(Error::InvalidVersion { file_version }),
    }
}

/// Turns a RON error into [`Error::Syntax`], with a message that reads as part of a sentence and
/// names the setting when RON does not.
fn syntax_error(text: &str, error: &ron::error::SpannedError) -> Error {
    let (line, column) = next_token(text, error.span.start.line, error.span.start.col);
    let mut message = lowercase_first(&error.code.to_string());
    let names_field = matches!(
        error.code,
        ron::Error::NoSuchStructField { .. }
            | ron::Error::MissingStructField { .. }
            | ron::Error::DuplicateStructField { .. }
    );
    if !names_field && let Some(field) = field_before(text, line, column) {
        message = format!("{message} (setting `{field}`)");
    }
    Error::Syntax {
        line,
        column,
        message,
    }
}

/// The position of the first character at or after `line`, `column` (1-based, characters) that
/// is not whitespace: RON reports some errors where it started skipping the whitespace before a
/// value, but the user wants to be pointed at the value. Unchanged if only whitespace follows.
fn next_token(text: &str, line: usize, column: usize) -> (usize, usize) {
    if line == 0 {
        return (line, column);
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = &text[line_start..];
    let mut chars = rest.chars().skip(column.saturating_sub(1)).peekable();
    let (mut at_line, mut at_column) = (line, column);
    while let Some(&c) = chars.peek() {
        if !c.is_whitespace() {
            return (at_line, at_column);
        }
        if c == '\n' {
            at_line += 1;
            at_column = 1;
        } else {
            at_column += 1;
        }
        chars.next();
    }
    (line, column)
}

/// Lowercases the first letter of a message unless it starts an acronym ("RON").
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(message.chars().skip(1))
            .collect(),
        _ => message.to_owned(),
    }
}

/// The name of the field whose value starts at `line`, `column` (1-based, characters), if the
/// text there reads `name: ` just before it.
fn field_before(text: &str, line: usize, column: usize) -> Option<&str> {
    let line_text = text.split('\n').nth(line.checked_sub(1)?)?;
    let end = line_text
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map_or(line_text.len(), |(index, _)| index);
    let before = line_text[..end].trim_end().strip_suffix(':')?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |(index, c)| index + c.len_utf8());
    let name = &before[start..];
    let first = name.chars().next()?;
    (first.is_alphabetic() || first == '_').then_some(name)
}

/// Writes an experiment as a readable RON document, `format_version` first.
///
/// Sections and their settings get a line each; values below that (a constraint's parameters,
/// the optimiser's settings, a tableau's rows, the parameter buffer) are written on one line.
/// The checkpoint's history gets one line per record. The document always states
/// [`FORMAT_VERSION`] (the format it is written in), whatever `exp.format_version` says. Floats
/// are written so that they read back bit-exactly.
pub fn to_ron_string(exp: &Experiment) -> Result<String, Error> {
    // Listing every field (no `..`) makes adding a field to `Experiment` fail to compile here
    // rather than silently drop it from files.
    let Experiment {
        format_version: _,
        name,
        notes,
        data,
        model,
        integrator,
        gradient,
        train,
        diagnostics,
        checkpoint,
    } = exp;
    // The checkpoint is written by hand below; it is not cloned.
    let without_checkpoint = Experiment {
        format_version: FORMAT_VERSION,
        name: name.clone(),
        notes: notes.clone(),
        data: data.clone(),
        model: model.clone(),
        integrator: integrator.clone(),
        gradient: gradient.clone(),
        train: train.clone(),
        diagnostics: diagnostics.clone(),
        checkpoint: None,
    };
    let mut text = to_ron(&without_checkpoint, 2)?;
    if let Some(checkpoint) = checkpoint {
        // The document is a struct: it ends with its closing parenthesis.
        let Some(open) = text.strip_suffix(')') else {
            return Err(Error::Serialize {
                message: format!("the document does not end with `)`: {text}"),
            });
        };
        text = format!("{open}{})", checkpoint_ron(checkpoint)?);
    }
    text.push('\n');
    Ok(text)
}

/// The checkpoint section, indented for the top level, ending with a new line.
fn checkpoint_ron(checkpoint: &Checkpoint) -> Result<String, Error> {
    // Exhaustive: a new field in `Checkpoint` must be written here.
    let Checkpoint {
        iteration,
        params,
        optimizer,
        history,
    } = checkpoint;
    let mut lines = vec![
        "    checkpoint: (".to_owned(),
        format!("        iteration: {},", to_ron(iteration, 0)?),
        format!("        params: {},", to_ron(params, 0)?),
        format!("        optimizer: {},", to_ron(optimizer, 0)?),
    ];
    if history.is_empty() {
        lines.push("        history: [],".to_owned());
    } else {
        lines.push("        history: [".to_owned());
        for record in history {
            lines.push(format!("            {},", to_ron(record, 0)?));
        }
        lines.push("        ],".to_owned());
    }
    lines.push("    ),".to_owned());
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// `value` in RON, with a line per item down to `depth` levels of nesting and everything deeper
/// on one line (`depth` 0: all on one line).
fn to_ron<T: serde::Serialize>(value: &T, depth: usize) -> Result<String, Error> {
    let config = ron::ser::PrettyConfig::new()
        .new_line("\n")
        .indentor("    ")
        .separator(" ")
        .depth_limit(depth)
        .extensions(Extensions::IMPLICIT_SOME);
    ron_options()
        .to_string_pretty(value, config)
        .map_err(|error| Error::Serialize {
            message: error.to_string(),
        })
}

/// Reads and parses an experiment file (not validated; see [`super::check`]).
///
/// Errors about the content are [`Error::InFile`], whose message ends with the path:
/// "syntax error at line 3, column 7: ... in experiments/x.ron".
pub fn load(path: &Path) -> Result<Experiment, Error> {
    let text = fs::read_to_string(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        operation: "read",
        error,
    })?;
    from_ron_str(&text).map_err(|error| Error::InFile {
        path: path.to_owned(),
        error: Box::new(error),
    })
}

/// Writes an experiment file atomically: the document goes to a temporary file in the same
/// folder, which is flushed to disk and then renamed over `path`. A crash or a full disk leaves
/// either the old file or the new one, never a half-written file; the temporary file is removed
/// when anything fails.
pub fn save(exp: &Experiment, path: &Path) -> Result<(), Error> {
    let text = to_ron_string(exp)?;
    super::files::write_atomic(path, text.as_bytes()).map_err(|error| Error::Io {
        path: path.to_owned(),
        operation: "write",
        error,
    })
}

/// Rewrites the experiment's relative file paths (a CSV data source), which are relative to the
/// folder of the file it was read from, `from_dir`, so that they reach the same files from
/// `to_dir`: a copy saved there (a run's `experiment.ron` with its checkpoint) loads, resumes
/// and diagnoses from its new folder. Absolute paths stay; where no relative path leads from
/// `to_dir` to the file, the absolute path is written.
pub fn rebase_paths(exp: &mut Experiment, from_dir: &Path, to_dir: &Path) {
    let crate::data::DataSource::Csv(csv) = &mut exp.data.source else {
        return;
    };
    let path = Path::new(&csv.path);
    if path.is_absolute() {
        return;
    }
    let (Some(target), Some(base)) = (absolute(&from_dir.join(path)), absolute(to_dir)) else {
        return;
    };
    let rebased = relative_path(&target, &base).unwrap_or(target);
    csv.path = rebased.to_string_lossy().into_owned();
}

/// The absolute form of a path (symbolic links resolved where the path exists); an empty path
/// is the working folder.
fn absolute(path: &Path) -> Option<PathBuf> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .ok()
}

/// The relative path from the folder `base` to `target`, both absolute; `None` when they share
/// no root (another drive).
fn relative_path(target: &Path, base: &Path) -> Option<PathBuf> {
    let target: Vec<_> = target.components().collect();
    let base: Vec<_> = base.components().collect();
    if target.first() != base.first() {
        return None;
    }
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for component in &target[common..] {
        relative.push(component);
    }
    Some(relative)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::experiment::spec::FieldKind;
    use crate::train::optimizer::OptimizerState;
    use proptest::prelude::*;

    /// A small valid document.
    pub(in crate::experiment) const EXAMPLE: &str = r#"// Two spirals, skew-symmetric ResNet.
(
    format_version: 1,
    name: "spirals",
    data: (source: TwoSpirals, size: 400, noise: 0.05),
    model: (field: ResNet, activation: Tanh, width: 2, layers: 16, final_time: 1.6, constraint: Skew(gamma: 0.0)),
    integrator: Rk4,
    gradient: Dto,
    train: (optimizer: Adam(lr: 0.01), iterations: 100),
)
"#;

    /// A document that sets every section, with awkward floats in the checkpoint.
    pub(in crate::experiment) const FULL: &str = r#"(
    format_version: 1,
    name: "hamiltonian spirals",
    notes: "Chang et al. 2018, with a \"quoted\" word\nand a second line",
    data: (source: TwoSpirals, size: 400, noise: 0.05, train_fraction: 0.75, standardize: true),
    model: (
        field: Hamiltonian,
        activation: Tanh,
        activation2: LeakyRelu(0.01),
        width: 2,
        hidden: 2,
        layers: 16,
        final_time: 1.6,
        lift: Linear,
        head: SigmoidSquaredError,
        constraint: Skew(gamma: 0.1),
        constraint2: SpectralNorm(max: 2.0),
        init_scale: 0.5,
    ),
    integrator: Tableau((
        name: "Heun",
        a: [[0.0, 0.0], [1.0, 0.0]],
        b: [0.5, 0.5],
        c: Some([0.0, 1.0]),
        order: 2,
    )),
    gradient: Backward(Rk4),
    train: (
        optimizer: Adam(lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8),
        batch: MiniBatch(32),
        iterations: 100,
        weight_decay: 1e-4,
        time_smoothness: 0.01,
        seeds: (data: 7, init: 8, batch: 9),
        eval_every: 5,
    ),
    diagnostics: (every: 10, probes: 8, epsilon: 1e-3, grid: 32),
    checkpoint: (
        iteration: 2,
        params: [0.30000000000000004, 1e-300, -0.0, 5e-324, 1.7976931348623157e308],
        optimizer: Adam(m: [0.1, 0.2, 0.3, 0.4, 0.5], v: [1e-9, 2e-9, 3e-9, 4e-9, 5e-9], t: 2),
        history: [
            (iteration: 1, loss: 0.6931471805599453, grad_norm: 0.5),
            (iteration: 2, loss: 0.69, grad_norm: 0.4, train_accuracy: 0.5, test_accuracy: 0.25),
        ],
    ),
)
"#;

    /// 1-based line and column (in characters) of the first occurrence of `needle`.
    fn position_of(text: &str, needle: &str) -> (usize, usize) {
        let offset = text.find(needle).expect("needle in text");
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn syntax_parts(error: &Error) -> (usize, usize, String) {
        match error.without_path() {
            Error::Syntax {
                line,
                column,
                message,
            } => (*line, *column, message.clone()),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn the_example_parses() {
        let exp = from_ron_str(EXAMPLE).expect("example parses");
        assert_eq!(exp.format_version, FORMAT_VERSION);
        assert_eq!(exp.model.width, 2);
        assert_eq!(exp.model.hidden, None);
    }

    #[test]
    fn a_full_document_round_trips() {
        let exp = from_ron_str(FULL).expect("full document parses");
        assert_eq!(exp.model.hidden, Some(2));
        let text = to_ron_string(&exp).expect("serialises");
        assert!(
            text.starts_with("(\n    format_version: 1,\n"),
            "format_version first:\n{text}"
        );
        let again = from_ron_str(&text).expect("written text parses");
        assert_eq!(again, exp);
        assert_eq!(to_ron_string(&again).expect("serialises"), text);

        // The bare form of optional settings, and the raw `None` constraint.
        assert!(text.contains("hidden: 2,"), "{text}");
        // Settings one per line, small values on one line, a history record per line.
        for line in [
            "\n        c: [0.0, 1.0],\n",
            "\n        constraint: Skew(gamma: 0.1),\n",
            "\n        optimizer: Adam(lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8),\n",
            "\n            (iteration: 1, loss: 0.6931471805599453, grad_norm: 0.5),\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }

        // A checkpoint with an empty history, and none at all.
        let mut fresh = exp.clone();
        fresh
            .checkpoint
            .as_mut()
            .expect("FULL has a checkpoint")
            .history
            .clear();
        let text = to_ron_string(&fresh).expect("serialises");
        assert!(text.contains("\n        history: [],\n"), "{text}");
        assert_eq!(from_ron_str(&text).expect("parses"), fresh);
        fresh.checkpoint = None;
        let text = to_ron_string(&fresh).expect("serialises");
        assert!(!text.contains("checkpoint"), "{text}");
        assert_eq!(from_ron_str(&text).expect("parses"), fresh);
        let mut plain = exp.clone();
        plain.model.field = FieldKind::GradientFlow;
        plain.model.constraint2 = Some(crate::model::Constraint::None);
        plain.model.constraint = crate::model::Constraint::None;
        let text = to_ron_string(&plain).expect("serialises");
        assert_eq!(from_ron_str(&text).expect("parses"), plain);
    }

    #[test]
    fn floats_round_trip_bit_exactly() {
        let mut exp = from_ron_str(FULL).expect("full document parses");
        let awkward = [
            0.1 + 0.2,
            1e-300,
            -0.0,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            -f64::MAX,
            1.0 / 3.0,
            1e22,
            123_456_789.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        exp.model.final_time = 0.1 + 0.2;
        exp.train.weight_decay = -0.0;
        let checkpoint = exp.checkpoint.as_mut().expect("FULL has a checkpoint");
        checkpoint.params = awkward.to_vec();
        checkpoint.optimizer = OptimizerState::Sgd {
            velocity: awkward.iter().map(|x| -x).collect(),
        };
        let text = to_ron_string(&exp).expect("serialises");
        let again = from_ron_str(&text).expect("parses");
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let back = again.checkpoint.as_ref().expect("checkpoint kept");
        assert_eq!(bits(&back.params), bits(&awkward), "{text}");
        let OptimizerState::Sgd { velocity } = &back.optimizer else {
            panic!("optimizer state kind changed");
        };
        let negated: Vec<f64> = awkward.iter().map(|x| -x).collect();
        assert_eq!(bits(velocity), bits(&negated));
        assert_eq!(again.model.final_time.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(again.train.weight_decay.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn the_written_version_is_always_current() {
        let mut exp = from_ron_str(EXAMPLE).expect("example parses");
        exp.format_version = 0;
        let text = to_ron_string(&exp).expect("serialises");
        assert_eq!(
            from_ron_str(&text).expect("parses").format_version,
            FORMAT_VERSION
        );
    }

    #[test]
    fn a_struct_name_in_the_file_is_accepted() {
        let text = EXAMPLE.replacen("\n(\n", "\nExperiment(\n", 1);
        assert_eq!(
            from_ron_str(&text).expect("parses"),
            from_ron_str(EXAMPLE).expect("parses")
        );
    }

    #[test]
    fn optional_settings_may_be_bare_or_wrapped() {
        let bare = EXAMPLE.replace("width: 2,", "width: 2, hidden: 2,");
        let wrapped = EXAMPLE.replace("width: 2,", "width: 2, hidden: Some(2),");
        let bare = from_ron_str(&bare).expect("bare parses");
        assert_eq!(bare.model.hidden, Some(2));
        assert_eq!(from_ron_str(&wrapped).expect("wrapped parses"), bare);
    }

    #[test]
    fn a_syntax_error_has_line_and_column() {
        let text = EXAMPLE.replace("layers: 16, final_time", "layers: 16 final_time");
        let error = from_ron_str(&text).expect_err("missing comma");
        let (line, column, message) = syntax_parts(&error);
        assert_eq!((line, column), position_of(&text, "final_time"));
        assert!(message.contains("comma"), "{message}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("syntax error at line {line}, column {column}: ")),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_field_is_named_with_its_position() {
        let text = EXAMPLE.replace("width: 2", "widht: 2");
        let error = from_ron_str(&text).expect_err("unknown field");
        let (line, column, message) = syntax_parts(&error);
        assert_eq!((line, column), position_of(&text, "widht"));
        assert!(message.contains("`widht`"), "{message}");
        assert!(
            message.contains("`width`"),
            "suggests the fields: {message}"
        );
    }

    #[test]
    fn a_wrong_type_names_the_setting() {
        let text = EXAMPLE.replace("width: 2", "width: \"two\"");
        let error = from_ron_str(&text).expect_err("wrong type");
        let (line, column, message) = syntax_parts(&error);
        assert_eq!((line, column), position_of(&text, "\"two\""));
        assert!(message.contains("`width`"), "{message}");
        assert!(message.contains("integer"), "{message}");
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = EXAMPLE.replace("layers: 16, ", "");
        let error = from_ron_str(&text).expect_err("missing field");
        let (line, _, message) = syntax_parts(&error);
        assert_eq!(line, position_of(&text, "model:").0);
        assert!(message.contains("`layers`"), "{message}");
    }

    #[test]
    fn a_newer_version_is_refused_by_version_not_by_its_new_fields() {
        let text = EXAMPLE.replace(
            "format_version: 1,",
            "format_version: 99,\n    hyperdrive: (warp: 9, engage: Some(true)),",
        );
        let error = from_ron_str(&text).expect_err("too new");
        assert!(
            matches!(
                error,
                Error::TooNew {
                    file_version: 99,
                    supported: FORMAT_VERSION
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("99") && message.contains("up to 1"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_version_is_refused_saying_so() {
        let text = EXAMPLE.replace("format_version: 1,", "");
        let error = from_ron_str(&text).expect_err("no version");
        assert!(matches!(error, Error::MissingVersion), "{error:?}");
        assert!(error.to_string().contains("format_version"));
    }

    #[test]
    fn version_zero_is_invalid() {
        let text = EXAMPLE.replace("format_version: 1,", "format_version: 0,");
        let error = from_ron_str(&text).expect_err("version 0");
        assert!(
            matches!(error, Error::InvalidVersion { file_version: 0 }),
            "{error:?}"
        );
    }

    #[test]
    fn a_version_of_the_wrong_type_is_a_syntax_error() {
        let text = EXAMPLE.replace("format_version: 1,", "format_version: \"1\",");
        let (line, column, message) = syntax_parts(&from_ron_str(&text).expect_err("string"));
        assert_eq!((line, column), position_of(&text, "\"1\""));
        assert!(message.contains("`format_version`"), "{message}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("(format_version: 1, x: {})", "[".repeat(100_000));
        assert!(matches!(from_ron_str(&text), Err(Error::Syntax { .. })));
    }

    #[test]
    fn save_is_atomic_and_replaces_the_file() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("spirals.ron");
        let mut exp = from_ron_str(EXAMPLE).expect("example parses");
        save(&exp, &path).expect("first save");
        assert_eq!(load(&path).expect("loads"), exp);

        exp.name = "renamed".into();
        exp.model.layers = 32;
        save(&exp, &path).expect("second save");
        assert_eq!(load(&path).expect("loads"), exp);

        let entries: Vec<_> = fs::read_dir(folder.path())
            .expect("lists")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("spirals.ron")]);
    }

    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().expect("temp dir");
        // A folder where the file should be: the rename fails after the temporary file is
        // written.
        let path = folder.path().join("taken.ron");
        fs::create_dir(&path).expect("makes a folder");
        fs::write(path.join("keep"), "x").expect("fills it");
        let exp = from_ron_str(EXAMPLE).expect("example parses");
        let error = save(&exp, &path).expect_err("cannot replace a folder");
        assert!(
            error.to_string().ends_with(&path.display().to_string()),
            "{error}"
        );
        let entries: Vec<_> = fs::read_dir(folder.path())
            .expect("lists")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("taken.ron")]);
    }

    #[test]
    fn saving_into_a_missing_folder_names_the_path() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("missing").join("x.ron");
        let exp = from_ron_str(EXAMPLE).expect("example parses");
        let error = save(&exp, &path).expect_err("no folder");
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert!(
            error.to_string().ends_with(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn loading_a_missing_file_names_the_path() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("nothing-here.ron");
        let error = load(&path).expect_err("missing file");
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.ends_with(&path.display().to_string()), "{message}");
        assert!(message.contains("read"), "{message}");
    }

    #[test]
    fn a_load_error_puts_the_path_last() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("broken.ron");
        let text = EXAMPLE.replace("width: 2", "widht: 2");
        fs::write(&path, &text).expect("writes");
        let error = load(&path).expect_err("unknown field");
        let (line, column) = position_of(&text, "widht");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("syntax error at line {line}, column {column}: ")),
            "{message}"
        );
        assert!(
            message.ends_with(&format!(" in {}", path.display())),
            "{message}"
        );
        assert!(matches!(error.without_path(), Error::Syntax { .. }));
    }

    #[test]
    fn errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }

    #[test]
    fn messages_read_as_part_of_a_sentence() {
        assert_eq!(lowercase_first("Expected integer"), "expected integer");
        assert_eq!(lowercase_first("RON is odd"), "RON is odd");
        assert_eq!(lowercase_first(""), "");
        assert_eq!(field_before("  width: \"two\"", 1, 10), Some("width"));
        assert_eq!(field_before("a: None t: 1.0", 1, 9), None);
        assert_eq!(field_before("x", 5, 1), None);
        assert_eq!(field_before("x", 1, 0), None);
        assert_eq!(next_token("a:  \n\n  b", 1, 3), (3, 3));
        assert_eq!(next_token("a:   ", 1, 3), (1, 3));
        assert_eq!(next_token("a: b", 7, 3), (7, 3));
        assert_eq!(next_token("a: b", 0, 0), (0, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = from_ron_str(&text);
        }

        #[test]
        fn damaged_documents_never_panic(
            cut in 0..FULL.len(),
            insert in "[(){}\\[\\]:,\"'#r0-9a-zA-Z_.\\-\n ]{0,4}",
        ) {
            let cut = (0..=cut).rev().find(|&i| FULL.is_char_boundary(i)).unwrap_or(0);
            let text = format!("{}{insert}{}", &FULL[..cut], &FULL[cut..]);
            let _ = from_ron_str(&text);
            let _ = from_ron_str(&FULL[..cut]);
        }
    }
}

//! `data::Error`: everything that can go wrong while generating or reading a dataset.

use std::path::PathBuf;

/// What went wrong while generating or reading a dataset.
///
/// Messages name the line and column of a bad CSV field (both count from 1, as in an editor or a
/// spreadsheet) and end with the file's path.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The data settings are invalid; one sentence per problem (see [`super::DataSpec::problems`]).
    #[error("invalid data settings: {}", .0.join("; "))]
    InvalidSpec(Vec<String>),
    /// The file could not be opened or read.
    #[error("cannot read the CSV file ({error}): {}", .path.display())]
    Io {
        /// The file, after resolving a relative path.
        path: PathBuf,
        /// The operating system's error. Not exposed as `source()`: the message already
        /// contains it, and error chains would print it twice.
        error: std::io::Error,
    },
    /// The CSV reader failed for a reason other than the ones below.
    #[error("{}CSV syntax error ({message}): {}", line_prefix(*.line), .path.display())]
    Syntax {
        /// Line (from 1) where the reader stopped, if known.
        line: Option<u64>,
        /// The reader's description of the problem.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// The file is not text: binary (a NUL byte) or UTF-16.
    #[error("the CSV file cannot be read as text: {reason}: {}", .path.display())]
    NotText {
        /// Why, with what to do.
        reason: String,
        /// The file.
        path: PathBuf,
    },
    /// A field is not UTF-8 text.
    #[error(
        "line {line}, {}: the text is not UTF-8 (save the file as UTF-8): {}",
        column_label(*.column, .column_name.as_deref()),
        .path.display()
    )]
    NotUtf8 {
        /// Line (from 1).
        line: u64,
        /// Column (from 1).
        column: usize,
        /// Header name of the column, if known.
        column_name: Option<String>,
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than its budget (bytes or rows).
    #[error("the CSV file is too large: {what}: {}", .path.display())]
    TooLarge {
        /// What limit it exceeds.
        what: String,
        /// The file.
        path: PathBuf,
    },
    /// The file holds no rows at all.
    #[error("the CSV file is empty: {}", .path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The file holds a header but no data rows.
    #[error("the CSV file has a header row but no data rows: {}", .path.display())]
    NoDataRows {
        /// The file.
        path: PathBuf,
    },
    /// A row has more or fewer fields than the first row.
    #[error(
        "line {line}, {}: {} (the row has {found} fields, line {first_line} has {expected}): {}",
        column_label(*.column, .column_name.as_deref()),
        if .found < .expected { "field missing" } else { "unexpected extra field" },
        .path.display()
    )]
    RaggedRow {
        /// Line of the row (from 1).
        line: u64,
        /// Line of the first row, which fixes the number of fields.
        first_line: u64,
        /// Number of fields of the first row.
        expected: usize,
        /// Number of fields of this row.
        found: usize,
        /// First missing or first extra column (from 1).
        column: usize,
        /// Header name of the missing column, if the file has a header.
        column_name: Option<String>,
        /// The file.
        path: PathBuf,
    },
    /// A feature field is not a finite number.
    #[error(
        "line {line}, {}: '{value}' is not a {}number: {}",
        column_label(*.column, .column_name.as_deref()),
        if *.is_non_finite { "finite " } else { "" },
        .path.display()
    )]
    NotANumber {
        /// Line (from 1).
        line: u64,
        /// Column (from 1).
        column: usize,
        /// Header name of the column, if the file has a header.
        column_name: Option<String>,
        /// The field as written (shortened if very long).
        value: String,
        /// The field parses as a number but is infinite or NaN.
        is_non_finite: bool,
        /// The file.
        path: PathBuf,
    },
    /// A label field is empty.
    #[error(
        "line {line}, {}: the label is empty: {}",
        column_label(*.column, .column_name.as_deref()),
        .path.display()
    )]
    EmptyLabel {
        /// Line (from 1).
        line: u64,
        /// Column (from 1).
        column: usize,
        /// Header name of the column, if the file has a header.
        column_name: Option<String>,
        /// The file.
        path: PathBuf,
    },
    /// The label column is named, but no header column has that name.
    #[error(
        "no column is named '{name}'; the columns are {}: {}",
        quoted_list(.available),
        .path.display()
    )]
    NoSuchLabelColumn {
        /// The name asked for.
        name: String,
        /// The header's column names, in file order.
        available: Vec<String>,
        /// The file.
        path: PathBuf,
    },
    /// The label column is named, but several header columns have that name.
    #[error(
        "several columns are named '{name}' (columns {}); give the label column by index: {}",
        .columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        .path.display()
    )]
    AmbiguousLabelColumn {
        /// The name asked for.
        name: String,
        /// The columns (from 1) with that name.
        columns: Vec<usize>,
        /// The file.
        path: PathBuf,
    },
    /// The label column is named, but the file is read without a header row.
    #[error(
        "the label column is given by name ('{name}') but the file is read without a header row \
         (its first row is all numbers, or `header` is false); give the label column by index \
         instead: {}",
        .path.display()
    )]
    LabelNeedsHeader {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The label column index is not a column of the file.
    #[error(
        "label column index {index} is out of range: the file has {n_columns} columns, indices 0 \
         to {} (the index counts from 0): {}",
        .n_columns.saturating_sub(1),
        .path.display()
    )]
    LabelIndexOutOfRange {
        /// The index asked for (from 0).
        index: usize,
        /// Number of columns of the file.
        n_columns: usize,
        /// The file.
        path: PathBuf,
    },
    /// The file has no column besides the label column.
    #[error("the CSV file has no feature column besides the label column: {}", .path.display())]
    NoFeatureColumns {
        /// The file.
        path: PathBuf,
    },
    /// The label column holds fewer than two distinct values.
    #[error(
        "the label column holds {} distinct value(s) ({}); a classifier needs at least 2 classes: {}",
        .classes.len(),
        quoted_list(.classes),
        .path.display()
    )]
    TooFewClasses {
        /// The distinct labels found.
        classes: Vec<String>,
        /// The file.
        path: PathBuf,
    },
}

fn line_prefix(line: Option<u64>) -> String {
    line.map_or_else(String::new, |line| format!("line {line}: "))
}

/// `column 3 ('petal_width')`, or `column 3` without a header.
fn column_label(column: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("column {column} ('{name}')"),
        None => format!("column {column}"),
    }
}

fn quoted_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|item| format!("'{item}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

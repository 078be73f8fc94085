//! CSV import: numeric feature columns and one label column.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv::{ByteRecord, Position};
use ndarray::Array2;

use super::{CsvSpec, Dataset, Error, LabelColumn};

/// Longest field quoted verbatim in an error message; longer ones are cut.
const MAX_QUOTED_CHARS: usize = 40;

/// Reads a CSV file.
///
/// Every column but the label column is a numeric feature. Classes are the distinct label values
/// (as strings), sorted numerically if they all are numbers and lexicographically otherwise;
/// `class_names` are those values. Feature names come from the header, or are `"x0"`, `"x1"`, ...
///
/// Fields are trimmed of surrounding spaces, blank lines are skipped and a UTF-8 byte order mark
/// is ignored. When `spec.header` is `None`, the first row is a header if one of its fields,
/// other than the label field of a label column given by index, is not a number; a label column
/// given by name always needs a header. A relative `spec.path` is taken from `base_dir` (the
/// experiment file's folder) when given.
///
/// Errors name the line and column (both from 1) of the offending field and end with the path:
/// a non-numeric or non-finite feature, a row with another number of fields than the first, an
/// empty label, an unknown label column name (listing the names), a label index out of range,
/// fewer than 2 classes, an empty or missing file.
pub fn read_csv(spec: &CsvSpec, base_dir: Option<&Path>) -> Result<Dataset, Error> {
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    let path = resolve_path(&spec.path, base_dir);
    match std::fs::read(&path) {
        Ok(bytes) => parse_csv(&bytes, spec, &path),
        Err(source) => Err(Error::Io { path, source }),
    }
}

fn resolve_path(path: &str, base_dir: Option<&Path>) -> PathBuf {
    let path = Path::new(path);
    match base_dir {
        Some(base_dir) if path.is_relative() => base_dir.join(path),
        _ => path.to_path_buf(),
    }
}

/// Parses the contents of a CSV file; `path` is only used in error messages.
fn parse_csv(bytes: &[u8], spec: &CsvSpec, path: &Path) -> Result<Dataset, Error> {
    let Some(delimiter) = u8::try_from(spec.delimiter)
        .ok()
        .filter(|byte| byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r'))
    else {
        return Err(Error::InvalidSpec(spec.problems()));
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rows = Rows {
        reader: csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .from_reader(bytes),
        record: ByteRecord::new(),
        path,
    };

    let Some(first_line) = rows.next()? else {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    };
    let n_columns = rows.record.len();
    let has_header = spec
        .header
        .unwrap_or_else(|| looks_like_header(&rows.record, &spec.label));
    let header: Option<Vec<String>> = has_header.then(|| rows.record.iter().map(lossy).collect());
    let label_column = find_label_column(&spec.label, header.as_deref(), n_columns, path)?;
    if n_columns < 2 {
        return Err(Error::NoFeatureColumns {
            path: path.to_path_buf(),
        });
    }

    let mut table = Table {
        n_columns,
        first_line,
        label_column,
        header: header.as_deref(),
        path,
        features: Vec::new(),
        labels: Vec::new(),
    };
    if !has_header {
        table.push_row(&rows.record, first_line)?;
    }
    while let Some(line) = rows.next()? {
        table.push_row(&rows.record, line)?;
    }
    if table.labels.is_empty() {
        return Err(Error::NoDataRows {
            path: path.to_path_buf(),
        });
    }

    let feature_names = match &header {
        Some(names) => names
            .iter()
            .enumerate()
            .filter(|&(column, _)| column != label_column)
            .map(|(_, name)| name.clone())
            .collect(),
        None => (0..n_columns - 1).map(|i| format!("x{i}")).collect(),
    };
    let class_names = sorted_classes(&table.labels);
    if class_names.len() < 2 {
        return Err(Error::TooFewClasses {
            classes: class_names,
            path: path.to_path_buf(),
        });
    }
    let class_of: HashMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(class, name)| (name.as_str(), class))
        .collect();
    let labels = table
        .labels
        .iter()
        .map(|label| class_of[label.as_str()])
        .collect();
    let n_rows = table.labels.len();
    let n_features = n_columns - 1;
    let x = Array2::from_shape_fn((n_rows, n_features), |(i, j)| {
        table.features[i * n_features + j]
    });
    Ok(Dataset {
        x,
        labels,
        n_classes: class_names.len(),
        class_names,
        feature_names,
    })
}

/// The non-blank records of a file with their line numbers.
struct Rows<'a> {
    reader: csv::Reader<&'a [u8]>,
    /// The current record.
    record: ByteRecord,
    path: &'a Path,
}

impl Rows<'_> {
    /// Reads the next non-blank record into `self.record` and returns its line (from 1), or
    /// `None` at the end of the file.
    fn next(&mut self) -> Result<Option<u64>, Error> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                // A line of spaces is one empty field once trimmed: skip it like an empty line.
                Ok(true) if self.record.len() == 1 && self.record[0].is_empty() => {}
                Ok(true) => return Ok(Some(self.record.position().map_or(0, Position::line))),
                Err(error) => {
                    return Err(Error::Syntax {
                        line: error.position().map(Position::line),
                        message: error.to_string(),
                        path: self.path.to_path_buf(),
                    });
                }
            }
        }
    }
}

/// The rows read so far: features row-major, labels as written.
struct Table<'a> {
    n_columns: usize,
    first_line: u64,
    label_column: usize,
    header: Option<&'a [String]>,
    path: &'a Path,
    features: Vec<f64>,
    labels: Vec<String>,
}

impl Table<'_> {
    fn column_name(&self, column: usize) -> Option<String> {
        self.header.and_then(|names| names.get(column).cloned())
    }

    fn push_row(&mut self, record: &ByteRecord, line: u64) -> Result<(), Error> {
        if record.len() != self.n_columns {
            let column = record.len().min(self.n_columns);
            return Err(Error::RaggedRow {
                line,
                first_line: self.first_line,
                expected: self.n_columns,
                found: record.len(),
                column: column + 1,
                column_name: self.column_name(column),
                path: self.path.to_path_buf(),
            });
        }
        for (column, field) in record.iter().enumerate() {
            if column == self.label_column {
                if field.is_empty() {
                    return Err(Error::EmptyLabel {
                        line,
                        column: column + 1,
                        column_name: self.column_name(column),
                        path: self.path.to_path_buf(),
                    });
                }
                self.labels.push(lossy(field));
                continue;
            }
            match parse_number(field) {
                Some(value) if value.is_finite() => self.features.push(value),
                parsed => {
                    return Err(Error::NotANumber {
                        line,
                        column: column + 1,
                        column_name: self.column_name(column),
                        value: shortened(&lossy(field)),
                        is_non_finite: parsed.is_some(),
                        path: self.path.to_path_buf(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn lossy(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

fn parse_number(field: &[u8]) -> Option<f64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn shortened(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED_CHARS {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(MAX_QUOTED_CHARS).collect();
    cut.push('…');
    cut
}

/// A first row is a header if one of its fields is not a number; the label field of a label
/// column given by index does not count, so a file without header with text labels is read right.
fn looks_like_header(record: &ByteRecord, label: &LabelColumn) -> bool {
    let label_index = match label {
        LabelColumn::Index(index) => Some(*index),
        LabelColumn::Name(_) => None,
    };
    record
        .iter()
        .enumerate()
        .any(|(column, field)| Some(column) != label_index && parse_number(field).is_none())
}

/// The zero-based index of the label column.
fn find_label_column(
    label: &LabelColumn,
    header: Option<&[String]>,
    n_columns: usize,
    path: &Path,
) -> Result<usize, Error> {
    match (label, header) {
        (LabelColumn::Index(index), _) if *index < n_columns => Ok(*index),
        (LabelColumn::Index(index), _) => Err(Error::LabelIndexOutOfRange {
            index: *index,
            n_columns,
            path: path.to_path_buf(),
        }),
        (LabelColumn::Name(name), None) => Err(Error::LabelNeedsHeader {
            name: name.clone(),
            path: path.to_path_buf(),
        }),
        (LabelColumn::Name(name), Some(names)) => {
            let wanted = name.trim();
            let matches: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, candidate)| candidate.as_str() == wanted)
                .map(|(column, _)| column)
                .collect();
            match matches[..] {
                [column] => Ok(column),
                [] => Err(Error::NoSuchLabelColumn {
                    name: name.clone(),
                    available: names.to_vec(),
                    path: path.to_path_buf(),
                }),
                _ => Err(Error::AmbiguousLabelColumn {
                    name: name.clone(),
                    columns: matches.iter().map(|column| column + 1).collect(),
                    path: path.to_path_buf(),
                }),
            }
        }
    }
}

/// The distinct labels, sorted numerically if all are numbers, else lexicographically.
fn sorted_classes(labels: &[String]) -> Vec<String> {
    let mut classes: Vec<String> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let numbers: Option<Vec<f64>> = classes
        .iter()
        .map(|class| parse_number(class.as_bytes()))
        .collect();
    if let Some(numbers) = numbers {
        let mut pairs: Vec<(f64, String)> = numbers.into_iter().zip(classes).collect();
        // Ties ("1" and "1.0") fall back to the text, so the order is total.
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        classes = pairs.into_iter().map(|(_, class)| class).collect();
    }
    classes
}

//! CSV import: numeric feature columns and one label column.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use csv::{ByteRecord, Position};
use ndarray::Array2;

use super::{CsvSpec, Dataset, Error, LabelColumn};

/// Longest field quoted verbatim in an error message; longer ones are cut.
const MAX_QUOTED_CHARS: usize = 40;

/// The most data rows a CSV file may have (as many as a generator draws).
pub const MAX_ROWS: usize = super::generators::MAX_GENERATED_POINTS;

/// The most bytes of a CSV file read by [`read_csv`] (a budget may lower it:
/// [`read_csv_within`]).
pub const MAX_BYTES: u64 = 4 << 30;

/// Bytes looked at before parsing: a byte order mark of UTF-16 or a NUL byte among them means
/// the file is not CSV text.
const SNIFF_BYTES: usize = 8192;

/// Reads a CSV file of at most [`MAX_BYTES`] bytes and [`MAX_ROWS`] rows
/// ([`read_csv_within`]).
pub fn read_csv(spec: &CsvSpec, base_dir: Option<&Path>) -> Result<Dataset, Error> {
    read_csv_within(spec, base_dir, MAX_BYTES)
}

/// Reads a CSV file, streaming it: at most `max_bytes` bytes are read (and [`MAX_ROWS`] rows),
/// so a huge or endless file (`/dev/zero`) is refused, not loaded whole.
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
/// a non-numeric or non-finite feature, text that is not UTF-8, a row with another number of
/// fields than the first, an empty label, an unknown label column name (listing the names), a
/// label index out of range, fewer than 2 classes, an empty, missing, binary (a NUL byte) or
/// UTF-16 file, one larger than the budget.
pub fn read_csv_within(
    spec: &CsvSpec,
    base_dir: Option<&Path>,
    max_bytes: u64,
) -> Result<Dataset, Error> {
    // The settings are checked before the file is opened (again by `read_csv_from`, cheaply).
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    let path = resolve_path(&spec.path, base_dir);
    let io_error = |error| Error::Io {
        path: path.clone(),
        error,
    };
    let file = std::fs::File::open(&path).map_err(io_error)?;
    if file.metadata().map_err(io_error)?.is_dir() {
        return Err(io_error(std::io::Error::other("it is a folder")));
    }
    read_csv_from(file, spec, &path, max_bytes)
}

/// A reader that yields at most `remaining` bytes and then an error naming the budget.
struct Budget<R> {
    inner: R,
    limit: u64,
    remaining: u64,
}

impl<R: Read> Budget<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            limit,
            remaining: limit,
        }
    }
}

/// The message of a read past the budget (recognised by [`Rows::next`]).
const OVER_BUDGET: &str = "flowlab: over the CSV byte budget";

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // One byte more tells a file of exactly the budget from a larger one.
            let mut probe = [0_u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(OVER_BUDGET)),
            };
        }
        let room = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let read = self.inner.read(&mut buf[..room])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

fn resolve_path(path: &str, base_dir: Option<&Path>) -> PathBuf {
    let path = Path::new(path);
    match base_dir {
        Some(base_dir) if path.is_relative() => base_dir.join(path),
        _ => path.to_path_buf(),
    }
}

/// Reads CSV text from any reader (standard input, bytes in memory) as [`read_csv_within`] reads
/// a file, at most `max_bytes` bytes of it; `path` (`spec.path` is not opened) names the source
/// in error messages.
pub fn read_csv_from<R: Read>(
    reader: R,
    spec: &CsvSpec,
    path: &Path,
    max_bytes: u64,
) -> Result<Dataset, Error> {
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    parse_reader(Budget::new(reader, max_bytes), spec, path)
}

/// Parses the contents of a CSV file held in memory; `path` is only used in error messages.
#[cfg(test)]
fn parse_csv(bytes: &[u8], spec: &CsvSpec, path: &Path) -> Result<Dataset, Error> {
    read_csv_from(bytes, spec, path, MAX_BYTES)
}

/// Parses a CSV file as it is read; `path` is only used in error messages.
fn parse_reader<R: Read>(
    mut input: Budget<R>,
    spec: &CsvSpec,
    path: &Path,
) -> Result<Dataset, Error> {
    let Some(delimiter) = u8::try_from(spec.delimiter)
        .ok()
        .filter(|byte| byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r'))
    else {
        return Err(Error::InvalidSpec(spec.problems()));
    };
    // The first bytes tell a text file from a binary or UTF-16 one.
    let mut start = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut start)
        .map_err(|error| read_error(error, &input, path))?;
    if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") {
        return Err(Error::NotText {
            reason: "it is UTF-16 text (a byte order mark): save it as UTF-8".to_owned(),
            path: path.to_path_buf(),
        });
    }
    if let Some(offset) = start.iter().position(|b| *b == 0) {
        return Err(Error::NotText {
            reason: format!(
                "it is binary, not text (a NUL byte at offset {offset}){}",
                if offset % 2 == 1 && start.iter().skip(1).step_by(2).take(8).all(|b| *b == 0) {
                    "; if it is UTF-16 text, save it as UTF-8"
                } else {
                    ""
                }
            ),
            path: path.to_path_buf(),
        });
    }
    let text_start = start
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&start)
        .to_vec();
    let budget = input.limit;
    let reader = std::io::Cursor::new(text_start).chain(input);
    let mut rows = Rows {
        reader: csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .from_reader(reader),
        record: ByteRecord::new(),
        path,
        budget,
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
    let header: Option<Vec<String>> = if has_header {
        let names: Result<Vec<String>, Error> = rows
            .record
            .iter()
            .enumerate()
            .map(|(column, field)| text(field, first_line, column, None, path))
            .collect();
        Some(names?)
    } else {
        None
    };
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
        label_names: Vec::new(),
        label_ids: HashMap::new(),
    };
    if !has_header {
        table.push_row(&rows.record, first_line)?;
    }
    while let Some(line) = rows.next()? {
        if table.labels.len() >= MAX_ROWS {
            return Err(Error::TooLarge {
                what: format!("more than {MAX_ROWS} rows (the limit)"),
                path: path.to_path_buf(),
            });
        }
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
    let class_names = sorted_classes(&table.label_names);
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
    // Labels were numbered in order of appearance; classes are in sorted order.
    let class_of_id: Vec<usize> = table
        .label_names
        .iter()
        .map(|name| class_of[name.as_str()])
        .collect();
    let labels = table.labels.iter().map(|&id| class_of_id[id]).collect();
    let n_rows = table.labels.len();
    let n_features = n_columns - 1;
    let x = Array2::from_shape_vec((n_rows, n_features), table.features).map_err(|_| {
        Error::Syntax {
            line: None,
            message: "the rows do not add up to a table".to_owned(),
            path: path.to_path_buf(),
        }
    })?;
    Ok(Dataset {
        x,
        labels,
        n_classes: class_names.len(),
        class_names,
        feature_names,
    })
}

/// A read error: the budget's, or the system's.
fn read_error<R>(error: std::io::Error, input: &Budget<R>, path: &Path) -> Error {
    if error.to_string() == OVER_BUDGET {
        Error::TooLarge {
            what: format!("larger than the {} bytes it may have", input.limit),
            path: path.to_path_buf(),
        }
    } else {
        Error::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// A field as text, or an error naming its line and column when it is not UTF-8.
fn text(
    field: &[u8],
    line: u64,
    column: usize,
    column_name: Option<String>,
    path: &Path,
) -> Result<String, Error> {
    std::str::from_utf8(field)
        .map(str::to_owned)
        .map_err(|_| Error::NotUtf8 {
            line,
            column: column + 1,
            column_name,
            path: path.to_path_buf(),
        })
}

/// The non-blank records of a file with their line numbers.
struct Rows<'a, R: Read> {
    reader: csv::Reader<R>,
    /// The current record.
    record: ByteRecord,
    path: &'a Path,
    /// The byte budget of the file (for the message when it is exceeded).
    budget: u64,
}

impl<R: Read> Rows<'_, R> {
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
                    let line = error.position().map(Position::line);
                    return Err(match error.kind() {
                        csv::ErrorKind::Io(io) if io.to_string() == OVER_BUDGET => {
                            Error::TooLarge {
                                what: format!("larger than the {} bytes it may have", self.budget),
                                path: self.path.to_path_buf(),
                            }
                        }
                        csv::ErrorKind::Io(io) => Error::Io {
                            path: self.path.to_path_buf(),
                            error: std::io::Error::new(io.kind(), io.to_string()),
                        },
                        _ => Error::Syntax {
                            line,
                            message: error.to_string(),
                            path: self.path.to_path_buf(),
                        },
                    });
                }
            }
        }
    }
}

/// The rows read so far: features row-major, labels numbered in order of appearance.
struct Table<'a> {
    n_columns: usize,
    first_line: u64,
    label_column: usize,
    header: Option<&'a [String]>,
    path: &'a Path,
    features: Vec<f64>,
    /// The label of each row, as an index into `label_names`.
    labels: Vec<usize>,
    /// The distinct labels as written, in order of appearance.
    label_names: Vec<String>,
    label_ids: HashMap<String, usize>,
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
                let name = text(field, line, column, self.column_name(column), self.path)?;
                let next = self.label_names.len();
                let id = *self.label_ids.entry(name).or_insert_with_key(|name| {
                    self.label_names.push(name.clone());
                    next
                });
                self.labels.push(id);
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
    let distinct: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    let mut classes: Vec<String> = distinct.into_iter().map(str::to_owned).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(label: LabelColumn, header: Option<bool>) -> CsvSpec {
        CsvSpec {
            path: "data.csv".into(),
            label,
            header,
            delimiter: ',',
        }
    }

    fn by_name(name: &str) -> CsvSpec {
        spec(LabelColumn::Name(name.into()), None)
    }

    fn by_index(index: usize) -> CsvSpec {
        spec(LabelColumn::Index(index), None)
    }

    fn parse(text: &str, spec: &CsvSpec) -> Result<Dataset, Error> {
        parse_csv(text.as_bytes(), spec, Path::new("data.csv"))
    }

    fn parse_ok(text: &str, spec: &CsvSpec) -> Dataset {
        parse(text, spec).unwrap_or_else(|error| panic!("{error}"))
    }

    fn parse_err(text: &str, spec: &CsvSpec) -> String {
        parse(text, spec).expect_err("should fail").to_string()
    }

    const IRIS: &str = "\
sepal_length,sepal_width,species,petal_width
5.1,3.5,setosa,0.2
7.0,3.2,versicolor,1.4
6.3,3.3,virginica,2.5
4.9,3.0,setosa,0.2
";

    #[test]
    fn header_and_label_by_name() {
        let data = parse_ok(IRIS, &by_name("species"));
        assert_eq!(
            data.feature_names,
            ["sepal_length", "sepal_width", "petal_width"]
        );
        assert_eq!(data.class_names, ["setosa", "versicolor", "virginica"]);
        assert_eq!(data.n_classes, 3);
        assert_eq!(data.labels, [0, 1, 2, 0]);
        assert_eq!(data.x.dim(), (4, 3));
        assert_eq!(data.x.row(1).to_vec(), [7.0, 3.2, 1.4]);
        // Same file, label by index; the header is detected either way.
        assert_eq!(parse_ok(IRIS, &by_index(2)), data);
        assert_eq!(
            parse_ok(IRIS, &spec(LabelColumn::Index(2), Some(true))),
            data
        );
    }

    #[test]
    fn no_header_label_by_index() {
        let text = "1.0,2.0,b\n3.0,4.0,a\n5.0,6.0,b\n";
        for header in [None, Some(false)] {
            let data = parse_ok(text, &spec(LabelColumn::Index(2), header));
            assert_eq!(data.feature_names, ["x0", "x1"]);
            assert_eq!(data.class_names, ["a", "b"]);
            assert_eq!(data.labels, [1, 0, 1]);
            assert_eq!(data.x.column(1).to_vec(), [2.0, 4.0, 6.0]);
        }
        // Label in the first column; numeric labels sort as numbers, not as text.
        let data = parse_ok("10,0.5\n9,0.25\n-1,1\n10,2\n", &by_index(0));
        assert_eq!(data.class_names, ["-1", "9", "10"]);
        assert_eq!(data.labels, [2, 1, 0, 2]);
        assert_eq!(data.feature_names, ["x0"]);
    }

    #[test]
    fn header_auto_detection() {
        // All numbers: data. A text field anywhere but the label: header.
        let data = parse_ok("1,2,0\n3,4,1\n", &by_index(2));
        assert_eq!(data.len(), 2);
        let data = parse_ok("a,2,label\n3,4,1\n5,6,0\n", &by_index(2));
        assert_eq!(data.len(), 2);
        assert_eq!(data.feature_names, ["a", "2"]);
        // Forced: a numeric first row as header, a text first row as data (which then fails).
        let data = parse_ok(
            "1,2,0\n3,4,1\n5,6,0\n",
            &spec(LabelColumn::Index(2), Some(true)),
        );
        assert_eq!(data.feature_names, ["1", "2"]);
        assert_eq!(data.len(), 2);
        let message = parse_err("x,y,c\n3,4,1\n", &spec(LabelColumn::Index(2), Some(false)));
        assert!(
            message.starts_with("line 1, column 1: 'x' is not a number"),
            "{message}"
        );
    }

    #[test]
    fn whitespace_blank_lines_bom_and_delimiter() {
        let text = "\u{feff}x ; y ; label\n\n 1 ; 2 ; a \n   \n3;4;b\r\n";
        let mut semicolon = by_name("label");
        semicolon.delimiter = ';';
        let data = parse_ok(text, &semicolon);
        assert_eq!(data.feature_names, ["x", "y"]);
        assert_eq!(data.class_names, ["a", "b"]);
        assert_eq!(data.x.row(0).to_vec(), [1.0, 2.0]);
        let mut tab = by_index(1);
        tab.delimiter = '\t';
        assert_eq!(
            parse_ok("0.5\tno\n1.5\tyes\n", &tab).class_names,
            ["no", "yes"]
        );
    }

    #[test]
    fn broken_field_names_its_line_and_column() {
        let text = "a,b,c,petal_width,species\n\
                    1,2,3,4,x\n1,2,3,4,y\n1,2,3,4,x\n1,2,3,4,y\n1,2,3,4,x\n1,2,3,abc,y\n";
        let message = parse_err(text, &by_name("species"));
        assert_eq!(
            message,
            "line 7, column 4 ('petal_width'): 'abc' is not a number: data.csv"
        );
        let message = parse_err("1,2,a\n1,,b\n", &by_index(2));
        assert_eq!(message, "line 2, column 2: '' is not a number: data.csv");
        let message = parse_err("1,2,a\n1,inf,b\n", &by_index(2));
        assert!(
            message.contains("'inf' is not a finite number"),
            "{message}"
        );
        let message = parse_err(
            "1,NaN,a\n1,2,b\n",
            &spec(LabelColumn::Index(2), Some(false)),
        );
        assert!(
            message.starts_with("line 1, column 2: 'NaN' is not a finite"),
            "{message}"
        );
        let long = "z".repeat(500);
        let message = parse_err(&format!("1,2,a\n1,{long},b\n"), &by_index(2));
        assert!(message.len() < 200, "{message}");
        let message = parse_err("x,label\n1,a\n2,\n", &by_index(1));
        assert_eq!(
            message,
            "line 3, column 2 ('label'): the label is empty: data.csv"
        );
    }

    #[test]
    fn ragged_rows_name_their_line_and_column() {
        let message = parse_err("x,y,label\n1,2,a\n3,4\n", &by_name("label"));
        assert_eq!(
            message,
            "line 3, column 3 ('label'): field missing (the row has 2 fields, line 1 has 3): \
             data.csv"
        );
        let message = parse_err("1,2,a\n3,4,b,5\n", &by_index(2));
        assert!(
            message.starts_with("line 2, column 4: unexpected extra field"),
            "{message}"
        );
    }

    #[test]
    fn label_column_problems() {
        let message = parse_err(IRIS, &by_name("spcies"));
        assert_eq!(
            message,
            "no column is named 'spcies'; the columns are 'sepal_length', 'sepal_width', \
             'species', 'petal_width': data.csv"
        );
        let message = parse_err("1,2,0\n3,4,1\n", &by_name("label"));
        assert!(message.contains("without a header row"), "{message}");
        let message = parse_err(IRIS, &by_index(4));
        assert!(
            message.starts_with("label column index 4 is out of range"),
            "{message}"
        );
        assert!(message.contains("4 columns"), "{message}");
        let message = parse_err("a,b,a\n1,2,x\n1,2,y\n", &by_name("a"));
        assert!(message.contains("columns 1, 3"), "{message}");
        let message = parse_err("label\na\nb\n", &by_name("label"));
        assert!(message.contains("no feature column"), "{message}");
    }

    #[test]
    fn file_level_problems() {
        assert!(matches!(
            parse("", &by_index(0)),
            Err(Error::EmptyFile { .. })
        ));
        assert!(matches!(
            parse("\n \n", &by_index(0)),
            Err(Error::EmptyFile { .. })
        ));
        let message = parse_err("x,label\n", &by_name("label"));
        assert!(message.contains("no data rows"), "{message}");
        let message = parse_err("x,label\n1,a\n2,a\n", &by_name("label"));
        assert_eq!(
            message,
            "the label column holds 1 distinct value(s) ('a'); a classifier needs at least 2 \
             classes: data.csv"
        );
        let mut bad = by_index(0);
        bad.delimiter = 'é';
        assert!(matches!(parse("1,a", &bad), Err(Error::InvalidSpec(_))));
    }

    #[test]
    fn read_csv_resolves_paths_and_reports_missing_files() {
        let folder = tempfile::tempdir().expect("temporary folder");
        std::fs::write(folder.path().join("iris.csv"), IRIS).expect("write");
        let mut relative = by_name("species");
        relative.path = "iris.csv".into();
        let data = read_csv(&relative, Some(folder.path())).expect("reads");
        assert_eq!(data.len(), 4);
        let mut absolute = relative.clone();
        absolute.path = folder.path().join("iris.csv").display().to_string();
        assert_eq!(
            read_csv(&absolute, Some(Path::new("/elsewhere"))).expect("reads"),
            data
        );

        relative.path = "missing.csv".into();
        let error = read_csv(&relative, Some(folder.path())).expect_err("missing");
        let message = error.to_string();
        assert!(matches!(error, Error::Io { .. }));
        let expected_path = folder.path().join("missing.csv").display().to_string();
        assert!(message.ends_with(&expected_path), "path last: {message}");
        relative.path = "  ".into();
        assert!(matches!(
            read_csv(&relative, None),
            Err(Error::InvalidSpec(_))
        ));
    }

    use std::fmt::Write as _;

    #[test]
    fn binary_and_utf16_files_are_named_as_such() {
        let message = parse_err("1,2,a\n\0\0\0\n", &by_index(2));
        assert!(
            message.contains("binary") && message.contains("offset 6"),
            "{message}"
        );
        let utf16: Vec<u8> = "\u{feff}x,label\n1,a\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let message = parse_csv(&utf16, &by_name("label"), Path::new("data.csv"))
            .expect_err("UTF-16")
            .to_string();
        assert!(
            message.contains("UTF-16") && message.contains("UTF-8"),
            "{message}"
        );
        // Without a byte order mark: NULs in every other byte.
        let message = parse_csv(&utf16[2..], &by_name("label"), Path::new("data.csv"))
            .expect_err("UTF-16")
            .to_string();
        assert!(
            message.contains("binary") && message.contains("UTF-16"),
            "{message}"
        );
        // Latin-1 text in a label: not UTF-8, with its line and column.
        let latin1 = b"x,label\n1,caf\xe9\n2,tea\n";
        let message = parse_csv(latin1, &by_name("label"), Path::new("data.csv"))
            .expect_err("Latin-1")
            .to_string();
        assert!(
            message.contains("line 2, column 2 ('label')") && message.contains("not UTF-8"),
            "{message}"
        );
    }

    #[test]
    fn a_file_beyond_its_byte_budget_is_refused_while_streaming() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let rows = (0..1000).fold(String::new(), |mut text, i| {
            let _ = writeln!(text, "{i},{}", i % 2);
            text
        });
        std::fs::write(folder.path().join("big.csv"), &rows).expect("write");
        let mut spec = by_index(1);
        spec.path = "big.csv".into();
        let all = read_csv_within(&spec, Some(folder.path()), rows.len() as u64).expect("fits");
        assert_eq!(all.len(), 1000);
        let error = read_csv_within(&spec, Some(folder.path()), 5000).expect_err("too large");
        assert!(
            matches!(error, Error::TooLarge { .. }) && error.to_string().contains("5000 bytes"),
            "{error}"
        );
        // An endless file is read no further than its first bytes.
        #[cfg(unix)]
        {
            spec.path = "/dev/zero".into();
            let error = read_csv_within(&spec, None, 1 << 20).expect_err("not text");
            assert!(error.to_string().contains("binary"), "{error}");
        }
        // A folder is not a file.
        spec.path = folder.path().display().to_string();
        let error = read_csv_within(&spec, None, 1 << 20).expect_err("a folder");
        assert!(error.to_string().contains("folder"), "{error}");
    }

    fn any_spec() -> impl Strategy<Value = CsvSpec> {
        (
            prop_oneof![
                (0usize..6).prop_map(LabelColumn::Index),
                "[a-c]{0,2}".prop_map(LabelColumn::Name),
            ],
            prop_oneof![Just(None), any::<bool>().prop_map(Some)],
            prop_oneof![Just(','), Just(';'), Just('\t'), Just(' ')],
        )
            .prop_map(|(label, header, delimiter)| CsvSpec {
                path: "fuzz.csv".into(),
                label,
                header,
                delimiter,
            })
    }

    /// Checks the invariants of a successful parse.
    fn check(data: &Dataset) {
        assert_eq!(data.x.nrows(), data.labels.len());
        assert!(data.n_classes >= 2);
        assert_eq!(data.class_names.len(), data.n_classes);
        assert_eq!(data.feature_names.len(), data.x.ncols());
        assert!(data.labels.iter().all(|&label| label < data.n_classes));
        assert!(data.x.iter().all(|v| v.is_finite()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn csv_like_text_never_panics(
            text in "([0-9a-c.eE+-]{0,4}[,; \t\"]{0,2}){0,12}(\r?\n([0-9a-c.eE+-]{0,4}[,; \t\"]{0,2}){0,6}){0,8}",
            spec in any_spec(),
        ) {
            if let Ok(data) = parse(&text, &spec) {
                check(&data);
            }
        }

        #[test]
        fn mostly_valid_tables_parse_or_fail_cleanly(
            rows in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        8 => (-1e3f64..1e3).prop_map(|v| v.to_string()),
                        2 => "[ab]",
                        1 => "[x ]{0,2}",
                    ],
                    2..4,
                ),
                0..10,
            ),
            spec in any_spec(),
        ) {
            let separator = spec.delimiter.to_string();
            let text: String = rows.iter().map(|row| row.join(&separator) + "\n").collect();
            if let Ok(data) = parse(&text, &spec) {
                check(&data);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            spec in any_spec(),
        ) {
            if let Ok(data) = parse_csv(&bytes, &spec, Path::new("fuzz.csv")) {
                check(&data);
            }
        }
    }
}

//! The training history as a CSV file, one row per [`Record`].

use std::fmt::Write as _;
use std::path::Path;

use super::Error;
use crate::train::Record;

/// The header line of the metrics CSV (without its line end).
pub const METRICS_HEADER: &str = "iteration,loss,grad_norm,train_accuracy,test_accuracy";

/// The metrics CSV of `history`: [`METRICS_HEADER`], then one line per record. An accuracy that
/// was not evaluated is an empty cell; floats use Rust's `Display`, which reads back to the same
/// `f64`.
///
/// ```
/// use flowlab::experiment::Record;
/// use flowlab::report::metrics_csv_string;
///
/// let history = [Record {
///     iteration: 1,
///     loss: 0.5,
///     grad_norm: 0.25,
///     train_accuracy: Some(0.75),
///     test_accuracy: None,
/// }];
/// assert_eq!(
///     metrics_csv_string(&history),
///     "iteration,loss,grad_norm,train_accuracy,test_accuracy\n1,0.5,0.25,0.75,\n"
/// );
/// ```
#[must_use]
pub fn metrics_csv_string(history: &[Record]) -> String {
    let optional = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    let mut text = String::with_capacity(METRICS_HEADER.len() + 1 + 64 * history.len());
    text.push_str(METRICS_HEADER);
    text.push('\n');
    for record in history {
        // Exhaustive: a new field in `Record` must be considered here.
        let Record {
            iteration,
            loss,
            grad_norm,
            train_accuracy,
            test_accuracy,
        } = record;
        // Writing to a `String` cannot fail.
        let _ = writeln!(
            text,
            "{iteration},{loss},{grad_norm},{},{}",
            optional(*train_accuracy),
            optional(*test_accuracy)
        );
    }
    text
}

/// Writes [`metrics_csv_string`] of `history` to `path`, replacing the file if it exists.
pub fn write_metrics_csv(history: &[Record], path: &Path) -> Result<(), Error> {
    crate::experiment::files::write_atomic(path, metrics_csv_string(history).as_bytes()).map_err(
        |error| Error::Io {
            path: path.to_owned(),
            operation: "write",
            error,
        },
    )
}

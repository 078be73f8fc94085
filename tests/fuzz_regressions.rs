//! The fuzz targets' checks (`fuzz/checks.rs`) on the stable toolchain: every input a fuzzer
//! ever crashed on (`fuzz/regressions/<target>/`, kept forever) and the seed corpora
//! (`fuzz/corpus/<target>/seed-*`) must pass them.

#[allow(clippy::expect_used)]
#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Runs `check` on every file of `folder` whose name starts with `prefix`; the files that
/// failed, with their panic messages.
fn replay(folder: &str, prefix: &str, check: fn(&[u8])) -> (usize, Vec<String>) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix) && !name.starts_with('.'))
        })
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let input = std::fs::read(path).expect("a corpus file reads");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    (files.len(), failures)
}

/// Replays the regressions and seeds of one target; fails naming every input that fails.
fn target(name: &str, check: fn(&[u8]), min_seeds: usize) {
    let (regressions, mut failures) = replay(&format!("regressions/{name}"), "", check);
    let (seeds, seed_failures) = replay(&format!("corpus/{name}"), "seed-", check);
    failures.extend(seed_failures);
    assert!(seeds >= min_seeds, "{name}: only {seeds} seeds");
    assert!(
        failures.is_empty(),
        "{name}: {} of {} inputs fail:\n{}",
        failures.len(),
        regressions + seeds,
        failures.join("\n")
    );
}

#[test]
fn experiment_documents() {
    target("experiment", checks::experiment, 17);
}

#[test]
fn csv_files() {
    target("csv", checks::csv, 5);
}

#[test]
fn checkpoints() {
    target("checkpoint", checks::checkpoint, 15);
}

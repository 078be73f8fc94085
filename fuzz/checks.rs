//! What each fuzz target checks, as plain functions of the input bytes: the `cargo-fuzz`
//! targets (`fuzz_targets/`) call them under libFuzzer, and the ordinary test suite
//! (`tests/fuzz_regressions.rs`) replays every input in `fuzz/regressions/` through them on the
//! stable toolchain. A failed check panics, which libFuzzer reports as a crash.

use std::path::Path;

use flowlab::data::{self, CsvSpec, DataSource, LabelColumn};
use flowlab::experiment::{self, Limits};

/// An experiment document: parsed, checked within a memory budget and estimated, as `flowlab
/// check` does before it loads any data.
///
/// Holds: no panic, abort or hang; problems and estimates print; a document that parses is
/// written back to text that parses to the same text again (the file format round-trips).
pub fn experiment(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let exp = match experiment::from_ron_str(text) {
        Ok(exp) => exp,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    match experiment::check_with(&exp, Limits::machine().with_memory(1 << 30)) {
        Ok(plan) => {
            let _ = plan.resources.to_string();
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            let _ = problems.to_string();
        }
    }
    let written = experiment::to_ron_string(&exp).expect("a parsed document is written");
    let again = experiment::from_ron_str(&written).expect("a written document parses");
    let rewritten = experiment::to_ron_string(&again).expect("a parsed document is written");
    assert_eq!(written, rewritten, "the file format does not round-trip");
}

/// The CSV byte budget of [`csv`]: well above the inputs libFuzzer makes (`-max_len`).
const CSV_BUDGET: u64 = 1 << 20;

/// CSV import: any bytes, read as a CSV file under one of a few label/header/delimiter
/// settings (chosen by the first byte), then split and standardised as training would.
///
/// Holds: no panic; an accepted file gives a dataset whose rows, labels, classes and names
/// agree and whose features are finite, before and after standardisation.
pub fn csv(input: &[u8]) {
    let Some((&settings, text)) = input.split_first() else {
        return;
    };
    let label = match settings & 0b11 {
        0 => LabelColumn::Index(0),
        1 => LabelColumn::Index(2),
        2 => LabelColumn::Name("label".into()),
        _ => LabelColumn::Index(usize::from(settings >> 4)),
    };
    let header = match (settings >> 2) & 0b11 {
        0 => None,
        1 => Some(true),
        _ => Some(false),
    };
    let delimiter = [',', ';', '\t', ' '][usize::from(settings >> 6)];
    let spec = CsvSpec {
        path: "fuzz.csv".into(),
        label,
        header,
        delimiter,
    };
    let Ok(dataset) = data::read_csv_from(text, &spec, Path::new("fuzz.csv"), CSV_BUDGET) else {
        return;
    };
    assert_eq!(dataset.x.nrows(), dataset.labels.len());
    assert!(dataset.n_classes >= 2);
    assert_eq!(dataset.class_names.len(), dataset.n_classes);
    assert_eq!(dataset.feature_names.len(), dataset.n_features());
    assert!(
        dataset
            .labels
            .iter()
            .all(|&label| label < dataset.n_classes)
    );
    assert!(dataset.x.iter().all(|value| value.is_finite()));
    let split = data::split(&dataset, 0.75, true, u64::from(settings));
    assert_eq!(split.train.len() + split.test.len(), dataset.len());
    for set in [&split.train, &split.test] {
        assert!(
            set.x.iter().all(|value| value.is_finite()),
            "standardised features are not finite"
        );
    }
}

/// The memory budget of [`checkpoint`]: small enough that every accepted document trains
/// quickly.
const CHECKPOINT_BUDGET: u64 = 16 << 20;

/// Documents whose iteration costs more are skipped by [`checkpoint`] (the budget bounds
/// memory, not time).
const MAX_FLOPS: f64 = 2e7;

/// An experiment document with a checkpoint (a saved run): parsed, checked within a tiny memory
/// budget, its data generated, its checkpoint loaded into a session, one training step taken and
/// the model evaluated, as `flowlab run` resumes a file.
///
/// Holds: no panic, abort or hang. A checkpoint either loads or is refused with a message; a
/// step either succeeds or fails with a message, and a failed step leaves the iteration and the
/// parameters as they were; what the session saves is finite and reads back.
pub fn checkpoint(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(exp) = experiment::from_ron_str(text) else {
        return;
    };
    let limits = Limits::machine().with_memory(CHECKPOINT_BUDGET);
    let Ok(plan) = experiment::check_with(&exp, limits) else {
        return;
    };
    if plan.resources.flops_per_iteration > MAX_FLOPS
        || matches!(plan.data.source, DataSource::Csv(_))
    {
        return;
    }
    let mut session = match plan.session(None, 1) {
        Ok(session) => session,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let before = session.params().to_vec();
    let iteration = session.iteration();
    match session.step() {
        Ok(_) => assert_eq!(session.iteration(), iteration + 1),
        Err(error) => {
            let _ = error.to_string();
            assert_eq!(session.iteration(), iteration, "a failed step counted");
            assert!(
                session
                    .params()
                    .iter()
                    .zip(&before)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "a failed step changed the parameters"
            );
        }
    }
    if let Err(error) = session.evaluate() {
        let _ = error.to_string();
    }
    let saved = session.checkpoint();
    assert!(saved.params.iter().all(|value| value.is_finite()));
    let resumed =
        experiment::to_ron_string(&exp.with_checkpoint(saved)).expect("a checkpoint is written");
    experiment::from_ron_str(&resumed).expect("a written checkpoint parses");
}

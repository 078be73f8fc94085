//! README's examples are tests: every RON block of README.md parses and checks (and builds a
//! session, data included); a study block expands into valid runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use flowlab::experiment;

/// The contents of the ```ron blocks of README.md, with the line each starts on.
fn ron_blocks() -> Vec<(usize, String)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, "```ron") => current = Some((number + 2, String::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```ron block");
    blocks
}

#[test]
fn every_ron_block_of_the_readme_parses_checks_and_builds() {
    let blocks = ron_blocks();
    assert!(blocks.len() >= 2, "README has {} RON blocks", blocks.len());
    for (line, text) in blocks {
        if text.contains("axes:") {
            // A study: it expands (from the folder of the ready studies) into valid runs.
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/studies");
            let study = flowlab::study::spec::from_ron_str(&text)
                .unwrap_or_else(|e| panic!("README.md, the study at line {line}: {e}"));
            let expansion =
                flowlab::study::expand(&study, &dir, experiment::Limits::machine(), false)
                    .unwrap_or_else(|e| panic!("README.md, the study at line {line}: {e}"));
            assert!(!expansion.runs.is_empty());
            continue;
        }
        let exp = experiment::from_ron_str(&text)
            .unwrap_or_else(|e| panic!("README.md, the block at line {line}: {e}"));
        let plan = experiment::check(&exp)
            .unwrap_or_else(|e| panic!("README.md, the block at line {line}: {e}"));
        let mut session = plan
            .session(Some(Path::new(env!("CARGO_MANIFEST_DIR"))), 1)
            .unwrap_or_else(|e| panic!("README.md, the block at line {line}: {e}"));
        session.step().unwrap();
    }
}

//! The layers of the house (DESIGN.md §7): `lib.rs` lists the top-level modules from the bottom
//! up, and every module uses only the modules listed before it. A path `crate::x` to a module
//! listed after the one it is written in is an import that points up the house.
//!
//! Every file is written through `experiment::files` (temporary file, then rename).
//!
//! Test code is left out (`#[cfg(test)] mod tests` blocks and `tests.rs` files): a test may
//! build its inputs with whatever the crate has.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules in the order `lib.rs` declares them.
fn layers() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').to_owned())
        .collect()
}

/// Every `.rs` file of a top-level module (`src/name.rs` or under `src/name/`), test files left
/// out.
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src().join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The text of a file without its `#[cfg(test)] mod tests { .. }` block and line comments.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    // The test module, whatever its visibility, ends the code that counts.
    let mut without_tests = text.as_str();
    for (index, _) in text.match_indices("#[cfg(test)]\n") {
        let next = text[index..].lines().nth(1).unwrap_or_default();
        if next
            .trim_start_matches("pub(super) ")
            .starts_with("mod tests")
        {
            without_tests = &text[..index];
            break;
        }
    }
    without_tests
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names as `crate::name`, with their line numbers.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

#[test]
fn lib_lists_the_layers_of_the_design() {
    assert_eq!(
        layers(),
        [
            "data",
            "model",
            "integrate",
            "train",
            "diagnostics",
            "experiment",
            "report",
            "study",
            "cli",
            "gui"
        ]
    );
}

#[test]
fn imports_point_down_the_house() {
    let layers = layers();
    let mut upward = Vec::new();
    for (rank, module) in layers.iter().enumerate() {
        let files = files_of(module);
        assert!(!files.is_empty(), "no files for module {module}");
        for file in files {
            for (line, target) in crate_paths(&code_of(&file)) {
                let Some(target_rank) = layers.iter().position(|m| *m == target) else {
                    continue;
                };
                if target_rank > rank {
                    upward.push(format!(
                        "{}:{line}: {module} uses {target}",
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up the house:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_file_is_written_through_the_atomic_helper() {
    // `experiment::files` writes to a temporary file and renames it: nothing else may open a
    // file for writing.
    let mut writers = Vec::new();
    for module in layers() {
        for file in files_of(&module) {
            if file.ends_with("experiment/files.rs") {
                continue;
            }
            for (number, line) in code_of(&file).lines().enumerate() {
                let calls = ["fs::write(", "File::create(", "OpenOptions::new("];
                let opens = calls.iter().any(|call| {
                    line.match_indices(call).any(|(at, _)| {
                        !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                });
                if opens {
                    writers.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(src()).unwrap_or(&file).display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        writers.is_empty(),
        "files written around experiment::files:\n{}",
        writers.join("\n")
    );
}

#[test]
fn the_check_finds_an_upward_import() {
    // The detector itself: a path to a later layer is found, one in a comment is not.
    let code =
        "use crate::experiment::Plan;\n// crate::gui is not code\nlet x = crate::data::load;";
    let names: Vec<String> = crate_paths(&code_of_text(code))
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["experiment", "data"]);
}

/// [`code_of`] on a string.
fn code_of_text(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.rs");
    std::fs::write(&path, text).unwrap();
    code_of(&path)
}

//! `flowlab diagnose` and the diagnostics outputs of `flowlab run`: every experiment file is
//! diagnosed without failure, `--json` is a valid versioned document, `--out` writes the report
//! and its tables, `--figures` writes valid, non-blank SVG and PNG files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufReader, Cursor};
use std::path::{Path, PathBuf};

use common::{flowlab, stderr};
use serde_json::Value;

fn experiment(name: &str) -> String {
    format!("{}/experiments/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

fn experiments() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/experiments"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the experiments folder is missing");
    files
}

#[test]
fn diagnose_succeeds_on_every_experiment_file() {
    for file in experiments() {
        let output = flowlab(&["diagnose", file.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{}: {}",
            file.display(),
            stderr(&output)
        );
        let summary = String::from_utf8(output.stdout).unwrap();
        for part in [
            "spectrum",
            "lipschitz",
            "divergence",
            "energy",
            "symplecticity",
            "reversibility",
            "gradients",
            "robustness",
            "boundary",
            "trajectories",
        ] {
            assert!(
                summary.contains(part),
                "{}: no {part} line in\n{summary}",
                file.display()
            );
        }
        assert!(
            !summary.contains("FAILED"),
            "{}:\n{summary}",
            file.display()
        );
        assert!(
            summary.contains("(rigorous): holds everywhere"),
            "{}: no rigorous bound reported as holding\n{summary}",
            file.display()
        );

        let output = flowlab(&["diagnose", file.to_str().unwrap(), "--json"]);
        assert!(output.status.success(), "{}", file.display());
        let document: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{}: --json does not parse: {e}", file.display()));
        assert_eq!(document["format"], "flowlab-diagnostics");
        for part in ["spectrum", "lipschitz", "divergence", "structure"] {
            assert_eq!(
                document["report"][part]["status"],
                "computed",
                "{}: {part}",
                file.display()
            );
        }
    }
}

/// Every figure of every experiment is a valid, non-blank SVG and PNG (`--ignored`: about a
/// second per file; `figures_are_valid_svg_and_png_files` covers two files in the fast run).
#[test]
#[ignore = "renders the figures of every experiment file"]
fn figures_of_every_experiment_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for file in experiments() {
        let out = dir.path().join(file.file_stem().unwrap());
        let output = flowlab(&[
            "diagnose",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--figures",
        ]);
        assert!(
            output.status.success(),
            "{}: {}",
            file.display(),
            stderr(&output)
        );
        let figures: Vec<PathBuf> = fs::read_dir(out.join("figures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(figures.len() >= 16, "{}: {figures:?}", file.display());
        for figure in figures {
            match figure.extension().and_then(|e| e.to_str()) {
                Some("svg") => check_svg(&figure),
                Some("png") => check_png(&figure),
                _ => panic!("unexpected file {}", figure.display()),
            }
        }
    }
}

#[test]
fn summary_says_why_a_part_does_not_apply() {
    let output = flowlab(&["diagnose", &experiment("resnet_euler_spirals")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = String::from_utf8(output.stdout).unwrap();
    let energy = summary
        .lines()
        .find(|l| l.trim_start().starts_with("energy"))
        .unwrap();
    assert!(energy.contains("not applicable: "), "{energy}");
    assert!(energy.contains("not Hamiltonian"), "{energy}");
}

#[test]
fn json_output_is_a_versioned_report() {
    let output = flowlab(&[
        "diagnose",
        &experiment("hamiltonian_verlet_spirals"),
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_eq!(document["format"], "flowlab-diagnostics");
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["iteration"], 0);
    let report = &document["report"];
    assert_eq!(report["model"]["layers"], 32);
    for part in ["spectrum", "lipschitz", "divergence", "structure"] {
        assert_eq!(report[part]["status"], "computed", "{part}");
    }
    let structure = &report["structure"]["value"];
    assert_eq!(structure["energy"]["status"], "computed");
    assert_eq!(structure["symplecticity"]["status"], "computed");
    let bounds = report["lipschitz"]["value"]["one_sided_bounds"]
        .as_array()
        .unwrap();
    assert!(bounds.iter().all(|b| b["rigor"] == "rigorous"));

    let output = flowlab(&["diagnose", &experiment("resnet_euler_spirals"), "--json"]);
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let energy = &document["report"]["structure"]["value"]["energy"];
    assert_eq!(energy["status"], "not_applicable");
    assert!(
        energy["value"]
            .as_str()
            .unwrap()
            .contains("not Hamiltonian")
    );
}

/// The CSV file's header and rows (split at commas; the tables hold numbers and plain names).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

#[test]
fn out_writes_the_report_and_one_table_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("diagnostics");
    let output = flowlab(&[
        "diagnose",
        &experiment("gradflow_negdef_donut"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value =
        serde_json::from_str(&fs::read_to_string(out.join("diagnostics.json")).unwrap()).unwrap();
    assert_eq!(document["format"], "flowlab-diagnostics");
    let layers = usize::try_from(document["report"]["model"]["layers"].as_u64().unwrap()).unwrap();

    let (header, rows) = csv(&out.join("lipschitz.csv"));
    assert_eq!(&header[..3], ["layer", "t", "nu_hat"]);
    assert!(
        header.contains(&"nu_upper_bound_rigorous".to_owned()),
        "{header:?}"
    );
    assert!(
        header.contains(&"nu_lower_bound_rigorous".to_owned()),
        "{header:?}"
    );
    assert!(
        header.contains(&"h_norm_a_squared_max_dsigma".to_owned()),
        "{header:?}"
    );
    assert_eq!(rows.len(), layers);
    for row in &rows {
        assert_eq!(row.len(), header.len());
        let nu: f64 = row[2].parse().unwrap();
        assert!(nu <= 1e-12, "gradient flow with tanh: ν̂ ≤ 0, got {nu}");
    }

    let (header, rows) = csv(&out.join("divergence.csv"));
    assert_eq!(header[0], "k");
    assert_eq!(rows.len(), layers + 1);
    let (_, rows) = csv(&out.join("singular_values_A.csv"));
    assert_eq!(rows.len(), layers);
    let (header, rows) = csv(&out.join("robustness.csv"));
    assert_eq!(
        header,
        ["epsilon", "random_accuracy", "gradient_sign_accuracy"]
    );
    assert!(!rows.is_empty());
    for table in [
        "jacobian_eigenvalues",
        "stability_boundary",
        "reversibility",
        "gradient_consistency",
        "decision_boundary",
        "feature_trajectories",
    ] {
        let (_, rows) = csv(&out.join(format!("{table}.csv")));
        assert!(!rows.is_empty(), "{table}.csv is empty");
    }
    // Not Hamiltonian: no energy table.
    assert!(!out.join("energy_error.csv").exists());
}

/// Checks an SVG file: an XML document with an `svg` root element, some text and shapes.
fn check_svg(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let start = text.trim_start();
    assert!(
        start.starts_with("<svg") || start.starts_with("<?xml"),
        "{}: not an SVG",
        path.display()
    );
    assert!(text.trim_end().ends_with("</svg>"), "{}", path.display());
    assert!(text.contains("<text"), "{}: no text", path.display());
    assert!(
        text.contains("<polyline") || text.contains("<path") || text.contains("<rect"),
        "{}: nothing drawn",
        path.display()
    );
}

/// Decodes a PNG file and checks it is a picture: a sensible size, several colours, and a fair
/// share of pixels that are not background white.
fn check_png(path: &Path) {
    let bytes = fs::read(path).unwrap();
    let decoder = png::Decoder::new(BufReader::new(Cursor::new(bytes)));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert!(
        info.width >= 800 && info.height >= 600,
        "{}: {}×{}",
        path.display(),
        info.width,
        info.height
    );
    let channels = info.color_type.samples();
    let colours: BTreeSet<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
    assert!(
        colours.len() >= 8,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
    let ink = pixels[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    let total = (info.width * info.height) as usize;
    assert!(
        ink * 100 >= total,
        "{}: only {ink} of {total} pixels drawn",
        path.display()
    );
}

#[test]
fn figures_are_valid_svg_and_png_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("verlet");
    let output = flowlab(&[
        "diagnose",
        &experiment("hamiltonian_verlet_spirals"),
        "--out",
        out.to_str().unwrap(),
        "--figures",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let figures = out.join("figures");
    let stems: BTreeSet<String> = fs::read_dir(&figures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for stem in [
        "singular_values",
        "lipschitz",
        "divergence",
        "stability",
        "energy",
        "reversibility",
        "gradients",
        "robustness",
        "decision_boundary",
        "feature_trajectories",
    ] {
        assert!(stems.contains(stem), "no {stem} figure in {stems:?}");
    }
    // At the initial parameters there is no training history to draw.
    assert!(!stems.contains("training"));
    assert!(
        stderr(&output).contains("no training figure"),
        "{}",
        stderr(&output)
    );
    for stem in &stems {
        check_svg(&figures.join(format!("{stem}.svg")));
        check_png(&figures.join(format!("{stem}.png")));
    }
    // The legends say which bounds are rigorous and which are estimates.
    let divergence = fs::read_to_string(figures.join("divergence.svg")).unwrap();
    assert!(divergence.contains("(rigorous)") && divergence.contains("(estimate)"));

    // A ResNet has no energy: no energy figure, and the reason is given.
    let out = dir.path().join("resnet");
    let output = flowlab(&[
        "diagnose",
        &experiment("resnet_euler_spirals"),
        "--out",
        out.to_str().unwrap(),
        "--figures",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!out.join("figures/energy.svg").exists());
    assert!(
        stderr(&output).contains("no energy figure: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_writes_the_diagnostics_history_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = flowlab(&[
        "run",
        &experiment("gradflow_negdef_donut"),
        "--iterations",
        "20",
        "--quiet",
        "--figures",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (iterations, lines) = history(&out);
    // The initial parameters and the end (the file's `every` is larger than 20).
    assert_eq!(iterations, [0, 20]);
    for line in &lines {
        assert_eq!(line["format"], "flowlab-diagnostics-history");
        assert_eq!(line["format_version"], 1);
        assert_eq!(line["report"]["lipschitz"]["status"], "computed");
        assert!(line["report"]["spectrum"]["value"]["jacobian_eigenvalues"].is_null());
    }
    for stem in ["training", "lipschitz", "decision_boundary"] {
        check_svg(&out.join(format!("figures/{stem}.svg")));
        check_png(&out.join(format!("figures/{stem}.png")));
    }
}

/// Runs `flowlab run FILE --iterations N --quiet --out OUT` and returns the iterations of the
/// diagnostics history it leaves and its lines.
fn run_to(file: &Path, iterations: usize, out: &Path) -> (Vec<u64>, Vec<Value>, String) {
    let output = flowlab(&[
        "run",
        file.to_str().unwrap(),
        "--iterations",
        &iterations.to_string(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (iterations, lines) = history(out);
    (iterations, lines, stderr(&output))
}

/// The iterations and lines of `OUT/diagnostics.jsonl`.
fn history(out: &Path) -> (Vec<u64>, Vec<Value>) {
    let text = fs::read_to_string(out.join("diagnostics.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let iterations = lines
        .iter()
        .map(|l| l["iteration"].as_u64().unwrap())
        .collect();
    (iterations, lines)
}

#[test]
fn a_resumed_run_continues_the_diagnostics_history() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let (iterations, lines, _) =
        run_to(Path::new(&experiment("gradflow_negdef_donut")), 20, &first);
    assert_eq!(iterations, [0, 20]);
    let checkpoint_20 = fs::read_to_string(first.join("experiment.ron")).unwrap();

    // Resumed into another folder: the history of the run that wrote the checkpoint (next to the
    // file) is continued, line for line, in the same feature projection (`every` is 50).
    let other = dir.path().join("other");
    let (iterations, resumed, _) = run_to(&first.join("experiment.ron"), 60, &other);
    assert_eq!(iterations, [0, 20, 50, 60]);
    assert_eq!(resumed[..2], lines[..]);
    let projection = |line: &Value| line["report"]["trajectories"]["value"]["projection"].clone();
    assert!(projection(&resumed[0]).is_object());
    assert_eq!(projection(&resumed[3]), projection(&resumed[0]));

    // Resumed into its own folder: the same history (but for the timings).
    let (iterations, same, _) = run_to(&first.join("experiment.ron"), 60, &first);
    assert_eq!(iterations, [0, 20, 50, 60]);
    let untimed = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .map(|line| {
                let mut line = line.clone();
                line["report"]["elapsed_secs"] = Value::Null;
                line
            })
            .collect()
    };
    assert_eq!(untimed(&same), untimed(&resumed));

    // Resumed from the older checkpoint next to a longer history: what came after the
    // checkpoint is left out.
    let older = dir.path().join("older");
    fs::create_dir_all(&older).unwrap();
    fs::write(older.join("experiment.ron"), &checkpoint_20).unwrap();
    fs::copy(
        first.join("diagnostics.jsonl"),
        older.join("diagnostics.jsonl"),
    )
    .unwrap();
    let (iterations, _, _) = run_to(&older.join("experiment.ron"), 30, &older);
    assert_eq!(iterations, [0, 20, 30]);

    // A history that is not flowlab's is left behind with a warning that names it.
    let broken = dir.path().join("broken");
    fs::create_dir_all(&broken).unwrap();
    fs::write(broken.join("experiment.ron"), &checkpoint_20).unwrap();
    fs::write(broken.join("diagnostics.jsonl"), "iteration,loss\n").unwrap();
    let (iterations, _, warnings) = run_to(&broken.join("experiment.ron"), 30, &broken);
    assert_eq!(iterations, [20, 30]);
    assert!(
        warnings.contains("line 1 of the diagnostics history")
            && warnings.contains("diagnostics.jsonl"),
        "{warnings}"
    );
}

#[test]
fn a_resumed_run_writes_the_history_a_straight_run_writes() {
    // The default experiment draws its trajectories in principal axes (d = 4): the projection
    // read back from the history must be the one written, to the last bit.
    let dir = tempfile::tempdir().unwrap();
    let mut exp =
        flowlab::experiment::load(Path::new(&experiment("resnet_euler_spirals"))).unwrap();
    exp.diagnostics.every = 10;
    let file = dir.path().join("every10.ron");
    flowlab::experiment::save(&exp, &file).unwrap();
    let untimed = |lines: Vec<Value>| -> Vec<Value> {
        lines
            .into_iter()
            .map(|mut line| {
                line["report"]["elapsed_secs"] = Value::Null;
                line
            })
            .collect()
    };
    let (_, straight, _) = run_to(&file, 40, &dir.path().join("straight"));
    let half = dir.path().join("half");
    run_to(&file, 20, &half);
    let (iterations, resumed, _) = run_to(&half.join("experiment.ron"), 40, &half);
    assert_eq!(iterations, [0, 10, 20, 30, 40]);
    assert!(straight[4]["report"]["trajectories"]["value"]["projection"]["axes"].is_array());
    assert_eq!(untimed(resumed), untimed(straight));
}

//! The Data section: generator or CSV file, size, noise, split, seed, a thumbnail.

use std::mem::discriminant;

use eframe::egui::{self, Checkbox, TextEdit, Ui};
use egui_plot::{Plot, Points};

use super::ComposerAction;
use crate::data::{CsvSpec, DataSource, LabelColumn, Split};
use crate::experiment::Experiment;
use crate::gui::widgets::{Choice, combo_row, f64_row, row, seed_row, usize_row};

fn generator_text(source: &DataSource) -> &'static str {
    match source {
        DataSource::TwoSpirals => "Two spirals",
        DataSource::Donut1d => "Donut 1D",
        DataSource::Donut2d => "Donut 2D",
        DataSource::Squares => "Squares",
        DataSource::Spiral => "Spiral",
        DataSource::Circle => "Circle",
        DataSource::Xor => "Xor",
        DataSource::Gauss => "Gauss",
        DataSource::Moons => "Moons",
        DataSource::SwissRoll => "Swiss roll",
        DataSource::Peaks => "Peaks (5 classes)",
        DataSource::Checkerboard => "Checkerboard",
        DataSource::HdnnSwissRoll => "Swiss roll (Galimberti)",
        DataSource::DoubleCircles => "Double circles",
        DataSource::DoubleMoons => "Double moons",
        DataSource::Csv(_) => "CSV file",
    }
}

fn generator_tip(source: &DataSource) -> &'static str {
    match source {
        DataSource::TwoSpirals => {
            "Two interleaved spirals winding 1¾ turns to radius ≈ 1; 2 classes."
        }
        DataSource::Donut1d => {
            "Points on a line: inner interval vs outer (Benning et al. 2019); 1 feature."
        }
        DataSource::Donut2d => "A disc inside a ring (Benning et al. 2019).",
        DataSource::Squares => {
            "The quadrants of [−0.7, 0.7]², class = sign of x·y (Benning et al. 2019)."
        }
        DataSource::Spiral => "Two one-turn spirals, one rotated by π (Benning et al. 2019).",
        DataSource::Circle => {
            "TensorFlow Playground: inside radius 2.5 vs a ring 3.5–5; noise = label noise."
        }
        DataSource::Xor => {
            "TensorFlow Playground: class = sign of x·y on [−5, 5]²; noise = label noise."
        }
        DataSource::Gauss => {
            "TensorFlow Playground: two Gaussian blobs at ±(2, 2); noise widens them."
        }
        DataSource::Moons => "Two interleaved half moons (scikit-learn's make_moons, centred).",
        DataSource::SwissRoll => {
            "Two spirals rolled into each other over two turns (Haber & Ruthotto 2017)."
        }
        DataSource::Peaks => {
            "Level sets of MATLAB's peaks function, 5 balanced classes (Haber & Ruthotto 2017)."
        }
        DataSource::Checkerboard => "A 4×4 checkerboard on [−1, 1]², tiles of side 0.5.",
        DataSource::HdnnSwissRoll => {
            "The swiss roll of Galimberti et al.'s Hamiltonian DNNs (2023), as their code makes it: \
             radii 0–1 and 0.2–1.2 over θ ∈ [0, 4π)."
        }
        DataSource::DoubleCircles => {
            "Four rings of radii 1–4, labels alternating, uniform jitter ±0.3 (Galimberti et al. \
             2023)."
        }
        DataSource::DoubleMoons => {
            "Two pairs of interleaved half moons side by side, uniform jitter ±0.15 (Galimberti \
             et al. 2023)."
        }
        DataSource::Csv(_) => "Numeric feature columns and one label column from a CSV file.",
    }
}

pub(super) fn data_ui(
    ui: &mut Ui,
    exp: &mut Experiment,
    split: Option<&Split>,
    actions: &mut Vec<ComposerAction>,
) {
    let data = &mut exp.data;
    let mut choices: Vec<Choice<'_, DataSource>> = DataSource::GENERATORS
        .iter()
        .map(|g| Choice {
            value: g.clone(),
            text: generator_text(g),
            tip: generator_tip(g),
        })
        .collect();
    if let DataSource::Csv(_) = &data.source {
        choices.push(Choice {
            value: data.source.clone(),
            text: generator_text(&data.source),
            tip: generator_tip(&data.source),
        });
    }
    combo_row(
        ui,
        "Generator",
        "Where the points come from: a seeded generator or a CSV file (Load CSV…).",
        &mut data.source,
        &choices,
        |a, b| discriminant(a) == discriminant(b),
    );
    ui.label("");
    if ui
        .button("Load CSV…")
        .on_hover_text(
            "Use your own data: numeric feature columns and one label column (the last one by \
             default; change it below). Classes are the distinct labels.",
        )
        .clicked()
    {
        actions.push(ComposerAction::LoadCsv);
    }
    ui.end_row();
    if let DataSource::Csv(csv) = &mut data.source {
        csv_rows(ui, csv);
    } else {
        usize_row(
            ui,
            "Points N",
            "Number of points drawn (training and test together).",
            &mut data.size,
            1..=100_000,
        );
        f64_row(
            ui,
            "Noise",
            "Noise level of the generator: the standard deviation of Gaussian noise added to \
             every coordinate, or label noise for the TensorFlow Playground sets.",
            &mut data.noise,
            0.0..=10.0,
            0.002,
        );
    }
    row(
        ui,
        "Train fraction",
        "Fraction of the points used for training, in (0, 1]; the rest is the test set.",
        |ui| ui.add(egui::Slider::new(&mut data.train_fraction, 0.05..=1.0).fixed_decimals(2)),
    );
    row(
        ui,
        "Standardise",
        "Shift and scale every feature to mean 0 and standard deviation 1 (x − μ)/s, with the \
         statistics of the training set.",
        |ui| ui.add(Checkbox::without_text(&mut data.standardize)),
    );
    seed_row(
        ui,
        "Data seed",
        "Seed of the generator and of the train/test split: the same seed gives the same points.",
        &mut exp.train.seeds.data,
    );
    if let Some(split) = split {
        ui.label("Preview")
            .on_hover_text("The training points of the current model, coloured by class.");
        data_thumbnail(ui, split);
        ui.end_row();
    }
}

fn csv_rows(ui: &mut Ui, csv: &mut CsvSpec) {
    row(
        ui,
        "CSV file",
        "Path of the CSV file; a relative path is relative to the experiment file's folder.",
        |ui| ui.add(TextEdit::singleline(&mut csv.path).desired_width(190.0)),
    );
    let mut by_name = matches!(csv.label, LabelColumn::Name(_));
    row(
        ui,
        "Label by name",
        "Find the label column by its header name (on) or by its zero-based index (off).",
        |ui| ui.add(Checkbox::without_text(&mut by_name)),
    );
    match (&mut csv.label, by_name) {
        (LabelColumn::Name(name), true) => {
            row(
                ui,
                "Label column",
                "Header name of the label column.",
                |ui| ui.add(TextEdit::singleline(name).desired_width(120.0)),
            );
        }
        (LabelColumn::Index(index), false) => {
            usize_row(
                ui,
                "Label column",
                "Zero-based index of the label column.",
                index,
                0..=10_000,
            );
        }
        (label, true) => *label = LabelColumn::Name("label".into()),
        (label, false) => *label = LabelColumn::Index(0),
    }
}

/// A small scatter plot of the training points (at most 1000 of them), one colour per class.
fn data_thumbnail(ui: &mut Ui, split: &Split) {
    let train = &split.train;
    let n_features = train.n_features();
    Plot::new("data-thumbnail")
        .width(190.0)
        .height(120.0)
        .show_axes(false)
        .show_grid(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .show_y(false)
        .show(ui, |plot| {
            for class in 0..train.n_classes {
                let points: Vec<[f64; 2]> = crate::gui::plots::scatter_rows(train.len(), 1000)
                    .filter(|&i| train.labels[i] == class)
                    .map(|i| {
                        let x = train.x[[i, 0]];
                        let y = if n_features > 1 { train.x[[i, 1]] } else { 0.0 };
                        [x, y]
                    })
                    .collect();
                plot.points(
                    Points::new(format!("class {class}"), points)
                        .radius(1.5)
                        .color(crate::gui::plots::class_color(class)),
                );
            }
        });
}

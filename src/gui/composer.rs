//! The composer: the left panel that edits the experiment, section by section. Every control has
//! a tooltip (with its formula where there is one) and the validator's problems appear under the
//! section they belong to. The composer only edits a copy of the experiment; the workbench
//! decides what a change means for the current run.

mod data;
mod method;
mod model;
mod training;

use eframe::egui::{self, Grid, RichText, TextEdit, Ui};

use super::widgets::{problems_ui, row};
use crate::data::Split;
use crate::experiment::resources::bytes;
use crate::experiment::{Experiment, Problem, Resources};

/// What the composer asks the workbench to do (things it cannot do inside a frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComposerAction {
    /// Pick a CSV file (dialog) and use it as the data source.
    LoadCsv,
}

/// What the composer shows besides the experiment.
pub struct ComposerContext<'a> {
    /// The validator's problems (each names the setting it is about).
    pub problems: &'a [Problem],
    /// Why the model could not be built although the experiment is valid (data, lift).
    pub build_error: Option<String>,
    /// The data of the current model, for the thumbnail.
    pub split: Option<&'a Split>,
    /// The estimate of a valid experiment, with the memory budget it was checked within.
    pub resources: Option<(&'a Resources, u64)>,
}

/// Sections and the settings (paths into the document) they show problems for.
const SECTIONS: [(&str, &[&str]); 6] = [
    ("Data", &["data", "train.seeds.data"]),
    (
        "Architecture",
        &[
            "model.field",
            "model.activation",
            "model.activation2",
            "model.width",
            "model.hidden",
            "model.layers",
            "model.final_time",
            "model.lift",
            "model.head",
            "model.init_scale",
        ],
    ),
    ("Constraints", &["model.constraint", "model.constraint2"]),
    ("Integrator and gradient", &["integrator", "gradient"]),
    ("Training", &["train"]),
    ("Diagnostics", &["diagnostics"]),
];

/// The problems of the section named `section`, as the composer shows them ("path: message").
fn problems_of(problems: &[Problem], section: &str) -> Vec<String> {
    let paths = SECTIONS
        .iter()
        .find(|(name, _)| *name == section)
        .map_or(&[][..], |(_, p)| *p);
    problems
        .iter()
        .filter(|p| paths.iter().any(|path| p.is_under(path)))
        .filter(|p| section == "Data" || !p.is_under("train.seeds.data"))
        .map(ToString::to_string)
        .collect()
}

/// The problems no section shows (the format version).
fn unsorted_problems(problems: &[Problem]) -> Vec<String> {
    problems
        .iter()
        .filter(|p| {
            !SECTIONS
                .iter()
                .any(|(_, paths)| paths.iter().any(|path| p.is_under(path)))
        })
        .map(ToString::to_string)
        .collect()
}

/// A collapsible section titled with its problem count; `body` draws a two-column grid.
fn section(ui: &mut Ui, title: &str, problems: &[String], body: impl FnOnce(&mut Ui)) {
    let header = if problems.is_empty() {
        RichText::new(title).strong()
    } else {
        RichText::new(format!("{title}  ⚠ {}", problems.len()))
            .strong()
            .color(super::widgets::problem_color(ui))
    };
    egui::CollapsingHeader::new(header)
        .id_salt(title)
        .default_open(true)
        .show(ui, |ui| {
            Grid::new(("composer", title))
                .num_columns(2)
                .spacing([10.0, 5.0])
                .striped(false)
                .show(ui, body);
            problems_ui(ui, problems);
        });
}

/// Draws the composer for `exp`; returns the actions it asks for.
pub fn composer_ui(
    ui: &mut Ui,
    exp: &mut Experiment,
    cx: &ComposerContext<'_>,
) -> Vec<ComposerAction> {
    let mut actions = Vec::new();
    egui::CollapsingHeader::new(RichText::new("Experiment").strong())
        .id_salt("Experiment")
        .default_open(true)
        .show(ui, |ui| {
            Grid::new("composer-experiment")
                .num_columns(2)
                .show(ui, |ui| {
                    row(
                        ui,
                        "Name",
                        "A short name for the experiment, saved in the file.",
                        |ui| ui.add(TextEdit::singleline(&mut exp.name).desired_width(190.0)),
                    );
                });
            egui::CollapsingHeader::new("Notes")
                .id_salt("notes")
                .default_open(false)
                .show(ui, |ui| {
                    ui.add(
                        TextEdit::multiline(&mut exp.notes)
                            .desired_rows(4)
                            .desired_width(f32::INFINITY),
                    )
                    .on_hover_text("Free text saved with the experiment: what it shows.");
                });
        });
    let unsorted = unsorted_problems(cx.problems);
    problems_ui(ui, &unsorted);
    if let Some(error) = &cx.build_error {
        problems_ui(ui, std::slice::from_ref(error));
    }

    section(ui, "Data", &problems_of(cx.problems, "Data"), |ui| {
        data::data_ui(ui, exp, cx.split, &mut actions);
    });
    section(
        ui,
        "Architecture",
        &problems_of(cx.problems, "Architecture"),
        |ui| {
            model::architecture_ui(ui, exp);
        },
    );
    section(
        ui,
        "Constraints",
        &problems_of(cx.problems, "Constraints"),
        |ui| {
            model::constraints_ui(ui, exp);
        },
    );
    section(
        ui,
        "Integrator and gradient",
        &problems_of(cx.problems, "Integrator and gradient"),
        |ui| method::integrator_ui(ui, exp),
    );
    section(
        ui,
        "Training",
        &problems_of(cx.problems, "Training"),
        |ui| {
            training::training_ui(ui, exp);
        },
    );
    section(
        ui,
        "Diagnostics",
        &problems_of(cx.problems, "Diagnostics"),
        |ui| {
            training::diagnostics_ui(ui, exp);
        },
    );
    if let Some((resources, budget)) = cx.resources {
        #[expect(clippy::cast_precision_loss, reason = "a byte count in words")]
        let budget = bytes(budget as f64);
        ui.add(
            egui::Label::new(
                RichText::new(format!("Estimated: {resources}; memory budget {budget}"))
                    .small()
                    .weak(),
            )
            .wrap(),
        )
        .on_hover_text(
            "What training, one diagnostics computation and the NPZ export will need, estimated \
             from the settings before anything is allocated. An experiment over the budget is \
             refused; change the budget in View ▸ Memory budget.",
        );
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::method::{avf_default, implicit_midpoint_default};
    use super::training::optimizer_default;
    use super::*;
    use crate::experiment::IntegratorSpec;

    #[test]
    fn defaults_parse() {
        assert!(matches!(
            implicit_midpoint_default(),
            IntegratorSpec::ImplicitMidpoint { .. }
        ));
        assert!(matches!(avf_default(), IntegratorSpec::Avf { .. }));
        for name in ["SGD", "Adam", "Armijo GD"] {
            assert_eq!(optimizer_default(name).map(|o| o.name()), Some(name));
        }
    }

    #[test]
    fn problems_go_to_their_section() {
        let problem = |path: &str, message: &str| Problem {
            path: path.into(),
            message: message.into(),
            value: None,
        };
        let problems = vec![
            problem("model.width", "must be at least 1 (got 0)"),
            problem("model.constraint", "Skew needs a square matrix"),
            problem("integrator", "symplectic"),
            problem("train.seeds.data", "whatever"),
            problem("format_version", "old"),
        ];
        assert_eq!(problems_of(&problems, "Architecture").len(), 1);
        assert_eq!(problems_of(&problems, "Constraints").len(), 1);
        assert_eq!(problems_of(&problems, "Integrator and gradient").len(), 1);
        assert_eq!(problems_of(&problems, "Data").len(), 1);
        assert_eq!(problems_of(&problems, "Training").len(), 0);
        assert_eq!(unsorted_problems(&problems), vec!["format_version: old"]);
    }
}

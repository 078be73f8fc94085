//! Small building blocks of the composer: a labelled row with its tooltip (the label is the
//! control's accessible name), combo boxes over a list of choices, problem messages.

use std::ops::RangeInclusive;

use eframe::egui::{self, Color32, ComboBox, DragValue, Response, RichText, Ui};

/// The colour of problem messages.
#[must_use]
pub fn problem_color(ui: &Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(255, 120, 100)
    } else {
        Color32::from_rgb(190, 30, 20)
    }
}

/// One row of a two-column grid: the label, then the control `add` draws, named by the label
/// and with `tip` as the tooltip of both.
pub fn row(ui: &mut Ui, label: &str, tip: &str, add: impl FnOnce(&mut Ui) -> Response) -> Response {
    let label = ui.label(label).on_hover_text(tip);
    let response = add(ui).labelled_by(label.id).on_hover_text(tip);
    ui.end_row();
    response
}

/// A choice for [`combo_row`]: the value, its words and its tooltip.
pub struct Choice<'a, T> {
    /// The value.
    pub value: T,
    /// What the list shows.
    pub text: &'a str,
    /// What it means (a formula where there is one).
    pub tip: &'a str,
}

/// A grid row with a combo box over `choices`; `same` compares for the selection (so variants
/// with settings match whatever their settings). Returns whether the value changed.
pub fn combo_row<T: Clone>(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut T,
    choices: &[Choice<'_, T>],
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    let selected = choices
        .iter()
        .find(|c| same(&c.value, value))
        .map_or("(other)", |c| c.text);
    let mut changed = false;
    let label_response = ui.label(label).on_hover_text(tip);
    let inner = ComboBox::from_id_salt(label)
        .selected_text(selected)
        .width(170.0)
        .show_ui(ui, |ui| {
            for choice in choices {
                let is_selected = same(&choice.value, value);
                if ui
                    .selectable_label(is_selected, choice.text)
                    .on_hover_text(choice.tip)
                    .clicked()
                    && !is_selected
                {
                    *value = choice.value.clone();
                    changed = true;
                }
            }
        });
    let _ = inner
        .response
        .labelled_by(label_response.id)
        .on_hover_text(tip);
    ui.end_row();
    changed
}

/// A grid row with a drag value for a count.
pub fn usize_row(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut usize,
    range: RangeInclusive<usize>,
) -> Response {
    row(ui, label, tip, |ui| {
        ui.add(DragValue::new(value).range(range).speed(0.2))
    })
}

/// A grid row with a drag value for a real number (`speed` per pixel dragged).
pub fn f64_row(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut f64,
    range: RangeInclusive<f64>,
    speed: f64,
) -> Response {
    row(ui, label, tip, |ui| {
        ui.add(
            DragValue::new(value)
                .range(range)
                .speed(speed)
                .max_decimals(6),
        )
    })
}

/// A grid row with a drag value for a seed.
pub fn seed_row(ui: &mut Ui, label: &str, tip: &str, value: &mut u64) -> Response {
    row(ui, label, tip, |ui| {
        ui.add(
            DragValue::new(value)
                .range(0..=u64::from(u32::MAX))
                .speed(0.2),
        )
    })
}

/// The validator's messages, one per line, in the problem colour.
pub fn problems_ui(ui: &mut Ui, problems: &[String]) {
    let color = problem_color(ui);
    for problem in problems {
        ui.add(egui::Label::new(RichText::new(format!("⚠ {problem}")).color(color)).wrap());
    }
}

/// A greyed explanation under a control.
pub fn hint(ui: &mut Ui, text: &str) {
    ui.add(egui::Label::new(RichText::new(text).weak().small()).wrap());
}

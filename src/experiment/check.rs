//! Checking an experiment: the one place a document is validated. [`check`] turns an
//! [`Experiment`] into a [`Plan`] of the engine's own types, or lists every [`Problem`] it has.
//!
//! Each problem names the setting it is about, as a path into the document (`model.width`,
//! `integrator.Tableau.b`: the paths a study or the composer uses), says what is wrong in words
//! a user understands and, where one value is to blame, gives it. All problems are listed, not
//! just the first.
//!
//! Checks that need the data (a zero-padding lift narrower than a CSV file's features) or the
//! model's parameter layout (the length of a checkpoint's parameters) are done where those are
//! known, when the session is built.

use std::fmt::{self, Display};

use super::plan::Plan;
use super::resources::{DataDims, Limits, Shape, fits};
use super::spec::{
    Dissipation, Experiment, FORMAT_VERSION, GradientSpec, IntegratorSpec, Interconnection,
    ModelSpec, TableauSpec, TrainSpec,
};
use crate::data::{DataSource, DataSpec, train_count};
use crate::diagnostics::DiagnosticsSpec;
use crate::integrate::{Gradient, Integrator, Splitting, Tableau};
use crate::model::{Activation, Constraint, Field, FieldKind};
use crate::train::optimizer::{OptimizerSpec, OptimizerState};
use crate::train::regularizer::Regularizer;
use crate::train::{Architecture, BatchSpec, Checkpoint, HeadSpec, LiftSpec, Training};

/// Tolerance on `Σ b = 1` for a Butcher tableau (the weights of a method given in decimal, such
/// as RK4's sixths, do not sum to exactly 1 in floating point).
const WEIGHT_SUM_TOLERANCE: f64 = 1e-12;

/// The largest state width `d` and hidden width `m`.
pub const MAX_WIDTH: usize = 4096;
/// The most layers `K`.
pub const MAX_LAYERS: usize = 100_000;
/// The most stages of a Butcher tableau given in a file.
pub const MAX_STAGES: usize = 64;
/// The most Newton iterations of one implicit midpoint step.
pub const MAX_NEWTON_ITERATIONS: u32 = 1000;
/// The smallest Newton tolerance (relative to `1 + |w|`): f64's machine epsilon; below it the
/// iteration cannot converge.
pub const MIN_NEWTON_TOLERANCE: f64 = f64::EPSILON;
/// The most points per side of the decision-boundary grid.
pub const MAX_GRID: usize = 1000;
/// The most probes, random directions, power iterations and traced points of the diagnostics.
pub const MAX_PROBES: usize = 100_000;
/// The most random directions per probe of the divergence diagnostic.
pub const MAX_RANDOM_DIRECTIONS: usize = 1000;
/// The most power iterations of the worst-case direction.
pub const MAX_POWER_ITERATIONS: usize = 100_000;
/// The most perturbation sizes of the robustness diagnostic.
pub const MAX_ROBUSTNESS_EPSILONS: usize = 100;
/// The most points of the robustness, gradient-consistency and trajectory diagnostics.
pub const MAX_DIAGNOSTIC_POINTS: usize = 10_000_000;

/// One thing wrong with an experiment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The setting, as a path into the document: `model.width`, `integrator.Tableau.b`,
    /// `train.optimizer`.
    pub path: String,
    /// What is wrong, in words ("must be at least 1 (got 0)").
    pub message: String,
    /// The value to blame as the file would spell it, when there is one (`0`, `NaN`).
    pub value: Option<String>,
}

impl Problem {
    /// Whether the problem is about the setting `path` or one inside it (`model.constraint`
    /// covers `model.constraint.gamma` but not `model.constraint2`).
    #[must_use]
    pub fn is_under(&self, path: &str) -> bool {
        self.path
            .strip_prefix(path)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    }
}

impl Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of an experiment, in the order of the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in the order of the document.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// The problems as a slice, in the order of the document.
    #[must_use]
    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }

    fn push(&mut self, path: &str, message: impl Display, value: Option<String>) {
        self.0.push(Problem {
            path: path.to_owned(),
            message: message.to_string(),
            value,
        });
    }

    fn add(&mut self, path: &str, message: impl Display) {
        self.push(path, message, None);
    }

    fn add_value(&mut self, path: &str, message: impl Display, value: impl Display) {
        self.push(path, message, Some(value.to_string()));
    }

    /// Adds "must be at least 1 (got 0)" when `value` is zero.
    fn at_least_one(&mut self, path: &str, value: usize) {
        if value == 0 {
            self.add_value(path, "must be at least 1 (got 0)", value);
        }
    }

    /// Adds "must be at most `max` (got `value`)" when `value` exceeds `max`.
    fn at_most(&mut self, path: &str, value: usize, max: usize) {
        if value > max {
            self.add_value(path, format!("must be at most {max} (got {value})"), value);
        }
    }

    /// Adds a problem when `value` is negative or not finite (NaN, infinite).
    fn non_negative(&mut self, path: &str, value: f64) {
        if !value.is_finite() {
            self.add_value(
                path,
                format!("must be a finite number (got {value})"),
                value,
            );
        } else if value < 0.0 {
            self.add_value(
                path,
                format!("must not be negative (got {})", real(value)),
                value,
            );
        }
    }

    /// Adds a problem when `value` is zero, negative or not finite.
    fn positive(&mut self, path: &str, value: f64) {
        if !value.is_finite() {
            self.add_value(
                path,
                format!("must be a finite number (got {value})"),
                value,
            );
        } else if value <= 0.0 {
            self.add_value(
                path,
                format!("must be greater than 0 (got {})", real(value)),
                value,
            );
        }
    }
}

/// A real number as a message shows it: in scientific notation when it is very large or very
/// small (`-1.7976931348623157e308`, not 309 digits).
fn real(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One line of summary, then one line per problem.
impl Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("invalid experiment"),
            [one] => write!(f, "invalid experiment: {one}"),
            many => {
                write!(f, "invalid experiment ({} problems):", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Problems {}

/// Checks an experiment: the [`Plan`] of engine types it describes, or every problem it has.
///
/// ```
/// use flowlab::experiment::{check, from_ron_str};
///
/// let mut exp = from_ron_str(flowlab::experiment::DEFAULT_EXPERIMENT)?;
/// let plan = check(&exp).expect("the default experiment is valid");
/// assert_eq!(plan.architecture.layers, exp.model.layers);
///
/// exp.model.width = 0;
/// let problems = check(&exp).unwrap_err();
/// let problem = problems.iter().next().expect("one problem");
/// assert_eq!((problem.path.as_str(), problem.value.as_deref()), ("model.width", Some("0")));
/// # Ok::<(), flowlab::experiment::Error>(())
/// ```
pub fn check(exp: &Experiment) -> Result<Plan, Problems> {
    check_with(exp, Limits::default())
}

/// [`check`] within `limits`: an experiment whose estimated memory ([`super::Resources`]) exceeds the
/// budget is refused with a problem that names the estimate and the settings that would fit.
pub fn check_with(exp: &Experiment, limits: Limits) -> Result<Plan, Problems> {
    let mut found = Problems::default();
    if exp.format_version != FORMAT_VERSION {
        found.add_value(
            "format_version",
            format!(
                "this build reads and writes version {FORMAT_VERSION} (got {})",
                exp.format_version
            ),
            exp.format_version,
        );
    }
    for problem in exp.data.problems() {
        found.add("data", problem);
    }
    let model = model(&exp.model, &exp.data, &mut found);
    let integrator = integrator(&exp.integrator, exp.model.field, &mut found);
    let gradient = gradient(&exp.gradient, &mut found);
    train_problems(&exp.train, &mut found);
    diagnostics_problems(&exp.diagnostics, &mut found);
    if let Some(checkpoint) = &exp.checkpoint {
        checkpoint_problems(checkpoint, &exp.train.optimizer, &mut found);
    }
    let (Some(model), Some(integrator), Some(gradient)) = (model, integrator, gradient) else {
        return Err(found);
    };
    if matches!(integrator, Integrator::Avf { .. }) {
        avf_problems(&model.field, &gradient, &mut found);
    }
    if !found.is_empty() {
        return Err(found);
    }
    let h = model.final_time / model.layers as f64;
    let architecture = Architecture {
        field: model.field,
        layers: model.layers,
        final_time: model.final_time,
        lift: model.lift,
        head: model.head,
        constraints: model.constraints,
        integrator,
        gradient,
    };
    let training = training(&exp.train, exp.model.init_scale, h);
    // The data's sizes as far as the spec tells them (a CSV file's once it is read).
    let dims = match exp.data.source {
        DataSource::Csv(_) => DataDims {
            points: 0,
            train_points: 0,
            inputs: 1,
            classes: 2,
        },
        _ => DataDims {
            points: exp.data.size,
            train_points: train_count(exp.data.size, exp.data.train_fraction),
            inputs: exp.data.input_dim().unwrap_or(1),
            classes: exp.data.n_classes().unwrap_or(2),
        },
    };
    let shape = Shape::of(
        &architecture,
        &training,
        &exp.diagnostics,
        dims,
        limits.threads,
    );
    match fits(&shape, limits.memory) {
        Ok(resources) => Ok(Plan {
            name: exp.name.clone(),
            data: exp.data.clone(),
            data_seed: exp.train.seeds.data,
            architecture,
            training,
            diagnostics: exp.diagnostics.clone(),
            checkpoint: exp.checkpoint.clone(),
            resources,
            limits,
        }),
        Err(over) => {
            found.add(over.path(), &over);
            Err(found)
        }
    }
}

/// The model section's settings as the engine takes them.
struct Model {
    field: Field,
    layers: usize,
    final_time: f64,
    lift: LiftSpec,
    head: HeadSpec,
    constraints: [Constraint; 2],
}

fn model(model: &ModelSpec, data: &DataSpec, found: &mut Problems) -> Option<Model> {
    let before = found.len();
    let width = model.width;
    let hidden = model.hidden.unwrap_or(width);
    found.at_least_one("model.width", width);
    found.at_most("model.width", width, MAX_WIDTH);
    if let Some(hidden) = model.hidden {
        found.at_most("model.hidden", hidden, MAX_WIDTH);
    }
    if model.hidden == Some(0) {
        found.add_value(
            "model.hidden",
            "must be at least 1 (got 0); leave it out to use the width",
            0,
        );
    }
    found.at_least_one("model.layers", model.layers);
    found.at_most("model.layers", model.layers, MAX_LAYERS);
    if !model.final_time.is_finite() {
        found.add_value(
            "model.final_time",
            format!("must be a finite number (got {})", model.final_time),
            model.final_time,
        );
    } else if model.final_time <= 0.0 {
        found.add_value(
            "model.final_time",
            format!(
                "must be greater than 0 (got {}): the step h = final_time / layers would be {}",
                real(model.final_time),
                if model.final_time == 0.0 {
                    "zero"
                } else {
                    "negative"
                }
            ),
            model.final_time,
        );
    }
    found.non_negative("model.init_scale", model.init_scale);

    activation_problems(model.activation, "model.activation", found);
    if let Some(activation2) = model.activation2 {
        activation_problems(activation2, "model.activation2", found);
    }

    if model.field == FieldKind::PortHamiltonian {
        if !width.is_multiple_of(2) && model.interconnection.is_canonical() {
            found.add_value(
                "model.width",
                format!(
                    "the PortHamiltonian field's J = [[0, I], [−I, 0]] needs an even width (got \
                     {width}); or learn J (interconnection: Learned)"
                ),
                width,
            );
        }
        found.non_negative("model.dissipation", model.dissipation.gamma());
    } else {
        for (setting, set) in [
            ("model.dissipation", !model.dissipation.is_none()),
            (
                "model.interconnection",
                !model.interconnection.is_canonical(),
            ),
        ] {
            if set {
                found.add(
                    setting,
                    format!(
                        "only the PortHamiltonian field has an interconnection J and a \
                         dissipation R, and model.field is {:?}; remove this setting",
                        model.field
                    ),
                );
            }
        }
    }

    let has_second_matrix = model.field == FieldKind::Hamiltonian;
    if !has_second_matrix {
        let why = format!(
            "only the Hamiltonian field has a second matrix A2, and model.field is {:?}; remove \
             this setting",
            model.field
        );
        if model.activation2.is_some() {
            found.add("model.activation2", &why);
        }
        if model.constraint2.is_some() {
            found.add("model.constraint2", &why);
        }
    }

    // The matrices each constraint acts on, with their names in the documentation.
    let (first_matrix, second_matrix) = match model.field {
        FieldKind::Hamiltonian if model.constraint2.is_none() => ("A1 and A2", None),
        FieldKind::Hamiltonian => ("A1", Some("A2")),
        _ => ("A", None),
    };
    constraint_problems(&model.constraint, "model.constraint", found);
    if let Some(constraint2) = &model.constraint2 {
        constraint_problems(constraint2, "model.constraint2", found);
    }
    if model.field.is_square() {
        if hidden != width && hidden > 0 {
            found.add_value(
                "model.hidden",
                format!(
                    "the {:?} field's A is square, so hidden must equal width (got hidden \
                     {hidden}, width {width}); leave hidden out",
                    model.field
                ),
                hidden,
            );
        }
    } else if hidden != width && hidden > 0 && width > 0 {
        let shape = format!("{hidden}×{width} (hidden {hidden}, width {width})");
        if model.constraint.needs_square() {
            found.add_value(
                "model.constraint",
                format!(
                    "{} needs a square matrix, but {first_matrix} {} {shape}",
                    constraint_variant(&model.constraint),
                    if first_matrix.contains(" and ") {
                        "are"
                    } else {
                        "is"
                    },
                ),
                constraint_variant(&model.constraint),
            );
        }
        if let (Some(constraint2), Some(matrix)) = (&model.constraint2, second_matrix)
            && constraint2.needs_square()
        {
            found.add_value(
                "model.constraint2",
                format!(
                    "{} needs a square matrix, but {matrix} is {shape}",
                    constraint_variant(constraint2)
                ),
                constraint_variant(constraint2),
            );
        }
    }

    lift_problems(model.lift, width, data.input_dim(), found);
    head_problems(model.head, data.n_classes(), found);
    (found.len() == before).then(|| Model {
        field: Field {
            kind: model.field,
            width,
            hidden,
            activation: model.activation,
            activation2: if has_second_matrix {
                model.activation2.unwrap_or(model.activation)
            } else {
                model.activation
            },
            dissipation: model.dissipation.gamma(),
            learned: [
                model.interconnection == Interconnection::Learned,
                model.dissipation == Dissipation::Learned,
            ],
        },
        layers: model.layers,
        final_time: model.final_time,
        lift: model.lift,
        head: model.head,
        constraints: [
            model.constraint,
            model.constraint2.unwrap_or(model.constraint),
        ],
    })
}

/// `input_dim`: the number of input features, when the data spec tells it without loading.
fn lift_problems(lift: LiftSpec, width: usize, input_dim: Option<usize>, found: &mut Problems) {
    if lift == LiftSpec::Pad
        && width > 0
        && let Some(input_dim) = input_dim
        && width < input_dim
    {
        found.add_value(
            "model.width",
            format!(
                "lift Pad appends zeros to the {input_dim} input features, so width must be at \
                 least {input_dim} (got {width}); raise the width or use lift: Linear"
            ),
            width,
        );
    }
}

/// `classes`: the number of classes, when the data spec tells it without loading.
fn head_problems(head: HeadSpec, classes: Option<usize>, found: &mut Problems) {
    if head == HeadSpec::SoftmaxCrossEntropy
        && let Some(classes) = classes
        && classes < 2
    {
        found.add_value(
            "model.head",
            format!("SoftmaxCrossEntropy needs at least 2 classes, but the data has {classes}"),
            "SoftmaxCrossEntropy",
        );
    }
}

fn activation_problems(activation: Activation, path: &str, found: &mut Problems) {
    if let Activation::LeakyRelu(slope) = activation
        && !slope.is_finite()
    {
        found.add_value(
            path,
            format!("the LeakyRelu slope must be a finite number (got {slope})"),
            slope,
        );
    }
}

/// The variant's name as written in a file.
fn constraint_variant(constraint: &Constraint) -> &'static str {
    match constraint {
        Constraint::None => "None",
        Constraint::Skew { .. } => "Skew",
        Constraint::NegDef { .. } => "NegDef",
        Constraint::Orthogonal => "Orthogonal",
        Constraint::SpectralNorm { .. } => "SpectralNorm",
    }
}

fn constraint_problems(constraint: &Constraint, path: &str, found: &mut Problems) {
    match *constraint {
        Constraint::None | Constraint::Orthogonal => {}
        Constraint::Skew { gamma } => found.non_negative(&format!("{path}.gamma"), gamma),
        Constraint::NegDef { eps } => found.non_negative(&format!("{path}.eps"), eps),
        Constraint::SpectralNorm { max } => found.positive(&format!("{path}.max"), max),
    }
}

/// The variant's name as written in a file.
fn integrator_variant(integrator: &IntegratorSpec) -> &'static str {
    match integrator {
        IntegratorSpec::Euler => "Euler",
        IntegratorSpec::ExplicitMidpoint => "ExplicitMidpoint",
        IntegratorSpec::Heun => "Heun",
        IntegratorSpec::Rk4 => "Rk4",
        IntegratorSpec::Tableau(_) => "Tableau",
        IntegratorSpec::SymplecticEulerA => "SymplecticEulerA",
        IntegratorSpec::SymplecticEulerB => "SymplecticEulerB",
        IntegratorSpec::StormerVerlet => "StormerVerlet",
        IntegratorSpec::ImplicitMidpoint { .. } => "ImplicitMidpoint",
        IntegratorSpec::Avf { .. } => "Avf",
    }
}

/// The engine's method of an integrator spec (`path` names the setting, e.g. `integrator`), or
/// `None` when a tableau given in the file has problems (added to `found`). The settings of the
/// implicit midpoint rule are checked by [`integrator`], where they are used.
fn method(spec: &IntegratorSpec, path: &str, found: &mut Problems) -> Option<Integrator> {
    Some(match spec {
        IntegratorSpec::Euler => Integrator::Explicit(Tableau::euler()),
        IntegratorSpec::ExplicitMidpoint => Integrator::Explicit(Tableau::explicit_midpoint()),
        IntegratorSpec::Heun => Integrator::Explicit(Tableau::heun()),
        IntegratorSpec::Rk4 => Integrator::Explicit(Tableau::rk4()),
        IntegratorSpec::Tableau(tableau_spec) => {
            Integrator::Explicit(tableau(tableau_spec, &format!("{path}.Tableau"), found)?)
        }
        IntegratorSpec::SymplecticEulerA => Integrator::Splitting(Splitting::SymplecticEulerA),
        IntegratorSpec::SymplecticEulerB => Integrator::Splitting(Splitting::SymplecticEulerB),
        IntegratorSpec::StormerVerlet => Integrator::Splitting(Splitting::StormerVerlet),
        IntegratorSpec::ImplicitMidpoint {
            tolerance,
            max_iterations,
        } => Integrator::ImplicitMidpoint {
            tolerance: *tolerance,
            max_iterations: *max_iterations,
        },
        IntegratorSpec::Avf {
            tolerance,
            max_iterations,
        } => Integrator::Avf {
            tolerance: *tolerance,
            max_iterations: *max_iterations,
        },
    })
}

/// What the AVF method needs of the field and the gradient method.
fn avf_problems(field: &Field, gradient: &Gradient, found: &mut Problems) {
    if !crate::integrate::avf_fits(field) {
        let why = if field.kind.has_energy() {
            format!(
                "its energy needs an activation whose antiderivative has a closed form, and {} \
                 has none",
                if field.activation.has_antiderivative() {
                    field.activation2.name()
                } else {
                    field.activation.name()
                }
            )
        } else {
            format!("model.field is {:?}", field.kind)
        };
        found.add_value(
            "integrator",
            format!(
                "Avf needs a field of the form S∇H (Hamiltonian, HamiltonianShared, SecondOrder \
                 or PortHamiltonian): {why}"
            ),
            "Avf",
        );
    }
    if *gradient == Gradient::Partner {
        found.add_value(
            "gradient",
            "Partner needs a symplectic method, and Avf conserves the energy but is not \
             symplectic: use Dto (its exact adjoint) or Backward(…)",
            "Partner",
        );
    }
}

fn integrator(spec: &IntegratorSpec, field: FieldKind, found: &mut Problems) -> Option<Integrator> {
    const PATH: &str = "integrator";
    let integrator = method(spec, PATH, found)?;
    match integrator {
        Integrator::Explicit(_) => {}
        Integrator::Splitting(_) => {
            if !field.is_split() {
                found.add_value(
                    PATH,
                    format!(
                        "{} needs a split field z' = D(p), p' = K(z) (Hamiltonian, \
                         HamiltonianShared, SecondOrder or Leapfrog), but model.field is {field:?}",
                        integrator_variant(spec)
                    ),
                    integrator_variant(spec),
                );
                return None;
            }
        }
        Integrator::ImplicitMidpoint {
            tolerance,
            max_iterations,
        }
        | Integrator::Avf {
            tolerance,
            max_iterations,
        } => {
            let before = found.len();
            found.positive(&format!("{PATH}.tolerance"), tolerance);
            if tolerance.is_finite()
                && tolerance > 0.0
                && !(MIN_NEWTON_TOLERANCE..=1.0).contains(&tolerance)
            {
                found.add_value(
                    &format!("{PATH}.tolerance"),
                    format!(
                        "must be from {MIN_NEWTON_TOLERANCE:e} (what f64 can resolve) to 1 (got \
                         {tolerance:e})"
                    ),
                    tolerance,
                );
            }
            if max_iterations == 0 {
                found.add_value(
                    &format!("{PATH}.max_iterations"),
                    "must be at least 1 (got 0)",
                    0,
                );
            }
            if max_iterations > MAX_NEWTON_ITERATIONS {
                found.add_value(
                    &format!("{PATH}.max_iterations"),
                    format!("must be at most {MAX_NEWTON_ITERATIONS} (got {max_iterations})"),
                    max_iterations,
                );
            }
            if found.len() != before {
                return None;
            }
        }
    }
    Some(integrator)
}

/// A Butcher tableau of an explicit Runge–Kutta method given in the file (`path` names it, e.g.
/// `integrator.Tableau`), or `None` with its problems.
fn tableau(tableau: &TableauSpec, path: &str, found: &mut Problems) -> Option<Tableau> {
    let before = found.len();
    let s = tableau.a.len();
    let a_path = format!("{path}.a");
    if s == 0 {
        found.add(&a_path, "a method needs at least one stage (a is empty)");
    }
    if s > MAX_STAGES {
        found.add(
            &a_path,
            format!("a method has at most {MAX_STAGES} stages (got {s})"),
        );
        return None;
    }
    // Row i holds either its i entries below the diagonal (a lower triangle, as tableaus are
    // printed) or all s.
    let ragged: Vec<String> = tableau
        .a
        .iter()
        .enumerate()
        .filter(|(i, row)| row.len() != s && row.len() != *i)
        .map(|(i, row)| format!("row {i} has {}", row.len()))
        .collect();
    if !ragged.is_empty() {
        found.add(
            &a_path,
            format!(
                "must be square or lower triangular: row i has the i entries below the diagonal \
                 or all {s} ({})",
                ragged.join(", ")
            ),
        );
    }
    let mut non_finite = Vec::new();
    let mut upper = Vec::new();
    for (i, row) in tableau.a.iter().enumerate() {
        for (j, &entry) in row.iter().enumerate() {
            if !entry.is_finite() {
                non_finite.push(format!("a[{i}][{j}] = {entry}"));
            } else if j >= i && entry != 0.0 {
                upper.push(format!("a[{i}][{j}] = {entry}"));
            }
        }
    }
    if !non_finite.is_empty() {
        found.add(
            &a_path,
            format!("entries must be finite ({})", non_finite.join(", ")),
        );
    }
    if !upper.is_empty() {
        found.add(
            &a_path,
            format!(
                "an explicit method needs a strictly lower triangular a (zero on and above the \
                 diagonal), but {}",
                upper.join(", ")
            ),
        );
    }

    let b_path = format!("{path}.b");
    if tableau.b.len() != s {
        found.add(
            &b_path,
            format!("needs one weight per stage: {s} (got {})", tableau.b.len()),
        );
    }
    if tableau.b.iter().any(|b| !b.is_finite()) {
        found.add(&b_path, "weights must be finite");
    } else if !tableau.b.is_empty() {
        let sum: f64 = tableau.b.iter().sum();
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            found.add(
                &b_path,
                format!("weights must sum to 1 for a consistent method (they sum to {sum})"),
            );
        }
    }

    if let Some(c) = &tableau.c {
        let c_path = format!("{path}.c");
        if c.len() != s {
            found.add(
                &c_path,
                format!("needs one node per stage: {s} (got {})", c.len()),
            );
        }
        if c.iter().any(|c| !c.is_finite()) {
            found.add(&c_path, "nodes must be finite");
        }
    }
    if tableau.order == 0 {
        found.add_value(&format!("{path}.order"), "must be at least 1 (got 0)", 0);
    }
    if found.len() != before {
        return None;
    }
    let rows: Vec<&[f64]> = tableau.a.iter().map(Vec::as_slice).collect();
    // The nodes default to the row sums of a.
    let c = tableau.c.clone().unwrap_or_else(|| {
        tableau
            .a
            .iter()
            .map(|row| row.iter().sum::<f64>())
            .collect()
    });
    let name = if tableau.name.is_empty() {
        "custom tableau"
    } else {
        &tableau.name
    };
    Some(Tableau::new(name, &rows, &tableau.b, &c, tableau.order))
}

fn gradient(gradient: &GradientSpec, found: &mut Problems) -> Option<Gradient> {
    const PATH: &str = "gradient";
    let method = match gradient {
        GradientSpec::Dto => return Some(Gradient::Dto),
        GradientSpec::Partner => return Some(Gradient::Partner),
        GradientSpec::Backward(method) => method,
    };
    match self::method(method, &format!("{PATH}.Backward"), found)? {
        Integrator::Explicit(tableau) => Some(Gradient::Backward(tableau)),
        Integrator::Splitting(_) | Integrator::ImplicitMidpoint { .. } | Integrator::Avf { .. } => {
            found.add_value(
                PATH,
                format!(
                    "Backward needs an explicit Runge–Kutta method (Euler, ExplicitMidpoint, \
                     Heun, Rk4 or Tableau), not {}",
                    integrator_variant(method)
                ),
                integrator_variant(method),
            );
            None
        }
    }
}

fn train_problems(train: &TrainSpec, found: &mut Problems) {
    for problem in train.optimizer.problems() {
        found.add("train.optimizer", problem);
    }
    // iterations = 0 is allowed: the run evaluates the initial (or checkpointed) model only.
    if train.batch == BatchSpec::MiniBatch(0) {
        found.add_value(
            "train.batch",
            "MiniBatch size must be at least 1 (got 0)",
            "MiniBatch(0)",
        );
    }
    found.non_negative("train.weight_decay", train.weight_decay);
    found.non_negative("train.time_smoothness", train.time_smoothness);
    found.at_least_one("train.eval_every", train.eval_every);
}

/// The training settings of a checked document (`h` is the model's step).
fn training(train: &TrainSpec, init_scale: f64, h: f64) -> Training {
    Training {
        optimizer: train.optimizer.clone(),
        batch: train.batch,
        iterations: train.iterations,
        regularizer: Regularizer {
            weight_decay: train.weight_decay,
            time_smoothness: train.time_smoothness,
            h,
        },
        init_scale,
        init_seed: train.seeds.init,
        batch_seed: train.seeds.batch,
        eval_every: train.eval_every,
    }
}

fn diagnostics_problems(diagnostics: &DiagnosticsSpec, found: &mut Problems) {
    if diagnostics.every > 0 && diagnostics.probes == 0 {
        found.add_value(
            "diagnostics.probes",
            format!(
                "must be at least 1 when diagnostics run (every {}); set every: 0 to turn them \
                 off",
                diagnostics.every
            ),
            0,
        );
    }
    found.positive("diagnostics.epsilon", diagnostics.epsilon);
    if diagnostics.grid < 2 {
        found.add_value(
            "diagnostics.grid",
            format!(
                "must be at least 2 points per side (got {})",
                diagnostics.grid
            ),
            diagnostics.grid,
        );
    }
    found.at_most("diagnostics.grid", diagnostics.grid, MAX_GRID);
    found.at_most("diagnostics.probes", diagnostics.probes, MAX_PROBES);
    found.at_most(
        "diagnostics.eigenvalue_probes",
        diagnostics.eigenvalue_probes,
        MAX_PROBES,
    );
    found.at_most(
        "diagnostics.random_directions",
        diagnostics.random_directions,
        MAX_RANDOM_DIRECTIONS,
    );
    found.at_most(
        "diagnostics.power_iterations",
        diagnostics.power_iterations,
        MAX_POWER_ITERATIONS,
    );
    for (path, value) in [
        (
            "diagnostics.robustness_points",
            diagnostics.robustness_points,
        ),
        ("diagnostics.gradient_points", diagnostics.gradient_points),
        (
            "diagnostics.trajectory_points",
            diagnostics.trajectory_points,
        ),
        (
            "diagnostics.finite_difference_layers",
            diagnostics.finite_difference_layers,
        ),
    ] {
        found.at_most(path, value, MAX_DIAGNOSTIC_POINTS);
    }
    let epsilons = &diagnostics.robustness_epsilons;
    if epsilons.len() > MAX_ROBUSTNESS_EPSILONS {
        found.add(
            "diagnostics.robustness_epsilons",
            format!(
                "has at most {MAX_ROBUSTNESS_EPSILONS} sizes (got {})",
                epsilons.len()
            ),
        );
    }
    if let Some(bad) = epsilons.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        found.add_value(
            "diagnostics.robustness_epsilons",
            format!("every size must be a finite number ≥ 0 (got {bad})"),
            bad,
        );
    }
}

fn checkpoint_problems(checkpoint: &Checkpoint, optimizer: &OptimizerSpec, found: &mut Problems) {
    if checkpoint.history.len() > checkpoint.iteration {
        found.add(
            "checkpoint.history",
            format!(
                "has {} records, more than the {} iterations performed",
                checkpoint.history.len(),
                checkpoint.iteration
            ),
        );
    }
    let non_finite = checkpoint.params.iter().filter(|p| !p.is_finite()).count();
    if non_finite > 0 {
        found.add(
            "checkpoint.params",
            format!(
                "{non_finite} of {} parameters are not finite (NaN or infinite); the run \
                 diverged before this checkpoint",
                checkpoint.params.len()
            ),
        );
    }

    let n = checkpoint.params.len();
    let (state_kind, buffers): (&str, Vec<(&str, usize)>) = match &checkpoint.optimizer {
        OptimizerState::Sgd { velocity } => ("Sgd", vec![("velocity", velocity.len())]),
        OptimizerState::Adam { m, v, .. } => ("Adam", vec![("m", m.len()), ("v", v.len())]),
        OptimizerState::Armijo { .. } => ("Armijo", Vec::new()),
    };
    let spec_kind = match optimizer {
        OptimizerSpec::Sgd { .. } => "Sgd",
        OptimizerSpec::Adam { .. } => "Adam",
        OptimizerSpec::Armijo { .. } => "Armijo",
    };
    if state_kind != spec_kind {
        found.add_value(
            "checkpoint.optimizer",
            format!(
                "is the state of {state_kind}, but train.optimizer is {spec_kind}; remove the \
                 checkpoint to start afresh"
            ),
            state_kind,
        );
    }
    for (name, len) in buffers {
        // An empty buffer is a fresh state (no step taken yet).
        if len != 0 && len != n {
            found.add(
                &format!("checkpoint.optimizer.{name}"),
                format!("has {len} entries, but there are {n} parameters"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Limits;
    use crate::experiment::io::tests::{EXAMPLE, FULL};
    use crate::experiment::io::{Error, from_ron_str};
    use crate::experiment::spec::Record;

    fn example() -> Experiment {
        from_ron_str(EXAMPLE).expect("example parses")
    }

    /// The problems of `exp` (none when it checks out).
    fn problems(exp: &Experiment) -> Vec<Problem> {
        check(exp).err().map(|found| found.0).unwrap_or_default()
    }

    /// The problems of `exp`, asserting there is at least one.
    fn problems_of(exp: &Experiment) -> Vec<Problem> {
        let found = problems(exp);
        assert!(!found.is_empty(), "expected problems in {exp:#?}");
        found
    }

    /// Asserts that one problem is about `setting` and contains every word of `words`.
    fn assert_problem(found: &[Problem], setting: &str, words: &[&str]) {
        assert!(
            found
                .iter()
                .any(|p| p.path == setting && words.iter().all(|w| p.message.contains(w))),
            "no problem for {setting} mentioning {words:?} in {found:#?}"
        );
    }

    fn tableau(a: Vec<Vec<f64>>, b: Vec<f64>) -> TableauSpec {
        TableauSpec {
            name: String::new(),
            a,
            b,
            c: None,
            order: 1,
        }
    }

    #[test]
    fn the_examples_are_valid() {
        assert_eq!(problems(&example()), Vec::<Problem>::new());
        assert_eq!(
            problems(&from_ron_str(FULL).expect("parses")),
            Vec::<Problem>::new()
        );
        assert!(check(&example()).is_ok());
    }

    #[test]
    fn sizes_must_be_positive() {
        let mut exp = example();
        exp.model.width = 0;
        exp.model.layers = 0;
        let found = problems_of(&exp);
        assert_problem(&found, "model.width", &["at least 1", "got 0"]);
        assert_problem(&found, "model.layers", &["at least 1"]);

        let mut exp = example();
        exp.model.field = FieldKind::GradientFlow;
        exp.model.hidden = Some(0);
        assert_problem(&problems_of(&exp), "model.hidden", &["at least 1"]);
    }

    #[test]
    fn the_final_time_must_be_positive_and_finite() {
        for (time, word) in [(-1.0, "negative"), (0.0, "zero"), (f64::NAN, "finite")] {
            let mut exp = example();
            exp.model.final_time = time;
            assert_problem(&problems_of(&exp), "model.final_time", &[word]);
        }
        let mut exp = example();
        exp.model.final_time = f64::INFINITY;
        assert_problem(&problems_of(&exp), "model.final_time", &["finite"]);
    }

    #[test]
    fn a_resnet_matrix_is_square() {
        let mut exp = example();
        exp.model.hidden = Some(3);
        let found = problems_of(&exp);
        assert_problem(&found, "model.hidden", &["ResNet", "square", "3", "2"]);
        assert_eq!(
            found.len(),
            1,
            "the constraint is not blamed too: {found:#?}"
        );
        exp.model.hidden = Some(2);
        assert!(problems(&exp).is_empty());
    }

    #[test]
    fn a_square_constraint_needs_a_square_matrix() {
        let mut exp = example();
        exp.model.field = FieldKind::GradientFlow;
        exp.model.hidden = Some(3);
        assert_problem(
            &problems_of(&exp),
            "model.constraint",
            &["Skew", "square", " A is 3×2"],
        );
        exp.model.constraint = Constraint::SpectralNorm { max: 1.0 };
        assert!(problems(&exp).is_empty(), "SpectralNorm fits any shape");

        exp.model.field = FieldKind::Hamiltonian;
        exp.model.constraint = Constraint::Orthogonal;
        assert_problem(
            &problems_of(&exp),
            "model.constraint",
            &["Orthogonal", "A1 and A2 are 3×2"],
        );

        exp.model.constraint = Constraint::None;
        exp.model.constraint2 = Some(Constraint::NegDef { eps: 0.0 });
        let found = problems_of(&exp);
        assert_problem(&found, "model.constraint2", &["NegDef", "A2 is 3×2"]);
        assert_eq!(found.len(), 1, "{found:#?}");

        for field in [FieldKind::HamiltonianShared, FieldKind::SecondOrder] {
            let mut exp = example();
            exp.model.field = field;
            exp.model.hidden = Some(4);
            assert_problem(
                &problems_of(&exp),
                "model.constraint",
                &["Skew", " A is 4×2"],
            );
        }
    }

    #[test]
    fn constraint_parameters_are_checked() {
        let cases = [
            (Constraint::Skew { gamma: -1.0 }, "model.constraint.gamma"),
            (
                Constraint::Skew { gamma: f64::NAN },
                "model.constraint.gamma",
            ),
            (Constraint::NegDef { eps: -0.5 }, "model.constraint.eps"),
            (
                Constraint::SpectralNorm { max: 0.0 },
                "model.constraint.max",
            ),
            (
                Constraint::SpectralNorm { max: -2.0 },
                "model.constraint.max",
            ),
        ];
        for (constraint, setting) in cases {
            let mut exp = example();
            exp.model.constraint = constraint;
            assert_problem(&problems_of(&exp), setting, &[]);
        }
        let mut exp = example();
        exp.model.field = FieldKind::Hamiltonian;
        exp.model.constraint2 = Some(Constraint::SpectralNorm { max: 0.0 });
        assert_problem(
            &problems_of(&exp),
            "model.constraint2.max",
            &["greater than 0"],
        );
    }

    #[test]
    fn second_matrix_settings_need_the_hamiltonian_field() {
        let mut exp = example();
        exp.model.constraint2 = Some(Constraint::Orthogonal);
        exp.model.activation2 = Some(Activation::Relu);
        let found = problems_of(&exp);
        assert_problem(
            &found,
            "model.constraint2",
            &["Hamiltonian", "A2", "ResNet"],
        );
        assert_problem(&found, "model.activation2", &["Hamiltonian", "A2"]);
        exp.model.field = FieldKind::HamiltonianShared;
        assert_eq!(problems_of(&exp).len(), 2);
        exp.model.field = FieldKind::Hamiltonian;
        assert!(problems(&exp).is_empty());
    }

    #[test]
    fn a_leaky_relu_slope_must_be_finite() {
        let mut exp = example();
        exp.model.activation = Activation::LeakyRelu(f64::NAN);
        assert_problem(&problems_of(&exp), "model.activation", &["LeakyRelu"]);
    }

    #[test]
    fn splitting_integrators_need_a_split_field() {
        for integrator in [
            IntegratorSpec::SymplecticEulerA,
            IntegratorSpec::SymplecticEulerB,
            IntegratorSpec::StormerVerlet,
        ] {
            let mut exp = example();
            exp.integrator = integrator.clone();
            assert_problem(
                &problems_of(&exp),
                "integrator",
                &[
                    integrator_variant(&integrator),
                    "HamiltonianShared, SecondOrder or Leapfrog",
                    "ResNet",
                ],
            );
            exp.model.field = FieldKind::SecondOrder;
            assert!(problems(&exp).is_empty());
            // The leapfrog network is split too (its A is square).
            exp.model.field = FieldKind::Leapfrog;
            exp.model.hidden = None;
            assert!(problems(&exp).is_empty(), "{:?}", problems(&exp));
            exp.model.hidden = Some(exp.model.width + 1);
            assert_problem(&problems_of(&exp), "model.hidden", &["Leapfrog", "square"]);
        }
    }

    #[test]
    fn a_port_hamiltonian_field_needs_an_even_width_and_a_dissipation_of_its_own() {
        let mut exp = example();
        exp.model.field = FieldKind::PortHamiltonian;
        exp.model.width = 4;
        exp.model.hidden = None;
        exp.model.dissipation = crate::experiment::Dissipation::Fixed(0.5);
        assert!(problems(&exp).is_empty(), "{:?}", problems(&exp));
        exp.model.width = 5;
        assert_problem(&problems_of(&exp), "model.width", &["even", "5"]);
        exp.model.width = 4;
        exp.model.dissipation = crate::experiment::Dissipation::Fixed(-0.1);
        assert_problem(&problems_of(&exp), "model.dissipation", &["-0.1"]);
        exp.model.dissipation = crate::experiment::Dissipation::Fixed(0.5);
        exp.model.field = FieldKind::GradientFlow;
        assert_problem(
            &problems_of(&exp),
            "model.dissipation",
            &["only the PortHamiltonian field", "GradientFlow"],
        );
        // Splitting methods need a split state, which it has not.
        exp.model.field = FieldKind::PortHamiltonian;
        exp.integrator = IntegratorSpec::StormerVerlet;
        assert_problem(&problems_of(&exp), "integrator", &["PortHamiltonian"]);
        exp.integrator = IntegratorSpec::Euler;
        // A learned J takes any width; a learned R is not a γ to check.
        exp.model.interconnection = Interconnection::Learned;
        exp.model.dissipation = Dissipation::Learned;
        exp.model.width = 5;
        assert!(problems(&exp).is_empty(), "{:?}", problems(&exp));
        exp.model.field = FieldKind::Hamiltonian;
        let found = problems_of(&exp);
        assert_problem(
            &found,
            "model.interconnection",
            &["only the PortHamiltonian"],
        );
        assert_problem(&found, "model.dissipation", &["only the PortHamiltonian"]);
    }

    #[test]
    fn a_tableau_is_checked() {
        let heun = tableau(vec![vec![0.0, 0.0], vec![1.0, 0.0]], vec![0.5, 0.5]);
        let check = |t: TableauSpec| {
            let mut exp = example();
            exp.integrator = IntegratorSpec::Tableau(t);
            problems(&exp)
        };
        assert!(check(heun.clone()).is_empty());

        let found = check(tableau(vec![], vec![]));
        assert_problem(&found, "integrator.Tableau.a", &["at least one stage"]);

        let found = check(tableau(vec![vec![0.0], vec![1.0, 0.0]], vec![0.5, 0.5]));
        assert_problem(&found, "integrator.Tableau.a", &["square", "row 0 has 1"]);
        // A lower triangle, as tableaus are printed, is the same method as the square form.
        let triangle = tableau(vec![vec![], vec![1.0]], vec![0.5, 0.5]);
        assert!(check(triangle.clone()).is_empty());
        let method = |t: TableauSpec| {
            let mut exp = example();
            exp.integrator = IntegratorSpec::Tableau(t);
            super::check(&exp).expect("valid").architecture.integrator
        };
        assert_eq!(method(triangle), method(heun.clone()));

        let found = check(tableau(
            vec![vec![0.5, 0.0], vec![0.5, 0.5]],
            vec![0.5, 0.5],
        ));
        assert_problem(
            &found,
            "integrator.Tableau.a",
            &[
                "strictly lower triangular",
                "a[0][0] = 0.5",
                "a[1][1] = 0.5",
            ],
        );

        let found = check(tableau(heun.a.clone(), vec![1.0]));
        assert_problem(
            &found,
            "integrator.Tableau.b",
            &["one weight per stage", "2"],
        );

        let found = check(tableau(heun.a.clone(), vec![0.5, 0.6]));
        assert_problem(&found, "integrator.Tableau.b", &["sum to 1"]);
        // Rounding in the weights is tolerated.
        let sixths = tableau(
            vec![vec![0.0; 4]; 4]
                .into_iter()
                .enumerate()
                .map(|(i, mut row)| {
                    if i > 0 {
                        row[i - 1] = if i == 3 { 1.0 } else { 0.5 };
                    }
                    row
                })
                .collect(),
            vec![1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
        );
        assert!(check(sixths).is_empty());

        let found = check(TableauSpec {
            c: Some(vec![0.0]),
            ..heun.clone()
        });
        assert_problem(&found, "integrator.Tableau.c", &["one node per stage"]);

        let found = check(TableauSpec {
            a: vec![vec![0.0, 0.0], vec![f64::INFINITY, 0.0]],
            b: vec![0.5, f64::NAN],
            c: Some(vec![0.0, f64::NAN]),
            ..heun.clone()
        });
        assert_problem(&found, "integrator.Tableau.a", &["finite", "a[1][0] = inf"]);
        assert_problem(&found, "integrator.Tableau.b", &["finite"]);
        assert_problem(&found, "integrator.Tableau.c", &["finite"]);

        let found = check(TableauSpec { order: 0, ..heun });
        assert_problem(&found, "integrator.Tableau.order", &["at least 1"]);
    }

    #[test]
    fn implicit_midpoint_settings_are_checked() {
        let mut exp = example();
        exp.integrator = IntegratorSpec::ImplicitMidpoint {
            tolerance: 0.0,
            max_iterations: 0,
        };
        let found = problems_of(&exp);
        assert_problem(&found, "integrator.tolerance", &["greater than 0"]);
        assert_problem(&found, "integrator.max_iterations", &["at least 1"]);
    }

    #[test]
    fn avf_takes_fields_of_its_form_and_the_exact_adjoint_only() {
        let mut exp = example();
        exp.integrator = IntegratorSpec::Avf {
            tolerance: 1e-13,
            max_iterations: 50,
        };
        // The example is a ResNet.
        assert_problem(&problems_of(&exp), "integrator", &["Avf", "S∇H", "ResNet"]);
        exp.model.field = FieldKind::Leapfrog;
        assert_problem(&problems_of(&exp), "integrator", &["Avf", "Leapfrog"]);
        exp.model.field = FieldKind::PortHamiltonian;
        exp.model.width = 2;
        exp.model.hidden = Some(4);
        exp.model.activation = Activation::Tanh;
        exp.model.constraint = Constraint::None;
        assert_eq!(problems(&exp), vec![], "port-Hamiltonian with AVF");
        exp.model.activation = Activation::Softplus;
        assert_problem(
            &problems_of(&exp),
            "integrator",
            &["antiderivative", "softplus"],
        );
        exp.model.activation = Activation::Tanh;
        exp.gradient = GradientSpec::Partner;
        assert_problem(
            &problems_of(&exp),
            "gradient",
            &["Partner", "symplectic", "Dto"],
        );
        exp.gradient = GradientSpec::Dto;
        exp.integrator = IntegratorSpec::Avf {
            tolerance: -1.0,
            max_iterations: 0,
        };
        let found = problems_of(&exp);
        assert_problem(&found, "integrator.tolerance", &["greater than 0"]);
        assert_problem(&found, "integrator.max_iterations", &["at least 1"]);
    }

    #[test]
    fn backward_adjoints_need_an_explicit_runge_kutta_method() {
        let mut exp = example();
        exp.gradient = GradientSpec::Backward(IntegratorSpec::StormerVerlet);
        assert_problem(
            &problems_of(&exp),
            "gradient",
            &["explicit Runge–Kutta", "StormerVerlet"],
        );
        exp.gradient = GradientSpec::Backward(IntegratorSpec::ImplicitMidpoint {
            tolerance: 1e-12,
            max_iterations: 10,
        });
        assert_problem(&problems_of(&exp), "gradient", &["ImplicitMidpoint"]);
        exp.gradient =
            GradientSpec::Backward(IntegratorSpec::Tableau(tableau(vec![vec![0.0]], vec![2.0])));
        assert_problem(
            &problems_of(&exp),
            "gradient.Backward.Tableau.b",
            &["sum to 1"],
        );
        exp.gradient = GradientSpec::Backward(IntegratorSpec::Heun);
        assert!(problems(&exp).is_empty());
    }

    #[test]
    fn padding_needs_room_for_the_inputs() {
        let mut found = Problems::default();
        lift_problems(LiftSpec::Pad, 2, Some(3), &mut found);
        assert_problem(
            &found.0,
            "model.width",
            &["Pad", "at least 3", "got 2", "Linear"],
        );

        let mut found = Problems::default();
        lift_problems(LiftSpec::Linear, 2, Some(3), &mut found);
        lift_problems(LiftSpec::Pad, 3, Some(3), &mut found);
        lift_problems(LiftSpec::Pad, 2, None, &mut found);
        assert!(found.0.is_empty(), "{:#?}", found.0);

        // Through the data spec: two spirals have two input features.
        let mut exp = example();
        exp.model.width = 1;
        if exp.data.input_dim() == Some(2) {
            assert_problem(&problems_of(&exp), "model.width", &["Pad", "at least 2"]);
        }
    }

    #[test]
    fn softmax_needs_two_classes() {
        let mut found = Problems::default();
        head_problems(HeadSpec::SoftmaxCrossEntropy, Some(1), &mut found);
        assert_problem(
            &found.0,
            "model.head",
            &["SoftmaxCrossEntropy", "2 classes", "has 1"],
        );

        let mut found = Problems::default();
        head_problems(HeadSpec::SoftmaxCrossEntropy, Some(2), &mut found);
        head_problems(HeadSpec::SoftmaxCrossEntropy, None, &mut found);
        head_problems(HeadSpec::SigmoidSquaredError, Some(1), &mut found);
        assert!(found.0.is_empty(), "{:#?}", found.0);
    }

    #[test]
    fn the_init_scale_must_be_non_negative_and_finite() {
        for scale in [-0.1, f64::NAN, f64::INFINITY] {
            let mut exp = example();
            exp.model.init_scale = scale;
            assert_problem(&problems_of(&exp), "model.init_scale", &[]);
        }
    }

    #[test]
    fn training_settings_are_checked() {
        let mut exp = example();
        exp.train.iterations = 0;
        assert!(problems(&exp).is_empty(), "0 iterations evaluates only");

        exp.train.eval_every = 0;
        exp.train.batch = BatchSpec::MiniBatch(0);
        exp.train.weight_decay = -1.0;
        exp.train.time_smoothness = f64::NAN;
        let found = problems_of(&exp);
        assert_problem(&found, "train.eval_every", &["at least 1"]);
        assert_problem(&found, "train.batch", &["MiniBatch", "at least 1"]);
        assert_problem(&found, "train.weight_decay", &["negative"]);
        assert_problem(&found, "train.time_smoothness", &["finite"]);
    }

    #[test]
    fn data_and_optimizer_problems_name_their_section() {
        let mut exp = example();
        exp.data.train_fraction = 1.5;
        exp.train.optimizer = OptimizerSpec::Adam {
            lr: -1.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let found: Vec<String> = problems_of(&exp).iter().map(ToString::to_string).collect();
        let expected_data: Vec<String> = exp
            .data
            .problems()
            .into_iter()
            .map(|p| format!("data: {p}"))
            .collect();
        let expected_optimizer: Vec<String> = exp
            .train
            .optimizer
            .problems()
            .into_iter()
            .map(|p| format!("train.optimizer: {p}"))
            .collect();
        assert!(!expected_data.is_empty() && !expected_optimizer.is_empty());
        for expected in expected_data.iter().chain(&expected_optimizer) {
            assert!(found.contains(expected), "{expected} not in {found:#?}");
        }
    }

    #[test]
    fn diagnostics_settings_are_checked() {
        let mut exp = example();
        exp.diagnostics = DiagnosticsSpec {
            every: 10,
            probes: 0,
            epsilon: 0.0,
            grid: 1,
            ..DiagnosticsSpec::default()
        };
        let found = problems_of(&exp);
        assert_problem(&found, "diagnostics.probes", &["every 10"]);
        assert_problem(&found, "diagnostics.epsilon", &["greater than 0"]);
        assert_problem(&found, "diagnostics.grid", &["at least 2", "got 1"]);

        exp.diagnostics = DiagnosticsSpec {
            every: 0,
            probes: 0,
            ..DiagnosticsSpec::default()
        };
        assert!(problems(&exp).is_empty(), "no probes needed when off");
    }

    #[test]
    fn checkpoints_are_checked() {
        let mut exp = from_ron_str(FULL).expect("parses");
        let checkpoint = exp.checkpoint.as_mut().expect("FULL has one");
        checkpoint.iteration = 1;
        checkpoint.params[1] = f64::NAN;
        checkpoint.params[2] = f64::INFINITY;
        let found = problems_of(&exp);
        assert_problem(&found, "checkpoint.history", &["2 records", "1 iterations"]);
        assert_problem(&found, "checkpoint.params", &["2 of 5", "not finite"]);

        let mut exp = from_ron_str(FULL).expect("parses");
        let checkpoint = exp.checkpoint.as_mut().expect("FULL has one");
        checkpoint.iteration = 0;
        checkpoint.history = Vec::<Record>::new();
        checkpoint.optimizer = OptimizerState::Sgd {
            velocity: vec![0.0; 3],
        };
        let found = problems_of(&exp);
        assert_problem(&found, "checkpoint.optimizer", &["Sgd", "Adam"]);
        assert_problem(
            &found,
            "checkpoint.optimizer.velocity",
            &["3 entries", "5 parameters"],
        );
    }

    #[test]
    fn every_problem_is_listed() {
        let mut exp = example();
        exp.model.width = 0;
        exp.model.final_time = -1.0;
        exp.model.constraint = Constraint::Skew { gamma: -1.0 };
        exp.model.constraint2 = Some(Constraint::None);
        exp.integrator = IntegratorSpec::StormerVerlet;
        exp.gradient = GradientSpec::Backward(IntegratorSpec::SymplecticEulerA);
        exp.train.eval_every = 0;
        exp.diagnostics.grid = 0;
        let found = problems_of(&exp);
        let settings = [
            "model.width",
            "model.final_time",
            "model.constraint.gamma",
            "model.constraint2",
            "integrator",
            "gradient",
            "train.eval_every",
            "diagnostics.grid",
        ];
        for setting in settings {
            assert_problem(&found, setting, &[]);
        }
        assert_eq!(found.len(), settings.len(), "{found:#?}");

        let Err(listed) = check(&exp) else {
            panic!("check accepts an invalid experiment");
        };
        assert_eq!(listed.0, found);
        let message = Error::Invalid(listed).to_string();
        assert!(
            message.starts_with(&format!(
                "invalid experiment ({} problems):",
                settings.len()
            )),
            "{message}"
        );
        assert!(message.contains("\n  - model.width: "), "{message}");
    }

    #[test]
    fn a_wrong_format_version_in_memory_is_a_problem() {
        let mut exp = example();
        exp.format_version = 7;
        assert_problem(&problems_of(&exp), "format_version", &["7", "1"]);
    }

    #[test]
    fn oversized_counts_are_refused_before_any_size_is_computed() {
        // The reproducers of overflowing sizes: 2^63 layers, widths beyond any machine.
        let huge = 9_223_372_036_854_775_808_usize;
        for (set, path) in [
            (
                (|e: &mut Experiment, v| e.model.layers = v) as fn(&mut Experiment, usize),
                "model.layers",
            ),
            (|e, v| e.model.width = v, "model.width"),
            (
                |e, v| {
                    e.model.field = FieldKind::GradientFlow;
                    e.model.hidden = Some(v);
                },
                "model.hidden",
            ),
            (|e, v| e.diagnostics.grid = v, "diagnostics.grid"),
            (|e, v| e.diagnostics.probes = v, "diagnostics.probes"),
            (
                |e, v| e.diagnostics.random_directions = v,
                "diagnostics.random_directions",
            ),
            (
                |e, v| e.diagnostics.eigenvalue_probes = v,
                "diagnostics.eigenvalue_probes",
            ),
            (
                |e, v| e.diagnostics.trajectory_points = v,
                "diagnostics.trajectory_points",
            ),
        ] {
            for value in [huge, usize::MAX] {
                let mut exp = example();
                set(&mut exp, value);
                assert_problem(&problems_of(&exp), path, &["at most", &value.to_string()]);
            }
        }
    }

    #[test]
    fn solver_and_diagnostics_knobs_have_hard_ranges() {
        let mut exp = example();
        exp.integrator = IntegratorSpec::ImplicitMidpoint {
            tolerance: 1e-300,
            max_iterations: u32::MAX,
        };
        let found = problems_of(&exp);
        assert_problem(&found, "integrator.tolerance", &["f64"]);
        assert_problem(&found, "integrator.max_iterations", &["at most 1000"]);

        let mut exp = example();
        exp.train.optimizer = OptimizerSpec::Armijo {
            initial_step: 1.0,
            shrink: 0.999_999_999_9,
            c: 1e-4,
            grow: 2.0,
            max_backtracks: u32::MAX,
        };
        let found = problems_of(&exp);
        assert!(
            found.iter().any(|p| p.message.starts_with("shrink"))
                && found
                    .iter()
                    .any(|p| p.message.starts_with("max_backtracks")),
            "{found:#?}"
        );

        for bad in [f64::NAN, f64::INFINITY, -1e308] {
            let mut exp = example();
            exp.diagnostics.robustness_epsilons = vec![0.0, bad];
            assert_problem(
                &problems_of(&exp),
                "diagnostics.robustness_epsilons",
                &["finite"],
            );
        }
        let mut exp = example();
        exp.diagnostics.robustness_epsilons = vec![0.1; MAX_ROBUSTNESS_EPSILONS + 1];
        assert_problem(
            &problems_of(&exp),
            "diagnostics.robustness_epsilons",
            &["at most"],
        );

        let mut exp = example();
        exp.integrator = IntegratorSpec::Tableau(TableauSpec {
            name: String::new(),
            a: vec![vec![0.0; MAX_STAGES + 1]; MAX_STAGES + 1],
            b: vec![1.0 / (MAX_STAGES + 1) as f64; MAX_STAGES + 1],
            c: None,
            order: 1,
        });
        assert_problem(
            &problems_of(&exp),
            "integrator.Tableau.a",
            &["at most 64 stages"],
        );
    }

    #[test]
    fn an_experiment_beyond_the_memory_budget_is_refused_with_what_would_fit() {
        let mut exp = example();
        exp.model.width = 64;
        exp.model.layers = 20_000;
        let budget = 500_000_000;
        let limits = Limits::machine().with_memory(budget);
        let found = check_with(&exp, limits).unwrap_err();
        assert_eq!(found.len(), 1, "{found}");
        let problem = &found.as_slice()[0];
        assert!(
            problem
                .message
                .contains("more than the memory budget of 500 MB")
                && problem.message.contains("it would fit with"),
            "{problem}"
        );
        // The suggestion for the layers is the largest count that fits: one more does not.
        let plan_at = |layers: usize| {
            let mut trial = exp.clone();
            trial.model.layers = layers;
            check_with(&trial, limits)
        };
        let text = found.to_string();
        let fit: usize = text
            .split("model.layers ≤ ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no layer count in {text}"));
        assert!(fit > 1 && fit < exp.model.layers, "{text}");
        let plan = plan_at(fit).expect("the suggested count fits");
        assert!(plan.resources.peak() <= budget as f64);
        assert!(plan_at(fit + 1).is_err(), "{fit} + 1 layers fit too");
    }

    #[test]
    fn the_estimate_of_a_small_experiment_is_small_and_counts_its_parameters() {
        let plan = check(&example()).expect("valid");
        let r = plan.resources;
        assert!(r.training > 0.0 && r.diagnostics > 0.0 && r.export > 0.0);
        assert!(r.peak() < 200e6, "{r}");
        assert!(r.flops_per_iteration > 0.0);
        // Doubling the layers roughly doubles the parameters, tapes and exported states.
        let mut deeper = example();
        deeper.model.layers *= 2;
        let deeper = check(&deeper).expect("valid").resources;
        assert!(deeper.training > r.training && deeper.export > r.export);
    }
}

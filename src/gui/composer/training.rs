//! The Training and Diagnostics sections.

use eframe::egui::{self, Checkbox, DragValue, Ui};

use crate::experiment::{BatchSpec, Experiment};
use crate::gui::widgets::{f64_row, hint, row, seed_row, usize_row};
use crate::train::optimizer::OptimizerSpec;

/// An optimiser with the file format's defaults for every setting but the learning rate.
pub(super) fn optimizer_default(name: &str) -> Option<OptimizerSpec> {
    let text = match name {
        "SGD" => "Sgd(lr: 0.1, momentum: 0.9)",
        "Adam" => "Adam(lr: 0.01)",
        _ => "Armijo()",
    };
    ron::from_str(text).ok()
}

pub(super) fn training_ui(ui: &mut Ui, exp: &mut Experiment) {
    let train = &mut exp.train;
    let mut name = train.optimizer.name();
    let label = ui
        .label("Optimiser")
        .on_hover_text("The update rule θ ← θ − step(∇L).");
    let response = egui::ComboBox::from_id_salt("Optimiser")
        .selected_text(name)
        .show_ui(ui, |ui| {
            for (n, tip) in [
                ("SGD", "θ ← θ − lr·v, v ← μ v + ∇L (heavy-ball momentum, as torch.optim.SGD)."),
                ("Adam", "Adam (Kingma & Ba 2015) as torch.optim.Adam."),
                ("Armijo GD", "Full-batch gradient descent with Armijo backtracking: accept the step when L(θ − s∇L) ≤ L(θ) − c s‖∇L‖²."),
            ] {
                ui.selectable_value(&mut name, n, n).on_hover_text(tip);
            }
        });
    let _ = response.response.labelled_by(label.id);
    ui.end_row();
    if name != train.optimizer.name()
        && let Some(spec) = optimizer_default(name)
    {
        train.optimizer = spec;
    }
    match &mut train.optimizer {
        OptimizerSpec::Sgd { lr, momentum } => {
            f64_row(
                ui,
                "Learning rate",
                "lr in θ ← θ − lr·v.",
                lr,
                0.0..=100.0,
                0.0005,
            );
            f64_row(
                ui,
                "Momentum μ",
                "v ← μ v + ∇L, μ in [0, 1).",
                momentum,
                0.0..=0.999,
                0.001,
            );
        }
        OptimizerSpec::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => {
            f64_row(
                ui,
                "Learning rate",
                "lr in θ ← θ − lr·m̂/(√v̂ + ε).",
                lr,
                0.0..=10.0,
                0.0005,
            );
            f64_row(
                ui,
                "β₁",
                "Decay of the first moment m ← β₁m + (1 − β₁)∇L.",
                beta1,
                0.0..=0.9999,
                0.001,
            );
            f64_row(
                ui,
                "β₂",
                "Decay of the second moment v ← β₂v + (1 − β₂)∇L².",
                beta2,
                0.0..=0.99999,
                0.0001,
            );
            f64_row(
                ui,
                "ε",
                "Added to the denominator √v̂ + ε.",
                eps,
                0.0..=1.0,
                1e-9,
            );
        }
        OptimizerSpec::Armijo {
            initial_step,
            shrink,
            c,
            grow,
            max_backtracks,
        } => {
            f64_row(
                ui,
                "First step",
                "The first trial step s.",
                initial_step,
                0.0..=1000.0,
                0.01,
            );
            f64_row(
                ui,
                "Shrink",
                "s ← shrink·s after a rejected trial, in (0, 1).",
                shrink,
                0.0..=1.0,
                0.01,
            );
            f64_row(
                ui,
                "Armijo c",
                "Sufficient decrease L(θ − s∇L) ≤ L(θ) − c s‖∇L‖², c in (0, 1).",
                c,
                0.0..=1.0,
                1e-5,
            );
            f64_row(
                ui,
                "Grow",
                "The next iteration starts from grow·s (≥ 1).",
                grow,
                1.0..=100.0,
                0.01,
            );
            row(
                ui,
                "Max backtracks",
                "Give up after this many rejected trials.",
                |ui| ui.add(DragValue::new(max_backtracks).range(1..=1000)),
            );
        }
    }
    let mut full = matches!(train.batch, BatchSpec::Full);
    row(
        ui,
        "Full batch",
        "Every iteration uses all training points (on), or shuffled mini-batches (off).",
        |ui| ui.add(Checkbox::without_text(&mut full)),
    );
    match (&mut train.batch, full) {
        (BatchSpec::MiniBatch(size), false) => {
            usize_row(
                ui,
                "Batch size",
                "Points per mini-batch; a new permutation every epoch.",
                size,
                1..=100_000,
            );
        }
        (batch, true) => *batch = BatchSpec::Full,
        (batch, false) => *batch = BatchSpec::MiniBatch(32),
    }
    usize_row(
        ui,
        "Iterations",
        "The run trains until this many iterations in total.",
        &mut train.iterations,
        0..=10_000_000,
    );
    usize_row(
        ui,
        "Evaluate every",
        "Train and test accuracy are computed every this many iterations.",
        &mut train.eval_every,
        1..=100_000,
    );
    f64_row(
        ui,
        "Weight decay λ",
        "Adds λ/2 ‖θ‖² to the loss.",
        &mut train.weight_decay,
        0.0..=10.0,
        1e-5,
    );
    f64_row(
        ui,
        "Time smoothness α",
        "Adds α Σ_k ‖θ_{k+1} − θ_k‖²/h (Haber & Ruthotto 2017): parameters that vary smoothly in t.",
        &mut train.time_smoothness,
        0.0..=10.0,
        1e-5,
    );
    seed_row(
        ui,
        "Init seed",
        "Seed of the parameter initialisation (Reset uses it).",
        &mut train.seeds.init,
    );
    seed_row(
        ui,
        "Batch seed",
        "Seed of the mini-batch order.",
        &mut train.seeds.batch,
    );
}

pub(super) fn diagnostics_ui(ui: &mut Ui, exp: &mut Experiment) {
    let d = &mut exp.diagnostics;
    usize_row(
        ui,
        "Every",
        "Compute the diagnostics every this many iterations while training; they are also computed whenever training pauses or ends (0: only then).",
        &mut d.every,
        0..=1_000_000,
    );
    usize_row(
        ui,
        "Probes",
        "Probe inputs (training points) for the Lipschitz, divergence, eigenvalue and structure estimates.",
        &mut d.probes,
        0..=10_000,
    );
    f64_row(
        ui,
        "Perturbation ε",
        "Size ‖δ‖₂ = ε of the divergence perturbations and of the probe pairs of the step Lipschitz estimate.",
        &mut d.epsilon,
        0.0..=10.0,
        1e-5,
    );
    usize_row(
        ui,
        "Grid",
        "Points per side of the decision-boundary grid.",
        &mut d.grid,
        0..=1024,
    );
    seed_row(
        ui,
        "Diagnostics seed",
        "Seed of the probe choice and of every random direction: diagnostics are deterministic.",
        &mut d.seed,
    );
    let parts = &mut d.parts;
    for (label, tip, on) in [
        (
            "Spectrum",
            "Singular values of A(t), eigenvalues of h·J over the stability region.",
            &mut parts.spectrum,
        ),
        (
            "Lipschitz",
            "One-sided Lipschitz ν̂_k = max λ_max(½(J + Jᵀ)) over probes, with analytic bounds.",
            &mut parts.lipschitz,
        ),
        (
            "Divergence",
            "‖z_k(x+δ) − z_k(x)‖/‖δ‖ for random and worst-case δ, with bounds.",
            &mut parts.divergence,
        ),
        (
            "Structure",
            "Energy error, symplecticity defect ‖MᵀΩM − Ω‖, reversibility.",
            &mut parts.structure,
        ),
        (
            "Gradients",
            "‖g_OTD − g_DTO‖/‖g_DTO‖ per layer and DTO against finite differences.",
            &mut parts.gradients,
        ),
        (
            "Robustness",
            "Accuracy under random and gradient-sign perturbations of size ε.",
            &mut parts.robustness,
        ),
        (
            "Decision boundary",
            "The predicted class on a grid over the input domain.",
            &mut parts.decision_boundary,
        ),
        (
            "Trajectories",
            "Data points through the layers, projected to the plane.",
            &mut parts.trajectories,
        ),
    ] {
        row(ui, label, tip, |ui| ui.add(Checkbox::without_text(on)));
    }
    ui.label("");
    hint(
        ui,
        "Diagnostics are computed on a background thread from snapshots of the model; training never waits for them.",
    );
    ui.end_row();
}

//! The Architecture and Constraints sections.

use std::mem::discriminant;

use eframe::egui::{Checkbox, Ui};

use crate::experiment::{
    Dissipation, Experiment, FieldKind, HeadSpec, Interconnection, LiftSpec, ModelSpec,
};
use crate::gui::widgets::{Choice, combo_row, f64_row, row, usize_row};
use crate::model::{Activation, Constraint};

fn field_text(field: FieldKind) -> &'static str {
    match field {
        FieldKind::ResNet => "ResNet",
        FieldKind::GradientFlow => "Gradient flow",
        FieldKind::Hamiltonian => "Hamiltonian",
        FieldKind::HamiltonianShared => "Hamiltonian (shared A)",
        FieldKind::SecondOrder => "Second order",
        FieldKind::Leapfrog => "Leapfrog",
        FieldKind::PortHamiltonian => "Port-Hamiltonian",
    }
}

fn field_tip(field: FieldKind) -> &'static str {
    match field {
        FieldKind::ResNet => {
            "f(z) = σ(A z + b), A square (He et al. 2016). With explicit Euler this is a ResNet."
        }
        FieldKind::GradientFlow => {
            "f(z) = −Aᵀσ(A z + b), A ∈ R^{m×d} (Celledoni et al. 2020): one-sided Lipschitz ν ≤ 0 when 0 ≤ σ' ≤ 1, so trajectories do not diverge."
        }
        FieldKind::Hamiltonian => {
            "z' = A₁ᵀσ₁(A₁p + b₁), p' = −A₂ᵀσ₂(A₂z + b₂) (Chang et al. 2018): separable Hamiltonian H = 1ᵀγ₁(A₁p+b₁) + 1ᵀγ₂(A₂z+b₂); p(0) = 0."
        }
        FieldKind::HamiltonianShared => "The Hamiltonian field with A₁ = A₂, b₁ = b₂, σ₁ = σ₂.",
        FieldKind::SecondOrder => {
            "z'' = −Aᵀσ(Az + b), i.e. z' = p, p' = −Aᵀσ(Az + b); H = ½‖p‖² + 1ᵀγ(Az + b)."
        }
        FieldKind::Leapfrog => {
            "z' = σ(−Aᵀp + b₂), p' = σ(A z + b₁), A square (Haber & Ruthotto 2017); p(0) = 0. Divergence-free: with symplectic Euler or Störmer–Verlet every layer preserves volume exactly (det = 1), though there is no energy."
        }
        FieldKind::PortHamiltonian => {
            "y' = (J − R) Aᵀσ(A y + b), J = [[0, I], [−I, 0]] (d even), R = γI (Galimberti et al. 2023; R = 0 is their H1-DNN). Energy H = 1ᵀγ(Ay + b): conserved by the exact flow for R = 0, dissipated (dH/dt = −γ‖∇H‖²) otherwise."
        }
    }
}

fn activation_choices() -> Vec<Choice<'static, Activation>> {
    Activation::ALL
        .iter()
        .map(|a| {
            let (text, tip) = match a {
                Activation::Identity => ("identity", "σ(s) = s; γ(s) = s²/2."),
                Activation::Tanh => ("tanh", "σ(s) = tanh s; σ' ∈ (0, 1]; γ(s) = log cosh s."),
                Activation::Sigmoid => (
                    "sigmoid",
                    "σ(s) = 1/(1 + e^{−s}); σ' ∈ (0, ¼]; γ = softplus.",
                ),
                Activation::Relu => (
                    "relu",
                    "σ(s) = max(0, s); σ' ∈ {0, 1}; γ(s) = ½ max(0, s)².",
                ),
                Activation::LeakyRelu(_) => ("leaky relu", "σ(s) = s for s ≥ 0, α s otherwise."),
                Activation::Softplus => (
                    "softplus",
                    "σ(s) = log(1 + e^s); no closed antiderivative (no energy).",
                ),
            };
            Choice {
                value: *a,
                text,
                tip,
            }
        })
        .collect()
}

fn activation_rows(ui: &mut Ui, label: &str, tip: &str, activation: &mut Activation) {
    combo_row(ui, label, tip, activation, &activation_choices(), |a, b| {
        discriminant(a) == discriminant(b)
    });
    if let Activation::LeakyRelu(alpha) = activation {
        f64_row(
            ui,
            "Leak α",
            "Slope of the leaky ReLU for s < 0: σ(s) = α s.",
            alpha,
            0.0..=1.0,
            0.001,
        );
    }
}

pub(super) fn architecture_ui(ui: &mut Ui, exp: &mut Experiment) {
    let model = &mut exp.model;
    let choices: Vec<Choice<'_, FieldKind>> = FieldKind::ALL
        .iter()
        .map(|f| Choice {
            value: *f,
            text: field_text(*f),
            tip: field_tip(*f),
        })
        .collect();
    if combo_row(
        ui,
        "Field",
        "The vector field f(z; θ(t)) of the network's ODE z' = f(z; θ(t)).",
        &mut model.field,
        &choices,
        |a, b| a == b,
    ) {
        // Settings that only the Hamiltonian field has would be problems elsewhere.
        if model.field != FieldKind::Hamiltonian {
            model.activation2 = None;
            model.constraint2 = None;
        }
        if model.field != FieldKind::PortHamiltonian {
            model.dissipation = Dissipation::None;
            model.interconnection = Interconnection::Canonical;
        }
        if model.field.is_square() {
            model.hidden = None;
        }
    }
    let two = model.field == FieldKind::Hamiltonian;
    activation_rows(
        ui,
        if two {
            "Activation σ₁"
        } else {
            "Activation σ"
        },
        "The activation σ applied elementwise to A z + b.",
        &mut model.activation,
    );
    if two {
        let mut separate = model.activation2.is_some();
        row(
            ui,
            "Own σ₂",
            "Give p' = −A₂ᵀσ₂(A₂z + b₂) its own activation (otherwise σ₂ = σ₁).",
            |ui| ui.add(Checkbox::without_text(&mut separate)),
        );
        match (separate, &mut model.activation2) {
            (true, Some(a2)) => {
                activation_rows(ui, "Activation σ₂", "σ₂ of p' = −A₂ᵀσ₂(A₂z + b₂).", a2);
            }
            (true, a2 @ None) => *a2 = Some(model.activation),
            (false, a2) => *a2 = None,
        }
    }
    usize_row(
        ui,
        "Width d",
        "State width d: inputs are lifted to z₀ ∈ R^d.",
        &mut model.width,
        0..=256,
    );
    if model.field.is_square() {
        ui.label("Hidden m")
            .on_hover_text("This field's A is square: m = d.");
        ui.label(format!("= d = {} (A is square)", model.width));
        ui.end_row();
    } else {
        let mut own = model.hidden.is_some();
        row(
            ui,
            "Own hidden width",
            "Give A ∈ R^{m×d} its own hidden width m (otherwise m = d). Square constraints need m = d.",
            |ui| ui.add(Checkbox::without_text(&mut own)),
        );
        match (own, &mut model.hidden) {
            (true, Some(m)) => {
                usize_row(
                    ui,
                    "Hidden m",
                    "Hidden width m of A ∈ R^{m×d}.",
                    m,
                    0..=1024,
                );
            }
            (true, m @ None) => *m = Some(model.width),
            (false, m) => *m = None,
        }
    }
    usize_row(
        ui,
        "Depth K",
        "Number of layers K = number of time steps.",
        &mut model.layers,
        0..=4096,
    );
    f64_row(
        ui,
        "Final time T",
        "The network integrates from t = 0 to T; the step is h = T/K.",
        &mut model.final_time,
        0.0..=1000.0,
        0.01,
    );
    ui.label("Step h")
        .on_hover_text("h = T/K: the time step of one layer.");
    if model.layers > 0 {
        ui.label(format!(
            "h = T/K = {:.4}",
            model.final_time / model.layers as f64
        ));
    } else {
        ui.label("h = T/K (K = 0)");
    }
    ui.end_row();
    combo_row(
        ui,
        "Lift",
        "How an input x becomes the initial state z₀ ∈ R^d.",
        &mut model.lift,
        &[
            Choice {
                value: LiftSpec::Pad,
                text: "zero padding",
                tip: "z₀ = (x, 0, …, 0): augmentation, needs d ≥ number of features.",
            },
            Choice {
                value: LiftSpec::Linear,
                text: "linear",
                tip: "z₀ = W x + b, trained.",
            },
        ],
        |a, b| a == b,
    );
    combo_row(
        ui,
        "Head",
        "The output layer and its loss.",
        &mut model.head,
        &[
            Choice {
                value: HeadSpec::SoftmaxCrossEntropy,
                text: "softmax + cross-entropy",
                tip: "C logits W z_K + b, loss −log softmax(logits)_y; C ≥ 2 classes.",
            },
            Choice {
                value: HeadSpec::SigmoidSquaredError,
                text: "sigmoid + ½ squared error",
                tip: "σ(W z_K + b), loss ½‖σ − y‖² against 0/1 targets (Benning et al. 2019).",
            },
            Choice {
                value: HeadSpec::LinearMse,
                text: "linear + MSE",
                tip: "W z_K + b, mean squared error against one-hot targets.",
            },
        ],
        |a, b| a == b,
    );
    f64_row(
        ui,
        "Init scale",
        "Initial weights are drawn with standard deviation init_scale/√d.",
        &mut model.init_scale,
        0.0..=10.0,
        0.01,
    );
    if model.field == FieldKind::PortHamiltonian {
        port_hamiltonian_rows(ui, model);
    }
}

/// The interconnection `J` and the dissipation `R` of a port-Hamiltonian field.
fn port_hamiltonian_rows(ui: &mut Ui, model: &mut ModelSpec) {
    combo_row(
        ui,
        "Interconnection J",
        "The skew-symmetric J in y' = (J − R)∇H(y).",
        &mut model.interconnection,
        &[
            Choice {
                value: Interconnection::Canonical,
                text: "Canonical",
                tip: "J = [[0, I], [−I, 0]]: the state is (z, p); the width must be even.",
            },
            Choice {
                value: Interconnection::Learned,
                text: "Learned (J = W − Wᵀ)",
                tip: "A skew-symmetric J_k learned per layer (any width); exported as the block J.",
            },
        ],
        |a, b| a == b,
    );
    let mut learned = model.dissipation == Dissipation::Learned;
    let before = learned;
    row(
        ui,
        "Learned R",
        "R_k = W_kᵀW_k ⪰ 0 learned per layer (exported as the block R): dH/dt = −‖W∇H‖² ≤ 0 \
         along the exact flow. Otherwise R = γI.",
        |ui| ui.checkbox(&mut learned, ""),
    );
    if learned != before {
        model.dissipation = if learned {
            Dissipation::Learned
        } else {
            Dissipation::None
        };
    }
    if learned {
        return;
    }
    let mut gamma = model.dissipation.gamma();
    let changed = f64_row(
        ui,
        "Dissipation γ",
        "R = γI in y' = (J − R)∇H(y): 0 conserves the energy along the exact flow (H1-DNN), \
         γ > 0 dissipates it, dH/dt = −γ‖∇H‖².",
        &mut gamma,
        0.0..=100.0,
        0.01,
    )
    .changed();
    if changed {
        model.dissipation = if gamma == 0.0 {
            Dissipation::None
        } else {
            Dissipation::Fixed(gamma)
        };
    }
}

fn constraint_choices() -> [Choice<'static, Constraint>; 5] {
    [
        Choice {
            value: Constraint::None,
            text: "None",
            tip: "A = W.",
        },
        Choice {
            value: Constraint::Skew { gamma: 0.0 },
            text: "Skew",
            tip: "A = W − Wᵀ − γI: eigenvalues on the line Re = −γ (Haber & Ruthotto 2017). Square A only.",
        },
        Choice {
            value: Constraint::NegDef { eps: 0.1 },
            text: "Negative definite",
            tip: "A = −WᵀW − εI: symmetric, eigenvalues ≤ −ε. Square A only.",
        },
        Choice {
            value: Constraint::Orthogonal,
            text: "Orthogonal",
            tip: "Cayley transform A = (I − S)⁻¹(I + S), S = W − Wᵀ: AᵀA = I. Square A only.",
        },
        Choice {
            value: Constraint::SpectralNorm { max: 1.0 },
            text: "Spectral norm",
            tip: "A = W · min(1, max/‖W‖₂): ‖A‖₂ ≤ max.",
        },
    ]
}

fn constraint_rows(ui: &mut Ui, label: &str, tip: &str, constraint: &mut Constraint) {
    combo_row(ui, label, tip, constraint, &constraint_choices(), |a, b| {
        discriminant(a) == discriminant(b)
    });
    match constraint {
        Constraint::Skew { gamma } => {
            f64_row(
                ui,
                "Damping γ",
                "A = W − Wᵀ − γI: eigenvalues have real part −γ.",
                gamma,
                0.0..=100.0,
                0.001,
            );
        }
        Constraint::NegDef { eps } => {
            f64_row(
                ui,
                "Margin ε",
                "A = −WᵀW − εI: eigenvalues ≤ −ε.",
                eps,
                0.0..=100.0,
                0.001,
            );
        }
        Constraint::SpectralNorm { max } => {
            f64_row(
                ui,
                "Max ‖A‖₂",
                "A = W · min(1, max/‖W‖₂).",
                max,
                0.0..=100.0,
                0.01,
            );
        }
        Constraint::None | Constraint::Orthogonal => {}
    }
}

pub(super) fn constraints_ui(ui: &mut Ui, exp: &mut Experiment) {
    let model = &mut exp.model;
    if model.field == FieldKind::Hamiltonian {
        constraint_rows(
            ui,
            "Constraint on A₁",
            "The parametrisation A₁ = P(W₁) (and A₂'s unless it has its own).",
            &mut model.constraint,
        );
        let mut own = model.constraint2.is_some();
        row(
            ui,
            "Own A₂ constraint",
            "Constrain A₂ differently from A₁.",
            |ui| ui.add(Checkbox::without_text(&mut own)),
        );
        match (own, &mut model.constraint2) {
            (true, Some(c2)) => constraint_rows(
                ui,
                "Constraint on A₂",
                "The parametrisation A₂ = P(W₂).",
                c2,
            ),
            (true, c2 @ None) => *c2 = Some(model.constraint),
            (false, c2) => *c2 = None,
        }
    } else {
        constraint_rows(
            ui,
            "Constraint on A",
            "The parametrisation A = P(W) applied to every layer's A before the field sees it; gradients are pulled back exactly.",
            &mut model.constraint,
        );
    }
}

//! The Integrator and gradient section.

use std::mem::discriminant;

use eframe::egui::{DragValue, Ui};

use crate::experiment::{Experiment, GradientSpec, IntegratorSpec};
use crate::gui::widgets::{Choice, combo_row, row};

fn explicit_choices() -> Vec<Choice<'static, IntegratorSpec>> {
    vec![
        Choice {
            value: IntegratorSpec::Euler,
            text: "Explicit Euler",
            tip: "z_{k+1} = z_k + h f(z_k); order 1. A ResNet.",
        },
        Choice {
            value: IntegratorSpec::ExplicitMidpoint,
            text: "Explicit midpoint",
            tip: "z_{k+1} = z_k + h f(z_k + h/2 f(z_k)); order 2.",
        },
        Choice {
            value: IntegratorSpec::Heun,
            text: "Heun",
            tip: "Trapezoidal predictor–corrector; order 2.",
        },
        Choice {
            value: IntegratorSpec::Rk4,
            text: "RK4",
            tip: "The classical Runge–Kutta method; order 4.",
        },
    ]
}

pub(super) fn integrator_ui(ui: &mut Ui, exp: &mut Experiment) {
    let mut choices = explicit_choices();
    choices.extend([
        Choice { value: IntegratorSpec::SymplecticEulerA, text: "Symplectic Euler A", tip: "p first, then z: p_{k+1} = p_k + h g(z_k), z_{k+1} = z_k + h f(p_{k+1}); symplectic, order 1. Separable Hamiltonian fields only." },
        Choice { value: IntegratorSpec::SymplecticEulerB, text: "Symplectic Euler B", tip: "z first, then p; symplectic, order 1. Separable Hamiltonian fields only." },
        Choice { value: IntegratorSpec::StormerVerlet, text: "Störmer–Verlet", tip: "Half kick in p, drift in z, half kick in p; symplectic and symmetric, order 2. Separable Hamiltonian fields only." },
        Choice { value: implicit_midpoint_default(), text: "Implicit midpoint", tip: "z_{k+1} = z_k + h f((z_k + z_{k+1})/2), solved by Newton's method per sample; symplectic, order 2. A solve that does not converge is a reported error." },
        Choice { value: avf_default(), text: "AVF (energy-preserving)", tip: "The average vector field method z_{k+1} = z_k + h ∫₀¹ f(z_k + s(z_{k+1} − z_k)) ds, solved by Newton's method per sample; order 2. On fields S∇H (Hamiltonian, second-order, port-Hamiltonian) it conserves H exactly (S skew) or never raises it (S = J − R); not symplectic." },
    ]);
    if let IntegratorSpec::Tableau(t) = &exp.integrator {
        choices.push(Choice {
            value: exp.integrator.clone(),
            text: if t.name.is_empty() {
                "Butcher tableau"
            } else {
                "Butcher tableau (file)"
            },
            tip: "An explicit Runge–Kutta method given by its Butcher tableau in the file.",
        });
    }
    combo_row(
        ui,
        "Integrator",
        "The time stepper Φ_h: state_k ↦ state_{k+1}, with θ_k frozen over the step.",
        &mut exp.integrator,
        &choices,
        |a, b| discriminant(a) == discriminant(b),
    );
    if let IntegratorSpec::ImplicitMidpoint {
        tolerance,
        max_iterations,
    }
    | IntegratorSpec::Avf {
        tolerance,
        max_iterations,
    } = &mut exp.integrator
    {
        row(
            ui,
            "Newton tolerance",
            "Stop when the Newton update's max norm is below this.",
            |ui| {
                ui.add(
                    DragValue::new(tolerance)
                        .range(0.0..=1.0)
                        .speed(1e-14)
                        .max_decimals(16),
                )
            },
        );
        row(
            ui,
            "Newton iterations",
            "The iteration cap; exceeding it is a reported error.",
            |ui| ui.add(DragValue::new(max_iterations).range(1..=1000)),
        );
    }
    let mut method = match &exp.gradient {
        GradientSpec::Dto => 0,
        GradientSpec::Partner => 1,
        GradientSpec::Backward(_) => 2,
    };
    let before = method;
    ui.label("Gradient")
        .on_hover_text("How the gradient of the loss with respect to θ is computed.");
    ui.vertical(|ui| {
        for (value, text, tip) in [
            (0, "DTO", "Discretise-then-optimise: the exact derivative of the discrete forward map (reverse mode through the stored stages)."),
            (1, "OTD partner", "Optimise-then-discretise: solve the adjoint ODE λ' = −(∂f/∂z)ᵀλ with the symplectic partner method (Sanz-Serna 2015); equals DTO to rounding."),
            (2, "OTD backward", "Optimise-then-discretise, naively: the adjoint ODE solved backwards by an explicit method on the stored trajectory; differs from DTO by O(h^p)."),
        ] {
            ui.radio_value(&mut method, value, text).on_hover_text(tip);
        }
    });
    ui.end_row();
    if method != before {
        exp.gradient = match method {
            0 => GradientSpec::Dto,
            1 => GradientSpec::Partner,
            _ => GradientSpec::Backward(IntegratorSpec::Euler),
        };
    }
    if let GradientSpec::Backward(backward) = &mut exp.gradient {
        combo_row(
            ui,
            "Backward method",
            "The explicit Runge–Kutta method used to solve the adjoint ODE backwards.",
            backward,
            &explicit_choices(),
            |a, b| discriminant(a) == discriminant(b),
        );
    }
}

/// Implicit midpoint with the file format's default tolerance and iteration cap.
pub(super) fn implicit_midpoint_default() -> IntegratorSpec {
    ron::from_str("ImplicitMidpoint()").unwrap_or(IntegratorSpec::ImplicitMidpoint {
        tolerance: 1e-13,
        max_iterations: 50,
    })
}

/// AVF with the file format's default tolerance and iteration cap.
pub(super) fn avf_default() -> IntegratorSpec {
    ron::from_str("Avf()").unwrap_or(IntegratorSpec::Avf {
        tolerance: 1e-13,
        max_iterations: 50,
    })
}

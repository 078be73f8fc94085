//! The summary `flowlab check` prints: what a checked experiment's session is made of.

use std::fmt::Write as _;

use crate::experiment::Plan;
use crate::train::Session;

/// A readable summary of the session built from `plan`: data, model, constraints, integrator,
/// gradient method, training, parameter count and checkpoint.
#[must_use]
pub fn check_summary(plan: &Plan, session: &Session) -> String {
    let net = session.network();
    let split = session.split();
    let training = &plan.training;
    let mut s = String::new();
    let _ = writeln!(s, "{}: valid", plan.name);
    let _ = writeln!(
        s,
        "  data         {} — {} train / {} test points, {} features, {} classes{}",
        plan.data.source.name(),
        split.train.len(),
        split.test.len(),
        split.train.n_features(),
        split.train.n_classes,
        if plan.data.standardize {
            ", standardised"
        } else {
            ""
        }
    );
    let acts: Vec<String> = net.activations().iter().map(|a| a.name()).collect();
    let _ = writeln!(
        s,
        "  model        {:?}, σ = {}, d = {}, m = {}, K = {}, T = {}, h = {}",
        net.field.kind,
        acts.join(" / "),
        net.field.width,
        net.field.hidden,
        net.layers,
        net.final_time,
        net.h
    );
    let mut constraint = format!("A: {}", net.constraints[0].name());
    if net.field.second_matrix() {
        let _ = write!(constraint, ", A2: {}", net.constraints[1].name());
    }
    let _ = writeln!(s, "  constraint   {constraint}");
    let _ = writeln!(s, "  lift, head   {:?}, {:?}", net.lift, net.head);
    let _ = writeln!(
        s,
        "  integrator   {} (order {}{})",
        net.integrator.name(),
        net.integrator.order(),
        if net.integrator.is_symplectic() {
            ", symplectic"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "  gradient     {}", net.gradient.name());
    let _ = writeln!(
        s,
        "  training     {}, {} iterations, {:?}, weight decay {}, time smoothness {}",
        training.optimizer.name(),
        training.iterations,
        training.batch,
        training.regularizer.weight_decay,
        training.regularizer.time_smoothness
    );
    let _ = writeln!(s, "  parameters   {}", net.layout.len());
    let _ = writeln!(s, "  resources    {}", plan.resources);
    if session.iteration() > 0 {
        let _ = writeln!(s, "  checkpoint   iteration {}", session.iteration());
    }
    s
}

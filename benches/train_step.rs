//! One training iteration (forward + DTO backward + Adam) of the peer workloads of
//! `shared/peers/README.md`: two spirals, N = 1024, K = 64, h = 0.1, tanh, d ∈ {2, 8}, f64,
//! one thread.
//!
//! - W1 `euler`: ResNet / explicit Euler, `z ← z + h tanh(A z + b)`;
//! - W2 `verlet`: HamiltonianShared / Störmer–Verlet;
//! - W3 `gradflow`: GradientFlow / explicit Euler, `z ← z − h Aᵀ tanh(A z + b)`.
//!
//! Two more, not in the peers, guard flowlab's own kernels:
//!
//! - W4 `phnn`: PortHamiltonian (J canonical, R = 0) / explicit Euler,
//!   `z ← z + h J Kᵀ tanh(K z + b)`;
//! - W5 `midpoint`: GradientFlow / implicit midpoint (Newton to 1e-12 per layer, one linear
//!   solve per layer backwards).
//!
//! The head is a softmax cross-entropy over two logits (the peers use one sigmoid logit; the
//! head is a negligible part of the work).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use flowlab::experiment::{self, Experiment};

/// A workload that never finishes during a measurement: 10 million iterations (the memory check
/// counts the history of every iteration; a billion would be refused as 112 GB).
fn workload(field: &str, integrator: &str, d: usize) -> Experiment {
    let text = format!(
        "(format_version: 1, name: \"bench\", \
         data: (source: TwoSpirals, size: 1024, noise: 0.02, train_fraction: 1.0), \
         model: (field: {field}, activation: Tanh, width: {d}, layers: 64, final_time: 6.4, init_scale: 0.1), \
         integrator: {integrator}, gradient: Dto, \
         train: (optimizer: Adam(lr: 0.01), iterations: 10000000, eval_every: 10000000))"
    );
    experiment::io::from_ron_str(&text).expect("valid workload")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(30);
    for (name, field, integrator) in [
        ("W1_euler", "ResNet", "Euler"),
        ("W2_verlet", "HamiltonianShared", "StormerVerlet"),
        ("W3_gradflow", "GradientFlow", "Euler"),
        ("W4_phnn", "PortHamiltonian", "Euler"),
        (
            "W5_midpoint",
            "GradientFlow",
            "ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30)",
        ),
    ] {
        for d in [2, 8] {
            let exp = workload(field, integrator, d);
            let plan = experiment::check(&exp).expect("valid workload");
            let mut session = plan.session(None, 1).expect("session");
            // Past the first iteration, which also evaluates the accuracy.
            session.step().expect("step");
            group.bench_function(format!("{name}_d{d}"), |b| {
                b.iter(|| session.step().expect("step"));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

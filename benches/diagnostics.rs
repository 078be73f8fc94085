//! The cost of the diagnostics (issue 3, item 8): the default set at the default
//! `DiagnosticsSpec` on the default experiment (`experiments/resnet_euler_spirals.ron`) against
//! ten training iterations of the same experiment, one thread each; then every part alone.
#![allow(
    clippy::type_complexity,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use flowlab::diagnostics;
use flowlab::experiment::{self, DiagnosticsParts, DiagnosticsSpec};

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/resnet_euler_spirals.ron");
    let exp = experiment::io::load(&path).expect("default experiment");
    let plan = experiment::check(&exp).expect("a valid experiment");
    let mut session = plan.session(path.parent(), 1).expect("session");
    // Past the first iteration, which also evaluates the accuracy.
    session.step().expect("step");

    let mut group = c.benchmark_group("diagnostics");
    group.sample_size(30);
    group.bench_function("train_10_iterations", |b| {
        b.iter(|| {
            for _ in 0..10 {
                session.step().expect("step");
            }
        });
    });
    let snapshot = session.snapshot();
    let split = session.split().clone();
    let spec = DiagnosticsSpec::default();
    group.bench_function("default_set", |b| {
        b.iter(|| diagnostics::compute(&snapshot, &split, &spec));
    });
    let none = DiagnosticsParts {
        spectrum: false,
        lipschitz: false,
        divergence: false,
        structure: false,
        gradients: false,
        robustness: false,
        decision_boundary: false,
        trajectories: false,
    };
    let parts: [(&str, fn(&mut DiagnosticsParts)); 8] = [
        ("spectrum", |p| p.spectrum = true),
        ("lipschitz", |p| p.lipschitz = true),
        ("divergence", |p| p.divergence = true),
        ("structure", |p| p.structure = true),
        ("gradients", |p| p.gradients = true),
        ("robustness", |p| p.robustness = true),
        ("decision_boundary", |p| p.decision_boundary = true),
        ("trajectories", |p| p.trajectories = true),
    ];
    for (name, switch_on) in parts {
        let mut only = none;
        switch_on(&mut only);
        let spec = DiagnosticsSpec {
            parts: only,
            ..DiagnosticsSpec::default()
        };
        group.bench_function(format!("only_{name}"), |b| {
            b.iter(|| diagnostics::compute(&snapshot, &split, &spec));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

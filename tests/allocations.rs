//! The per-layer loops allocate nothing: a forward and reverse sweep of a block through all K
//! layers, with its workspace made beforehand, performs no heap allocation.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

use flowlab::experiment;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn sweep_allocations(field: &str, integrator: &str, gradient: &str) -> usize {
    let text = format!(
        "(format_version: 1, name: \"alloc\", data: (source: TwoSpirals, size: 64), \
         model: (field: {field}, activation: Tanh, width: 4, hidden: 4, layers: 16, final_time: 1.6), \
         integrator: {integrator}, gradient: {gradient}, \
         train: (optimizer: Adam(lr: 0.01), iterations: 1))"
    );
    let exp = experiment::io::from_ron_str(&text).unwrap();
    let network = common::network(&exp, 2, 2);
    let raw = network.init_params(0.5, 1);
    let mut eff = vec![0.0; raw.len()];
    network.effective(&raw, &mut eff);
    let mut ws = network.workspace(64);
    let mut grad = vec![0.0; raw.len()];
    let rows: Vec<usize> = (0..64).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 2).collect();
    for (i, x) in ws.inputs_mut().iter_mut().enumerate() {
        *x = (i as f64 * 0.37).sin();
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    network.forward(&eff, 64, &mut ws).unwrap();
    network.loss(&rows, &labels, 1.0 / 64.0, &mut ws);
    network.backward(&eff, 64, &mut ws, &mut grad).unwrap();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn forward_and_reverse_sweeps_do_not_allocate() {
    for (field, integrator, gradient) in [
        ("ResNet", "Euler", "Dto"),
        ("GradientFlow", "Rk4", "Partner"),
        ("HamiltonianShared", "StormerVerlet", "Dto"),
        ("Hamiltonian", "SymplecticEulerA", "Dto"),
        ("SecondOrder", "Heun", "Backward(Rk4)"),
        (
            "GradientFlow",
            "ImplicitMidpoint(tolerance: 1e-12, max_iterations: 30)",
            "Dto",
        ),
        (
            "PortHamiltonian",
            "Avf(tolerance: 1e-12, max_iterations: 30)",
            "Dto",
        ),
        (
            "PortHamiltonian, interconnection: Learned, dissipation: Learned",
            "Avf(tolerance: 1e-12, max_iterations: 30)",
            "Dto",
        ),
        (
            "PortHamiltonian, interconnection: Learned, dissipation: Learned",
            "Rk4",
            "Dto",
        ),
    ] {
        let n = sweep_allocations(field, integrator, gradient);
        assert_eq!(n, 0, "{field} / {integrator} / {gradient}: {n} allocations");
    }
}

//! The memory estimate of `check` against what the engine really allocates: for shipped
//! experiments, the peak of the heap while the session is built, trains a few steps, computes
//! the diagnostics and exports the NPZ stays below the estimate, and the estimate is not
//! absurdly above it.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use flowlab::{diagnostics, experiment, report};

/// Counts the bytes in use and their peak.
struct Tracking;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The peak heap above what was in use before `work`.
fn peak_of(work: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    work();
    PEAK.load(Ordering::SeqCst).saturating_sub(base)
}

/// The peak heap of building `exp`'s session, training three steps, computing its diagnostics
/// and exporting its NPZ, and the estimate of `check` for it.
fn measure(exp: &experiment::Experiment, base: &Path, npz: &Path) -> (f64, experiment::Resources) {
    let plan = experiment::check(exp).unwrap();
    let mut estimate = None;
    let measured = peak_of(|| {
        let split = plan.load_data(Some(base)).unwrap();
        estimate = Some(plan.fits(&split, 1).unwrap());
        let mut session = plan.session_on(split, 1).unwrap();
        for _ in 0..3 {
            session.step().unwrap();
        }
        let report = diagnostics::compute(&session.snapshot(), session.split(), &plan.diagnostics);
        assert!(report.spectrum.computed().is_some());
        report::export_npz(&mut session, &plan, npz).unwrap();
    });
    #[allow(clippy::cast_precision_loss)]
    (measured as f64, estimate.unwrap())
}

#[test]
fn the_estimate_bounds_what_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    for name in [
        "resnet_euler_spirals",
        "hamiltonian_verlet_spirals",
        "implicit_midpoint_gradflow",
        "resnet_orthogonal_checkerboard",
        "dto_vs_otd_backward",
        "csv_linked_rings",
    ] {
        let exp = experiment::load(&experiments.join(format!("{name}.ron"))).unwrap();
        // As shipped, and wider, deeper, with more data and heavier diagnostics.
        let mut larger = exp.clone();
        larger.model.width *= 3;
        larger.model.hidden = larger.model.hidden.map(|m| 3 * m);
        larger.model.layers *= 2;
        larger.data.size = 3000;
        larger.diagnostics.probes = 40;
        larger.diagnostics.eigenvalue_probes = 8;
        larger.diagnostics.grid = 70;
        larger.diagnostics.trajectory_points = 200;
        for (what, exp) in [("as shipped", exp), ("larger", larger)] {
            let npz = dir.path().join(format!("{name}.npz"));
            let (measured, estimate) = measure(&exp, &experiments, &npz);
            assert!(
                measured <= estimate.peak(),
                "{name} ({what}): {measured} bytes allocated at the peak, more than the \
                 estimate: {estimate}"
            );
            assert!(
                estimate.peak() <= 40.0 * measured.max(1e6),
                "{name} ({what}): the estimate ({estimate}) is far above the {measured} bytes \
                 allocated"
            );
        }
    }
}

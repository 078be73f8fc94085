//! Spectra: singular values of every effective weight matrix against time, eigenvalues of `h·J`
//! at the probe states, and the integrator's region of absolute stability `{w : |R(w)| ≤ 1}`
//! they are drawn over.

use std::sync::Mutex;

use nalgebra::Complex;
use serde::Serialize;

use super::DiagnosticsSpec;
use super::{Context, Outcome, linalg, times};
use crate::data::Split;
use crate::integrate::{Integrator, Tableau};
use crate::train::Network;
use crate::train::Snapshot;

/// Singular values (and, for square matrices, eigenvalues) of one weight matrix at every layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixSpectrum {
    /// Block name: `A`, or `A1` and `A2` for the Hamiltonian field.
    pub name: String,
    /// Rows `m` of the matrix.
    pub rows: usize,
    /// Columns `d` of the matrix.
    pub cols: usize,
    /// Per layer, the `min(m, d)` singular values in descending order (NaN where the matrix is
    /// not finite).
    pub singular_values: Vec<Vec<f64>>,
    /// Per layer, the smallest singular value `μ*_k`.
    pub smallest: Vec<f64>,
    /// Per layer, the spectral norm `‖A_k‖₂` (the largest singular value).
    pub norm: Vec<f64>,
    /// Per layer, the eigenvalues `[re, im]` of a square matrix (`None` when `m ≠ d`), sorted by
    /// real then imaginary part.
    pub eigenvalues: Option<Vec<Vec<[f64; 2]>>>,
}

/// The integrator's region of absolute stability for the test equation `y' = λy`, `w = hλ`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StabilityRegion {
    /// An explicit Runge–Kutta method: `R(w) = Σ_j c_j w^j` is a polynomial and the region is
    /// bounded by the closed curves `{w : |R(w)| = 1}`.
    Polynomial {
        /// `c_0 = 1, c_j = bᵀA^{j−1}1` (trailing zeros removed).
        coefficients: Vec<f64>,
        /// Closed curves `[re, im]` (first point repeated at the end) that together bound the
        /// region: a point is inside when it is inside an odd number of them.
        boundary: Vec<Vec<[f64; 2]>>,
        /// Bounding box of the boundary, `[re_min, re_max, im_min, im_max]`.
        extent: [f64; 4],
    },
    /// The implicit midpoint rule: `R(w) = (1 + w/2)/(1 − w/2)`, `|R| ≤ 1` exactly on
    /// `Re w ≤ 0`; the boundary is the imaginary axis.
    LeftHalfPlane,
    /// A splitting method (symplectic Euler, Störmer–Verlet): partitioned, so there is no
    /// single-stage `R(w)` for a general linear field. For the harmonic oscillator
    /// `z' = ωp, p' = −ωz` (the eigenvalues of `h·J` are `±ihω`) the method is stable exactly for
    /// `|hω| < 2`: the region reported is the segment `{i s : |s| < half_length}`.
    ImaginaryInterval {
        /// Half length of the segment on the imaginary axis.
        half_length: f64,
    },
}

/// Spectra of the weights and of the step's linearisation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spectrum {
    /// Layer start times `t_k = k h`, `k = 0..K`.
    pub times: Vec<f64>,
    /// The step `h`.
    pub step: f64,
    /// One entry per weight matrix (`A`, or `A1` and `A2`).
    pub matrices: Vec<MatrixSpectrum>,
    /// Per layer, the eigenvalues `[re, im]` of `h·J(y_k)` at the first `eigenvalue_probes` probe
    /// states, concatenated (`dim` per probe).
    pub jacobian_eigenvalues: Vec<Vec<[f64; 2]>>,
    /// Probe states per layer in `jacobian_eigenvalues`.
    pub eigenvalue_probes: usize,
    /// The integrator's stability region.
    pub stability: StabilityRegion,
}

/// The spectrum diagnostic of a snapshot.
pub fn spectrum(snapshot: &Snapshot, split: &Split, spec: &DiagnosticsSpec) -> Outcome<Spectrum> {
    compute(&mut Context::new(snapshot, split, spec))
}

pub(crate) fn compute(ctx: &mut Context) -> Outcome<Spectrum> {
    let network = ctx.network;
    let matrices = ctx.matrices().to_vec();
    let wanted = ctx.spec.eigenvalue_probes.min(ctx.spec.probes);
    let (jacobian_eigenvalues, eigenvalue_probes) = if wanted == 0 {
        (vec![Vec::new(); network.layers], 0)
    } else {
        let probes = match ctx.probes() {
            Ok(p) => p,
            Err(e) => return e.outcome(),
        };
        let dim = probes.flow.dim;
        let used = wanted.min(probes.flow.n);
        let eigenvalues = probes
            .field_jacobians
            .iter()
            .map(|jacobians| {
                (0..used)
                    .flat_map(|t| {
                        let m = linalg::matrix(&jacobians[t * dim * dim..], dim, dim) * network.h;
                        linalg::complex_eigenvalues(&m).unwrap_or_else(|| vec![[f64::NAN; 2]; dim])
                    })
                    .collect()
            })
            .collect();
        (eigenvalues, used)
    };
    Outcome::Computed(Spectrum {
        times: times(network, network.layers),
        step: network.h,
        matrices,
        jacobian_eigenvalues,
        eigenvalue_probes,
        stability: stability_region(&network.integrator),
    })
}

/// Singular values and eigenvalues of every per-layer weight matrix of the network.
pub(crate) fn matrix_spectra(network: &Network, eff: &[f64]) -> Vec<MatrixSpectrum> {
    let ids = network.layout.ids();
    std::iter::once(ids.a)
        .chain(ids.a2)
        .map(|id| {
            let block = network.layout.block(id);
            let (rows, cols) = (block.rows, block.cols);
            let count = rows.min(cols);
            let mut singular_values = Vec::with_capacity(block.layers);
            let mut eigenvalues = (rows == cols).then(|| Vec::with_capacity(block.layers));
            for k in 0..block.layers {
                let m = linalg::matrix(&eff[block.layer_range(k)], rows, cols);
                singular_values
                    .push(linalg::singular_values(&m).unwrap_or_else(|| vec![f64::NAN; count]));
                if let Some(eigenvalues) = eigenvalues.as_mut() {
                    eigenvalues.push(
                        linalg::complex_eigenvalues(&m)
                            .unwrap_or_else(|| vec![[f64::NAN; 2]; rows]),
                    );
                }
            }
            MatrixSpectrum {
                name: block.name.to_owned(),
                rows,
                cols,
                smallest: singular_values
                    .iter()
                    .map(|s| s.last().copied().unwrap_or(f64::NAN))
                    .collect(),
                norm: singular_values
                    .iter()
                    .map(|s| s.first().copied().unwrap_or(f64::NAN))
                    .collect(),
                singular_values,
                eigenvalues,
            }
        })
        .collect()
}

/// The stability function `R(w)` of an integrator at a complex point `[re, im]`: from the
/// tableau for explicit Runge–Kutta methods, `(1 + w/2)/(1 − w/2)` for the implicit midpoint
/// rule, `None` for splitting methods (see [`StabilityRegion::ImaginaryInterval`]).
#[must_use]
pub fn stability_function(integrator: &Integrator, w: [f64; 2]) -> Option<[f64; 2]> {
    match integrator {
        Integrator::Explicit(t) => {
            let (re, im) = t.stability((w[0], w[1]));
            Some([re, im])
        }
        // On a linear field the AVF method is the implicit midpoint rule.
        Integrator::ImplicitMidpoint { .. } | Integrator::Avf { .. } => {
            let w = Complex::new(w[0], w[1]);
            let r = (1.0 + w / 2.0) / (1.0 - w / 2.0);
            Some([r.re, r.im])
        }
        Integrator::Splitting(_) => None,
    }
}

/// Whether `w = hλ` (`[re, im]`) lies in the integrator's region of absolute stability, with a
/// relative rounding tolerance of 1e-9 (for [`StabilityRegion::ImaginaryInterval`]: on the
/// imaginary axis, strictly inside the segment).
#[must_use]
pub fn in_stability_region(region: &StabilityRegion, w: [f64; 2]) -> bool {
    let tolerance = 1e-9 * (1.0 + w[0].abs() + w[1].abs());
    match region {
        StabilityRegion::Polynomial { coefficients, .. } => {
            let r = poly(
                coefficients,
                Complex::new(0.0, 0.0),
                Complex::new(w[0], w[1]),
            );
            r.norm() <= 1.0 + tolerance
        }
        StabilityRegion::LeftHalfPlane => w[0] <= tolerance,
        StabilityRegion::ImaginaryInterval { half_length } => {
            w[0].abs() <= tolerance && w[1].abs() < *half_length
        }
    }
}

/// Angles at which the boundary `{R(w) = e^{iφ}}` of an explicit method is sampled.
const BOUNDARY_ANGLES: usize = 360;

/// The integrator's region of absolute stability.
#[must_use]
pub fn stability_region(integrator: &Integrator) -> StabilityRegion {
    match integrator {
        Integrator::Explicit(t) => {
            let coefficients = polynomial_coefficients(t);
            let boundary = cached_level_curves(&coefficients);
            let mut extent = [
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ];
            for &[re, im] in boundary.iter().flatten() {
                extent = [
                    extent[0].min(re),
                    extent[1].max(re),
                    extent[2].min(im),
                    extent[3].max(im),
                ];
            }
            StabilityRegion::Polynomial {
                coefficients,
                boundary,
                extent,
            }
        }
        Integrator::ImplicitMidpoint { .. } | Integrator::Avf { .. } => {
            StabilityRegion::LeftHalfPlane
        }
        Integrator::Splitting(_) => StabilityRegion::ImaginaryInterval { half_length: 2.0 },
    }
}

/// Boundaries computed so far, by polynomial (a run asks for the same one at every snapshot).
#[allow(clippy::type_complexity)]
static BOUNDARIES: Mutex<Vec<(Vec<f64>, Vec<Vec<[f64; 2]>>)>> = Mutex::new(Vec::new());

/// Polynomials whose boundary is kept.
const CACHED_BOUNDARIES: usize = 16;

/// [`level_curves`] of `coefficients` at [`BOUNDARY_ANGLES`], remembered across calls.
fn cached_level_curves(coefficients: &[f64]) -> Vec<Vec<[f64; 2]>> {
    if let Ok(cache) = BOUNDARIES.lock()
        && let Some((_, curves)) = cache.iter().find(|(c, _)| c.as_slice() == coefficients)
    {
        return curves.clone();
    }
    let curves = level_curves(coefficients, BOUNDARY_ANGLES);
    if let Ok(mut cache) = BOUNDARIES.lock() {
        if cache.len() >= CACHED_BOUNDARIES {
            cache.remove(0);
        }
        cache.push((coefficients.to_vec(), curves.clone()));
    }
    curves
}

/// `R(w) = 1 + Σ_{j≥1} (bᵀA^{j−1}1) w^j` of an explicit tableau (`A` strictly lower triangular,
/// so the series stops at `j = s`), trailing zeros removed.
fn polynomial_coefficients(t: &Tableau) -> Vec<f64> {
    let s = t.stages;
    let mut coefficients = vec![1.0];
    let mut g = vec![1.0; s];
    for _ in 0..s {
        coefficients.push(t.b.iter().zip(&g).map(|(b, g)| b * g).sum());
        g = (0..s)
            .map(|i| (0..s).map(|j| t.a(i, j) * g[j]).sum())
            .collect();
    }
    while coefficients.len() > 1 && coefficients.last() == Some(&0.0) {
        coefficients.pop();
    }
    coefficients
}

/// Value of the polynomial `Σ c_j w^j + shift` (Horner).
fn poly(coefficients: &[f64], shift: Complex<f64>, w: Complex<f64>) -> Complex<f64> {
    let mut acc = Complex::new(0.0, 0.0);
    for &c in coefficients.iter().rev() {
        acc = acc * w + c;
    }
    acc + shift
}

/// Relative size of the Durand–Kerner update at which the roots count as converged.
const ROOT_TOLERANCE: f64 = 1e-11;

/// Iteration cap of the Durand–Kerner iteration (a handful suffice from the previous angle).
const MAX_ROOT_ITERATIONS: usize = 200;

/// All roots of `Σ c_j w^j + shift` by the Durand–Kerner (Weierstrass) iteration from `roots`.
fn polish_roots(coefficients: &[f64], shift: Complex<f64>, roots: &mut [Complex<f64>]) {
    let Some(&lead) = coefficients.last() else {
        return;
    };
    for _ in 0..MAX_ROOT_ITERATIONS {
        let mut largest_update: f64 = 0.0;
        for i in 0..roots.len() {
            let wi = roots[i];
            let mut denominator = Complex::new(lead, 0.0);
            for (j, &wj) in roots.iter().enumerate() {
                if j != i {
                    denominator *= wi - wj;
                }
            }
            if denominator.norm() == 0.0 {
                // Coincident iterates: nudge apart deterministically.
                roots[i] = wi + Complex::new(1e-9, 1e-9);
                largest_update = f64::INFINITY;
                continue;
            }
            let update = poly(coefficients, shift, wi) / denominator;
            roots[i] = wi - update;
            largest_update = largest_update.max(update.norm() / (1.0 + wi.norm()));
        }
        // Convergence is quadratic: once an update is this small the next would be at the level of
        // rounding, which the evaluation of the polynomial cannot resolve anyway.
        if largest_update <= ROOT_TOLERANCE {
            break;
        }
    }
}

/// The closed curves `{w : |R(w)| = 1}`: for `φ` on a grid of `[0, 2π]` the roots of
/// `R(w) = e^{iφ}` (each a point of the level set, and every point of it is one), tracked from
/// angle to angle; at `φ = 2π` the roots are those of `φ = 0` permuted, which closes the
/// branches into curves.
fn level_curves(coefficients: &[f64], angles: usize) -> Vec<Vec<[f64; 2]>> {
    let degree = coefficients.len() - 1;
    if degree == 0 {
        return Vec::new();
    }
    let lead = coefficients[degree];
    let radius = 1.0
        + coefficients[..degree]
            .iter()
            .map(|c| (c / lead).abs())
            .fold(0.0, f64::max);
    let seed = Complex::new(0.4, 0.9);
    let mut roots: Vec<Complex<f64>> = (0..degree)
        .map(|i| seed.powu(u32::try_from(i).unwrap_or(0)) * radius)
        .collect();
    let mut branches: Vec<Vec<Complex<f64>>> = vec![Vec::with_capacity(angles + 1); degree];
    for step in 0..=angles {
        let phi = std::f64::consts::TAU * step as f64 / angles as f64;
        let shift = -Complex::from_polar(1.0, phi);
        polish_roots(coefficients, shift, &mut roots);
        for (branch, &root) in branches.iter_mut().zip(&roots) {
            branch.push(root);
        }
    }
    // Branch i ends where branch next[i] starts.
    let next: Vec<usize> = branches
        .iter()
        .map(|b| {
            let end = b[b.len() - 1];
            (0..degree)
                .min_by(|&x, &y| {
                    (branches[x][0] - end)
                        .norm()
                        .total_cmp(&(branches[y][0] - end).norm())
                })
                .unwrap_or(0)
        })
        .collect();
    let mut visited = vec![false; degree];
    let mut curves = Vec::new();
    for first in 0..degree {
        if visited[first] {
            continue;
        }
        let mut curve: Vec<[f64; 2]> = Vec::new();
        let mut current = first;
        while !visited[current] {
            visited[current] = true;
            let skip = usize::from(!curve.is_empty());
            curve.extend(branches[current].iter().skip(skip).map(|w| [w.re, w.im]));
            current = next[current];
        }
        if let Some(&start) = curve.first() {
            curve.push(start);
        }
        curves.push(curve);
    }
    curves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euler_region_contains_its_disc_only() {
        let region = StabilityRegion::Polynomial {
            coefficients: vec![1.0, 1.0],
            boundary: Vec::new(),
            extent: [-2.0, 0.0, -1.0, 1.0],
        };
        assert!(in_stability_region(&region, [-1.0, 0.0]));
        assert!(in_stability_region(&region, [-2.0, 0.0]));
        assert!(!in_stability_region(&region, [0.1, 0.0]));
        assert!(!in_stability_region(&region, [-1.0, 1.1]));
        assert!(in_stability_region(
            &StabilityRegion::LeftHalfPlane,
            [-5.0, 3.0]
        ));
        assert!(!in_stability_region(
            &StabilityRegion::LeftHalfPlane,
            [1e-3, 3.0]
        ));
        let segment = StabilityRegion::ImaginaryInterval { half_length: 2.0 };
        assert!(in_stability_region(&segment, [0.0, 1.9]));
        assert!(!in_stability_region(&segment, [0.0, 2.0]));
        assert!(!in_stability_region(&segment, [0.1, 0.0]));
    }
}

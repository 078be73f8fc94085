//! Parametrisations `A = P(W)` that give a matrix a structure, with exact pullbacks.

use serde::{Deserialize, Serialize};

/// A constraint on one weight matrix, applied as a parametrisation `A = P(W)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Constraint {
    /// `A = W`.
    #[default]
    None,
    /// `A = W − Wᵀ − γI`: eigenvalues on the line `Re = −γ` (Haber & Ruthotto 2017).
    Skew {
        /// Damping γ ≥ 0.
        gamma: f64,
    },
    /// `A = −WᵀW − εI`: symmetric with eigenvalues ≤ −ε.
    NegDef {
        /// Margin ε ≥ 0.
        eps: f64,
    },
    /// Cayley transform `A = (I − S)⁻¹(I + S)`, `S = W − Wᵀ`: `AᵀA = I`.
    Orthogonal,
    /// `A = W · min(1, max/‖W‖₂)`: `‖A‖₂ ≤ max`.
    SpectralNorm {
        /// Largest allowed spectral norm.
        max: f64,
    },
}

use nalgebra::DMatrix;

impl Constraint {
    /// Name for summaries and metadata.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Skew { gamma } => format!("skew(gamma={gamma})"),
            Self::NegDef { eps } => format!("negdef(eps={eps})"),
            Self::Orthogonal => "orthogonal".into(),
            Self::SpectralNorm { max } => format!("spectral_norm(max={max})"),
        }
    }

    /// Whether the constraint only makes sense for a square matrix.
    #[must_use]
    pub fn needs_square(&self) -> bool {
        matches!(
            self,
            Self::Skew { .. } | Self::NegDef { .. } | Self::Orthogonal
        )
    }

    /// `A = P(W)` for a `rows × cols` row-major matrix.
    pub fn apply(&self, w: &[f64], rows: usize, cols: usize, a: &mut [f64]) {
        let n = rows;
        match *self {
            Self::None => a.copy_from_slice(w),
            Self::Skew { gamma } => {
                for i in 0..n {
                    for j in 0..n {
                        a[i * n + j] = w[i * n + j] - w[j * n + i];
                    }
                    a[i * n + i] -= gamma;
                }
            }
            Self::NegDef { eps } => {
                // A = −WᵀW − εI.
                for i in 0..n {
                    for j in 0..n {
                        let mut s = 0.0;
                        for k in 0..n {
                            s += w[k * n + i] * w[k * n + j];
                        }
                        a[i * n + j] = -s;
                    }
                    a[i * n + i] -= eps;
                }
            }
            Self::Orthogonal => {
                let (inv, s) = cayley_parts(w, n);
                let a_m = &inv * (DMatrix::identity(n, n) + s);
                write_row_major(&a_m, a);
            }
            Self::SpectralNorm { max } => {
                let norm = spectral_norm(w, rows, cols);
                let factor = if norm > max { max / norm } else { 1.0 };
                for (ai, &wi) in a.iter_mut().zip(w) {
                    *ai = factor * wi;
                }
            }
        }
    }

    /// Pullback `∂W = P'(W)ᵀ ∂A` (written into `dw`).
    pub fn pullback(&self, w: &[f64], rows: usize, cols: usize, da: &[f64], dw: &mut [f64]) {
        let n = rows;
        match *self {
            Self::None => dw.copy_from_slice(da),
            Self::Skew { .. } => {
                for i in 0..n {
                    for j in 0..n {
                        dw[i * n + j] = da[i * n + j] - da[j * n + i];
                    }
                }
            }
            Self::NegDef { .. } => {
                // ∂W = −W (∂A + ∂Aᵀ).
                for i in 0..n {
                    for j in 0..n {
                        let mut s = 0.0;
                        for k in 0..n {
                            s += w[i * n + k] * (da[k * n + j] + da[j * n + k]);
                        }
                        dw[i * n + j] = -s;
                    }
                }
            }
            Self::Orthogonal => {
                // dA = (I − S)⁻¹ dS (A + I), so ∂S = (I − S)⁻ᵀ ∂A (A + I)ᵀ and ∂W = ∂S − ∂Sᵀ.
                let (inv, s) = cayley_parts(w, n);
                let id = DMatrix::<f64>::identity(n, n);
                let a_plus_i = &inv * (&id + &s) + &id;
                let da_m = DMatrix::from_row_slice(n, n, da);
                let ds = inv.transpose() * da_m * a_plus_i.transpose();
                for i in 0..n {
                    for j in 0..n {
                        dw[i * n + j] = ds[(i, j)] - ds[(j, i)];
                    }
                }
            }
            Self::SpectralNorm { max } => {
                let w_m = DMatrix::from_row_slice(rows, cols, w);
                let svd = w_m.clone().svd(true, true);
                let (norm, idx) = largest(&svd.singular_values);
                if norm <= max {
                    dw.copy_from_slice(da);
                    return;
                }
                // A = max W/σ₁, dσ₁ = uᵀ dW v: ∂W = max (∂A/σ₁ − ⟨∂A, W⟩ u vᵀ / σ₁²).
                let (Some(u), Some(vt)) = (&svd.u, &svd.v_t) else {
                    dw.copy_from_slice(da);
                    return;
                };
                let inner: f64 = da.iter().zip(w).map(|(x, y)| x * y).sum();
                for i in 0..rows {
                    for j in 0..cols {
                        dw[i * cols + j] = max
                            * (da[i * cols + j] / norm
                                - inner * u[(i, idx)] * vt[(idx, j)] / (norm * norm));
                    }
                }
            }
        }
    }
}

/// `((I − S)⁻¹, S)` with `S = W − Wᵀ`. `I − S` is invertible for every skew `S` (its
/// eigenvalues are `1 − iω`), so the inverse always exists.
fn cayley_parts(w: &[f64], n: usize) -> (DMatrix<f64>, DMatrix<f64>) {
    let w_m = DMatrix::from_row_slice(n, n, w);
    let s = &w_m - w_m.transpose();
    let m = DMatrix::identity(n, n) - &s;
    let inv = m.clone().try_inverse().unwrap_or_else(|| {
        // Unreachable in exact arithmetic; fall back to the pseudo-inverse rather than panic.
        m.pseudo_inverse(1e-300)
            .unwrap_or_else(|_| DMatrix::identity(n, n))
    });
    (inv, s)
}

fn write_row_major(m: &DMatrix<f64>, out: &mut [f64]) {
    let cols = m.ncols();
    for i in 0..m.nrows() {
        for j in 0..cols {
            out[i * cols + j] = m[(i, j)];
        }
    }
}

fn largest(values: &nalgebra::DVector<f64>) -> (f64, usize) {
    values.iter().enumerate().fold(
        (0.0, 0),
        |(best, at), (i, &v)| if v > best { (v, i) } else { (best, at) },
    )
}

/// `‖W‖₂`, the largest singular value of a `rows × cols` row-major matrix.
#[must_use]
pub fn spectral_norm(w: &[f64], rows: usize, cols: usize) -> f64 {
    let w_m = DMatrix::from_row_slice(rows, cols, w);
    largest(&w_m.singular_values()).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix(n: usize) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(-2.0f64..2.0, n * n)
    }

    fn product_t(a: &[f64], n: usize) -> DMatrix<f64> {
        let m = DMatrix::from_row_slice(n, n, a);
        m.transpose() * m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn skew_satisfies_a_plus_at_eq_minus_two_gamma(w in matrix(4), gamma in 0.0f64..2.0) {
            let mut a = vec![0.0; 16];
            Constraint::Skew { gamma }.apply(&w, 4, 4, &mut a);
            for i in 0..4 {
                for j in 0..4 {
                    let target = if i == j { -2.0 * gamma } else { 0.0 };
                    prop_assert!((a[i * 4 + j] + a[j * 4 + i] - target).abs() <= 1e-12);
                }
            }
        }

        #[test]
        fn negdef_eigenvalues_are_at_most_minus_eps(w in matrix(4), eps in 0.0f64..1.0) {
            let mut a = vec![0.0; 16];
            Constraint::NegDef { eps }.apply(&w, 4, 4, &mut a);
            let eig = DMatrix::from_row_slice(4, 4, &a).symmetric_eigenvalues();
            for &l in eig.iter() {
                prop_assert!(l <= -eps + 1e-12, "eigenvalue {l} > -{eps}");
            }
        }

        #[test]
        fn orthogonal_satisfies_at_a_eq_identity(w in matrix(5)) {
            let mut a = vec![0.0; 25];
            Constraint::Orthogonal.apply(&w, 5, 5, &mut a);
            let p = product_t(&a, 5);
            let err = (p - DMatrix::<f64>::identity(5, 5)).amax();
            prop_assert!(err <= 1e-12, "‖AᵀA − I‖ = {err}");
        }

        #[test]
        fn spectral_norm_is_bounded(w in proptest::collection::vec(-3.0f64..3.0, 12), max in 0.1f64..3.0) {
            let mut a = vec![0.0; 12];
            Constraint::SpectralNorm { max }.apply(&w, 3, 4, &mut a);
            prop_assert!(spectral_norm(&a, 3, 4) <= max + 1e-12);
        }
    }

    /// `⟨∂A, dA⟩` for the pullback equals the directional derivative of `P` (central
    /// differences), for every constraint.
    #[test]
    fn pullbacks_match_finite_differences() {
        let constraints = [
            Constraint::None,
            Constraint::Skew { gamma: 0.3 },
            Constraint::NegDef { eps: 0.1 },
            Constraint::Orthogonal,
            Constraint::SpectralNorm { max: 0.5 },
            Constraint::SpectralNorm { max: 50.0 },
        ];
        let n = 4;
        let w: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7 % 11) as f64) * 0.17 - 0.8)
            .collect();
        let da: Vec<f64> = (0..n * n)
            .map(|i| ((i * 5 % 13) as f64) * 0.1 - 0.6)
            .collect();
        let dir: Vec<f64> = (0..n * n)
            .map(|i| ((i * 3 % 7) as f64) * 0.2 - 0.5)
            .collect();
        for c in constraints {
            let mut dw = vec![0.0; n * n];
            c.pullback(&w, n, n, &da, &mut dw);
            let analytic: f64 = dw.iter().zip(&dir).map(|(a, b)| a * b).sum();
            let eps = 1e-6;
            let eval = |t: f64| {
                let wt: Vec<f64> = w.iter().zip(&dir).map(|(a, b)| a + t * b).collect();
                let mut a = vec![0.0; n * n];
                c.apply(&wt, n, n, &mut a);
                a.iter().zip(&da).map(|(x, y)| x * y).sum::<f64>()
            };
            let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
            assert!(
                (fd - analytic).abs() <= 1e-7 * (1.0 + fd.abs()),
                "{}: fd {fd} vs pullback {analytic}",
                c.name()
            );
        }
    }
}

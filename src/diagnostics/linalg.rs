//! Small dense linear algebra for the diagnostics: nalgebra's decompositions behind guards (a
//! non-finite matrix or a decomposition that does not converge gives `None`, never a hang), and
//! a few vector helpers.

use nalgebra::{DMatrix, SVD, Schur, SymmetricEigen};

/// Iteration cap of nalgebra's iterative decompositions (they converge in a handful of sweeps
/// for the small matrices here; the cap only turns a pathological case into `None`).
const MAX_SWEEPS: usize = 10_000;

fn finite(m: &DMatrix<f64>) -> bool {
    m.iter().all(|v| v.is_finite())
}

/// Singular values, sorted descending.
pub(crate) fn singular_values(m: &DMatrix<f64>) -> Option<Vec<f64>> {
    if m.is_empty() {
        return Some(Vec::new());
    }
    if !finite(m) {
        return None;
    }
    let svd = SVD::try_new(m.clone(), false, false, f64::EPSILON, MAX_SWEEPS)?;
    let mut values: Vec<f64> = svd.singular_values.iter().copied().collect();
    values.sort_by(|a, b| b.total_cmp(a));
    Some(values)
}

/// `log |det M|` of the row-major `dim × dim` matrix `data`, from the diagonal of its LU
/// factors (partial pivoting): the sum of `log |u_ii|`, so a determinant far outside f64's range
/// is still a number. `−∞` for a singular matrix, NaN for a non-finite one.
pub(crate) fn log_abs_det(data: &[f64], dim: usize) -> f64 {
    let m = matrix(data, dim, dim);
    if !finite(&m) {
        return f64::NAN;
    }
    let lu = m.lu();
    lu.u().diagonal().iter().map(|u| u.abs().ln()).sum()
}

/// Eigenvalues `[re, im]` of a square real matrix, sorted by real part then imaginary part.
pub(crate) fn complex_eigenvalues(m: &DMatrix<f64>) -> Option<Vec<[f64; 2]>> {
    if !finite(m) {
        return None;
    }
    let schur = Schur::try_new(m.clone(), f64::EPSILON, MAX_SWEEPS)?;
    let mut values: Vec<[f64; 2]> = schur
        .complex_eigenvalues()
        .iter()
        .map(|c| [c.re, c.im])
        .collect();
    values.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    Some(values)
}

/// The largest eigenvalue of the symmetric part `½(M + Mᵀ)` of a square matrix: its logarithmic
/// 2-norm.
pub(crate) fn log_norm(m: &DMatrix<f64>) -> Option<f64> {
    if !finite(m) {
        return None;
    }
    let sym = (m + m.transpose()) * 0.5;
    let eigen = SymmetricEigen::try_new(sym, f64::EPSILON, MAX_SWEEPS)?;
    eigen.eigenvalues.iter().copied().reduce(f64::max)
}

/// The largest eigenvalue of a symmetric matrix and a unit eigenvector (a column).
pub(crate) fn top_eigenpair(m: &DMatrix<f64>) -> Option<(f64, DMatrix<f64>)> {
    if !finite(m) || m.is_empty() {
        return None;
    }
    let eigen = SymmetricEigen::try_new(m.clone(), f64::EPSILON, MAX_SWEEPS)?;
    let (index, &value) = eigen
        .eigenvalues
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let column = eigen.eigenvectors.column(index);
    Some((
        value,
        DMatrix::from_iterator(column.len(), 1, column.iter().copied()),
    ))
}

/// A row-major `rows × cols` slice as a matrix.
pub(crate) fn matrix(data: &[f64], rows: usize, cols: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(rows, cols, &data[..rows * cols])
}

/// `M x` for a row-major `rows × cols` matrix.
pub(crate) fn mat_vec(m: &[f64], rows: usize, cols: usize, x: &[f64]) -> Vec<f64> {
    (0..rows)
        .map(|i| (0..cols).map(|j| m[i * cols + j] * x[j]).sum())
        .collect()
}

/// Euclidean norm.
pub(crate) fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// `‖x − y‖₂`.
pub(crate) fn distance(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Scales `x` to unit length (left alone when it is zero).
pub(crate) fn normalize(x: &mut [f64]) -> f64 {
    let length = norm(x);
    if length > 0.0 {
        for v in x.iter_mut() {
            *v /= length;
        }
    }
    length
}

/// A direction of nearly maximal stretch of a small square matrix: a few power iterations on
/// `MᵀM` from `start`. Used only to choose probe pairs, whose ratio is then measured on the
/// nonlinear map, so an unconverged direction only makes the estimate less sharp.
pub(crate) fn stretch_direction(
    m: &[f64],
    dim: usize,
    start: &[f64],
    iterations: usize,
) -> Vec<f64> {
    let mut v = start.to_vec();
    normalize(&mut v);
    let mut image = vec![0.0; dim];
    let mut next = vec![0.0; dim];
    for _ in 0..iterations {
        for (i, out) in image.iter_mut().enumerate() {
            *out = (0..dim).map(|j| m[i * dim + j] * v[j]).sum();
        }
        for (j, out) in next.iter_mut().enumerate() {
            *out = (0..dim).map(|i| m[i * dim + j] * image[i]).sum();
        }
        if normalize(&mut next) == 0.0 {
            break;
        }
        std::mem::swap(&mut v, &mut next);
    }
    v
}

/// The median of the finite values (NaN when there is none).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        0.5 * (sorted[mid - 1] + sorted[mid])
    }
}

/// The largest value, NaN if any value is NaN (a diagnostic must not hide a NaN), `-∞` for none.
pub(crate) fn max_or_nan(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for v in values {
        if v.is_nan() {
            return f64::NAN;
        }
        best = best.max(v);
    }
    best
}

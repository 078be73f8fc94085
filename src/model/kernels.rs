//! Small dense kernels on feature-major blocks of samples.
//!
//! A block holds `rows` features of `n` samples each, row `i` at `[i*n, (i+1)*n)`. Every loop
//! runs over the samples of one row, so it vectorises; matrices are row-major and tiny
//! (d, m ≤ a few dozen), so there is nothing to gain from a BLAS call.

/// `s = A x + b` with `A ∈ R^{rows×cols}` row-major, `x` a block of `cols` rows.
#[inline]
pub fn affine(a: &[f64], b: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    debug_assert!(a.len() >= rows * cols && b.len() >= rows);
    debug_assert!(x.len() >= cols * n && s.len() >= rows * n);
    for i in 0..rows {
        let out = &mut s[i * n..(i + 1) * n];
        out.fill(b[i]);
        let ai = &a[i * cols..(i + 1) * cols];
        for (j, &aij) in ai.iter().enumerate() {
            axpy(aij, &x[j * n..(j + 1) * n], out);
        }
    }
}

/// `s = A x` (no bias).
#[inline]
pub fn matmul(a: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    for i in 0..rows {
        let out = &mut s[i * n..(i + 1) * n];
        out.fill(0.0);
        let ai = &a[i * cols..(i + 1) * cols];
        for (j, &aij) in ai.iter().enumerate() {
            axpy(aij, &x[j * n..(j + 1) * n], out);
        }
    }
}

/// `out += scale · Aᵀ u` with `A ∈ R^{rows×cols}`, `u` a block of `rows` rows, `out` of `cols`.
#[inline]
pub fn transpose_apply_add(
    a: &[f64],
    rows: usize,
    cols: usize,
    u: &[f64],
    n: usize,
    scale: f64,
    out: &mut [f64],
) {
    for j in 0..cols {
        let o = &mut out[j * n..(j + 1) * n];
        for i in 0..rows {
            axpy(scale * a[i * cols + j], &u[i * n..(i + 1) * n], o);
        }
    }
}

/// `grad_a += scale · u xᵀ` (summed over samples) and `grad_b += scale · Σ u`.
#[inline]
pub fn outer_add(
    u: &[f64],
    rows: usize,
    x: &[f64],
    cols: usize,
    n: usize,
    scale: f64,
    grad_a: &mut [f64],
    grad_b: Option<&mut [f64]>,
) {
    for i in 0..rows {
        let ui = &u[i * n..(i + 1) * n];
        for j in 0..cols {
            grad_a[i * cols + j] += scale * dot(ui, &x[j * n..(j + 1) * n]);
        }
    }
    if let Some(gb) = grad_b {
        for i in 0..rows {
            gb[i] += scale * u[i * n..(i + 1) * n].iter().sum::<f64>();
        }
    }
}

/// `y += α x`.
#[inline]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `Σ x_i y_i`, with four partial sums so it vectorises.
#[inline]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = x.len() / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += x[4 * c + l] * y[4 * c + l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..x.len().min(y.len()) {
        s += x[i] * y[i];
    }
    s
}

/// `y = x ⊙ w` elementwise.
#[inline]
pub fn hadamard(x: &[f64], w: &[f64], y: &mut [f64]) {
    for ((yi, &xi), &wi) in y.iter_mut().zip(x).zip(w) {
        *yi = xi * wi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree_with_naive_products() {
        let (rows, cols, n) = (3, 2, 5);
        let a: Vec<f64> = (0..rows * cols).map(|i| f64::from(i as u8) * 0.3 - 0.7).collect();
        let b = [0.1, -0.2, 0.3];
        let x: Vec<f64> = (0..cols * n).map(|i| (i as f64).sin()).collect();
        let mut s = vec![0.0; rows * n];
        affine(&a, &b, rows, cols, &x, n, &mut s);
        for i in 0..rows {
            for t in 0..n {
                let mut e = b[i];
                for j in 0..cols {
                    e += a[i * cols + j] * x[j * n + t];
                }
                assert!((s[i * n + t] - e).abs() < 1e-14);
            }
        }
        let mut back = vec![1.0; cols * n];
        transpose_apply_add(&a, rows, cols, &s, n, 2.0, &mut back);
        for j in 0..cols {
            for t in 0..n {
                let mut e = 1.0;
                for i in 0..rows {
                    e += 2.0 * a[i * cols + j] * s[i * n + t];
                }
                assert!((back[j * n + t] - e).abs() < 1e-13);
            }
        }
        let mut ga = vec![0.0; rows * cols];
        let mut gb = vec![0.0; rows];
        outer_add(&s, rows, &x, cols, n, 0.5, &mut ga, Some(&mut gb));
        for i in 0..rows {
            let mut eb = 0.0;
            for t in 0..n {
                eb += 0.5 * s[i * n + t];
            }
            assert!((gb[i] - eb).abs() < 1e-13);
            for j in 0..cols {
                let e: f64 = (0..n).map(|t| 0.5 * s[i * n + t] * x[j * n + t]).sum();
                assert!((ga[i * cols + j] - e).abs() < 1e-13);
            }
        }
    }
}

//! Small dense kernels on feature-major blocks of samples.
//!
//! A block holds `rows` features of `n` samples each, row `i` at `[i*n, (i+1)*n)`. Every loop
//! runs over the samples of one row, so it vectorises; matrices are row-major and tiny
//! (d, m ≤ a few dozen), so there is nothing to gain from a BLAS call.

/// Samples processed together in registers by the matrix kernels (two AVX2 vectors of f64).
const LANES: usize = 8;

/// `out[i] = init_i + Σ_j M(i, j) · x[j]` for all samples, with `M(i, j) = m[i*rs + j*cs]`
/// (so both `A` and `Aᵀ` are served), accumulating each output row for `LANES` samples in
/// registers: one load of `x` per multiply-add instead of the load-load-store of an axpy.
#[inline]
fn apply_strided(
    m: &[f64],
    rs: usize,
    cs: usize,
    rows: usize,
    cols: usize,
    x: &[f64],
    n: usize,
    init: impl Fn(usize) -> f64,
    scale: f64,
    out: &mut [f64],
    accumulate: bool,
) {
    let full = n / LANES * LANES;
    for i in 0..rows {
        let base = init(i);
        let mut t0 = 0;
        while t0 < full {
            let mut acc = [0.0; LANES];
            for j in 0..cols {
                let mij = m[i * rs + j * cs];
                let xj = &x[j * n + t0..j * n + t0 + LANES];
                for l in 0..LANES {
                    acc[l] += mij * xj[l];
                }
            }
            let o = &mut out[i * n + t0..i * n + t0 + LANES];
            for l in 0..LANES {
                let v = base + scale * acc[l];
                o[l] = if accumulate { o[l] + v } else { v };
            }
            t0 += LANES;
        }
        for t in full..n {
            let mut acc = 0.0;
            for j in 0..cols {
                acc += m[i * rs + j * cs] * x[j * n + t];
            }
            let v = base + scale * acc;
            out[i * n + t] = if accumulate { out[i * n + t] + v } else { v };
        }
    }
}

/// `s = A x + b` with `A ∈ R^{rows×cols}` row-major, `x` a block of `cols` rows.
#[inline]
pub fn affine(a: &[f64], b: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    debug_assert!(a.len() >= rows * cols && b.len() >= rows);
    debug_assert!(x.len() >= cols * n && s.len() >= rows * n);
    apply_strided(a, cols, 1, rows, cols, x, n, |i| b[i], 1.0, s, false);
}

/// `s = A x` (no bias).
#[inline]
pub fn matmul(a: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    apply_strided(a, cols, 1, rows, cols, x, n, |_| 0.0, 1.0, s, false);
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
    apply_strided(a, 1, cols, cols, rows, u, n, |_| 0.0, scale, out, true);
}

/// `Σ_t u[t] x_j[t]` for four rows `x_j` at once, `LANES` samples per step in registers.
#[inline]
fn dot4(u: &[f64], x: [&[f64]; 4], n: usize) -> [f64; 4] {
    let full = n / LANES * LANES;
    let mut acc = [[0.0; LANES]; 4];
    let mut t0 = 0;
    while t0 < full {
        let ut = &u[t0..t0 + LANES];
        for (q, xq) in x.iter().enumerate() {
            let xt = &xq[t0..t0 + LANES];
            for l in 0..LANES {
                acc[q][l] += ut[l] * xt[l];
            }
        }
        t0 += LANES;
    }
    let mut out = [0.0; 4];
    for q in 0..4 {
        out[q] = acc[q].iter().sum::<f64>();
        for t in full..n {
            out[q] += u[t] * x[q][t];
        }
    }
    out
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
    let quads = cols / 4 * 4;
    for i in 0..rows {
        let ui = &u[i * n..(i + 1) * n];
        let mut j = 0;
        while j < quads {
            let row = |q: usize| &x[(j + q) * n..(j + q + 1) * n];
            let sums = dot4(ui, [row(0), row(1), row(2), row(3)], n);
            for (q, s) in sums.iter().enumerate() {
                grad_a[i * cols + j + q] += scale * s;
            }
            j += 4;
        }
        for j in quads..cols {
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

/// `Σ x_i y_i`, with `LANES` partial sums so it vectorises.
#[inline]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let full = n / LANES * LANES;
    let mut acc = [0.0; LANES];
    let mut t0 = 0;
    while t0 < full {
        for l in 0..LANES {
            acc[l] += x[t0 + l] * y[t0 + l];
        }
        t0 += LANES;
    }
    let mut s = acc.iter().sum::<f64>();
    for t in full..n {
        s += x[t] * y[t];
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
        let a: Vec<f64> = (0..rows * cols).map(|i| i as f64 * 0.3 - 0.7).collect();
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

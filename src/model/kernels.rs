//! Small dense kernels on feature-major blocks of samples.
//!
//! A block holds `rows` features of `n` samples each, row `i` at `[i*n, (i+1)*n)`. Every loop
//! runs over the samples of one row, so it vectorises; matrices are row-major and tiny
//! (d, m ≤ a few dozen), so there is nothing to gain from a BLAS call.
//!
//! The matrix kernels work on register tiles: several output rows × several vectors of samples for
//! `A x`, several rows of `u` × several rows of `x` for the outer products `u xᵀ`. Each tile
//! keeps enough independent accumulator chains in registers to cover the latency of a fused
//! multiply-add, and reads every input element once per tile.

// The tiles are generic over their shape and must be inlined into their callers for the
// accumulators to live in registers.
#![allow(clippy::inline_always)]

/// Samples per block: the unit of work of one thread and of the reverse sweep. The kernels are
/// compiled a second time for a full block (constant row offsets), so the block size lives here.
pub const BLOCK: usize = 128;

/// One SIMD vector of f64 (`wide` picks AVX-512, AVX2/FMA, NEON or scalar code at compile time).
#[cfg(target_feature = "avx512f")]
pub(crate) type V = wide::f64x8;
/// One SIMD vector of f64 (`wide` picks AVX-512, AVX2/FMA, NEON or scalar code at compile time).
#[cfg(not(target_feature = "avx512f"))]
pub(crate) type V = wide::f64x4;
/// The bits of a [`V`].
#[cfg(target_feature = "avx512f")]
pub(crate) type Bits = wide::u64x8;
/// The bits of a [`V`].
#[cfg(not(target_feature = "avx512f"))]
pub(crate) type Bits = wide::u64x4;

/// Lanes of [`V`].
pub(crate) const VEC: usize = size_of::<V>() / size_of::<f64>();

/// Vectors of samples per register tile of `A x`: four with AVX-512's 32 registers (16
/// accumulators), two otherwise (8 accumulators of AVX2's 16 registers).
const TILE_VECS: usize = if cfg!(target_feature = "avx512f") {
    4
} else {
    2
};

/// Rows of `u` per register tile of the outer products (accumulators: rows × 4 columns). Each
/// step loads rows + 4 vectors for rows × 4 multiply-adds; four rows load half a vector per
/// multiply-add and measured 15–20% faster than two on AVX-512 (the loads, not the
/// multiply-adds, limited the smaller tile). AVX2's 16 registers hold two rows' tile.
const OUTER_ROWS: usize = if cfg!(target_feature = "avx512f") {
    4
} else {
    2
};

/// A zero-initialised buffer of `f64` that starts on a 64-byte boundary (a cache line, one
/// AVX-512 vector). Blocks' rows are whole vectors long, so in such a buffer no vector load
/// straddles two cache lines; in a plain `Vec<f64>` (16-byte aligned) that depends on where the
/// allocator put it, and costs the kernels up to 10% when it is unlucky.
#[derive(Clone, Default)]
pub struct Aligned {
    lines: Vec<wide::f64x8>,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    #[must_use]
    pub fn zeros(len: usize) -> Self {
        Self {
            lines: vec![wide::f64x8::ZERO; len.div_ceil(8)],
            len,
        }
    }
}

impl std::ops::Deref for Aligned {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

impl std::fmt::Debug for Aligned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aligned")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The vector of a slice of exactly `VEC` entries.
#[inline(always)]
pub(crate) fn vector(s: &[f64]) -> V {
    s.first_chunk::<VEC>().map_or(V::ZERO, |c| V::new(*c))
}

/// `a·b + c`, fused into one rounding where the target has an FMA instruction (a call to the
/// software `fma` would be far slower than the unfused form).
#[inline(always)]
#[must_use]
pub fn fma(a: f64, b: f64, c: f64) -> f64 {
    if cfg!(any(target_feature = "fma", target_arch = "aarch64")) {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// How the sums `Σ_j M(i, j) x[j]` of a product become its stored output. Each form costs at
/// most one vector operation per output vector besides the products' multiply-adds: a bias
/// starts the sums, a factor and a base enter one multiply-add, and a weight's sign is folded
/// into the weight.
trait Finish: Copy {
    /// The sums' starting value in row `i`.
    #[inline(always)]
    fn start(self, _i: usize) -> f64 {
        0.0
    }
    /// The output vector of samples `t..t + VEC` of the row at `row` (`i·n`) from its sums
    /// (by default the sums themselves); `out` holds the row's current values (its first `full`
    /// samples, `t + VEC ≤ full`).
    #[inline(always)]
    fn vector(self, sums: V, _at: (usize, usize, usize), _out: &[f64]) -> V {
        sums
    }
    /// [`Finish::vector`] of one sample, `k = i·n + t`.
    #[inline(always)]
    fn scalar(self, sums: f64, _k: usize, _out: &[f64]) -> f64 {
        sums
    }
}

/// `out = b + A x`: the bias starts the sums.
#[derive(Clone, Copy)]
struct Biased<'a>(&'a [f64]);

impl Finish for Biased<'_> {
    #[inline(always)]
    fn start(self, i: usize) -> f64 {
        self.0[i]
    }
}

/// `out = A x`.
#[derive(Clone, Copy)]
struct Plain;

impl Finish for Plain {}

/// `out += scale · M x`, with one rounding after the sums.
#[derive(Clone, Copy)]
struct AddTo(f64);

impl Finish for AddTo {
    #[inline(always)]
    fn vector(self, sums: V, (_, _, t): (usize, usize, usize), out: &[f64]) -> V {
        V::splat(self.0).mul_add(sums, vector(&out[t..t + VEC]))
    }
    #[inline(always)]
    fn scalar(self, sums: f64, k: usize, out: &[f64]) -> f64 {
        fma(self.0, sums, out[k])
    }
}

/// `out = base + scale · M x` (`base` of the output's shape), with one rounding after the sums.
#[derive(Clone, Copy)]
struct Onto<'a> {
    scale: f64,
    base: &'a [f64],
}

impl Finish for Onto<'_> {
    #[inline(always)]
    fn vector(self, sums: V, (row, full, t): (usize, usize, usize), _: &[f64]) -> V {
        let base = vector(&self.base[row..][..full][t..t + VEC]);
        V::splat(self.scale).mul_add(sums, base)
    }
    #[inline(always)]
    fn scalar(self, sums: f64, k: usize, _: &[f64]) -> f64 {
        fma(self.scale, sums, self.base[k])
    }
}

/// `out = ±(M x) ⊙ weight(w)`, `w` a block of the output's shape, minus when `NEG`: the sign
/// costs nothing, `−(s·m)` being one negated multiply onto −0 (the same bits as `s·(−m)`).
#[derive(Clone, Copy)]
struct Weighted<'a, W, const NEG: bool>(&'a [f64], W);

impl<W: Weight, const NEG: bool> Finish for Weighted<'_, W, NEG> {
    #[inline(always)]
    fn vector(self, sums: V, (row, full, t): (usize, usize, usize), _: &[f64]) -> V {
        let m = self.1.vector(vector(&self.0[row..][..full][t..t + VEC]));
        if NEG {
            sums.mul_neg_add(m, V::splat(-0.0))
        } else {
            sums * m
        }
    }
    #[inline(always)]
    fn scalar(self, sums: f64, k: usize, _: &[f64]) -> f64 {
        let m = self.1.scalar(self.0[k]);
        if NEG { -(sums * m) } else { sums * m }
    }
}

/// How [`Weighted`]'s weights become factors: as they are, or `w ↦ 1 − w²` (tanh's slopes from
/// its values).
trait Weight: Copy {
    fn vector(self, w: V) -> V;
    fn scalar(self, w: f64) -> f64;
}

/// Weights as they are.
#[derive(Clone, Copy)]
struct AsIs;

impl Weight for AsIs {
    #[inline(always)]
    fn vector(self, w: V) -> V {
        w
    }
    #[inline(always)]
    fn scalar(self, w: f64) -> f64 {
        w
    }
}

/// `1 − w²`.
#[derive(Clone, Copy)]
struct OneMinusSquare;

impl Weight for OneMinusSquare {
    #[inline(always)]
    fn vector(self, w: V) -> V {
        (-w).mul_add(w, V::splat(1.0))
    }
    #[inline(always)]
    fn scalar(self, w: f64) -> f64 {
        one_minus_square(w)
    }
}

/// `1 − w²` in one rounding: tanh's derivative at the point where it equals `w`.
#[inline(always)]
pub(crate) fn one_minus_square(w: f64) -> f64 {
    fma(-w, w, 1.0)
}

/// The slopes `σ'(S)` of a field's record: stored, or formed from tanh's values `σ(S)` as
/// `1 − σ²` (one rounding, as [`crate::model::activation::Activation::derivative`]).
#[derive(Clone, Copy, Debug)]
pub enum Slopes<'a> {
    /// `σ'(S)` itself.
    Stored(&'a [f64]),
    /// `tanh(S)`.
    FromTanh(&'a [f64]),
}

impl Slopes<'_> {
    /// `u = v ⊙ σ'`.
    #[inline]
    pub fn hadamard(self, v: &[f64], u: &mut [f64]) {
        match self {
            Self::Stored(w) => {
                for ((ui, &vi), &wi) in u.iter_mut().zip(v).zip(w) {
                    *ui = vi * wi;
                }
            }
            Self::FromTanh(t) => {
                for ((ui, &vi), &ti) in u.iter_mut().zip(v).zip(t) {
                    *ui = vi * one_minus_square(ti);
                }
            }
        }
    }

    /// `u ⊙= σ'`.
    #[inline]
    pub fn scale(self, u: &mut [f64]) {
        match self {
            Self::Stored(w) => {
                for (ui, &wi) in u.iter_mut().zip(w) {
                    *ui *= wi;
                }
            }
            Self::FromTanh(t) => {
                for (ui, &ti) in u.iter_mut().zip(t) {
                    *ui *= one_minus_square(ti);
                }
            }
        }
    }
}

/// `R` output rows from `i0` of `out[i] = finish(start_i + Σ_j M(i, j) x[j])` for the `H`
/// vectors of samples from `t0` (within the first `full` samples): `R·H` accumulators, `H`
/// loads of `x` and `R` broadcasts per column.
#[inline(always)]
fn apply_tile<const R: usize, const H: usize>(
    m: &[f64],
    (rs, cs): (usize, usize),
    (i0, cols): (usize, usize),
    x: &[f64],
    (n, full, t0): (usize, usize, usize),
    finish: impl Finish,
    out: &mut [f64],
) {
    if t0 + H * VEC > full {
        return;
    }
    let mut acc = [[V::ZERO; H]; R];
    for (r, acc) in acc.iter_mut().enumerate() {
        acc.fill(V::splat(finish.start(i0 + r)));
    }
    for j in 0..cols {
        // Rows cut to `full` samples, so the compiler sees every vector in bounds.
        let xj = &x[j * n..][..full];
        let xv: [V; H] = std::array::from_fn(|h| vector(&xj[t0 + h * VEC..t0 + (h + 1) * VEC]));
        for (r, acc) in acc.iter_mut().enumerate() {
            let mij = V::splat(m[(i0 + r) * rs + j * cs]);
            for (acc, &xv) in acc.iter_mut().zip(&xv) {
                *acc = mij.mul_add(xv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let row = (i0 + r) * n;
        let o = &mut out[row..][..full];
        for (h, &a) in acc.iter().enumerate() {
            let t = t0 + h * VEC;
            let v = finish.vector(a, (row, full, t), o);
            o[t..t + VEC].copy_from_slice(&v.to_array());
        }
    }
}

/// All row tiles of `H` vectors of samples from `t0`.
#[inline(always)]
fn apply_column<const H: usize>(
    m: &[f64],
    strides: (usize, usize),
    (rows, cols): (usize, usize),
    x: &[f64],
    (n, full, t0): (usize, usize, usize),
    finish: impl Finish,
    out: &mut [f64],
) {
    let at = (n, full, t0);
    let mut i = 0;
    while i + 4 <= rows {
        apply_tile::<4, H>(m, strides, (i, cols), x, at, finish, out);
        i += 4;
    }
    match rows - i {
        3 => apply_tile::<3, H>(m, strides, (i, cols), x, at, finish, out),
        2 => apply_tile::<2, H>(m, strides, (i, cols), x, at, finish, out),
        1 => apply_tile::<1, H>(m, strides, (i, cols), x, at, finish, out),
        _ => {}
    }
}

/// `out[i] = finish(start_i + Σ_j M(i, j) · x[j])` for all samples, with `M(i, j) = m[i*rs +
/// j*cs]` (so both `A` and `Aᵀ` are served).
#[inline]
fn apply_strided(
    m: &[f64],
    (rs, cs): (usize, usize),
    (rows, cols): (usize, usize),
    x: &[f64],
    n: usize,
    finish: impl Finish,
    out: &mut [f64],
) {
    let (strides, shape) = ((rs, cs), (rows, cols));
    // A full block's sample count as a constant (see `outer_sum`).
    if n == FULL_BLOCK {
        apply_tiles(m, strides, shape, x, FULL_BLOCK, finish, out);
    } else {
        apply_tiles(m, strides, shape, x, n, finish, out);
    }
}

/// [`apply_strided`] of `finish`.
#[inline(always)]
fn apply_tiles(
    m: &[f64],
    (rs, cs): (usize, usize),
    (rows, cols): (usize, usize),
    x: &[f64],
    n: usize,
    finish: impl Finish,
    out: &mut [f64],
) {
    let (strides, shape) = ((rs, cs), (rows, cols));
    // Whole tiles, then single vectors, then single samples.
    let wide = n / (TILE_VECS * VEC) * (TILE_VECS * VEC);
    let full = n / VEC * VEC;
    let mut t0 = 0;
    while t0 < wide {
        apply_column::<TILE_VECS>(m, strides, shape, x, (n, full, t0), finish, out);
        t0 += TILE_VECS * VEC;
    }
    while t0 < full {
        apply_column::<1>(m, strides, shape, x, (n, full, t0), finish, out);
        t0 += VEC;
    }
    for i in 0..rows {
        for t in full..n {
            let mut acc = finish.start(i);
            for j in 0..cols {
                acc = fma(m[i * rs + j * cs], x[j * n + t], acc);
            }
            out[i * n + t] = finish.scalar(acc, i * n + t, out);
        }
    }
}

/// `s = A x + b` with `A ∈ R^{rows×cols}` row-major, `x` a block of `cols` rows.
#[inline]
pub fn affine(a: &[f64], b: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    debug_assert!(a.len() >= rows * cols && b.len() >= rows);
    debug_assert!(x.len() >= cols * n && s.len() >= rows * n);
    apply_strided(a, (cols, 1), (rows, cols), x, n, Biased(b), s);
}

/// `s = b − Aᵀ x` with `A ∈ R^{rows×cols}` row-major, `x` a block of `rows` rows, `s` of
/// `cols` (the pre-activation `σ(−Aᵀx + b)` of a leapfrog network's drift).
#[inline]
pub fn affine_transposed_negated(
    a: &[f64],
    b: &[f64],
    rows: usize,
    cols: usize,
    x: &[f64],
    n: usize,
    s: &mut [f64],
) {
    debug_assert!(a.len() >= rows * cols && b.len() >= cols);
    debug_assert!(x.len() >= rows * n && s.len() >= cols * n);
    apply_strided(a, (1, cols), (cols, rows), x, n, Plain, s);
    for (row, &bi) in s[..cols * n].chunks_exact_mut(n).zip(b) {
        for v in row {
            *v = bi - *v;
        }
    }
}

/// `s = A x` (no bias).
#[inline]
pub fn matmul(a: &[f64], rows: usize, cols: usize, x: &[f64], n: usize, s: &mut [f64]) {
    apply_strided(a, (cols, 1), (rows, cols), x, n, Plain, s);
}

/// `s = ±(A x) ⊙ σ'` (minus when `negate`), with `σ'` the slopes of a block of `rows` rows (the
/// product weighted elementwise in the same sweep).
#[inline]
pub fn matmul_weighted(
    a: &[f64],
    rows: usize,
    cols: usize,
    x: &[f64],
    n: usize,
    negate: bool,
    slopes: Slopes,
    s: &mut [f64],
) {
    let (strides, shape) = ((cols, 1), (rows, cols));
    // One monomorphised product per kind of slopes and sign (no branch in the tile loops).
    match (slopes, negate) {
        (Slopes::Stored(w), false) => {
            apply_strided(a, strides, shape, x, n, Weighted::<_, false>(w, AsIs), s);
        }
        (Slopes::Stored(w), true) => {
            apply_strided(a, strides, shape, x, n, Weighted::<_, true>(w, AsIs), s);
        }
        (Slopes::FromTanh(t), false) => {
            let finish = Weighted::<_, false>(t, OneMinusSquare);
            apply_strided(a, strides, shape, x, n, finish, s);
        }
        (Slopes::FromTanh(t), true) => {
            let finish = Weighted::<_, true>(t, OneMinusSquare);
            apply_strided(a, strides, shape, x, n, finish, s);
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
    transpose_apply_onto(a, rows, cols, u, n, scale, None, out);
}

/// `out = base + scale · Aᵀ u` (`base` of `out`'s shape; `out`'s old values are not read), or
/// `out += scale · Aᵀ u` without a base: an update `y₁ = y₀ + h Aᵀ…` written straight into
/// `y₁`, with no copy of `y₀` first. One rounding after the sums.
#[inline]
pub fn transpose_apply_onto(
    a: &[f64],
    rows: usize,
    cols: usize,
    u: &[f64],
    n: usize,
    scale: f64,
    base: Option<&[f64]>,
    out: &mut [f64],
) {
    debug_assert!(base.is_none_or(|b| b.len() >= cols * n));
    strided_onto(a, ((1, cols), (cols, rows)), u, n, scale, base, out);
}

/// `out = base + scale · M u` or `out += scale · M u`, `M` the matrix `a` read with `strides`
/// in `shape` (`A` or `Aᵀ`).
#[inline(always)]
fn strided_onto(
    a: &[f64],
    (strides, shape): ((usize, usize), (usize, usize)),
    u: &[f64],
    n: usize,
    scale: f64,
    base: Option<&[f64]>,
    out: &mut [f64],
) {
    match base {
        Some(base) => apply_strided(a, strides, shape, u, n, Onto { scale, base }, out),
        None => apply_strided(a, strides, shape, u, n, AddTo(scale), out),
    }
}

/// `out = base + scale · A u` (`out`'s old values unread), or `out += scale · A u` without a
/// base, with `A ∈ R^{rows×cols}`, `u` a block of `cols` rows, `out` of `rows`.
#[inline]
pub fn apply_onto(
    a: &[f64],
    rows: usize,
    cols: usize,
    u: &[f64],
    n: usize,
    scale: f64,
    base: Option<&[f64]>,
    out: &mut [f64],
) {
    debug_assert!(base.is_none_or(|b| b.len() >= rows * n));
    strided_onto(a, ((cols, 1), (rows, cols)), u, n, scale, base, out);
}

/// `grad_b += scale · Σ u` over the samples of a block `u` of `rows` rows.
#[inline]
pub fn row_sums_add(u: &[f64], rows: usize, n: usize, scale: f64, grad_b: &mut [f64]) {
    for (g, row) in grad_b[..rows].iter_mut().zip(u.chunks_exact(n)) {
        *g += scale * row.iter().sum::<f64>();
    }
}

/// One product `u xᵀ` of a sum of outer products: `u` and `x` blocks. In the kernels below,
/// `SUB` subtracts the products after the first (a compile-time choice, so that the inner loops
/// have no branch).
#[derive(Clone, Copy)]
struct Pair<'a> {
    u: &'a [f64],
    x: &'a [f64],
}

/// The partial sums `Σ_p ±Σ_t u_p[i0+r, t] x_p[j0+c, t]` of an `R × C` tile over the first
/// `full` (whole vectors of) samples, one vector per entry (shared by the `P` products, so a sum
/// of two outer products costs one reduction). With `BIAS`, also the partial sums of the first
/// product's rows `Σ_t u_0[i0+r, t]` (a bias gradient), on the adder while the multiply-adds run.
#[inline(always)]
fn outer_tile<const P: usize, const SUB: bool, const R: usize, const C: usize, const BIAS: bool>(
    pairs: [Pair; P],
    n: usize,
    (i0, j0): (usize, usize),
) -> ([[V; C]; R], [V; R]) {
    let full = n / VEC * VEC;
    // A single product reads its rows from one slice per matrix, at offsets r·n: with n a
    // constant (a full block) that is one pointer per matrix and constant displacements (W1 −2%).
    // A sum of two products reads them from one slice per row, which measured faster there.
    let ublocks: [&[f64]; P] = std::array::from_fn(|p| &pairs[p].u[i0 * n..][..R * n]);
    let xblocks: [&[f64]; P] = std::array::from_fn(|p| &pairs[p].x[j0 * n..][..C * n]);
    let urows: [[&[f64]; R]; P] =
        std::array::from_fn(|p| std::array::from_fn(|r| &pairs[p].u[(i0 + r) * n..][..full]));
    let xrows: [[&[f64]; C]; P] =
        std::array::from_fn(|p| std::array::from_fn(|c| &pairs[p].x[(j0 + c) * n..][..full]));
    let load = |blocks: &[&[f64]; P], rows: &[&[f64]], p: usize, r: usize, t0: usize| {
        if P == 1 {
            vector(&blocks[p][r * n + t0..r * n + t0 + VEC])
        } else {
            vector(&rows[r][t0..t0 + VEC])
        }
    };
    let mut acc = [[V::ZERO; C]; R];
    let mut bias = [V::ZERO; R];
    let mut t0 = 0;
    while t0 + VEC <= full {
        for p in 0..P {
            let ut: [V; R] = std::array::from_fn(|r| load(&ublocks, &urows[p], p, r, t0));
            if BIAS && p == 0 {
                for (b, &u) in bias.iter_mut().zip(&ut) {
                    *b += u;
                }
            }
            for c in 0..C {
                let xt = load(&xblocks, &xrows[p], p, c, t0);
                for (acc, &ut) in acc.iter_mut().zip(&ut) {
                    acc[c] = if SUB && p > 0 {
                        ut.mul_neg_add(xt, acc[c])
                    } else {
                        ut.mul_add(xt, acc[c])
                    };
                }
            }
        }
        t0 += VEC;
    }
    (acc, bias)
}

/// `Σ_p ±Σ_t u_p[i, t] x_p[j, t]` over the samples past the last whole vector.
fn outer_tail<const P: usize, const SUB: bool>(
    pairs: &[Pair; P],
    n: usize,
    (i, j): (usize, usize),
) -> f64 {
    let mut s = 0.0;
    for (p, pair) in pairs.iter().enumerate() {
        let (ur, xr) = (&pair.u[i * n..(i + 1) * n], &pair.x[j * n..(j + 1) * n]);
        for t in n / VEC * VEC..n {
            let term = ur[t] * xr[t];
            s += if SUB && p > 0 { -term } else { term };
        }
    }
    s
}

/// `grad_b[r] += scale · (lane sum of bias[r] + the samples past the last whole vector of row
/// i0 + r of u)`, for the `R` rows of a tile.
#[inline(always)]
fn bias_tile<const R: usize>(
    bias: [V; R],
    u: &[f64],
    (n, i0): (usize, usize),
    scale: f64,
    grad_b: &mut [f64],
) {
    for (r, (g, b)) in grad_b.iter_mut().zip(bias).enumerate().take(R) {
        let tail: f64 = u[(i0 + r) * n..][n / VEC * VEC..n].iter().sum();
        *g += scale * (b.reduce_add() + tail);
    }
}

/// `grad[i0+r][j0+c] += scale ·` the tile's sums, one horizontal sum per entry (and the bias
/// sums of the tile's rows into `grad_b`, if given).
#[inline(always)]
fn outer_tile_add<const P: usize, const SUB: bool, const R: usize, const C: usize>(
    pairs: [Pair; P],
    n: usize,
    (i0, j0): (usize, usize),
    cols: usize,
    scale: f64,
    (grad, grad_b): (&mut [f64], Option<&mut [f64]>),
) {
    let acc = if let Some(grad_b) = grad_b {
        let (acc, bias) = outer_tile::<P, SUB, R, C, true>(pairs, n, (i0, j0));
        bias_tile(bias, pairs[0].u, (n, i0), scale, grad_b);
        acc
    } else {
        outer_tile::<P, SUB, R, C, false>(pairs, n, (i0, j0)).0
    };
    for (r, acc) in acc.iter().enumerate() {
        for (c, acc) in acc.iter().enumerate() {
            let s = acc.reduce_add() + outer_tail::<P, SUB>(&pairs, n, (i0 + r, j0 + c));
            grad[(i0 + r) * cols + j0 + c] += scale * s;
        }
    }
}

/// All column tiles of `R` rows from `i0`; the first also sums the rows' bias gradient into
/// `grad_b` (the `R` entries of those rows), if given.
#[inline(always)]
fn outer_rows<const P: usize, const SUB: bool, const R: usize>(
    pairs: [Pair; P],
    cols: usize,
    n: usize,
    i0: usize,
    scale: f64,
    grad: &mut [f64],
    mut grad_b: Option<&mut [f64]>,
) {
    #[cfg(target_feature = "avx512f")]
    if cols.is_multiple_of(VEC) {
        // Eight columns at a time (two tiles): the lanes of each row's eight partial-sum
        // vectors are summed by one tree of permutations (instead of eight horizontal sums) and
        // added to the gradient's row with one FMA.
        for j in (0..cols).step_by(VEC) {
            let left = match grad_b.take() {
                Some(grad_b) => {
                    let (left, bias) = outer_tile::<P, SUB, R, 4, true>(pairs, n, (i0, j));
                    bias_tile(bias, pairs[0].u, (n, i0), scale, grad_b);
                    left
                }
                None => outer_tile::<P, SUB, R, 4, false>(pairs, n, (i0, j)).0,
            };
            let right = outer_tile::<P, SUB, R, 4, false>(pairs, n, (i0, j + 4)).0;
            for r in 0..R {
                let mut sums = lane_sums(std::array::from_fn(|c| {
                    if c < 4 { left[r][c] } else { right[r][c - 4] }
                }));
                if !n.is_multiple_of(VEC) {
                    sums += V::new(std::array::from_fn(|c| {
                        outer_tail::<P, SUB>(&pairs, n, (i0 + r, j + c))
                    }));
                }
                let row = &mut grad[(i0 + r) * cols + j..][..VEC];
                let updated = V::splat(scale).mul_add(sums, vector(row));
                row.copy_from_slice(&updated.to_array());
            }
        }
        return;
    }
    let mut j = 0;
    while j + 4 <= cols {
        let g = (&mut *grad, grad_b.take());
        outer_tile_add::<P, SUB, R, 4>(pairs, n, (i0, j), cols, scale, g);
        j += 4;
    }
    let g = (grad, grad_b.take());
    match cols - j {
        3 => outer_tile_add::<P, SUB, R, 3>(pairs, n, (i0, j), cols, scale, g),
        2 => outer_tile_add::<P, SUB, R, 2>(pairs, n, (i0, j), cols, scale, g),
        1 => outer_tile_add::<P, SUB, R, 1>(pairs, n, (i0, j), cols, scale, g),
        _ => {}
    }
}

/// The lane sums of eight vectors as one vector (lane `c` = Σ lanes of `acc[c]`): three levels
/// of two-source permutations and additions, 14 + 7 operations for eight sums.
#[cfg(target_feature = "avx512f")]
#[inline(always)]
fn lane_sums(acc: [V; 8]) -> V {
    use wide::ShuffleExt;
    // Neighbouring lanes: [a0+a1, b0+b1, a2+a3, b2+b3, …].
    const PAIRS: ([u64; 8], [u64; 8]) = ([0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]);
    // Pairs of those: [a0..3, b0..3, c0..3, d0..3, a4..7, b4..7, c4..7, d4..7].
    const QUADS: ([u64; 8], [u64; 8]) = ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]);
    // Halves: [a, b, c, d, e, f, g, h].
    const HALVES: ([u64; 8], [u64; 8]) = ([0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]);
    // `a + b` after taking lanes `lo` and `hi` of the concatenation `[a, b]`.
    let fold = |a: V, b: V, (lo, hi): ([u64; 8], [u64; 8])| {
        let ab = [a.to_bits(), b.to_bits()];
        V::from_bits(ab.shuffle(Bits::new(lo))) + V::from_bits(ab.shuffle(Bits::new(hi)))
    };
    let ab = fold(acc[0], acc[1], PAIRS);
    let cd = fold(acc[2], acc[3], PAIRS);
    let ef = fold(acc[4], acc[5], PAIRS);
    let gh = fold(acc[6], acc[7], PAIRS);
    let abcd = fold(ab, cd, QUADS);
    let efgh = fold(ef, gh, QUADS);
    fold(abcd, efgh, HALVES)
}

/// `grad += scale Σ_p ±u_p x_pᵀ` over all row tiles, and `grad_b += scale Σ_t u_0[·, t]` if
/// given (in the same sweep over `u_0`).
#[inline]
fn outer_sum<const P: usize, const SUB: bool>(
    pairs: [Pair; P],
    rows: usize,
    cols: usize,
    n: usize,
    scale: f64,
    grad: &mut [f64],
    grad_b: Option<&mut [f64]>,
) {
    debug_assert!(grad.len() >= rows * cols);
    debug_assert!(grad_b.as_ref().is_none_or(|g| g.len() >= rows));
    debug_assert!(
        pairs
            .iter()
            .all(|p| p.u.len() >= rows * n && p.x.len() >= cols * n)
    );
    // A whole block's sample count as a constant: the rows of a tile then sit at fixed offsets
    // from one pointer per matrix, instead of one pointer per row (more than the registers).
    if n == FULL_BLOCK {
        outer_row_tiles::<P, SUB>(pairs, rows, cols, FULL_BLOCK, scale, grad, grad_b);
    } else {
        outer_row_tiles::<P, SUB>(pairs, rows, cols, n, scale, grad, grad_b);
    }
}

/// The sample count of a full block ([`BLOCK`]), for which the kernels are compiled with
/// constant row offsets.
const FULL_BLOCK: usize = BLOCK;

#[inline(always)]
fn outer_row_tiles<const P: usize, const SUB: bool>(
    pairs: [Pair; P],
    rows: usize,
    cols: usize,
    n: usize,
    scale: f64,
    grad: &mut [f64],
    mut grad_b: Option<&mut [f64]>,
) {
    let mut i = 0;
    while i + OUTER_ROWS <= rows {
        let gb = grad_b.as_deref_mut().map(|g| &mut g[i..i + OUTER_ROWS]);
        outer_rows::<P, SUB, OUTER_ROWS>(pairs, cols, n, i, scale, grad, gb);
        i += OUTER_ROWS;
    }
    let gb = grad_b.map(|g| &mut g[i..rows]);
    match rows - i {
        3 => outer_rows::<P, SUB, 3>(pairs, cols, n, i, scale, grad, gb),
        2 => outer_rows::<P, SUB, 2>(pairs, cols, n, i, scale, grad, gb),
        1 => outer_rows::<P, SUB, 1>(pairs, cols, n, i, scale, grad, gb),
        _ => {}
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
    outer_sum::<1, false>([Pair { u, x }], rows, cols, n, scale, grad_a, grad_b);
}

/// `grad_a += scale · (u xᵀ ± w vᵀ)` (minus when `subtract`) and `grad_b += scale · Σ u`, in
/// one sweep: the parameter gradient of `±Aᵀσ(A x + b)`.
#[inline]
pub fn outer_add_pair(
    (u, x): (&[f64], &[f64]),
    (w, v): (&[f64], &[f64]),
    subtract: bool,
    rows: usize,
    cols: usize,
    n: usize,
    scale: f64,
    grad_a: &mut [f64],
    grad_b: Option<&mut [f64]>,
) {
    let pairs = [Pair { u, x }, Pair { u: w, x: v }];
    if subtract {
        outer_sum::<2, true>(pairs, rows, cols, n, scale, grad_a, grad_b);
    } else {
        outer_sum::<2, false>(pairs, rows, cols, n, scale, grad_a, grad_b);
    }
}

/// `y += α x`.
#[inline]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    axpy_onto(alpha, x, None, y);
}

/// `y = base + α x` (`y`'s old values unread), or `y += α x` without a base.
#[inline]
pub fn axpy_onto(alpha: f64, x: &[f64], base: Option<&[f64]>, y: &mut [f64]) {
    match base {
        Some(base) => {
            for ((yi, &xi), &bi) in y.iter_mut().zip(x).zip(base) {
                *yi = fma(alpha, xi, bi);
            }
        }
        None => {
            for (yi, &xi) in y.iter_mut().zip(x) {
                *yi = fma(alpha, xi, *yi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffers_start_on_a_cache_line() {
        for len in [0, 1, 7, 8, 9, 1000] {
            let mut buffer = Aligned::zeros(len);
            assert_eq!(buffer.len(), len);
            assert!(buffer.iter().all(|&v| v == 0.0));
            assert_eq!(buffer.as_ptr().addr() % 64, 0, "len {len}");
            buffer.iter_mut().for_each(|v| *v = 1.5);
            assert_eq!(buffer.clone().iter().sum::<f64>(), 1.5 * len as f64);
        }
    }

    /// Every tile shape and remainder (rows and columns 1..=9, sample counts around the tile
    /// widths) against the naive triple loops.
    #[test]
    fn kernels_agree_with_naive_products() {
        for (rows, cols) in (1..=9).flat_map(|r| (1..=9).map(move |c| (r, c))) {
            for n in [1, 3, 7, 16, 23, 64, FULL_BLOCK, FULL_BLOCK + 3] {
                check(rows, cols, n);
            }
        }
    }

    fn check(rows: usize, cols: usize, n: usize) {
        let a: Vec<f64> = (0..rows * cols).map(|i| (i as f64 * 0.37).cos()).collect();
        let b: Vec<f64> = (0..rows).map(|i| 0.1 * i as f64 - 0.2).collect();
        let x: Vec<f64> = (0..cols * n).map(|i| (i as f64).sin()).collect();
        let mut s = vec![0.0; rows * n];
        affine(&a, &b, rows, cols, &x, n, &mut s);
        for i in 0..rows {
            for t in 0..n {
                let mut e = b[i];
                for j in 0..cols {
                    e += a[i * cols + j] * x[j * n + t];
                }
                assert!(
                    (s[i * n + t] - e).abs() < 1e-13,
                    "affine {rows}x{cols}, n {n}"
                );
            }
        }
        let w: Vec<f64> = (0..rows * n).map(|i| (i as f64 * 0.21).cos()).collect();
        let mut sw = vec![0.0; rows * n];
        for (negate, sign) in [(false, 1.0), (true, -1.0)] {
            matmul_weighted(&a, rows, cols, &x, n, negate, Slopes::Stored(&w), &mut sw);
            for (k, (&sw, &s)) in sw.iter().zip(&s).enumerate() {
                let e = sign * (s - b[k / n]) * w[k];
                assert!((sw - e).abs() < 1e-12, "weighted {rows}x{cols}, n {n}");
            }
            // Slopes formed from tanh's values: 1 − w².
            matmul_weighted(&a, rows, cols, &x, n, negate, Slopes::FromTanh(&w), &mut sw);
            for (k, (&sw, &s)) in sw.iter().zip(&s).enumerate() {
                let e = sign * (s - b[k / n]) * (1.0 - w[k] * w[k]);
                assert!((sw - e).abs() < 1e-12, "tanh-weighted {rows}x{cols}, n {n}");
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
                assert!(
                    (back[j * n + t] - e).abs() < 1e-12,
                    "Aᵀu {rows}x{cols}, n {n}"
                );
            }
        }
        // Onto a separate base: the same numbers as adding to a copy of it.
        let mut onto = vec![f64::NAN; cols * n];
        transpose_apply_onto(
            &a,
            rows,
            cols,
            &s,
            n,
            2.0,
            Some(&vec![1.0; cols * n]),
            &mut onto,
        );
        assert!(
            onto.iter()
                .zip(&back)
                .all(|(o, b)| o.to_bits() == b.to_bits())
        );
        let mut ga = vec![0.25; rows * cols];
        let mut gb = vec![0.0; rows];
        outer_add(&s, rows, &x, cols, n, 0.5, &mut ga, Some(&mut gb));
        for i in 0..rows {
            let eb: f64 = (0..n).map(|t| 0.5 * s[i * n + t]).sum();
            assert!((gb[i] - eb).abs() < 1e-12, "Σu {rows}x{cols}, n {n}");
            for j in 0..cols {
                let e = 0.25
                    + (0..n)
                        .map(|t| 0.5 * s[i * n + t] * x[j * n + t])
                        .sum::<f64>();
                assert!(
                    (ga[i * cols + j] - e).abs() < 1e-12,
                    "u xᵀ {rows}x{cols}, n {n}"
                );
            }
        }
    }
}

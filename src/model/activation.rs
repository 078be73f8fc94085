//! Activation functions σ with derivative σ' and antiderivative γ (γ' = σ).
//!
//! γ gives the energy of Hamiltonian fields: `H = 1ᵀγ₁(A₁p + b₁) + 1ᵀγ₂(A₂z + b₂)`.

// The vector helpers of tanh must be inlined into the loops over samples for their lanes to stay
// in registers.
#![allow(clippy::inline_always)]

use super::kernels::{Bits, V, VEC, axpy_onto, fma, one_minus_square, vector};
use serde::{Deserialize, Serialize};

/// A scalar activation, applied elementwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// σ(s) = s.
    Identity,
    /// σ(s) = tanh s.
    #[default]
    Tanh,
    /// σ(s) = 1 / (1 + e^{−s}).
    Sigmoid,
    /// σ(s) = max(0, s).
    Relu,
    /// σ(s) = s for s ≥ 0, α s otherwise.
    LeakyRelu(f64),
    /// σ(s) = log(1 + e^s).
    Softplus,
}

impl Activation {
    /// The activations a user can choose, with a default α for leaky ReLU.
    pub const ALL: [Self; 6] = [
        Self::Identity,
        Self::Tanh,
        Self::Sigmoid,
        Self::Relu,
        Self::LeakyRelu(0.01),
        Self::Softplus,
    ];

    /// Name for summaries and metadata.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::Identity => "identity".into(),
            Self::Tanh => "tanh".into(),
            Self::Sigmoid => "sigmoid".into(),
            Self::Relu => "relu".into(),
            Self::LeakyRelu(alpha) => format!("leaky_relu({alpha})"),
            Self::Softplus => "softplus".into(),
        }
    }

    /// σ(s).
    #[inline]
    #[must_use]
    pub fn eval(self, s: f64) -> f64 {
        match self {
            Self::Identity => s,
            Self::Tanh => tanh(s),
            Self::Sigmoid => sigmoid(s),
            Self::Relu => s.max(0.0),
            Self::LeakyRelu(alpha) => {
                if s >= 0.0 {
                    s
                } else {
                    alpha * s
                }
            }
            Self::Softplus => softplus(s),
        }
    }

    /// σ'(s). At the kink of relu and leaky relu the right derivative is used.
    #[inline]
    #[must_use]
    pub fn derivative(self, s: f64) -> f64 {
        match self {
            Self::Identity => 1.0,
            Self::Tanh => one_minus_square(tanh(s)),
            Self::Sigmoid => {
                let g = sigmoid(s);
                g * (1.0 - g)
            }
            Self::Relu => {
                if s >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::LeakyRelu(alpha) => {
                if s >= 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Self::Softplus => sigmoid(s),
        }
    }

    /// σ(s) and σ'(s) together (one transcendental evaluation where possible).
    #[inline]
    #[must_use]
    pub fn eval_with_derivative(self, s: f64) -> (f64, f64) {
        match self {
            Self::Tanh => {
                let t = tanh(s);
                (t, one_minus_square(t))
            }
            Self::Sigmoid => {
                let g = sigmoid(s);
                (g, g * (1.0 - g))
            }
            _ => (self.eval(s), self.derivative(s)),
        }
    }

    /// Whether a forward pass keeps σ(S) rather than σ'(S) for the reverse sweep: tanh's
    /// slope is `1 − σ²`, formed from the values where it is needed (one multiply-add there
    /// against a store and a load of a second block per evaluation).
    #[must_use]
    pub fn keeps_values(self) -> bool {
        self == Self::Tanh
    }

    /// Applies σ to `s` in place and writes σ'(s) to `ds`.
    #[inline]
    pub fn apply_in_place(self, s: &mut [f64], ds: &mut [f64]) {
        debug_assert_eq!(s.len(), ds.len());
        match self {
            Self::Tanh => {
                self.apply_values(s);
                for (d, &t) in ds.iter_mut().zip(s.iter()) {
                    *d = one_minus_square(t);
                }
            }
            Self::Identity => ds.fill(1.0),
            _ => {
                for (x, d) in s.iter_mut().zip(ds.iter_mut()) {
                    let (v, dv) = self.eval_with_derivative(*x);
                    *x = v;
                    *d = dv;
                }
            }
        }
    }

    /// What a field's record keeps of σ at the pre-activations `s`: σ in place over `s`, and
    /// σ' into the first `s.len()` entries of `slopes` unless [`Activation::keeps_values`]
    /// (then `slopes` is not touched and may be empty).
    #[inline]
    pub fn apply_record(self, s: &mut [f64], slopes: &mut [f64]) {
        if self.keeps_values() {
            self.apply_values(s);
        } else {
            let len = s.len();
            self.apply_in_place(s, &mut slopes[..len]);
        }
    }

    /// Applies σ to `s` in place: the hot kernel of every field. Branch-free for tanh so that
    /// it vectorises.
    #[inline]
    pub fn apply_values(self, s: &mut [f64]) {
        match self {
            Self::Tanh => {
                let mut values = s.chunks_exact_mut(VEC);
                for x in &mut values {
                    x.copy_from_slice(&tanh_v(vector(x)).to_array());
                }
                for x in values.into_remainder() {
                    *x = tanh(*x);
                }
            }
            Self::Identity => {}
            _ => {
                for x in s.iter_mut() {
                    *x = self.eval(*x);
                }
            }
        }
    }

    /// `out = base + scale · σ(s)` (`out += scale · σ(s)` without a base), and `kept` = what a
    /// record keeps (σ(s) where [`Activation::keeps_values`], σ'(s) otherwise), in one pass
    /// for tanh. `s` is overwritten.
    #[inline]
    pub fn apply_add(
        self,
        s: &mut [f64],
        kept: &mut [f64],
        scale: f64,
        base: Option<&[f64]>,
        out: &mut [f64],
    ) {
        let len = s.len();
        debug_assert!(kept.len() == len && out.len() == len);
        debug_assert!(base.is_none_or(|b| b.len() >= len));
        if self == Self::Tanh {
            let full = len / VEC * VEC;
            let h = V::splat(scale);
            for t0 in (0..full).step_by(VEC) {
                let range = t0..t0 + VEC;
                let t = tanh_v(vector(&s[range.clone()]));
                kept[range.clone()].copy_from_slice(&t.to_array());
                let start = vector(base.map_or(&out[range.clone()], |b| &b[range.clone()]));
                out[range].copy_from_slice(&h.mul_add(t, start).to_array());
            }
            for i in full..len {
                let t = tanh(s[i]);
                kept[i] = t;
                out[i] = fma(scale, t, base.map_or(out[i], |b| b[i]));
            }
            return;
        }
        self.apply_in_place(s, kept);
        axpy_onto(scale, s, base, out);
    }

    /// The antiderivative γ with γ(0) chosen so that γ ≥ 0 near 0, or `None` where no closed
    /// form exists (softplus: its antiderivative is a dilogarithm).
    #[must_use]
    pub fn antiderivative(self, s: f64) -> Option<f64> {
        match self {
            Self::Identity => Some(0.5 * s * s),
            Self::Tanh => Some(log_cosh(s)),
            Self::Sigmoid => Some(softplus(s)),
            Self::Relu => Some(0.5 * s.max(0.0).powi(2)),
            Self::LeakyRelu(alpha) => Some(if s >= 0.0 {
                0.5 * s * s
            } else {
                0.5 * alpha * s * s
            }),
            Self::Softplus => None,
        }
    }

    /// Whether `γ` exists in closed form (energies can be computed).
    #[must_use]
    pub fn has_antiderivative(self) -> bool {
        self.antiderivative(0.0).is_some()
    }

    /// The mean of σ over the segment from `s0` to `s1` and its two partial derivatives:
    /// `g = ∫₀¹ σ(s0 + t c) dt = (γ(s1) − γ(s0))/c` with `c = s1 − s0` (σ(s0) for `c = 0`),
    /// `∂g/∂s0 = ∫₀¹ (1 − t) σ'(s0 + t c) dt`, `∂g/∂s1 = ∫₀¹ t σ'(s0 + t c) dt` — what the
    /// average vector field method needs of each pre-activation, or `None` where γ has no
    /// closed form (softplus).
    ///
    /// The piecewise-linear activations use their exact piecewise formulas (no cancellation
    /// for any `c`). Tanh and the sigmoid use the divided difference of γ for `|c| > 0.1`,
    /// where its rounding error is at most `eps·|γ|/c²` in the derivatives, and a 6-point
    /// Gauss–Legendre rule below, whose error is `O(c¹²)` (under 1e-20 there): both agree to
    /// rounding at the switch, so `g·c = γ(s1) − γ(s0)` to rounding everywhere, which is what
    /// makes the method conserve the energy.
    #[must_use]
    pub fn segment_mean(self, s0: f64, s1: f64) -> Option<(f64, f64, f64)> {
        let c = s1 - s0;
        let piecewise = |low: f64| {
            // Slope `low` below 0, 1 from 0 on.
            let slope = |s: f64| if s >= 0.0 { 1.0 } else { low };
            if (s0 >= 0.0) == (s1 >= 0.0) {
                let k = slope(s0);
                (0.5 * k * (s0 + s1), 0.5 * k, 0.5 * k)
            } else {
                // The segment crosses 0, so |c| ≥ max(|s0|, |s1|): no cancellation.
                let gamma = |s: f64| 0.5 * slope(s) * s * s;
                let g = (gamma(s1) - gamma(s0)) / c;
                (g, (g - slope(s0) * s0) / c, (slope(s1) * s1 - g) / c)
            }
        };
        match self {
            Self::Identity => Some((0.5 * (s0 + s1), 0.5, 0.5)),
            Self::Relu => Some(piecewise(0.0)),
            Self::LeakyRelu(alpha) => Some(piecewise(alpha)),
            Self::Softplus => None,
            Self::Tanh | Self::Sigmoid if c.abs() > 0.1 => {
                let gamma = |s: f64| self.antiderivative(s).unwrap_or(f64::NAN);
                let g = (gamma(s1) - gamma(s0)) / c;
                Some((g, (g - self.eval(s0)) / c, (self.eval(s1) - g) / c))
            }
            Self::Tanh | Self::Sigmoid => {
                // Gauss–Legendre nodes and weights on [−1, 1], mapped to [0, 1].
                const NODES: [f64; 3] = [
                    0.238_619_186_083_196_9,
                    0.661_209_386_466_264_5,
                    0.932_469_514_203_152,
                ];
                const WEIGHTS: [f64; 3] = [
                    0.467_913_934_572_691,
                    0.360_761_573_048_138_6,
                    0.171_324_492_379_170_4,
                ];
                let (mut g, mut d0, mut d1) = (0.0, 0.0, 0.0);
                for (&x, &w) in NODES.iter().zip(&WEIGHTS) {
                    for t in [0.5 * (1.0 - x), 0.5 * (1.0 + x)] {
                        let (value, slope) = self.eval_with_derivative(fma(t, c, s0));
                        g += 0.5 * w * value;
                        d0 += 0.5 * w * (1.0 - t) * slope;
                        d1 += 0.5 * w * t * slope;
                    }
                }
                Some((g, d0, d1))
            }
        }
    }

    /// Bounds `(min σ', max σ')` over the real line, used by analytic Lipschitz bounds.
    #[must_use]
    pub fn derivative_bounds(self) -> (f64, f64) {
        match self {
            Self::Identity => (1.0, 1.0),
            Self::Tanh | Self::Softplus | Self::Relu => (0.0, 1.0),
            Self::Sigmoid => (0.0, 0.25),
            Self::LeakyRelu(alpha) => (alpha.min(1.0), alpha.max(1.0)),
        }
    }
}

/// `log cosh s`, stable for large `|s|`: `|s| + log1p(e^{−2|s|}) − log 2`.
#[must_use]
pub fn log_cosh(s: f64) -> f64 {
    let a = s.abs();
    a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2
}

/// The logistic function, stable for large `|s|`.
#[inline]
#[must_use]
pub fn sigmoid(s: f64) -> f64 {
    if s >= 0.0 {
        1.0 / (1.0 + (-s).exp())
    } else {
        let e = s.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^s)`, stable for large `|s|`.
#[inline]
#[must_use]
pub fn softplus(s: f64) -> f64 {
    s.max(0.0) + (-s.abs()).exp().ln_1p()
}

/// Hyperbolic tangent: `tanh|x| = m/(m + 2)` with `m = expm1(2|x|)`, one lane of
/// [`tanh_v`] so that scalar callers and the vectorised kernels give the same bits.
/// Relative error below 5e-15 (checked against `f64::tanh` in the tests).
#[inline]
#[must_use]
pub fn tanh(x: f64) -> f64 {
    tanh_v(V::splat(x)).to_array()[0]
}

/// [`tanh`] of every lane, branch-free.
#[inline(always)]
fn tanh_v(x: V) -> V {
    // tanh(±20) rounds to ±1. `m/(m + 2)` holds on both sides of 0 (for x < 0, m ∈ (−1, 0]
    // and m + 2 ∈ (1, 2]), so no absolute value and sign copy are needed; −0 gives +0.
    let m = expm1_twice(clamp(x, 20.0));
    m / (m + V::splat(2.0))
}

/// `x` clamped to `[−limit, limit]`, and NaN where `x` is NaN.
#[inline(always)]
fn clamp(x: V, limit: f64) -> V {
    let (low, high) = (V::splat(-limit), V::splat(limit));
    if cfg!(target_arch = "x86_64") {
        // `minpd` and `maxpd` return their second operand when either is NaN.
        low.fast_max(high.fast_min(x))
    } else {
        let x = x.simd_gt(high).select(high, x);
        x.simd_lt(low).select(low, x)
    }
}

/// `e^{2a} − 1` for `a ∈ [−20, 20]` (every lane) without branches: `2a = (k/8) ln2 + ρ` with
/// `|ρ| ≤ ln2/16`, so `e^{2a} = 2^⌊k/8⌋ · 2^{(k mod 8)/8} · e^ρ` with the middle factor from
/// an 8-entry table (one permutation) and `expm1(ρ)/ρ` from a degree-6 polynomial (Chebyshev
/// fit, relative error 1.1e-16). Then `expm1(2a) = s·expm1(ρ) + (s − 1)` with `s =
/// 2^{k/8}`: exact for k = 0 so tiny arguments keep full relative accuracy, and `|s − 1| ≥
/// 0.08` otherwise, so the rounding of the table costs at most about 7e-16 relative.
///
/// The reduction works on `a` and `r = ρ/2` (the polynomial's coefficients carry the powers of
/// two, exactly), and `2^⌊k/8⌋` enters the table entry's exponent by one shift and one integer
/// addition of the rounding's bits, the table entries being stored with `(k mod 8)·2⁴⁹`
/// subtracted. Loops over tanh are limited by multiply-add throughput and the division, so
/// the count of operations is what counts.
#[inline(always)]
fn expm1_twice(a: V) -> V {
    /// `2^{j/8}`, correctly rounded.
    const EIGHTH_POWERS: [f64; 8] = [
        1.0,
        1.090_507_732_665_257_7,
        1.189_207_115_002_721,
        1.296_839_554_651_009_6,
        std::f64::consts::SQRT_2,
        1.542_210_825_407_940_7,
        1.681_792_830_507_429,
        1.834_008_086_409_342_4,
    ];
    /// `expm1(ρ)/ρ ≈ Σ_k C_k ρ^k` on `|ρ| ≤ ln2/16` (mpmath `chebyfit`, degree 6).
    const C: [f64; 7] = [
        1.0,
        0.500_000_000_000_018,
        0.166_666_666_666_668_66,
        0.041_666_666_590_226_054,
        0.008_333_333_324_839_985,
        0.001_388_970_348_025_465_2,
        0.000_198_421_749_384_977_9,
    ];
    /// `C_k 2^{k+1}`: the polynomial in `r = ρ/2`.
    const SCALED: [f64; 7] = {
        let mut scaled = C;
        let mut k = 0;
        while k < 7 {
            scaled[k] *= (2u64 << k) as f64;
            k += 1;
        }
        scaled
    };
    /// [`EIGHTH_POWERS`]' bits with `j·2⁴⁹` subtracted (see below).
    const TABLE: [u64; 8] = {
        let mut table = [0; 8];
        let mut j = 0;
        while j < 8 {
            table[j] = EIGHTH_POWERS[j].to_bits().wrapping_sub((j as u64) << 49);
            j += 1;
        }
        table
    };
    // Round to nearest by the 1.5·2⁵² shifter: the low bits of `shifted` hold k as an integer
    // (the shifter's own low bits are zero).
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let shifter = V::splat(SHIFTER);
    let shifted = a.mul_add(V::splat(16.0 * std::f64::consts::LOG2_E), shifter);
    let k = shifted - shifter;
    // r = ρ/2. One reduction step suffices: the rounding of ln2/16 shifts r by at most
    // k·4e-18, which changes tanh by less than 2e-16 relative.
    let r = (-k).mul_add(V::splat(std::f64::consts::LN_2 / 16.0), a);
    // expm1(ρ) = r · Σ_k C_k 2^{k+1} r^k.
    let q = SCALED[..6]
        .iter()
        .rev()
        .fold(V::splat(SCALED[6]), |acc, &c| acc.mul_add(r, V::splat(c)));
    let em = q * r;
    // k ∈ [−462, 462]: the low bits of `shifted` hold 2⁵¹ + k, so shifted by 49 they are
    // k·2⁴⁹ = (k mod 8)·2⁴⁹ + ⌊k/8⌋·2⁵² modulo 2⁶⁴ (the shifter's bits leave the word; the
    // wrapping addition below is two's complement), and the table entry has the first term
    // subtracted.
    let bits = shifted.to_bits();
    let s = V::from_bits(lookup8(TABLE, bits) + bits.unbounded_shl_scalar(49));
    s.mul_add(em, s - V::splat(1.0))
}

/// `table[k mod 8]` in every lane (one permutation with AVX-512, two registers otherwise).
#[inline(always)]
fn lookup8(table: [u64; 8], k: Bits) -> Bits {
    #[cfg(target_feature = "avx512f")]
    {
        Bits::new(table).shuffle_wrapping(k)
    }
    #[cfg(not(target_feature = "avx512f"))]
    {
        use wide::ShuffleExt;
        let (low, high) = table.split_at(4);
        let half = |h: &[u64]| Bits::new([h[0], h[1], h[2], h[3]]);
        [half(low), half(high)].shuffle_wrapping(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn central_difference(f: impl Fn(f64) -> f64, s: f64) -> f64 {
        let h = 1e-6;
        (f(s + h) - f(s - h)) / (2.0 * h)
    }

    #[test]
    fn fast_tanh_matches_std_to_a_few_ulp() {
        // Steps of 1e-4 up to |x| = 20 (tanh rounds to ±1 from 19.1): every entry of the
        // table in every binade of e^{2x}.
        let mut worst: f64 = 0.0;
        for i in -200_000..=200_000 {
            let x = f64::from(i) * 1e-4;
            let exact = x.tanh();
            let ours = tanh(x);
            let err = if exact == 0.0 {
                ours.abs()
            } else {
                ((ours - exact) / exact).abs()
            };
            worst = worst.max(err);
        }
        // Tiny arguments keep full relative accuracy (no cancellation in e^{2x} − 1).
        for k in 5..300 {
            for x in [10f64.powi(-k), -3.7 * 10f64.powi(-k)] {
                worst = worst.max(((tanh(x) - x.tanh()) / x.tanh()).abs());
            }
        }
        assert!(worst < 2e-15, "worst relative error {worst:e}");
        assert_eq!(tanh(1e300), 1.0);
        assert_eq!(tanh(-1e300), -1.0);
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert!(tanh(f64::NAN).is_nan());
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &s in &[-3.1, -0.7, -0.01, 0.3, 1.2, 4.0] {
                let fd = central_difference(|x| act.eval(x), s);
                assert!(
                    (fd - act.derivative(s)).abs() < 1e-8,
                    "{} at {s}: fd {fd} vs {}",
                    act.name(),
                    act.derivative(s)
                );
            }
        }
    }

    #[test]
    fn antiderivatives_differentiate_to_sigma() {
        for act in Activation::ALL {
            if !act.has_antiderivative() {
                continue;
            }
            for &s in &[-3.1, -0.7, -0.01, 0.3, 1.2, 4.0] {
                let fd = central_difference(|x| act.antiderivative(x).unwrap_or(f64::NAN), s);
                assert!(
                    (fd - act.eval(s)).abs() < 1e-8,
                    "{} at {s}: γ' {fd} vs σ {}",
                    act.name(),
                    act.eval(s)
                );
            }
        }
    }

    #[test]
    fn log_cosh_is_stable_for_large_arguments() {
        assert!((log_cosh(1000.0) - (1000.0 - std::f64::consts::LN_2)).abs() < 1e-12);
        assert!((log_cosh(-1000.0) - (1000.0 - std::f64::consts::LN_2)).abs() < 1e-12);
        assert!((log_cosh(0.5) - 0.5f64.cosh().ln()).abs() < 1e-15);
        assert!(softplus(1000.0).is_finite() && sigmoid(-1000.0) >= 0.0);
    }

    #[test]
    fn fused_step_equals_activation_then_step() {
        for act in Activation::ALL {
            let s: Vec<f64> = (0..37).map(|i| f64::from(i) * 0.23 - 4.0).collect();
            let base: Vec<f64> = (0..37).map(|i| f64::from(i).sin()).collect();
            let (mut sigma, mut ds) = (s.clone(), vec![0.0; s.len()]);
            act.apply_in_place(&mut sigma, &mut ds);
            let expected: Vec<f64> = (0..s.len()).map(|i| fma(0.3, sigma[i], base[i])).collect();
            // Onto a base, and added to the output.
            let (mut scratch, mut ds2, mut out) = (s.clone(), vec![0.0; s.len()], vec![9.0; 37]);
            act.apply_add(&mut scratch, &mut ds2, 0.3, Some(&base), &mut out);
            assert_eq!(out, expected, "{}", act.name());
            // What a record keeps: tanh's values, the others' slopes.
            let kept = if act.keeps_values() { &sigma } else { &ds };
            assert_eq!(&ds2, kept, "{}", act.name());
            let mut values = s.clone();
            act.apply_values(&mut values);
            assert_eq!(values, sigma, "{}", act.name());
            // A record: values, and slopes only where they are not formed from the values.
            let (mut values, mut slopes) = (s.clone(), vec![7.0; s.len()]);
            act.apply_record(&mut values, &mut slopes);
            assert_eq!(values, sigma, "{}", act.name());
            let untouched = vec![7.0; s.len()];
            let kept_slopes = if act.keeps_values() { &untouched } else { &ds };
            assert_eq!(&slopes, kept_slopes, "{}", act.name());
            let (mut scratch, mut added) = (s.clone(), base.clone());
            act.apply_add(&mut scratch, &mut ds2, 0.3, None, &mut added);
            assert_eq!(added, expected, "{}", act.name());
        }
    }

    #[test]
    fn in_place_kernel_agrees_with_scalar_functions() {
        for act in Activation::ALL {
            let mut s: Vec<f64> = (0..37).map(|i| f64::from(i) * 0.23 - 4.0).collect();
            let orig = s.clone();
            let mut ds = vec![0.0; s.len()];
            act.apply_in_place(&mut s, &mut ds);
            for i in 0..s.len() {
                if act == Activation::Tanh {
                    // Vector lanes and the scalar function are the same code.
                    assert_eq!(
                        s[i].to_bits(),
                        act.eval(orig[i]).to_bits(),
                        "at {}",
                        orig[i]
                    );
                }
                assert!((s[i] - act.eval(orig[i])).abs() < 1e-15);
                assert!((ds[i] - act.derivative(orig[i])).abs() < 1e-15);
            }
        }
    }
    /// `∫ₐᵇ f(t) dt` by the composite 2-point Gauss–Legendre rule on 2 000 panels (reference
    /// values; it never evaluates `f` at the ends, where a kink may lie).
    fn gauss(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
        let k = 2_000;
        let h = (b - a) / f64::from(k);
        let offset = 0.5 * h / 3.0_f64.sqrt();
        let mut sum = 0.0;
        for i in 0..k {
            let mid = a + (f64::from(i) + 0.5) * h;
            sum += f(mid - offset) + f(mid + offset);
        }
        0.5 * h * sum
    }

    /// `∫₀¹ f(t) dt` with the interval split at `kink` when it lies inside (where the
    /// piecewise-linear activations' slope jumps).
    fn integral(f: impl Fn(f64) -> f64, kink: f64) -> f64 {
        if kink > 0.0 && kink < 1.0 {
            gauss(&f, 0.0, kink) + gauss(&f, kink, 1.0)
        } else {
            gauss(&f, 0.0, 1.0)
        }
    }

    #[test]
    fn segment_mean_is_the_mean_of_sigma_and_its_derivatives() {
        let pairs = [
            (-1.3, 2.1),
            (0.4, 0.4),
            (0.4, 0.4 + 1e-9),
            (0.7, 0.79),
            (0.7, 0.81),
            (-3.0, -2.5),
            (-0.2, 0.3),
            (2.0, -1.0),
            (25.0, 26.5),
        ];
        for act in Activation::ALL {
            for &(s0, s1) in &pairs {
                let Some((g, d0, d1)) = act.segment_mean(s0, s1) else {
                    assert_eq!(act, Activation::Softplus);
                    continue;
                };
                let c = s1 - s0;
                let at = |t: f64| s0 + t * c;
                let kink = -s0 / c;
                let mean = integral(|t| act.eval(at(t)), kink);
                let w0 = integral(|t| (1.0 - t) * act.derivative(at(t)), kink);
                let w1 = integral(|t| t * act.derivative(at(t)), kink);
                let tol = 1e-12;
                let what = format!("{} on [{s0}, {s1}]", act.name());
                assert!((g - mean).abs() <= tol, "{what}: g {g} vs {mean}");
                assert!((d0 - w0).abs() <= tol, "{what}: d0 {d0} vs {w0}");
                assert!((d1 - w1).abs() <= tol, "{what}: d1 {d1} vs {w1}");
                // What energy conservation rests on: g·c = γ(s1) − γ(s0).
                let gamma = |s: f64| act.antiderivative(s).unwrap();
                let dg = gamma(s1) - gamma(s0);
                assert!(
                    (g * c - dg).abs() <= 1e-15 * (1.0 + gamma(s0).abs() + gamma(s1).abs()),
                    "{what}: g·c {} vs Δγ {dg}",
                    g * c
                );
                // The derivatives of g itself.
                let eps = 1e-6;
                if c.abs() > 1e-3 || act == Activation::Tanh || act == Activation::Sigmoid {
                    let fd0 = central_difference(|s| act.segment_mean(s, s1).unwrap().0, s0);
                    let fd1 = central_difference(|s| act.segment_mean(s0, s).unwrap().0, s1);
                    assert!(
                        (fd0 - d0).abs() <= 1e-7 + eps,
                        "{what}: ∂g/∂s0 {d0} vs {fd0}"
                    );
                    assert!(
                        (fd1 - d1).abs() <= 1e-7 + eps,
                        "{what}: ∂g/∂s1 {d1} vs {fd1}"
                    );
                }
            }
        }
    }
}

//! Activation functions σ with derivative σ' and antiderivative γ (γ' = σ).
//!
//! γ gives the energy of Hamiltonian fields: `H = 1ᵀγ₁(A₁p + b₁) + 1ᵀγ₂(A₂z + b₂)`.

// The vector helpers of tanh must be inlined into the loops over samples for their lanes to stay
// in registers.
#![allow(clippy::inline_always)]

use super::kernels::{Bits, V, VEC, axpy_onto, fma, vector};
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
            Self::Tanh => tanh_slope(tanh(s)),
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
                (t, tanh_slope(t))
            }
            Self::Sigmoid => {
                let g = sigmoid(s);
                (g, g * (1.0 - g))
            }
            _ => (self.eval(s), self.derivative(s)),
        }
    }

    /// Applies σ to `s` in place and writes σ'(s) to `ds`: the hot kernel of every field.
    ///
    /// Written branch-free for tanh so the compiler vectorises it.
    #[inline]
    pub fn apply_in_place(self, s: &mut [f64], ds: &mut [f64]) {
        debug_assert_eq!(s.len(), ds.len());
        match self {
            Self::Tanh => {
                let mut values = s.chunks_exact_mut(VEC);
                let mut slopes = ds.chunks_exact_mut(VEC);
                let one = V::splat(1.0);
                for (x, d) in (&mut values).zip(&mut slopes) {
                    let t = tanh_v(vector(x));
                    x.copy_from_slice(&t.to_array());
                    d.copy_from_slice(&(-t).mul_add(t, one).to_array());
                }
                let rest = values.into_remainder().iter_mut();
                for (x, d) in rest.zip(slopes.into_remainder()) {
                    let t = tanh(*x);
                    *x = t;
                    *d = tanh_slope(t);
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

    /// `out = base + scale · σ(s)` (`out += scale · σ(s)` without a base) and `ds = σ'(s)`, in
    /// one sweep: an explicit step `y₁ = y₀ + h σ(A y₀ + b)` that never stores σ. `s` is
    /// scratch (its values are left unspecified).
    #[inline]
    pub fn apply_add(
        self,
        s: &mut [f64],
        ds: &mut [f64],
        scale: f64,
        base: Option<&[f64]>,
        out: &mut [f64],
    ) {
        let len = s.len();
        debug_assert!(ds.len() == len && out.len() == len);
        debug_assert!(base.is_none_or(|b| b.len() >= len));
        if self == Self::Tanh {
            let full = len / VEC * VEC;
            let (one, h) = (V::splat(1.0), V::splat(scale));
            for t0 in (0..full).step_by(VEC) {
                let range = t0..t0 + VEC;
                let t = tanh_v(vector(&s[range.clone()]));
                ds[range.clone()].copy_from_slice(&(-t).mul_add(t, one).to_array());
                let start = vector(base.map_or(&out[range.clone()], |b| &b[range.clone()]));
                out[range].copy_from_slice(&h.mul_add(t, start).to_array());
            }
            for i in full..len {
                let t = tanh(s[i]);
                ds[i] = tanh_slope(t);
                out[i] = fma(scale, t, base.map_or(out[i], |b| b[i]));
            }
            return;
        }
        self.apply_in_place(s, ds);
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

/// `1 − t²`, the derivative of tanh at the point where it equals `t` (one rounding, as in the
/// vectorised kernel).
#[inline]
fn tanh_slope(t: f64) -> f64 {
    fma(-t, t, 1.0)
}

/// [`tanh`] of every lane, branch-free.
#[inline(always)]
fn tanh_v(x: V) -> V {
    let limit = V::splat(20.0);
    let a = x.abs();
    // tanh(20) rounds to 1. (A comparison, not `min`, so that NaN propagates.)
    let a = a.simd_gt(limit).select(limit, a);
    let m = expm1_small(a + a);
    (m / (m + V::splat(2.0))).copysign(x)
}

/// `e^x − 1` for `x ∈ [0, 40]` (every lane) without branches: `x = (k/8) ln2 + r` with
/// `|r| ≤ ln2/16`, so `e^x = 2^⌊k/8⌋ · 2^{(k mod 8)/8} · e^r` with the middle factor from an
/// 8-entry table (one permutation) and `expm1(r)` from its degree-8 Taylor polynomial (the first
/// omitted term is below 4e-17 of the sum). Then `expm1(x) = s·expm1(r) + (s − 1)` with
/// `s = 2^{k/8}`: exact for k = 0 so tiny arguments keep full relative accuracy, and `s − 1 ≥
/// 0.09` otherwise, so the rounding of the table costs at most about 7e-16 relative.
///
/// Eleven multiply-adds in all, against eighteen for a degree-10 polynomial on `|r| ≤ ln2/2`
/// in Estrin's form: loops over tanh are limited by multiply-add throughput (the lanes'
/// dependency chains overlap), so Horner's form and the short polynomial are what count.
#[inline(always)]
fn expm1_small(x: V) -> V {
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
    /// `1/(k+1)!`: `expm1(r)/r = Σ_k r^k/(k+1)!`.
    const C: [f64; 8] = [
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
    ];
    // Round to nearest by the 1.5·2⁵² shifter: the low bits of `shifted` hold k as an integer.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let shifter = V::splat(SHIFTER);
    let shifted = x.mul_add(V::splat(8.0 * std::f64::consts::LOG2_E), shifter);
    let k = shifted - shifter;
    // One reduction step suffices: the rounding of ln2/8 shifts r by at most k·7e-18, which
    // changes tanh by less than 2e-16 relative.
    let r = (-k).mul_add(V::splat(std::f64::consts::LN_2 / 8.0), x);
    let q = C[..7]
        .iter()
        .rev()
        .fold(V::splat(C[7]), |acc, &c| acc.mul_add(r, V::splat(c)));
    let em_r = q * r;
    // k ∈ [0, 462]: s = 2^{(k mod 8)/8} with ⌊k/8⌋ added to its exponent.
    let k_bits = shifted.to_bits() - shifter.to_bits();
    let table = lookup8(EIGHTH_POWERS.map(f64::to_bits), k_bits);
    let s = V::from_bits(table + (k_bits & Bits::splat(!7)).unbounded_shl_scalar(49));
    s.mul_add(em_r, s - V::splat(1.0))
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
            assert_eq!(ds2, ds, "{}", act.name());
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
}

//! Activation functions σ with derivative σ' and antiderivative γ (γ' = σ).
//!
//! γ gives the energy of Hamiltonian fields: `H = 1ᵀγ₁(A₁p + b₁) + 1ᵀγ₂(A₂z + b₂)`.

use super::kernels::fma;
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
            Self::Tanh => {
                let t = tanh(s);
                1.0 - t * t
            }
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
                (t, 1.0 - t * t)
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
                for (x, d) in s.iter_mut().zip(ds.iter_mut()) {
                    let t = tanh(*x);
                    *x = t;
                    *d = 1.0 - t * t;
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

/// Hyperbolic tangent, branch-free so that loops over it vectorise:
/// `tanh|x| = m/(m + 2)` with `m = expm1(2|x|)` from a vectorisable `expm1`, one division.
/// Relative error below 5e-15 (checked against `f64::tanh` in the tests).
#[inline]
#[must_use]
pub fn tanh(x: f64) -> f64 {
    let a = x.abs();
    // tanh(20) rounds to 1. (Written as a comparison, not `min`, so that NaN propagates.)
    let m = expm1_small(2.0 * if a > 20.0 { 20.0 } else { a });
    (m / (m + 2.0)).copysign(x)
}

/// `e^x − 1` for `x ∈ [0, 40]` without branches: `x = n ln2 + r` with `|r| ≤ ln2/2`, a
/// degree-11 polynomial for `expm1(r)` (relative error ≈ 1.3e-16), then
/// `expm1(x) = 2ⁿ expm1(r) + (2ⁿ − 1)`, exact for n = 0 so tiny arguments keep full relative
/// accuracy.
#[inline]
fn expm1_small(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // Round to nearest by the 1.5·2⁵² shifter: pure arithmetic, so it vectorises, and the low
    // bits of `shifted` hold n as an integer.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    // (e^r − 1)/r ≈ Σ_{k≤10} c_k r^k, a degree-10 polynomial fitted for least maximum relative
    // error on |r| ≤ ln2/2 (1.3e-16 with double coefficients and arithmetic; the Taylor
    // polynomial needs degree 12 for that).
    const C: [f64; 11] = [
        1.0,
        0.500_000_000_000_000_6,
        0.166_666_666_666_665_63,
        0.041_666_666_666_573_905,
        0.008_333_333_333_397_835,
        0.001_388_888_893_225_887_8,
        0.000_198_412_697_074_606_26,
        2.480_150_460_215_259_6e-5,
        2.755_741_479_590_196e-6,
        2.762_626_278_656_476e-7,
        2.505_209_442_967_356_8e-8,
    ];
    let shifted = x * INV_LN2 + SHIFTER;
    let n = shifted - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Estrin's scheme: pairs, then pairs of pairs, so the dependency chain is four fused
    // multiply-adds deep instead of ten.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = fma(C[1], r, C[0]);
    let p23 = fma(C[3], r, C[2]);
    let p45 = fma(C[5], r, C[4]);
    let p67 = fma(C[7], r, C[6]);
    let p89 = fma(C[9], r, C[8]);
    let p03 = fma(p23, r2, p01);
    let p47 = fma(p67, r2, p45);
    let p810 = fma(C[10], r2, p89);
    let p07 = fma(p47, r4, p03);
    let q = fma(p810, r8, p07);
    let em_r = q * r;
    // n ∈ [0, 58]: 2ⁿ from the exponent bits.
    let n_bits = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(n_bits.wrapping_add(1023) << 52);
    fma(scale, em_r, scale - 1.0)
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
        assert!(worst < 5e-15, "worst relative error {worst:e}");
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
    fn in_place_kernel_agrees_with_scalar_functions() {
        for act in Activation::ALL {
            let mut s: Vec<f64> = (0..37).map(|i| f64::from(i) * 0.23 - 4.0).collect();
            let orig = s.clone();
            let mut ds = vec![0.0; s.len()];
            act.apply_in_place(&mut s, &mut ds);
            for i in 0..s.len() {
                assert!((s[i] - act.eval(orig[i])).abs() < 1e-15);
                assert!((ds[i] - act.derivative(orig[i])).abs() < 1e-15);
            }
        }
    }
}

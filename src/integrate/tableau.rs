//! Butcher tableaus of explicit Runge–Kutta methods.

/// An explicit Runge–Kutta method `(A, b, c)` with `A` strictly lower triangular.
#[derive(Clone, Debug, PartialEq)]
pub struct Tableau {
    /// Name for summaries.
    pub name: String,
    /// Stages `s`.
    pub stages: usize,
    /// Row-major `s × s` coefficients.
    pub a: Vec<f64>,
    /// Weights.
    pub b: Vec<f64>,
    /// Nodes.
    pub c: Vec<f64>,
    /// Classical order.
    pub order: u32,
    /// The symplectic partner's coefficients, computed once (see [`Tableau::partner`]).
    partner: Option<Vec<f64>>,
}

impl Tableau {
    /// Builds a tableau from rows of `A` (strictly lower triangular; a row may stop before the
    /// diagonal), `b` and `c`.
    #[must_use]
    pub fn new(name: &str, a: &[&[f64]], b: &[f64], c: &[f64], order: u32) -> Self {
        let s = b.len();
        let mut flat = vec![0.0; s * s];
        for (i, row) in a.iter().enumerate() {
            flat[i * s..i * s + row.len()].copy_from_slice(row);
        }
        Self {
            name: name.into(),
            stages: s,
            a: flat,
            b: b.to_vec(),
            c: c.to_vec(),
            order,
            partner: None,
        }
        .with_partner()
    }

    /// Explicit Euler.
    #[must_use]
    pub fn euler() -> Self {
        Self::new("Euler", &[&[]], &[1.0], &[0.0], 1)
    }

    /// Explicit midpoint.
    #[must_use]
    pub fn explicit_midpoint() -> Self {
        Self::new(
            "explicit midpoint",
            &[&[], &[0.5]],
            &[0.0, 1.0],
            &[0.0, 0.5],
            2,
        )
    }

    /// Heun's method.
    #[must_use]
    pub fn heun() -> Self {
        Self::new("Heun", &[&[], &[1.0]], &[0.5, 0.5], &[0.0, 1.0], 2)
    }

    /// Classical fourth-order Runge–Kutta.
    #[must_use]
    pub fn rk4() -> Self {
        Self::new(
            "RK4",
            &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
            &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
            &[0.0, 0.5, 0.5, 1.0],
            4,
        )
    }

    /// `a_ij`.
    #[inline]
    #[must_use]
    pub fn a(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.stages + j]
    }

    /// The symplectic partner's coefficients `ā_ij = b_j − b_j a_ji / b_i` (Sanz-Serna 2016),
    /// row-major, or `None` when a weight vanishes (then the partner is written in terms of
    /// `b_i Λ_i`).
    #[must_use]
    pub fn partner(&self) -> Option<&[f64]> {
        self.partner.as_deref()
    }

    fn with_partner(mut self) -> Self {
        self.partner = self.partner_coefficients();
        self
    }

    fn partner_coefficients(&self) -> Option<Vec<f64>> {
        let s = self.stages;
        if self.b.contains(&0.0) {
            return None;
        }
        let mut abar = vec![0.0; s * s];
        for i in 0..s {
            for j in 0..s {
                abar[i * s + j] = self.b[j] - self.b[j] * self.a(j, i) / self.b[i];
            }
        }
        Some(abar)
    }

    /// The stability function `R(w) = 1 + w bᵀ(I − wA)⁻¹ 1` at a complex point `w = (re, im)`,
    /// evaluated by forward substitution (A is strictly lower triangular).
    #[must_use]
    pub fn stability(&self, w: (f64, f64)) -> (f64, f64) {
        let s = self.stages;
        // Stage values g_i = 1 + w Σ_{j<i} a_ij g_j, complex.
        let mut g = vec![(0.0, 0.0); s];
        for i in 0..s {
            let mut acc = (0.0, 0.0);
            for (j, gj) in g.iter().enumerate().take(i) {
                let aij = self.a(i, j);
                acc.0 += aij * gj.0;
                acc.1 += aij * gj.1;
            }
            g[i] = (1.0 + w.0 * acc.0 - w.1 * acc.1, w.0 * acc.1 + w.1 * acc.0);
        }
        let mut sum = (0.0, 0.0);
        for (bi, gi) in self.b.iter().zip(&g) {
            sum.0 += bi * gi.0;
            sum.1 += bi * gi.1;
        }
        (1.0 + w.0 * sum.0 - w.1 * sum.1, w.0 * sum.1 + w.1 * sum.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stability_functions_are_the_known_polynomials() {
        let w = (-0.7, 0.4);
        let mul = |a: (f64, f64), b: (f64, f64)| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
        let w2 = mul(w, w);
        let w3 = mul(w2, w);
        let w4 = mul(w3, w);
        let euler = (1.0 + w.0, w.1);
        let r = Tableau::euler().stability(w);
        assert!((r.0 - euler.0).abs() < 1e-15 && (r.1 - euler.1).abs() < 1e-15);
        let rk4 = (
            1.0 + w.0 + w2.0 / 2.0 + w3.0 / 6.0 + w4.0 / 24.0,
            w.1 + w2.1 / 2.0 + w3.1 / 6.0 + w4.1 / 24.0,
        );
        let r = Tableau::rk4().stability(w);
        assert!((r.0 - rk4.0).abs() < 1e-14 && (r.1 - rk4.1).abs() < 1e-14);
    }

    #[test]
    fn partner_of_euler_is_implicit_euler_in_forward_time() {
        let abar = Tableau::euler().partner().unwrap_or_default().to_vec();
        assert_eq!(abar, vec![1.0]);
        assert!(Tableau::explicit_midpoint().partner().is_none());
        // The partner of RK4 has the same weights and satisfies b_i ā_ij + b̄_j a_ji = b_i b_j.
        let rk4 = Tableau::rk4();
        let abar = rk4.partner().unwrap_or_default().to_vec();
        for i in 0..4 {
            for j in 0..4 {
                let lhs = rk4.b[i] * abar[i * 4 + j] + rk4.b[j] * rk4.a(j, i);
                assert!((lhs - rk4.b[i] * rk4.b[j]).abs() < 1e-15);
            }
        }
    }
}

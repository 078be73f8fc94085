//! Regularisers on the raw parameters: weight decay `λ/2 ‖θ‖²` and time smoothness
//! `α Σ_k ‖θ_{k+1} − θ_k‖² / h` over the per-layer blocks (Haber & Ruthotto 2017).

use crate::model::ParamLayout;

/// The regularisers of an experiment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regularizer {
    /// λ of the weight decay.
    pub weight_decay: f64,
    /// α of the time smoothness.
    pub time_smoothness: f64,
    /// The step `h`.
    pub h: f64,
}

impl Regularizer {
    /// The value at `raw`; adds its gradient to `grad`.
    pub fn apply(&self, layout: &ParamLayout, raw: &[f64], grad: &mut [f64]) -> f64 {
        let mut value = 0.0;
        if self.weight_decay != 0.0 {
            for (g, &p) in grad.iter_mut().zip(raw) {
                value += 0.5 * self.weight_decay * p * p;
                *g += self.weight_decay * p;
            }
        }
        if self.time_smoothness != 0.0 {
            let c = self.time_smoothness / self.h;
            for block in layout.layer_blocks() {
                for k in 0..block.layers.saturating_sub(1) {
                    let (r0, r1) = (block.layer_range(k), block.layer_range(k + 1));
                    for (i0, i1) in r0.zip(r1) {
                        let diff = raw[i1] - raw[i0];
                        value += c * diff * diff;
                        grad[i1] += 2.0 * c * diff;
                        grad[i0] -= 2.0 * c * diff;
                    }
                }
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::LayoutShape;

    #[test]
    fn gradient_matches_finite_differences() {
        let layout = ParamLayout::new(&LayoutShape {
            layers: 4,
            width: 2,
            hidden: 3,
            second_matrix: true,
            second_bias: false,
            learned: [false; 2],
            linear_lift_inputs: Some(2),
            outputs: 2,
        });
        let reg = Regularizer {
            weight_decay: 0.3,
            time_smoothness: 0.7,
            h: 0.25,
        };
        let raw: Vec<f64> = (0..layout.len())
            .map(|i| ((i * 37 % 17) as f64) * 0.1 - 0.8)
            .collect();
        let mut grad = vec![0.0; raw.len()];
        reg.apply(&layout, &raw, &mut grad);
        let eps = 1e-6;
        for i in 0..raw.len() {
            let mut plus = raw.clone();
            let mut minus = raw.clone();
            plus[i] += eps;
            minus[i] -= eps;
            let mut scratch = vec![0.0; raw.len()];
            let fd = (reg.apply(&layout, &plus, &mut scratch)
                - reg.apply(&layout, &minus, &mut scratch))
                / (2.0 * eps);
            assert!(
                (fd - grad[i]).abs() < 1e-7,
                "entry {i}: fd {fd} vs {}",
                grad[i]
            );
        }
    }

    #[test]
    fn smoothness_vanishes_for_constant_layers() {
        let layout = ParamLayout::new(&LayoutShape {
            layers: 3,
            width: 2,
            hidden: 2,
            second_matrix: false,
            second_bias: false,
            learned: [false; 2],
            linear_lift_inputs: None,
            outputs: 2,
        });
        let reg = Regularizer {
            weight_decay: 0.0,
            time_smoothness: 1.0,
            h: 0.1,
        };
        let mut raw = vec![0.0; layout.len()];
        for block in layout.layer_blocks() {
            for k in 0..block.layers {
                for (j, i) in block.layer_range(k).enumerate() {
                    raw[i] = j as f64;
                }
            }
        }
        let mut grad = vec![0.0; raw.len()];
        assert_eq!(reg.apply(&layout, &raw, &mut grad), 0.0);
        assert!(grad.iter().all(|&g| g == 0.0));
    }
}

//! `flowlab gradcheck`: the gradient of the training objective by DTO, OTD partner, OTD
//! backward and central finite differences, compared per parameter block.

use std::fmt;

use serde::Serialize;

use super::engine::Engine;
use super::regularizer::Regularizer;
use super::session::{Session, SessionError};
use crate::integrate::{Gradient, Integrator, Tableau};

/// At most this many training points enter the check (finite differences cost two passes per
/// parameter).
pub const MAX_POINTS: usize = 128;

/// Relative differences of one parameter block.
#[derive(Clone, Debug, Serialize)]
pub struct BlockComparison {
    /// Block name (`A`, `b`, `head.W`, ...).
    pub name: String,
    /// Entries in the block.
    pub entries: usize,
    /// `‖g_DTO‖`.
    pub dto_norm: f64,
    /// `‖g_partner − g_DTO‖ / ‖g_DTO‖`.
    pub partner_vs_dto: f64,
    /// `‖g_backward − g_DTO‖ / ‖g_DTO‖`.
    pub backward_vs_dto: f64,
    /// `‖g_DTO − g_FD‖ / ‖g_FD‖`.
    pub dto_vs_finite_differences: f64,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct GradcheckReport {
    /// Experiment name.
    pub experiment: String,
    /// Training points used.
    pub points: usize,
    /// The method of the backward OTD solve.
    pub backward_method: String,
    /// The training objective at the parameters.
    pub objective: f64,
    /// Per block.
    pub blocks: Vec<BlockComparison>,
    /// Over all parameters.
    pub total: BlockComparison,
}

fn relative(a: &[f64], b: &[f64]) -> f64 {
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    if norm == 0.0 { diff } else { diff / norm }
}

struct Objective {
    engine: Engine,
    regularizer: Regularizer,
}

impl Objective {
    fn value(
        &mut self,
        raw: &[f64],
        x: ndarray::ArrayView2<f64>,
        labels: &[usize],
        rows: &[usize],
    ) -> f64 {
        let mut eff = vec![0.0; raw.len()];
        self.engine.network().effective(raw, &mut eff);
        let loss = self
            .engine
            .evaluate(&eff, x, labels, rows, None)
            .map_or(f64::NAN, |r| r.loss);
        let mut scratch = vec![0.0; raw.len()];
        loss + self
            .regularizer
            .apply(&self.engine.network().layout, raw, &mut scratch)
    }

    fn gradient(
        &mut self,
        raw: &[f64],
        x: ndarray::ArrayView2<f64>,
        labels: &[usize],
        rows: &[usize],
    ) -> Vec<f64> {
        let mut eff = vec![0.0; raw.len()];
        self.engine.network().effective(raw, &mut eff);
        let mut grad_eff = vec![0.0; raw.len()];
        if self
            .engine
            .evaluate(&eff, x, labels, rows, Some(&mut grad_eff))
            .is_err()
        {
            return vec![f64::NAN; raw.len()];
        }
        let mut grad = vec![0.0; raw.len()];
        self.engine.network().pullback(raw, &grad_eff, &mut grad);
        self.regularizer
            .apply(&self.engine.network().layout, raw, &mut grad);
        grad
    }
}

/// Compares the gradient methods on the session's model at its current parameters (the
/// checkpoint's, or the initial ones); `experiment` names it in the report. The backward OTD
/// solve uses the integrator's own tableau when it is an explicit Runge–Kutta method, RK4
/// otherwise.
pub fn gradcheck(session: &Session, experiment: &str) -> Result<GradcheckReport, SessionError> {
    let split = session.split();
    let raw = session.params().to_vec();
    let points = split.train.len().min(MAX_POINTS);
    let rows: Vec<usize> = (0..points).collect();
    let (x, labels) = (split.train.x.view(), &split.train.labels);
    let backward_tableau = match &session.network().integrator {
        Integrator::Explicit(tableau) => tableau.clone(),
        _ => Tableau::rk4(),
    };
    let objective_for = |gradient: Gradient| -> Result<Objective, SessionError> {
        let mut network = session.network().clone();
        network.gradient = gradient;
        Ok(Objective {
            engine: Engine::new(network, 1).map_err(|e| SessionError::Threads {
                threads: 1,
                message: e.to_string(),
            })?,
            regularizer: session.training().regularizer,
        })
    };
    let mut dto = objective_for(Gradient::Dto)?;
    let g_dto = dto.gradient(&raw, x, labels, &rows);
    let g_partner = objective_for(Gradient::Partner)?.gradient(&raw, x, labels, &rows);
    let mut backward = objective_for(Gradient::Backward(backward_tableau))?;
    let backward_method = backward.engine.network().gradient.name();
    let g_backward = backward.gradient(&raw, x, labels, &rows);
    let g_fd: Vec<f64> = (0..raw.len())
        .map(|i| {
            let eps = 1e-6 * raw[i].abs().max(1.0);
            let mut trial = raw.clone();
            trial[i] = raw[i] + eps;
            let plus = dto.value(&trial, x, labels, &rows);
            trial[i] = raw[i] - eps;
            let minus = dto.value(&trial, x, labels, &rows);
            (plus - minus) / (2.0 * eps)
        })
        .collect();
    let compare = |name: &str, r: std::ops::Range<usize>| BlockComparison {
        name: name.into(),
        entries: r.len(),
        dto_norm: g_dto[r.clone()].iter().map(|g| g * g).sum::<f64>().sqrt(),
        partner_vs_dto: relative(&g_partner[r.clone()], &g_dto[r.clone()]),
        backward_vs_dto: relative(&g_backward[r.clone()], &g_dto[r.clone()]),
        dto_vs_finite_differences: relative(&g_dto[r.clone()], &g_fd[r]),
    };
    let layout = &dto.engine.network().layout;
    let blocks = layout
        .blocks()
        .iter()
        .map(|b| compare(b.name, b.range()))
        .collect();
    let total = compare("all", 0..raw.len());
    let objective = dto.value(&raw, x, labels, &rows);
    Ok(GradcheckReport {
        experiment: experiment.to_owned(),
        points,
        backward_method,
        objective,
        blocks,
        total,
    })
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: gradient of the training objective ({:.6e}) on {} training points",
            self.experiment, self.objective, self.points
        )?;
        writeln!(
            f,
            "relative differences ‖g − g_ref‖/‖g_ref‖ per block; backward OTD uses {}",
            self.backward_method
        )?;
        writeln!(
            f,
            "{:<10} {:>8} {:>12} {:>14} {:>14} {:>14}",
            "block", "entries", "‖g_DTO‖", "partner/DTO", "backward/DTO", "DTO/FD"
        )?;
        for b in self.blocks.iter().chain(std::iter::once(&self.total)) {
            writeln!(
                f,
                "{:<10} {:>8} {:>12.4e} {:>14.3e} {:>14.3e} {:>14.3e}",
                b.name,
                b.entries,
                b.dto_norm,
                b.partner_vs_dto,
                b.backward_vs_dto,
                b.dto_vs_finite_differences
            )?;
        }
        Ok(())
    }
}

//! Splitting methods for separable Hamiltonian fields: symplectic Euler A/B, Störmer–Verlet.
//!
//! Tape of one step: for each sub-step, a slot for its input half-state (`z` for a kick, `p` for
//! a drift, `d·n`) followed by the record of the part at that input. An input that equals a half
//! of the step's start `y0` (nothing changed it before) or end `y1` (nothing changes it after) is
//! read from there and its slot is left unwritten: only Störmer–Verlet's drift keeps its input
//! `p` at the half step in the tape, where the first kick writes it.

use super::{Splitting, StepContext};
use crate::model::field::{Role, copy_unwritten_halves};
use crate::model::params::LayerGrad;

/// Where a sub-step's input half-state lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// In the step's start `y0`.
    Start,
    /// In the step's end `y1`.
    End,
    /// In the tape.
    Tape,
}

/// The source of sub-step `idx`'s input: a kick reads `z`, which only drifts change, and a
/// drift reads `p`, which only kicks change.
fn source(substeps: &[(Role, f64)], idx: usize) -> Source {
    let role = substeps[idx].0;
    let changes = |&(other, _): &(Role, f64)| other != role;
    if !substeps[..idx].iter().any(changes) {
        Source::Start
    } else if !substeps[idx + 1..].iter().any(changes) {
        Source::End
    } else {
        Source::Tape
    }
}

/// Where a half of the state holds its current value during a forward step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// In the step's start `y0` (not changed yet).
    Start,
    /// In the step's end `y1`.
    End,
    /// In the tape slot of the given sub-step.
    Slot(usize),
}

/// Where sub-step `idx` writes its output half: straight into the slot of the next sub-step
/// when that one reads the half from the tape (Störmer–Verlet's first kick writes `p` at the
/// half step into the drift's slot, so it is never copied there), otherwise into `y1`.
fn destination(substeps: &[(Role, f64)], idx: usize) -> At {
    let role = substeps[idx].0;
    match substeps.get(idx + 1) {
        Some(&(next, _)) if next != role && source(substeps, idx + 1) == Source::Tape => {
            At::Slot(idx + 1)
        }
        _ => At::End,
    }
}

/// Applies the sub-steps: a kick `p += c h K(z)`, a drift `z += c h D(p)`.
pub(super) fn forward(
    s: Splitting,
    cx: StepContext<'_>,
    y0: &[f64],
    y1: &mut [f64],
    tape: &mut [f64],
) {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let d = field.width;
    let len = d * n;
    let stride = len + field.record_len(n);
    let half = |row: usize| row * n..(row + d) * n;
    // Where each half's current value is: until a sub-step writes a half it is y0's, read from
    // there (and the first write adds onto y0's half), so y0 is never copied.
    let mut at = [At::Start; 2];
    let substeps = s.substeps();
    for (idx, &(role, frac)) in substeps.iter().enumerate() {
        let part = field.part(role);
        let (input, output) = (part.input / d, part.output / d);
        let dest = destination(substeps, idx);
        let (before, rest) = tape.split_at_mut(idx * stride);
        let (this, after) = rest.split_at_mut(stride);
        let (slot, record) = this.split_at_mut(len);
        let (y1_input, y1_output) = halves(y1, part.input, part.output, len);
        let slot_of = |j: usize| &before[j * stride..][..len];
        let x: &[f64] = match at[input] {
            At::Slot(j) if j == idx => slot,
            now => {
                let current = match now {
                    At::Start => &y0[half(part.input)],
                    At::End => &*y1_input,
                    At::Slot(j) => slot_of(j),
                };
                if source(substeps, idx) == Source::Tape {
                    slot.copy_from_slice(current);
                    slot
                } else {
                    current
                }
            }
        };
        let (out, base): (&mut [f64], Option<&[f64]>) = match (dest, at[output]) {
            (At::Slot(k), now) => (
                &mut after[(k - idx - 1) * stride..][..len],
                Some(match now {
                    At::Start => &y0[half(part.output)],
                    At::End => &*y1_output,
                    At::Slot(j) => slot_of(j),
                }),
            ),
            (_, At::Start) => (y1_output, Some(&y0[half(part.output)])),
            (_, At::End) => (y1_output, None),
            (_, At::Slot(j)) => (y1_output, Some(slot_of(j))),
        };
        field.part_eval_add(
            &part,
            theta,
            x,
            n,
            frac * h,
            base,
            out,
            record,
            &mut scratch.v1,
        );
        at[output] = dest;
    }
    debug_assert!(!at.iter().any(|a| matches!(a, At::Slot(_))));
    copy_unwritten_halves(
        at.map(|a| a == At::End),
        len,
        y0,
        &mut y1[..field.state_dim() * n],
    );
}

/// The disjoint half-blocks `(rows from input, rows from output)` of a state `y`, `len` each.
fn halves(y: &mut [f64], input: usize, output: usize, len: usize) -> (&mut [f64], &mut [f64]) {
    let (first, second) = y.split_at_mut(len);
    let second = &mut second[..len];
    if input < output {
        (first, second)
    } else {
        (second, first)
    }
}

/// Reverse mode: the sub-steps in reverse order, each `λ_in += c h (∂part/∂x)ᵀ λ_out`.
pub(super) fn backward(
    s: Splitting,
    cx: StepContext<'_>,
    (y0, y1): (&[f64], &[f64]),
    tape: &[f64],
    lambda1: &[f64],
    lambda0: &mut [f64],
    grad: &mut LayerGrad,
) {
    let StepContext {
        field,
        theta,
        h,
        n,
        scratch,
    } = cx;
    let d = field.width;
    let stride = d * n + field.record_len(n);
    let half = |row: usize| row * n..(row + d) * n;
    // As in the forward step: until a sub-step writes a half of λ₀, its value is λ₁'s, read from
    // there, and the first write adds onto λ₁'s half, so λ₁ is never copied.
    let mut written = [false; 2];
    let substeps = s.substeps();
    for (idx, &(role, frac)) in substeps.iter().enumerate().rev() {
        let part = field.part(role);
        let (slot, record) = tape[idx * stride..(idx + 1) * stride].split_at(d * n);
        let rows = half(part.input);
        let x = match source(substeps, idx) {
            Source::Start => &y0[rows.clone()],
            Source::End => &y1[rows.clone()],
            Source::Tape => slot,
        };
        let (dx, lambda0_v) = halves(lambda0, part.input, part.output, d * n);
        let v: &[f64] = if written[part.output / d] {
            lambda0_v
        } else {
            &lambda1[half(part.output)]
        };
        let base = (!written[part.input / d]).then(|| &lambda1[rows]);
        field.part_vjp(
            &part,
            theta,
            x,
            record,
            v,
            n,
            frac * h,
            Some(dx),
            base,
            Some(grad),
            &mut scratch.field,
        );
        written[part.input / d] = true;
    }
    copy_unwritten_halves(
        written,
        d * n,
        lambda1,
        &mut lambda0[..field.state_dim() * n],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(substeps, i)` for every sub-step of `s`.
    fn per_substep<T>(s: Splitting, f: fn(&[(Role, f64)], usize) -> T) -> Vec<T> {
        (0..s.substeps().len())
            .map(|i| f(s.substeps(), i))
            .collect()
    }

    #[test]
    fn only_verlets_drift_needs_a_copy() {
        use Source::{End, Start, Tape};
        let sources = |s| per_substep(s, source);
        assert_eq!(sources(Splitting::SymplecticEulerA), [Start, End]);
        assert_eq!(sources(Splitting::SymplecticEulerB), [Start, End]);
        assert_eq!(sources(Splitting::StormerVerlet), [Start, Tape, End]);
    }

    #[test]
    fn only_verlets_first_kick_writes_into_the_tape() {
        let destinations = |s| per_substep(s, destination);
        assert_eq!(
            destinations(Splitting::SymplecticEulerA),
            [At::End, At::End]
        );
        assert_eq!(
            destinations(Splitting::SymplecticEulerB),
            [At::End, At::End]
        );
        assert_eq!(
            destinations(Splitting::StormerVerlet),
            [At::Slot(1), At::End, At::End]
        );
    }
}

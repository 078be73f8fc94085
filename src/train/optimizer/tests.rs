// Reference values are pasted as torch prints them, to be found again by search.
#![allow(clippy::unreadable_literal)]

use super::*;

fn adam(lr: f64) -> OptimizerSpec {
    OptimizerSpec::Adam {
        lr,
        beta1: default_beta1(),
        beta2: default_beta2(),
        eps: default_eps(),
    }
}

fn armijo() -> OptimizerSpec {
    OptimizerSpec::Armijo {
        initial_step: default_initial_step(),
        shrink: default_shrink(),
        c: default_armijo_c(),
        grow: default_grow(),
        max_backtracks: default_max_backtracks(),
    }
}

/// For SGD and Adam: fails the test if the optimiser evaluates the objective.
fn no_objective(_: &[f64]) -> Option<f64> {
    panic!("SGD and Adam must not evaluate the objective")
}

/// `½ Σ a_i θ_i²` and its gradient `a_i θ_i`, written as torch evaluates `p * a`.
fn quadratic(a: &[f64], params: &[f64]) -> (f64, Vec<f64>) {
    let loss = 0.5 * a.iter().zip(params).map(|(a, p)| a * p * p).sum::<f64>();
    let grad = params.iter().zip(a).map(|(p, a)| p * a).collect();
    (loss, grad)
}

/// Rosenbrock's function (1 − x)² + 100 (y − x²)² and its gradient.
fn rosenbrock(p: &[f64]) -> (f64, Vec<f64>) {
    let (x, y) = (p[0], p[1]);
    let loss = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
    let grad = vec![
        -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
        200.0 * (y - x * x),
    ];
    (loss, grad)
}

/// Steps `spec` on Rosenbrock's function `n` times; returns the losses before each step.
fn run_rosenbrock(
    spec: &OptimizerSpec,
    state: &mut OptimizerState,
    params: &mut [f64],
    n: usize,
) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let (loss, grad) = rosenbrock(params);
            let mut objective = |p: &[f64]| Some(rosenbrock(p).0).filter(|f| f.is_finite());
            step(spec, state, params, &grad, loss, &mut objective).expect("step");
            loss
        })
        .collect()
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn adam_converges_on_an_ill_conditioned_quadratic() {
    let a = [1.0, 10.0, 100.0];
    let spec = adam(0.05);
    let mut state = spec.init_state(3);
    let mut params = vec![1.0, -1.0, 0.5];
    let initial = quadratic(&a, &params).0;
    for _ in 0..2000 {
        let (loss, grad) = quadratic(&a, &params);
        let info = step(
            &spec,
            &mut state,
            &mut params,
            &grad,
            loss,
            &mut no_objective,
        )
        .expect("step");
        assert_eq!(info.step_size.to_bits(), 0.05_f64.to_bits());
        assert_eq!(info.evaluations, 0);
    }
    let last = quadratic(&a, &params).0;
    assert!(last < initial * 1e-6, "loss {initial} -> {last}");
    assert!(matches!(state, OptimizerState::Adam { t: 2000, .. }));
}

#[test]
fn adam_first_step_moves_each_parameter_by_the_learning_rate() {
    // Step 1 of Adam: m̂ = g, v̂ = g², so θ ← θ − lr·g/(|g| + eps) = θ − lr·sign(g) (1 − eps/|g|).
    let spec = adam(0.1);
    let mut state = spec.init_state(2);
    let mut params = vec![1.0, -0.5];
    let grad = [1.0, -5.0];
    step(
        &spec,
        &mut state,
        &mut params,
        &grad,
        0.0,
        &mut no_objective,
    )
    .expect("step");
    let expected = [1.0 - 0.1 * (1.0 - 1e-8), -0.5 + 0.1 * (1.0 - 1e-8 / 5.0)];
    for (p, e) in params.iter().zip(expected) {
        assert!((p - e).abs() <= 1e-15, "{p} vs {e}");
    }
}

#[test]
fn adam_matches_torch_bit_for_bit_on_a_two_parameter_problem() {
    // torch 2.15 (x86-64, float64): θ = tensor([1.0, -0.5]); opt = torch.optim.Adam([θ], lr=0.1);
    // six times: θ.grad = θ * tensor([1.0, 10.0]); opt.step(); print(repr(...)).
    let torch = [
        [0.900000001, -0.4000000002],
        [0.8004122297123382, -0.30118742000198795],
        [0.701586274504415, -0.20487125001697837],
        [0.603939062682108, -0.11291539479019277],
        [0.507963661927221, -0.027814447242501525],
        [0.41423645920501484, 0.04743152663504065],
    ];
    let a = [1.0, 10.0];
    let spec = adam(0.1);
    let mut state = spec.init_state(2);
    let mut params = vec![1.0, -0.5];
    for expected in torch {
        let (loss, grad) = quadratic(&a, &params);
        step(
            &spec,
            &mut state,
            &mut params,
            &grad,
            loss,
            &mut no_objective,
        )
        .expect("step");
        assert_eq!(
            bits(&params),
            bits(&expected),
            "{params:?} vs torch {expected:?}"
        );
    }
}

#[test]
fn adam_moments_follow_torchs_fused_kernels() {
    // torch 2.15: θ = tensor([0.5, -0.25]); opt = torch.optim.Adam([θ], lr=0.01);
    // opt.state[θ] = {step: 9, exp_avg: [0.343, -0.111], exp_avg_sq: [0.25, 0.5]};
    // θ.grad = tensor([-0.872, 0.871]); opt.step(). torch's lerp is one fused multiply-add: the
    // unfused m + w (g − m) would end in 0.22150000000000003 and -0.01280000000000002.
    let spec = adam(0.01);
    let mut state = OptimizerState::Adam {
        m: vec![0.343, -0.111],
        v: vec![0.25, 0.5],
        t: 9,
    };
    let mut params = vec![0.5, -0.25];
    step(
        &spec,
        &mut state,
        &mut params,
        &[-0.872, 0.871],
        0.0,
        &mut no_objective,
    )
    .expect("step");
    let OptimizerState::Adam { m, v, t } = &state else {
        unreachable!()
    };
    assert_eq!(bits(m), bits(&[0.22150000000000006, -0.012800000000000025]));
    assert_eq!(bits(v), bits(&[0.250510384, 0.500258641]));
    assert_eq!(*t, 10);
    assert_eq!(
        bits(&params),
        bits(&[0.49932206406622287, -0.24997227698497382])
    );
}

#[test]
fn adam_uses_pow_not_sqrt_for_the_bias_correction_as_python_does() {
    // At t = 1270 with β2 = 0.999, (1 − β2^t) ** 0.5 and sqrt(1 − β2^t) differ in the last bit.
    let bias_correction2: f64 = 1.0 - 0.999_f64.powf(1270.0);
    let by_pow = bias_correction2.powf(std::hint::black_box(0.5));
    assert_ne!(by_pow.to_bits(), bias_correction2.sqrt().to_bits());
    // torch 2.15: θ = tensor([0.0]); opt = torch.optim.Adam([θ], lr=1.0);
    // opt.state[θ] = {step: 1269, exp_avg: [1.0], exp_avg_sq: [1.0]}; θ.grad = tensor([1.0]);
    // opt.step() gives -0.8481431225867241 (with sqrt: -0.8481431225867239).
    let spec = adam(1.0);
    let mut state = OptimizerState::Adam {
        m: vec![1.0],
        v: vec![1.0],
        t: 1269,
    };
    let mut params = vec![0.0];
    step(
        &spec,
        &mut state,
        &mut params,
        &[1.0],
        0.0,
        &mut no_objective,
    )
    .expect("step");
    assert_eq!(params[0].to_bits(), (-0.8481431225867241_f64).to_bits());
}

#[test]
fn sgd_momentum_matches_a_hand_computed_sequence() {
    // lr = 1/4, momentum = 1/2, gradients θ and 2θ: every number is a short binary fraction, so
    // the sequence is exact. buf ← ½ buf + g, θ ← θ − ¼ buf, starting from buf = g.
    let spec = OptimizerSpec::Sgd {
        lr: 0.25,
        momentum: 0.5,
    };
    let mut state = spec.init_state(2);
    let mut params = vec![1.0, -1.0];
    let expected = [
        ([0.75, -0.5], [1.0, -2.0]),
        ([0.4375, 0.0], [1.25, -2.0]),
        ([0.171_875, 0.25], [1.0625, -1.0]),
        ([-0.003_906_25, 0.25], [0.703_125, 0.0]),
    ];
    for (theta, buf) in expected {
        let grad = [params[0], 2.0 * params[1]];
        step(
            &spec,
            &mut state,
            &mut params,
            &grad,
            0.0,
            &mut no_objective,
        )
        .expect("step");
        assert_eq!(params, theta);
        assert_eq!(
            state,
            OptimizerState::Sgd {
                velocity: buf.to_vec()
            }
        );
    }
}

#[test]
fn sgd_matches_torch_bit_for_bit() {
    // torch 2.15: θ = tensor([1.0, -0.5]); torch.optim.SGD([θ], lr=0.1, momentum=0.9);
    // four times: θ.grad = θ * tensor([1.0, 10.0]); opt.step().
    let torch = [
        [0.9, 2.7755575615628914e-17],
        [0.72, 0.45000000000000007],
        [0.486, 0.40499999999999997],
        [0.2268, -0.04050000000000015],
    ];
    let spec = OptimizerSpec::Sgd {
        lr: 0.1,
        momentum: 0.9,
    };
    let mut state = spec.init_state(2);
    let mut params = vec![1.0, -0.5];
    for expected in torch {
        let (loss, grad) = quadratic(&[1.0, 10.0], &params);
        step(
            &spec,
            &mut state,
            &mut params,
            &grad,
            loss,
            &mut no_objective,
        )
        .expect("step");
        assert_eq!(
            bits(&params),
            bits(&expected),
            "{params:?} vs torch {expected:?}"
        );
    }
}

#[test]
fn armijo_decreases_rosenbrock_with_sufficient_decrease_at_every_step() {
    let spec = armijo();
    let OptimizerSpec::Armijo { c, .. } = spec else {
        unreachable!()
    };
    let mut state = spec.init_state(2);
    let mut params = vec![-1.2, 1.0];
    let initial = rosenbrock(&params).0;
    for _ in 0..500 {
        let (loss, grad) = rosenbrock(&params);
        let grad_norm_sq: f64 = grad.iter().map(|g| g * g).sum();
        let before = params.clone();
        let mut calls = 0;
        let mut objective = |p: &[f64]| {
            calls += 1;
            Some(rosenbrock(p).0)
        };
        let info = step(&spec, &mut state, &mut params, &grad, loss, &mut objective).expect("step");
        assert_eq!(info.evaluations, calls);
        let t = info.step_size;
        let after = rosenbrock(&params).0;
        assert_eq!(info.objective_after, Some(after));
        assert!(after < loss, "not monotone: {loss} -> {after}");
        assert!(
            after <= loss - c * t * grad_norm_sq,
            "no sufficient decrease"
        );
        for ((p, b), g) in params.iter().zip(&before).zip(&grad) {
            assert_eq!(p.to_bits(), (b - t * g).to_bits());
        }
        assert_eq!(state, OptimizerState::Armijo { step: 2.0 * t });
    }
    let last = rosenbrock(&params).0;
    assert!(last < initial * 1e-2, "loss {initial} -> {last}");
}

#[test]
fn armijo_fails_cleanly_when_the_objective_never_decreases() {
    let spec = OptimizerSpec::Armijo {
        initial_step: 1.0,
        shrink: 0.5,
        c: 1e-4,
        grow: 2.0,
        max_backtracks: 10,
    };
    // Always above the loss (1.0), or never finite.
    for never_lower in [Some(2.0), None] {
        let mut state = spec.init_state(2);
        let mut params = vec![1.0, 2.0];
        let mut calls = 0;
        let result = step(
            &spec,
            &mut state,
            &mut params,
            &[0.5, -0.5],
            1.0,
            &mut |_| {
                calls += 1;
                never_lower
            },
        );
        assert_eq!(
            result,
            Err(OptimizerError::LineSearchFailed {
                backtracks: 10,
                step: 0.5_f64.powi(10)
            })
        );
        assert_eq!(calls, 11);
        assert_eq!(params, [1.0, 2.0]);
        assert_eq!(state, spec.init_state(2));
    }
}

#[test]
fn armijo_stops_backtracking_when_the_step_underflows() {
    let spec = OptimizerSpec::Armijo {
        initial_step: 1e-300,
        shrink: 1e-10,
        c: 0.5,
        grow: 2.0,
        max_backtracks: 1000,
    };
    let mut state = spec.init_state(1);
    let mut params = vec![1.0];
    let result = step(&spec, &mut state, &mut params, &[1.0], 0.0, &mut |_| {
        Some(1.0)
    });
    let Err(OptimizerError::LineSearchFailed { backtracks, step }) = result else {
        panic!("{result:?}")
    };
    assert!(backtracks < 1000 && step > 0.0, "{backtracks} {step}");
}

#[test]
fn armijo_at_a_stationary_point_does_nothing() {
    let spec = armijo();
    let mut state = spec.init_state(2);
    let mut params = vec![1.0, 1.0];
    let info = step(
        &spec,
        &mut state,
        &mut params,
        &[0.0, 0.0],
        0.0,
        &mut |_| panic!("no trial is needed"),
    )
    .expect("step");
    assert_eq!(info.evaluations, 0);
    assert_eq!(params, [1.0, 1.0]);
    assert_eq!(state, spec.init_state(2));
}

#[test]
fn armijo_refuses_a_non_finite_loss() {
    let spec = armijo();
    let mut state = spec.init_state(1);
    let mut params = vec![1.0];
    let result = step(
        &spec,
        &mut state,
        &mut params,
        &[1.0],
        f64::NAN,
        &mut |_| Some(0.0),
    );
    assert_eq!(result, Err(OptimizerError::NonFinite(NonFiniteInput::Loss)));
    assert_eq!(params, [1.0]);
}

#[test]
fn a_non_finite_gradient_leaves_parameters_and_state_unchanged() {
    let specs = [
        adam(0.01),
        OptimizerSpec::Sgd {
            lr: 0.1,
            momentum: 0.9,
        },
        armijo(),
    ];
    for spec in specs {
        let mut state = spec.init_state(2);
        let mut params = vec![-1.2, 1.0];
        run_rosenbrock(&spec, &mut state, &mut params, 3);
        let (params_before, state_before) = (params.clone(), state.clone());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let result = step(
                &spec,
                &mut state,
                &mut params,
                &[0.1, bad],
                1.0,
                &mut |_| Some(0.0),
            );
            assert_eq!(
                result,
                Err(OptimizerError::NonFinite(NonFiniteInput::Gradient {
                    index: 1
                }))
            );
            assert_eq!(bits(&params), bits(&params_before));
            assert_eq!(state, state_before);
        }
    }
}

#[test]
fn check_catches_length_and_kind_mismatches() {
    let sgd = OptimizerSpec::Sgd {
        lr: 0.1,
        momentum: 0.0,
    };
    assert_eq!(adam(0.01).init_state(4).check(&adam(0.01), 4), Ok(()));
    assert_eq!(
        adam(0.01).init_state(3).check(&adam(0.01), 4),
        Err(OptimizerError::StateMismatch {
            buffer: "Adam first moment m",
            len: 3,
            n_params: 4
        })
    );
    let lopsided = OptimizerState::Adam {
        m: vec![0.0; 4],
        v: vec![0.0; 5],
        t: 1,
    };
    assert!(matches!(
        lopsided.check(&adam(0.01), 4),
        Err(OptimizerError::StateMismatch { len: 5, .. })
    ));
    assert!(matches!(
        sgd.init_state(2).check(&sgd, 3),
        Err(OptimizerError::StateMismatch { len: 2, .. })
    ));
    assert_eq!(
        adam(0.01).init_state(3).check(&sgd, 3),
        Err(OptimizerError::KindMismatch {
            spec: "SGD",
            state: "Adam"
        })
    );
    assert_eq!(
        armijo().init_state(3).check(&adam(0.01), 3),
        Err(OptimizerError::KindMismatch {
            spec: "Adam",
            state: "Armijo GD"
        })
    );
    // The message says what to do.
    let message = sgd
        .init_state(3)
        .check(&armijo(), 3)
        .expect_err("kinds differ")
        .to_string();
    assert!(
        message.contains("SGD") && message.contains("Armijo GD"),
        "{message}"
    );
}

#[test]
fn check_accepts_empty_buffers_as_a_fresh_state() {
    let fresh = OptimizerState::Adam {
        m: vec![],
        v: vec![],
        t: 0,
    };
    assert_eq!(fresh.check(&adam(0.01), 5), Ok(()));
    let stale = OptimizerState::Adam {
        m: vec![],
        v: vec![],
        t: 7,
    };
    assert!(matches!(
        stale.check(&adam(0.01), 5),
        Err(OptimizerError::InvalidState(_))
    ));

    // A fresh state with empty buffers steps exactly as `init_state`'s zeros.
    let spec = adam(0.01);
    let (mut a, mut b) = (fresh, spec.init_state(2));
    let (mut pa, mut pb) = (vec![-1.2, 1.0], vec![-1.2, 1.0]);
    run_rosenbrock(&spec, &mut a, &mut pa, 5);
    run_rosenbrock(&spec, &mut b, &mut pb, 5);
    assert_eq!((bits(&pa), a), (bits(&pb), b));
}

#[test]
fn check_catches_damaged_values() {
    let damaged = [
        OptimizerState::Adam {
            m: vec![0.0, f64::NAN],
            v: vec![0.0; 2],
            t: 1,
        },
        OptimizerState::Adam {
            m: vec![0.0; 2],
            v: vec![0.0, -1.0],
            t: 1,
        },
    ];
    for state in damaged {
        assert!(matches!(
            state.check(&adam(0.01), 2),
            Err(OptimizerError::InvalidState(_))
        ));
    }
    for step_value in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let state = OptimizerState::Armijo { step: step_value };
        assert!(matches!(
            state.check(&armijo(), 2),
            Err(OptimizerError::InvalidState(_))
        ));
    }
}

#[test]
fn step_refuses_a_mismatched_state_or_gradient() {
    let spec = adam(0.01);
    let mut params = vec![1.0, 2.0];
    let mut state = spec.init_state(3);
    assert!(matches!(
        step(
            &spec,
            &mut state,
            &mut params,
            &[0.1, 0.1],
            0.0,
            &mut no_objective
        ),
        Err(OptimizerError::StateMismatch { .. })
    ));
    let mut state = armijo().init_state(2);
    assert!(matches!(
        step(
            &spec,
            &mut state,
            &mut params,
            &[0.1, 0.1],
            0.0,
            &mut no_objective
        ),
        Err(OptimizerError::KindMismatch { .. })
    ));
    let mut state = spec.init_state(2);
    assert_eq!(
        step(
            &spec,
            &mut state,
            &mut params,
            &[0.1],
            0.0,
            &mut no_objective
        ),
        Err(OptimizerError::GradientLength { grad: 1, params: 2 })
    );
    assert_eq!(params, [1.0, 2.0]);
    assert_eq!(state, spec.init_state(2));
}

#[test]
fn problems_flags_each_invalid_setting() {
    let valid = [
        adam(0.01),
        OptimizerSpec::Sgd {
            lr: 0.1,
            momentum: 0.0,
        },
        armijo(),
    ];
    for spec in &valid {
        assert!(
            spec.problems().is_empty(),
            "{spec:?}: {:?}",
            spec.problems()
        );
    }
    let cases: Vec<(OptimizerSpec, &str)> = vec![
        (sgd_with(0.0, 0.9), "lr"),
        (sgd_with(-0.1, 0.9), "lr"),
        (sgd_with(f64::NAN, 0.9), "lr"),
        (sgd_with(f64::INFINITY, 0.9), "lr"),
        (sgd_with(0.1, 1.0), "momentum"),
        (sgd_with(0.1, -0.1), "momentum"),
        (sgd_with(0.1, f64::NAN), "momentum"),
        (adam_with(|lr, _, _, _| *lr = 0.0), "lr"),
        (adam_with(|_, beta1, _, _| *beta1 = 1.0), "beta1"),
        (adam_with(|_, beta1, _, _| *beta1 = -0.5), "beta1"),
        (adam_with(|_, _, beta2, _| *beta2 = 1.0), "beta2"),
        (adam_with(|_, _, beta2, _| *beta2 = f64::NAN), "beta2"),
        (adam_with(|_, _, _, eps| *eps = 0.0), "eps"),
        (adam_with(|_, _, _, eps| *eps = -1e-8), "eps"),
        (armijo_with(|s, _, _, _| *s = 0.0), "initial_step"),
        (armijo_with(|s, _, _, _| *s = f64::INFINITY), "initial_step"),
        (armijo_with(|_, shrink, _, _| *shrink = 1.0), "shrink"),
        (armijo_with(|_, shrink, _, _| *shrink = 0.0), "shrink"),
        (armijo_with(|_, _, c, _| *c = 0.0), "c"),
        (armijo_with(|_, _, c, _| *c = 1.0), "c"),
        (armijo_with(|_, _, _, grow| *grow = 0.9), "grow"),
        (armijo_with(|_, _, _, grow| *grow = f64::INFINITY), "grow"),
    ];
    for (spec, field) in cases {
        let problems = spec.problems();
        assert_eq!(problems.len(), 1, "{spec:?}: {problems:?}");
        assert!(
            problems[0].starts_with(&format!("{field} (")),
            "{problems:?}"
        );
        // The same problem stops a step, with nothing changed.
        let mut state = spec.init_state(1);
        let mut params = vec![1.0];
        let result = step(&spec, &mut state, &mut params, &[1.0], 1.0, &mut |_| {
            Some(0.0)
        });
        let Err(OptimizerError::InvalidSpec(problem)) = result else {
            panic!("{spec:?} stepped: {result:?}")
        };
        assert_eq!(problem.field, field);
        assert_eq!(params, [1.0]);
    }
    // All problems at once, in declaration order.
    let all = OptimizerSpec::Armijo {
        initial_step: 0.0,
        shrink: 2.0,
        c: 0.0,
        grow: 0.5,
        max_backtracks: 3,
    };
    let fields: Vec<String> = all
        .problems()
        .iter()
        .map(|p| p.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fields, ["initial_step", "shrink", "c", "grow"]);
    assert_eq!(
        sgd_with(-1.0, 0.9).problems(),
        ["lr (the learning rate) must be a positive finite number (got -1)"]
    );
}

fn sgd_with(lr: f64, momentum: f64) -> OptimizerSpec {
    OptimizerSpec::Sgd { lr, momentum }
}

fn adam_with(edit: impl Fn(&mut f64, &mut f64, &mut f64, &mut f64)) -> OptimizerSpec {
    let (mut lr, mut beta1, mut beta2, mut eps) = (0.01, 0.9, 0.999, 1e-8);
    edit(&mut lr, &mut beta1, &mut beta2, &mut eps);
    OptimizerSpec::Adam {
        lr,
        beta1,
        beta2,
        eps,
    }
}

fn armijo_with(edit: impl Fn(&mut f64, &mut f64, &mut f64, &mut f64)) -> OptimizerSpec {
    let (mut initial_step, mut shrink, mut c, mut grow) = (1.0, 0.5, 1e-4, 2.0);
    edit(&mut initial_step, &mut shrink, &mut c, &mut grow);
    OptimizerSpec::Armijo {
        initial_step,
        shrink,
        c,
        grow,
        max_backtracks: 40,
    }
}

#[test]
fn resuming_from_a_cloned_or_reloaded_state_is_bit_identical() {
    let specs = [
        adam(0.01),
        OptimizerSpec::Sgd {
            lr: 1e-3,
            momentum: 0.9,
        },
        armijo(),
    ];
    let n = 40;
    for spec in specs {
        let start = vec![-1.2, 1.0];

        let mut state = spec.init_state(2);
        let mut params = start.clone();
        let straight = run_rosenbrock(&spec, &mut state, &mut params, 2 * n);

        let mut first_state = spec.init_state(2);
        let mut resumed = start.clone();
        let mut losses = run_rosenbrock(&spec, &mut first_state, &mut resumed, n);
        let mut cloned = first_state.clone();
        let mut via_ron = resumed.clone();
        let mut reloaded: OptimizerState =
            ron::from_str(&ron::to_string(&first_state).expect("serialise")).expect("deserialise");
        assert_eq!(reloaded, first_state);
        let mut reloaded_losses = losses.clone();
        losses.extend(run_rosenbrock(&spec, &mut cloned, &mut resumed, n));
        reloaded_losses.extend(run_rosenbrock(&spec, &mut reloaded, &mut via_ron, n));

        assert_eq!(bits(&losses), bits(&straight), "{spec:?}");
        assert_eq!(bits(&reloaded_losses), bits(&straight), "{spec:?}");
        assert_eq!(bits(&resumed), bits(&params), "{spec:?}");
        assert_eq!(bits(&via_ron), bits(&params), "{spec:?}");
        assert_eq!(cloned, state);
        assert_eq!(reloaded, state);
    }
}

#[test]
fn the_serialised_shape_is_unchanged() {
    let state = OptimizerState::Adam {
        m: vec![0.5],
        v: vec![0.25],
        t: 3,
    };
    assert_eq!(
        ron::to_string(&state).expect("serialise"),
        "Adam(m:[0.5],v:[0.25],t:3)"
    );
    let spec: OptimizerSpec = ron::from_str("Armijo()").expect("defaults");
    assert_eq!(spec, armijo());
    let spec: OptimizerSpec = ron::from_str("Sgd(lr: 0.1)").expect("defaults");
    assert_eq!(
        spec,
        OptimizerSpec::Sgd {
            lr: 0.1,
            momentum: 0.0
        }
    );
}

#[test]
fn names_and_needs() {
    assert_eq!(adam(0.1).name(), "Adam");
    assert_eq!(sgd_with(0.1, 0.0).name(), "SGD");
    assert_eq!(armijo().name(), "Armijo GD");
    assert!(armijo().needs_objective());
    assert!(!adam(0.1).needs_objective());
    assert!(!sgd_with(0.1, 0.5).needs_objective());
    for spec in [adam(0.1), sgd_with(0.1, 0.5), armijo()] {
        assert_eq!(spec.init_state(0).name(), spec.name());
        assert_eq!(spec.init_state(7).check(&spec, 7), Ok(()));
    }
}

//! SGD and Adam computed as torch computes them on the CPU, operation by operation, so a
//! flowlab run follows a torch run on the same problem to rounding.

/// `torch.optim.SGD` (no dampening, no Nesterov): `buf ← momentum·buf + g`, then
/// `θ ← θ − lr·buf`. Torch starts with `buf = g`, which a zero buffer reproduces exactly.
pub(super) fn sgd(
    lr: f64,
    momentum: f64,
    velocity: &mut Vec<f64>,
    params: &mut [f64],
    grad: &[f64],
) {
    if velocity.is_empty() {
        velocity.resize(params.len(), 0.0);
    }
    for ((p, buf), &g) in params.iter_mut().zip(velocity.iter_mut()).zip(grad) {
        *buf = momentum * *buf + g;
        // `param.add_(buf, alpha=-lr)`: torch's CPU kernel is a fused multiply-add
        // (`vec::fmadd(other, alpha, self)` in aten/src/ATen/native/ufunc/add.h).
        *p = (-lr).mul_add(*buf, *p);
    }
}

/// `torch.optim.Adam`, the single-tensor path torch takes on the CPU
/// (`_single_tensor_adam`, torch 2.x), in its order of operations:
///
/// ```text
/// m.lerp_(g, 1 − β1);  v.mul_(β2).addcmul_(g, g, value = 1 − β2)
/// step_size = lr / (1 − β1^t);  denom = √v / (1 − β2^t)**0.5 + eps
/// θ.addcdiv_(m, denom, value = −step_size)
/// ```
///
/// The scalars are computed as Python computes them (`**` is libm `pow`) and the two
/// multiply-adds fused as torch's kernels fuse them, so m and v follow torch bit for bit. θ does
/// too except where torch's √v is not correctly rounded (one ulp off for about 1 value in 80 in
/// torch 2.15's x86-64 build), where θ's update differs in its last bit.
pub(super) fn adam(
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: &mut Vec<f64>,
    v: &mut Vec<f64>,
    t: &mut u64,
    params: &mut [f64],
    grad: &[f64],
) {
    if m.is_empty() {
        m.resize(params.len(), 0.0);
        v.resize(params.len(), 0.0);
    }
    *t += 1;
    let step_count = *t as f64;
    let bias_correction1 = 1.0 - beta1.powf(step_count);
    let bias_correction2 = 1.0 - beta2.powf(step_count);
    let step_size = lr / bias_correction1;
    // Python's `bias_correction2 ** 0.5` is libm's pow, which rounds differently from sqrt for
    // about 1 argument in 700; black_box keeps LLVM from rewriting pow(x, 0.5) into sqrt.
    let bias_correction2_sqrt = bias_correction2.powf(std::hint::black_box(0.5));
    let weight1 = 1.0 - beta1;
    let weight2 = 1.0 - beta2;
    for (((p, m), v), &g) in params
        .iter_mut()
        .zip(m.iter_mut())
        .zip(v.iter_mut())
        .zip(grad)
    {
        *m = torch_lerp(*m, g, weight1);
        // `addcmul_` computes `v + (value·g)·g`; torch's compiled kernel fuses the last
        // multiply-add (observed bit for bit on torch 2.15, x86-64).
        *v = (weight2 * g).mul_add(g, beta2 * *v);
        let denom = v.sqrt() / bias_correction2_sqrt + eps;
        // `addcdiv_` computes `θ + (value·m)/denom`.
        *p += -step_size * *m / denom;
    }
}

/// `torch.lerp(start, end, weight)` as torch's CPU kernel computes it (`lerp_vec` in
/// aten/src/ATen/native/cpu/LerpKernel.cpp): one fused multiply-add from the nearer end.
fn torch_lerp(start: f64, end: f64, weight: f64) -> f64 {
    if weight.abs() < 0.5 {
        weight.mul_add(end - start, start)
    } else {
        (weight - 1.0).mul_add(end - start, end)
    }
}

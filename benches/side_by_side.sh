#!/usr/bin/env bash
# PyTorch eager and flowlab alternating on the d = 8 peer workloads, so that both sides of each
# ratio are timed within a minute of each other (on a noisy machine, separate runs of the two
# suites can drift apart by 10%). Prints one line per workload and round, then the median ratio
# of each workload.
#
#   benches/side_by_side.sh [ROUNDS] [PEERS_DIR] [PYTHON]
#
# ROUNDS defaults to 3, PEERS_DIR to ../shared/peers, PYTHON to /tmp/peers-venv/bin/python (a
# venv with numpy and torch, as `shared/peers/README.md` sets up). flowlab's figure is
# criterion's median (`cargo bench --bench train_step`), PyTorch's the median of 500 iterations.
set -euo pipefail
rounds=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$(cd "${2:-$here/../shared/peers}" && pwd)
python=${3:-/tmp/peers-venv/bin/python}
[ -x "$python" ] || { echo "no Python at $python (see shared/peers/README.md)" >&2; exit 2; }
cd "$here"
cargo bench --no-default-features --bench train_step --no-run >/dev/null 2>&1

ratios=$(mktemp)
trap 'rm -f "$ratios"' EXIT
printf '%-6s %-15s %12s %12s %8s\n' round workload 'torch (ms)' 'flowlab (ms)' ratio
for round in $(seq "$rounds"); do
  for pair in euler:W1_euler verlet:W2_verlet gradflow:W3_gradflow; do
    workload=${pair%%:*} bench=${pair##*:}_d8
    torch=$(cd "$peers" && "$python" bench_torch.py --workload "$workload" --d 8 \
        --dtype float64 --threads 1 --mode eager 2>/dev/null | tail -n 1 |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["per_iter_median_s"] * 1e3)')
    cargo bench --no-default-features --bench train_step -- "$bench" >/dev/null 2>&1
    ours=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1e6)' \
      "target/criterion/train_step/$bench/new/estimates.json")
    ratio=$(python3 -c "print(f'{$torch / $ours:.1f}')")
    printf '%-6s %-15s %12.3f %12.3f %7s×\n' "$round" "$bench" "$torch" "$ours" "$ratio"
    echo "$bench $ratio" >>"$ratios"
  done
done
python3 - "$ratios" <<'EOF'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    name, ratio = line.split()
    by.setdefault(name, []).append(float(ratio))
for name, values in by.items():
    print(f"median {name}: {statistics.median(values):.1f}× over {len(values)} rounds")
EOF

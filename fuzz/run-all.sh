#!/bin/sh
# Runs every fuzz target for RUNS executions (default one million) and prints each one's
# statistics; a crash stops that target and leaves its input in fuzz/artifacts/<target>/.
# Usage (from fuzz/): ./run-all.sh [RUNS] [TARGET...]
set -u
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=${*:-experiment csv checkpoint}
for target in $targets; do
    echo "== $target"
    cargo +nightly fuzz run -O "$target" -- -runs="$runs" -timeout=10 -print_final_stats=1 \
        2>&1 | grep -E "^stat::|panicked|^SUMMARY|Test unit written|Done "
done

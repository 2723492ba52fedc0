#!/usr/bin/env bash
# Mutation testing of the pure modules with mutmut (pinned in requirements-dev.txt; config in setup.cfg).
# Not part of CI. Prints, per module and in total, the share of mutants the fast unit tests kill.
#
#   bash scripts/mutation.sh                      # all eight modules, 2 workers
#   MUTATION_ONLY=steering bash scripts/mutation.sh   # one module (playground/steering.py) and its tests
#   MUTATION_JOBS=1 bash scripts/mutation.sh      # fewer workers
#   MUTATION_REF=HEAD bash scripts/mutation.sh    # measure a commit instead of the working tree
#
# mutmut runs in a copy of the tree under .mutation/ (a dot-folder, so `python -m pytest` never collects
# the mutants' copies of the tests). Each run starts from a fresh copy: the figures are never stale.
# Afterwards: `cd .mutation && python -m mutmut show <name>` shows one mutant's diff;
# .mutation/results.txt lists every mutant with its status.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/.mutation"
JOBS="${MUTATION_JOBS:-2}"

rm -rf "$WORK"
mkdir -p "$WORK"
if [ -n "${MUTATION_REF:-}" ]; then             # a commit, e.g. MUTATION_REF=HEAD: what was measured
  git -C "$ROOT" archive "$MUTATION_REF" playground models tests setup.cfg | tar -x -C "$WORK"
else                                            # the working tree, uncommitted edits included
  for p in playground models tests setup.cfg; do
    cp -a "$ROOT/$p" "$WORK/$p"
  done
fi
rm -rf "$WORK/tests/artifacts"
find "$WORK" -name __pycache__ -type d -prune -exec rm -rf {} +
if [ -n "${MUTATION_ONLY:-}" ]; then
  case "$MUTATION_ONLY" in
    checkpoint) src="models/checkpoint.py" ;;
    *) src="playground/$MUTATION_ONLY.py" ;;
  esac
  [ -f "$WORK/$src" ] || { echo "no module $src" >&2; exit 2; }
  python3 - "$WORK/setup.cfg" "$src" "tests/test_mut_$MUTATION_ONLY.py" <<'EOF'
import re, sys
path, src, test = sys.argv[1:]
text = open(path).read()
text = re.sub(r"only_mutate =\n(    .*\n)+", f"only_mutate =\n    {src}\n", text)
text = re.sub(r"pytest_add_cli_args_test_selection =\n(    .*\n)+",
              f"pytest_add_cli_args_test_selection =\n    {test}\n", text)
open(path, "w").write(text)
EOF
fi

cd "$WORK"
# The tests read the shipped checkpoints from the real tree; one thread per worker (2 cores here);
# no third-party pytest plugins (none is needed, and loading them costs time on every mutant).
export LATENT_PLAYGROUND_CHECKPOINTS="$ROOT/checkpoints"
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
start=$(date +%s)
if ! python3 -m mutmut run --max-children "$JOBS" > run.log 2>&1; then
  tail -c 2000 run.log | tr '\r' '\n' | tail -5
  echo "== mutmut failed; the unmutated tests in .mutation/ say:"
  python3 -m pytest -q -x -p no:cacheprovider $(sed -n '/^pytest_add_cli_args_test_selection =/,/^[^ ]/s/^    //p' setup.cfg) | tail -30
  exit 1
fi
seconds=$(( $(date +%s) - start ))
python3 -m mutmut results --all true > results.txt

python3 - "$seconds" "$JOBS" <<'EOF'
import collections, re, sys
seconds, jobs = int(sys.argv[1]), sys.argv[2]
counts = collections.defaultdict(collections.Counter)
for line in open("results.txt"):
    m = re.match(r"\s*([\w.]+)\.x[_ǁ].*?: (.+)$", line.rstrip())
    if m:
        counts[m.group(1)][m.group(2)] += 1
if not counts:
    sys.exit("no mutants found: see .mutation/run.log")
total = collections.Counter()
print(f"{'module':34} {'killed':>7} {'total':>6} {'score':>7}   other")
for mod in sorted(counts):
    c = counts[mod]
    total.update(c)
    n = sum(c.values())
    other = ", ".join(f"{v} {k}" for k, v in sorted(c.items()) if k != "killed")
    print(f"{mod:34} {c['killed']:7} {n:6} {100 * c['killed'] / n:6.1f}%   {other}")
n = sum(total.values())
other = ", ".join(f"{v} {k}" for k, v in sorted(total.items()) if k != "killed")
print(f"{'TOTAL':34} {total['killed']:7} {n:6} {100 * total['killed'] / n:6.1f}%   {other}")
print(f"(score = killed / all mutants; {seconds} s with {jobs} workers; list: .mutation/results.txt)")
EOF

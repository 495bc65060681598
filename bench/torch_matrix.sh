#!/usr/bin/env bash
# The harness against each torch release's own harness: bash bench/torch_matrix.sh 2.13.0 2.14.1 2.15.0
# or against the torch of an environment you already have (your own build, say), without a venv:
#   PYTHON=/path/to/env/bin/python bash bench/torch_matrix.sh
#
# Per release: a venv ($VENVS/t<digits>, VENVS defaulting to a folder under the temp dir; reused
# when present, else created: torch from the machine's disk through plain pip, except releases the
# pip configuration's constraints cap (2.15.0+), which are installed with PIP_CONFIG_FILE=/dev/null
# and pip's global cert), the harness installed into it (--no-deps -e), the seed module on CPU
# ranks, and the conformance suite (the oracle is the release's recording,
# tests/fixtures/oracle/torch-<release>.json, or a live run of torch's harness where there is none).
# With PYTHON: that interpreter and its torch as they are; nothing is installed into it (the
# harness comes from this checkout through PYTHONPATH); it needs pytest, junitparser and expecttest.
# One line per release on stdout; each step's full output is kept under $LOGS (default a temp dir).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
venvs=${VENVS:-${TMPDIR:-/tmp}/testing-venvs}
seed=test/distributed/fsdp/test_fsdp_dtensor_state_dict.py
suite=(tests/test_conformance.py tests/test_differences.py tests/test_upstream_files.py)
deps=(expecttest==0.3.0 numpy==2.4.6 pytest==9.0.3 junitparser==5.0.3)

python=${PYTHON:-}
if [ -n "$python" ] && [ $# -gt 0 ]; then
  echo "usage: PYTHON=... bash bench/torch_matrix.sh takes no RELEASE (it checks that interpreter's torch)" >&2
  exit 2
fi
if [ -n "$python" ] && ! "$python" -c "import torch" >/dev/null 2>&1; then
  echo "torch_matrix.sh: PYTHON=$python cannot import torch" >&2
  exit 2
fi
if [ -z "$python" ] && [ $# -eq 0 ]; then
  echo "usage: bash bench/torch_matrix.sh RELEASE... (e.g. 2.13.0 2.14.1 2.15.0), or PYTHON=/path/to/python bash bench/torch_matrix.sh" >&2
  exit 2
fi

# releases above the pip configuration's torch cap need pip without that configuration
capped() {  # RELEASE -> status 0 when pip's constraints forbid it
  local cap
  cap=$(sed -n 's/^torch<=\([0-9.]*\).*/\1/p' /etc/xdg/pip/constraints.txt 2>/dev/null | head -1)
  [ -n "$cap" ] && [ "$(printf '%s\n%s\n' "$cap" "$1" | sort -V | tail -1)" != "$cap" ]
}

pip_in() {  # VENV RELEASE ARGS... : the venv's pip, without the pip configuration when torch is capped
  local venv=$1 release=$2
  shift 2
  if capped "$release"; then
    PIP_CONFIG_FILE=/dev/null "$venv/bin/pip" "$@" --cert "$(pip config --global get global.cert)"
  else
    "$venv/bin/pip" "$@"
  fi
}

logs=${LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/torch_matrix.XXXXXX")}
mkdir -p "$logs"

secs() { echo $(( $(date +%s) - $1 )); }

checks() {  # PYTHON LOG START NOTE: the seed and the conformance suite under that interpreter; one line
  local py=$1 log=$2 start=$3 note=$4 have t seed_rc seed_ran seed_end seed_time suite_rc summary suite_time failing verdict
  have=$(cd /tmp && "$py" -c "from testing._core.versions import build; print(build())" 2>/dev/null | tail -1)
  t=$(date +%s)
  "$py" "$seed" --device cpu >"$log/seed.log" 2>&1
  seed_rc=$?
  seed_ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$log/seed.log" | tail -1)
  seed_end=$(grep -E '^(OK|FAILED)' "$log/seed.log" | tail -1)
  seed_time=$(secs "$t")

  t=$(date +%s)
  "$py" -m pytest "${suite[@]}" -q -p no:cacheprovider >"$log/suite.log" 2>&1
  suite_rc=$?
  summary=$(grep -E '^=* ?[0-9]+ (passed|failed|error)|^[0-9]+ (passed|failed|error)' "$log/suite.log" | tail -1 | sed 's/^=* //; s/ =*$//; s/ in [0-9.]*s.*$//')
  suite_time=$(secs "$t")

  failing=$(grep -E '^(FAILED|ERROR) ' "$log/suite.log" | sed 's/^[A-Z]* //; s/ - .*//' | tr '\n' ' ')
  verdict=ok
  if [ $seed_rc -ne 0 ] || [ $suite_rc -ne 0 ]; then verdict="FAIL${failing:+ (failing: ${failing% })}"; status=1; fi
  echo "torch $have$note: seed ${seed_ran:-0} tests ${seed_end:-no result} (${seed_time}s); conformance ${summary:-no result} (${suite_time}s); $verdict in $(secs "$start")s [logs: $log]"
}

status=0
if [ -n "$python" ]; then
  mkdir -p "$logs/env"
  PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" checks "$python" "$logs/env" "$(date +%s)" " ($python)"
  exit $status
fi
for release in "$@"; do
  start=$(date +%s)
  venv="$venvs/t${release//./}"
  log="$logs/$release"
  mkdir -p "$log"
  created=""
  if [ ! -x "$venv/bin/python" ]; then
    created=" (venv created)"
    if ! { python3 -m venv "$venv" && pip_in "$venv" "$release" install "torch==$release" "${deps[@]}"; } >"$log/venv.log" 2>&1; then
      echo "torch $release: venv $venv could not be created (see $log/venv.log)"; status=1; continue
    fi
  fi
  if ! pip_in "$venv" "$release" install --no-deps -e "$root" >"$log/install.log" 2>&1; then
    echo "torch $release: installing the harness failed (see $log/install.log)"; status=1; continue
  fi
  have=$(cd /tmp && "$venv/bin/python" -c "from testing._core.versions import build; print(build())" 2>/dev/null | tail -1)
  if [ "${have%%+*}" != "$release" ]; then
    echo "torch $release: $venv has torch '$have', not $release"; status=1; continue
  fi
  checks "$venv/bin/python" "$log" "$start" "$created"
done
exit $status

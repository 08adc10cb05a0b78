# Sourced by run.sh and test.sh: make .venv and install the pinned, hash-checked
# requirements (requirements/<group>.lock), only when the lock file changed.
group="$1"
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
lock="requirements/${group}.lock"
stamp=".venv/.installed-${group}"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

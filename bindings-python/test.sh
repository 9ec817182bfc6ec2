#!/usr/bin/env bash
# Python binding tests: build the abi3 wheel with maturin (--profile ci, shared
# target dir), install it into a FRESH virtualenv with the test dependencies,
# and run pytest against the real PostgreSQL (DATABASE_URL) and SQLite.
#
#   bash bindings-python/test.sh            # everything
#   bash bindings-python/test.sh -k async   # extra args go to pytest
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PYTHON="${PYTHON:-python3}"
WORK="$CARGO_TARGET_DIR/python-ci"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

command -v "$PYTHON" >/dev/null || { echo "test.sh: $PYTHON not found (CPython >= 3.9 needed)" >&2; exit 1; }
"$PYTHON" - <<'PY' || { echo "test.sh: the venv module is missing (apt-get install -y python3-venv)" >&2; exit 1; }
import sys, venv
assert sys.version_info >= (3, 9), sys.version
PY

mkdir -p "$WORK"

# 1. Build tools (maturin) live in their own venv, reused between runs.
BUILD_VENV="$WORK/build-venv"
if ! "$BUILD_VENV/bin/maturin" --version >/dev/null 2>&1; then
    rm -rf "$BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/pip" install -q "maturin>=1.7,<2"
fi

# 2. The wheel.
rm -rf "$WORK/wheels"
"$BUILD_VENV/bin/maturin" build --profile ci --manifest-path "$HERE/Cargo.toml" \
    --interpreter "$PYTHON" --out "$WORK/wheels" --compatibility linux 2>&1 | grep -vE '^\s*(Compiling|Checking) ' || true
WHEEL="$(ls "$WORK"/wheels/unipool-*.whl 2>/dev/null | head -n1 || true)"
[ -n "$WHEEL" ] || { echo "test.sh: maturin produced no wheel" >&2; exit 1; }
case "$WHEEL" in *abi3*) ;; *) echo "test.sh: expected an abi3 wheel, got $WHEEL" >&2; exit 1;; esac
echo "test.sh: built $(basename "$WHEEL")"

# 3. A fresh venv with the wheel and what the tests drive.
TEST_VENV="$WORK/test-venv"
rm -rf "$TEST_VENV"
"$PYTHON" -m venv "$TEST_VENV"
"$TEST_VENV/bin/pip" install -q "$WHEEL" -r "$HERE/tests/requirements.txt"

# 4. The tests run from a directory outside the source tree, so `import
#    unipool` is the installed wheel.
cd "$WORK"
PYTEST=("$TEST_VENV/bin/python" -m pytest -c "$HERE/tests/pytest.ini" --rootdir "$HERE/tests")

# 4a. SQLAlchemy 2.0 (the requirements install the newest, 2.1): the
#     SQLAlchemy-facing tests once more against the older series.
if [ "${UNIPOOL_SKIP_SA20:-0}" != "1" ]; then
    SA20_VENV="$WORK/test-venv-sa20"
    rm -rf "$SA20_VENV"
    "$PYTHON" -m venv "$SA20_VENV"
    "$SA20_VENV/bin/pip" install -q "$WHEEL" -r "$HERE/tests/requirements.txt" "sqlalchemy>=2.0,<2.1"
    echo "test.sh: SQLAlchemy $("$SA20_VENV/bin/python" -c 'import sqlalchemy; print(sqlalchemy.__version__)')"
    "$SA20_VENV/bin/python" -m pytest -c "$HERE/tests/pytest.ini" --rootdir "$HERE/tests" -q \
        "$HERE/tests/test_sqlalchemy_sync.py" "$HERE/tests/test_sqlalchemy_async.py" "$HERE/tests/test_fork.py" \
        "$HERE/tests/test_example.py"
fi

# 4b. Everything, with the newest SQLAlchemy (its summary line is the last).
echo "test.sh: SQLAlchemy $("$TEST_VENV/bin/python" -c 'import sqlalchemy; print(sqlalchemy.__version__)')"
"${PYTEST[@]}" "$HERE/tests" "$@"

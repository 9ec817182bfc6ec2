# Sourced by bindings-c/test.sh: plays tests/conformance/*.toml through the C API, plain and
# under AddressSanitizer, and proves the runner is not a no-op with a wrong scenario.
CONF_DIR="$ROOT/tests/conformance"
if ! python3 -c 'import tomllib' 2>/dev/null; then
    echo "python3 with tomllib (Python 3.11+) is needed to read tests/conformance/*.toml"
    fail "conformance: python3 >= 3.11 missing"
elif ! ls "$CONF_DIR"/*.toml >/dev/null 2>&1; then
    fail "conformance: no scenarios in $CONF_DIR"
else
    python3 "$HERE/tests/conformance_to_lines.py" "$CONF_DIR"/*.toml >"$WORK/conformance.lines"
    for variant in plain asan; do
        extra=()
        [ "$variant" = asan ] && extra=(-fsanitize=address -fno-omit-frame-pointer)
        if gcc "${CFLAGS_COMMON[@]}" -O1 "${extra[@]}" "$HERE/tests/conformance_runner.c" "$STATIC_LIB" $NATIVE_LIBS \
            -o "$WORK/conformance-$variant"; then
            echo "== conformance scenarios ($variant)"
            # run_c_test reads the "N passed, N failed" line; feed the scenarios on stdin
            printf '#!/bin/sh\nexec "%s" <"%s"\n' "$WORK/conformance-$variant" "$WORK/conformance.lines" >"$WORK/conf-$variant.sh"
            chmod +x "$WORK/conf-$variant.sh"
            run_c_test "conformance-$variant" "$WORK/conf-$variant.sh"
        else
            fail "conformance-$variant: compile"
        fi
    done
    # A scenario that is wrong on purpose must fail.
    printf 'name = "wrong on purpose"\n[config]\npool_size = 1\nmax_overflow = 0\n[[step]]\nacquire = "a"\nexpect_conn = "c2"\n' >"$WORK/bad.toml"
    if python3 "$HERE/tests/conformance_to_lines.py" "$WORK/bad.toml" | "$WORK/conformance-plain" >"$WORK/bad.out" 2>&1; then
        cat "$WORK/bad.out"
        fail "conformance runner accepted a wrong expectation"
    elif grep -q 'FAIL bad.toml: step 1: expected connection c2, got c1' "$WORK/bad.out"; then
        pass "conformance runner rejects a wrong expectation"
    else
        cat "$WORK/bad.out"
        fail "conformance runner: unexpected output for a wrong expectation"
    fi
fi

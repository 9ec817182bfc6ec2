#!/usr/bin/env bash
# Test entry point of the C binding (bindings-c/). Runs, in order:
#   1. Rust unit tests of the binding crate and the header check (committed include/unipool.h
#      must equal a fresh cbindgen generation);
#   2. the C tests (tests/*.c) built with gcc against libunipool.a, plain and under
#      AddressSanitizer/LeakSanitizer;
#   3. install into a temporary PREFIX and build + run a C program outside the repo with
#      pkg-config alone (shared library);
#   4. the libpq example (examples/c-libpq) against the real PostgreSQL (DATABASE_URL), also
#      under valgrind against the shared library;
#   5. the conformance scenarios (tests/conformance/*.toml) through the C API;
#   6. a benchmark smoke run (tiny, only proves the bench builds and runs; no timing asserted).
# Prints "N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/scripts/common.sh"
cd "$ROOT"

PASSED=0
FAILED=0
FAILED_NAMES=()
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL: $1"; }
finish() {
    echo
    if [ ${#FAILED_NAMES[@]} -gt 0 ]; then printf 'failed: %s\n' "${FAILED_NAMES[@]}"; fi
    echo "bindings-c: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# ---- tools ----------------------------------------------------------------------------------
need_pkgs=()
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
[ -f /usr/include/postgresql/libpq-fe.h ] || need_pkgs+=(libpq-dev)
command -v make >/dev/null || need_pkgs+=(make)
command -v valgrind >/dev/null || need_pkgs+=(valgrind)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "installing ${need_pkgs[*]} with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"; } >/tmp/bindings-c-apt.log 2>&1; then
        cat /tmp/bindings-c-apt.log
        echo "bindings-c: could not install ${need_pkgs[*]} (apt-get failed); they are required" >&2
        exit 1
    fi
fi

WORK="$(mktemp -d /tmp/unipool-c-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# ---- 1. build, Rust unit tests, header check --------------------------------------------------
echo "== build (cargo --profile $PROFILE) and header check"
if ! bc_build; then
    fail "cargo build of bindings-c"
    finish
fi
if cargo test --profile "$PROFILE" -p unipool-c --lib -q >"$WORK/cargo-test.log" 2>&1; then
    grep 'test result' "$WORK/cargo-test.log"
    n="$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$WORK/cargo-test.log" | head -n1)"
    PASSED=$((PASSED + ${n:-0}))
    echo "PASS: rust unit tests of bindings-c (${n:-0} tests)"
else
    cat "$WORK/cargo-test.log"
    fail "rust unit tests (cargo test -p unipool-c --lib)"
fi
if diff -u "$HERE/include/unipool.h" "$GEN_HEADER" >"$WORK/header.diff"; then
    pass "header check: include/unipool.h equals a fresh cbindgen generation"
else
    head -n 60 "$WORK/header.diff"
    fail "header check: include/unipool.h is stale (run bindings-c/scripts/gen-header.sh)"
fi
# The header must compile on its own as C and as C++ (cpp_compat), warnings as errors.
printf '#include "unipool.h"\nint main(void){return UNIPOOL_OK;}\n' >"$WORK/hdr.c"
if gcc -std=c11 -Wall -Wextra -Werror -pedantic -I "$HERE/include" -c "$WORK/hdr.c" -o "$WORK/hdr.o" &&
    { ! command -v g++ >/dev/null || g++ -Wall -Werror -x c++ -I "$HERE/include" -c "$WORK/hdr.c" -o "$WORK/hdrpp.o"; }; then
    pass "header compiles standalone (C11 -pedantic -Werror, and C++)"
else
    fail "header compiles standalone"
fi

# ---- 2. C tests, plain and sanitized -----------------------------------------------------------
CFLAGS_COMMON=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-function -g -I "$HERE/include" -I "$HERE/tests")
STATIC_LIB="$LIB_DIR/libunipool_c.a"
run_c_test() { # name binary
    local name="$1" bin="$2" out="$WORK/$1.out"
    if timeout 300 "$bin" >"$out" 2>&1; then
        tail -n 1 "$out"
        local line
        line="$(tail -n 1 "$out")"
        local p f
        p="$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$line")"
        f="$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$line")"
        if [ -n "$p" ] && [ "$f" = 0 ]; then
            PASSED=$((PASSED + p))
            echo "PASS: $name ($p tests)"
            return
        fi
    fi
    cat "$out"
    fail "$name"
}
for t in test_api test_threads; do
    echo "== $t (plain)"
    if gcc "${CFLAGS_COMMON[@]}" -O1 "$HERE/tests/$t.c" "$STATIC_LIB" $NATIVE_LIBS -o "$WORK/$t"; then
        run_c_test "$t" "$WORK/$t"
    else
        fail "$t: compile"
    fi
    echo "== $t (AddressSanitizer + LeakSanitizer)"
    if gcc "${CFLAGS_COMMON[@]}" -O1 -fsanitize=address -fno-omit-frame-pointer "$HERE/tests/$t.c" "$STATIC_LIB" $NATIVE_LIBS -o "$WORK/$t-asan"; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 run_c_test "$t-asan" "$WORK/$t-asan"
    else
        fail "$t-asan: compile"
    fi
done

# The sanitized runs can fail: deliberately leaked configs must be reported by LeakSanitizer
# (100 of them: the scan is conservative, so a single pointer may linger on the stack).
printf '#include "unipool.h"\nint main(void){unipool_config *c=0; for(int i=0;i<100;i++) unipool_config_new(&c); c=0; (void)c; return 0;}\n' >"$WORK/leak.c"
if gcc "${CFLAGS_COMMON[@]}" -fsanitize=address "$WORK/leak.c" "$STATIC_LIB" $NATIVE_LIBS -o "$WORK/leak" &&
    ! ASAN_OPTIONS=detect_leaks=1 "$WORK/leak" >"$WORK/leak.out" 2>&1 && grep -q 'LeakSanitizer: detected memory leaks' "$WORK/leak.out"; then
    pass "LeakSanitizer is active (a deliberate leak is reported)"
else
    cat "$WORK/leak.out" 2>/dev/null
    fail "LeakSanitizer did not report a deliberate leak: the sanitized runs would prove nothing"
fi

# ---- 3. install + a C program outside the repo built with pkg-config alone ---------------------
echo "== install into a temporary PREFIX and build outside the repo with pkg-config"
PREFIX="$WORK/prefix"
if NO_BUILD=1 make -s -C "$HERE" install PREFIX="$PREFIX" >"$WORK/install.log" 2>&1 &&
    [ -f "$PREFIX/include/unipool.h" ] && [ -f "$PREFIX/lib/libunipool.a" ] && [ -L "$PREFIX/lib/libunipool.so" ] &&
    [ -f "$PREFIX/lib/pkgconfig/unipool.pc" ]; then
    pass "make install PREFIX=... (lib, header, pkg-config file)"
else
    cat "$WORK/install.log"
    fail "make install PREFIX=..."
fi
OUTSIDE="$WORK/outside"
mkdir -p "$OUTSIDE"
cat >"$OUTSIDE/hello.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <unipool.h>
static int mk(void *ud, void **out, char *err, size_t n) { (void)ud; (void)err; (void)n; *out = malloc(1); return *out ? UNIPOOL_OK : UNIPOOL_E_CONNECT_FAILED; }
static int cl(void *ud, void *c, char *err, size_t n) { (void)ud; (void)err; (void)n; free(c); return UNIPOOL_OK; }
int main(void) {
    unipool_config *cfg = NULL; unipool_pool *pool = NULL; unipool_conn *c = NULL; unipool_status st;
    unipool_callbacks cb = { mk, NULL, NULL, cl, NULL };
    if (unipool_config_from_string("name=outside pool_size=2", &cfg) || unipool_pool_new(cfg, &cb, &pool) ||
        unipool_pool_acquire(pool, 1000, &c) || unipool_conn_release(c) || unipool_pool_status(pool, &st)) {
        fprintf(stderr, "failed: %s\n", unipool_last_error_message()); return 1;
    }
    printf("unipool %s outside: pool=%s open=%zu idle=%zu acquired=%llu\n", unipool_version(), st.name, st.open, st.idle, (unsigned long long)st.acquired);
    unipool_pool_free(pool); unipool_config_free(cfg);
    return st.idle == 1 && st.acquired == 1 ? 0 : 1;
}
EOF
if (cd "$OUTSIDE" && export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" &&
    gcc -Wall -Werror hello.c $(pkg-config --cflags --libs unipool) -o hello &&
    readelf -d hello | grep -q 'NEEDED.*libunipool.so.0' &&
    LD_LIBRARY_PATH="$PREFIX/lib" ./hello &&
    gcc -Wall -Werror hello.c $(pkg-config --cflags unipool) "$(pkg-config --variable=libdir unipool)/libunipool.a" \
        $(pkg-config --static --libs unipool | sed 's/-lunipool\b//') -o hello-static &&
    ! readelf -d hello-static | grep -q 'libunipool' &&
    ./hello-static) >"$WORK/outside.log" 2>&1; then
    cat "$WORK/outside.log"
    pass "C program outside the repo builds with pkg-config alone (shared and static) and runs"
else
    cat "$WORK/outside.log"
    fail "C program outside the repo with pkg-config"
fi

# ---- 4. the libpq example ---------------------------------------------------------------------
echo "== examples/c-libpq against PostgreSQL"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -d "$DATABASE_URL" -t 5 >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "PostgreSQL is not reachable at DATABASE_URL=$DATABASE_URL (needed by examples/c-libpq)"
    fail "examples/c-libpq: PostgreSQL missing"
else
    rm -f "$WORK/c-libpq"
    # Pool parameters travel in the URL (the example strips them with unipool_config_from_url).
    case "$DATABASE_URL" in *\?*) sep='&' ;; *) sep='?' ;; esac
    EXAMPLE_URL="${DATABASE_URL}${sep}pool_size=3&max_overflow=1&pool_pre_ping=true"
    if PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" make -s -C "$ROOT/examples/c-libpq" -B c-libpq CFLAGS="-O2 -Wall -Wextra -Werror" >"$WORK/libpq-build.log" 2>&1 &&
        DATABASE_URL="$EXAMPLE_URL" LD_LIBRARY_PATH="$PREFIX/lib" "$ROOT/examples/c-libpq/c-libpq" >"$WORK/libpq.out" 2>&1 &&
        grep -q '^queries ok: 300, failures: 0, dirty checkouts: 0' "$WORK/libpq.out" &&
        grep -q '^pool libpq_example: .* max=4 ' "$WORK/libpq.out" &&
        grep -q 'libpq_example' "$WORK/libpq.out" && grep -q '^# TYPE' "$WORK/libpq.out"; then
        head -n 2 "$WORK/libpq.out"
        pass "examples/c-libpq: 6 threads x 50 queries through pooled PGconn*, metrics printed"
        # The same program under valgrind against the shared library: no memory error, no leak.
        if DATABASE_URL="$EXAMPLE_URL" LD_LIBRARY_PATH="$PREFIX/lib" valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=9 "$ROOT/examples/c-libpq/c-libpq" >"$WORK/libpq-vg.out" 2>&1 &&
            grep -q '^queries ok: 300, failures: 0' "$WORK/libpq-vg.out"; then
            pass "examples/c-libpq under valgrind (libunipool.so): no memory errors, nothing lost"
        else
            grep -v '^db_client\|^unipool_\|^#' "$WORK/libpq-vg.out" | tail -n 40
            fail "examples/c-libpq under valgrind"
        fi
    else
        cat "$WORK/libpq-build.log" "$WORK/libpq.out" 2>/dev/null | tail -n 40
        fail "examples/c-libpq"
    fi
    rm -f "$ROOT/examples/c-libpq/c-libpq"
fi

# ---- 5. conformance scenarios ------------------------------------------------------------------
if [ -f "$HERE/tests/conformance.sh" ]; then
    echo "== conformance scenarios through the C API"
    . "$HERE/tests/conformance.sh"
fi

# ---- 6. benchmark smoke ------------------------------------------------------------------------
echo "== benchmark smoke (builds and runs the C-ABI bench briefly; no timing is asserted)"
if gcc -std=c11 -D_GNU_SOURCE -O2 -I "$HERE/include" "$HERE/bench/bench_c_abi.c" "$STATIC_LIB" $NATIVE_LIBS -o "$WORK/bench" &&
    "$WORK/bench" --iters 2000 --threads 1,8 >"$WORK/bench.out" 2>&1 && grep -q 'threads=8' "$WORK/bench.out"; then
    pass "bench_c_abi smoke"
else
    cat "$WORK/bench.out" 2>/dev/null
    fail "bench_c_abi smoke"
fi

finish

/* Minimal test harness for the unipool C tests: CHECK macros, a test registry, a fake
 * connection type whose create/ping/reset/close callbacks count calls and can be told to fail.
 * Each test binary prints "N passed, N failed" as its last line and exits non-zero on failure. */
#ifndef UNIPOOL_TEST_HARNESS_H
#define UNIPOOL_TEST_HARNESS_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unipool.h"

static int h_checks_failed_in_test;
static int h_passed, h_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  CHECK failed %s:%d: %s\n    last error: [%s] %s\n", __FILE__,       \
                    __LINE__, #cond, unipool_code_name(unipool_last_error_kind()),                 \
                    unipool_last_error_message());                                                 \
            h_checks_failed_in_test++;                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int h_rc_ = (expr);                                                                        \
        if (h_rc_ != (want)) {                                                                     \
            fprintf(stderr, "  CHECK_RC failed %s:%d: %s = %s, want %s\n    message: %s\n",       \
                    __FILE__, __LINE__, #expr, unipool_code_name(h_rc_), unipool_code_name(want),  \
                    h_rc_ ? unipool_last_error_message() : "");                                   \
            h_checks_failed_in_test++;                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, UNIPOOL_OK)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_hay_ = (hay);                                                                \
        if (h_hay_ == NULL || strstr(h_hay_, (needle)) == NULL) {                                  \
            fprintf(stderr, "  CHECK_CONTAINS failed %s:%d: \"%s\" does not contain \"%s\"\n",     \
                    __FILE__, __LINE__, h_hay_ ? h_hay_ : "(null)", (needle));                     \
            h_checks_failed_in_test++;                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_L(a, b)                                                                           \
    do {                                                                                           \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                                    \
        if (h_a_ != h_b_) {                                                                        \
            fprintf(stderr, "  CHECK_EQ failed %s:%d: %s = %lld, want %s = %lld\n", __FILE__,      \
                    __LINE__, #a, h_a_, #b, h_b_);                                                 \
            h_checks_failed_in_test++;                                                             \
        }                                                                                          \
    } while (0)

typedef void (*h_test_fn)(void);

static void h_run(const char *name, h_test_fn fn, const char *only) {
    if (only && !strstr(name, only)) return;
    h_checks_failed_in_test = 0;
    fn();
    if (h_checks_failed_in_test == 0) {
        h_passed++;
        printf("ok   %s\n", name);
    } else {
        h_failed++;
        printf("FAIL %s (%d checks)\n", name, h_checks_failed_in_test);
    }
    fflush(stdout);
}

#define RUN(fn) h_run(#fn, fn, only)

static int h_finish(void) {
    printf("%d passed, %d failed\n", h_passed, h_failed);
    return h_failed ? 1 : 0;
}

/* ---- fake connections -------------------------------------------------------------------- */

#define FAKE_MAGIC 0x5eed1234

typedef struct fake_conn {
    int magic;
    long id;
    atomic_int holders; /* >1 at any moment means the pool handed one connection to two users */
} fake_conn;

typedef struct fake_db {
    atomic_long created, closed, pings, resets, next_id;
    atomic_int last_reset_mode;
    atomic_int fail_create;     /* >0: that many next creates fail */
    atomic_int create_code;     /* code returned by a failing create */
    atomic_int create_null;     /* create returns OK with NULL */
    atomic_int fail_every_nth;  /* every n-th create fails (threads test) */
    atomic_int fail_ping;       /* >0: that many next pings fail */
    atomic_int fail_reset;      /* >0: that many next resets fail */
    atomic_int fail_close;      /* >0: that many next closes report failure */
    atomic_int bad_close;       /* close saw a pointer that is not a live fake_conn */
} fake_db;

static int fake_create(void *ud, void **out, char *err, size_t err_len) {
    fake_db *db = ud;
    if (atomic_load(&db->create_null)) return UNIPOOL_OK;
    int n = atomic_load(&db->fail_create);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&db->fail_create, &n, n - 1)) {
            snprintf(err, err_len, "fake connect refused (injected)");
            int code = atomic_load(&db->create_code);
            return code ? code : UNIPOOL_E_CONNECT_FAILED;
        }
    }
    long id = atomic_fetch_add(&db->next_id, 1) + 1;
    int every = atomic_load(&db->fail_every_nth);
    if (every > 0 && id % every == 0) {
        snprintf(err, err_len, "fake connect refused (every %dth)", every);
        return UNIPOOL_E_CONNECT_FAILED;
    }
    fake_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return UNIPOOL_E_CONNECT_FAILED;
    }
    c->magic = FAKE_MAGIC;
    c->id = id;
    atomic_fetch_add(&db->created, 1);
    *out = c;
    return UNIPOOL_OK;
}

static int fake_ping(void *ud, void *conn, char *err, size_t err_len) {
    fake_db *db = ud;
    fake_conn *c = conn;
    atomic_fetch_add(&db->pings, 1);
    if (c->magic != FAKE_MAGIC) {
        snprintf(err, err_len, "ping got a pointer that is not a fake connection");
        return UNIPOOL_E_CONNECTION_BROKEN;
    }
    int n = atomic_load(&db->fail_ping);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&db->fail_ping, &n, n - 1)) {
            snprintf(err, err_len, "fake ping failed (injected)");
            return UNIPOOL_E_CONNECTION_BROKEN;
        }
    }
    return UNIPOOL_OK;
}

static int fake_reset(void *ud, void *conn, int mode, char *err, size_t err_len) {
    fake_db *db = ud;
    (void)conn;
    atomic_fetch_add(&db->resets, 1);
    atomic_store(&db->last_reset_mode, mode);
    int n = atomic_load(&db->fail_reset);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&db->fail_reset, &n, n - 1)) {
            snprintf(err, err_len, "fake rollback failed (injected)");
            return UNIPOOL_E_CONNECTION_BROKEN;
        }
    }
    return UNIPOOL_OK;
}

static int fake_close(void *ud, void *conn, char *err, size_t err_len) {
    fake_db *db = ud;
    fake_conn *c = conn;
    if (c == NULL || c->magic != FAKE_MAGIC) {
        atomic_fetch_add(&db->bad_close, 1);
        return 1;
    }
    c->magic = 0;
    free(c);
    atomic_fetch_add(&db->closed, 1);
    int n = atomic_load(&db->fail_close);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&db->fail_close, &n, n - 1)) {
            snprintf(err, err_len, "fake close reported an error (injected)");
            return 1;
        }
    }
    return UNIPOOL_OK;
}

static unipool_callbacks fake_callbacks(fake_db *db) {
    unipool_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.create = fake_create;
    cb.ping = fake_ping;
    cb.reset = fake_reset;
    cb.close = fake_close;
    cb.user_data = db;
    return cb;
}

/* Makes a pool from a configuration string; NULL on failure (and a failed CHECK). */
static unipool_pool *fake_pool(fake_db *db, const char *cfg_text) {
    unipool_config *cfg = NULL;
    unipool_pool *pool = NULL;
    CHECK_OK(unipool_config_from_string(cfg_text, &cfg));
    unipool_callbacks cb = fake_callbacks(db);
    CHECK_OK(unipool_pool_new(cfg, &cb, &pool));
    unipool_config_free(cfg);
    return pool;
}

static unipool_status pool_status(unipool_pool *pool) {
    unipool_status st;
    memset(&st, 0, sizeof st);
    CHECK_OK(unipool_pool_status(pool, &st));
    return st;
}

#endif

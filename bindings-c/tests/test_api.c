/* Every unipool C API call: success paths, errors, NULL arguments, failing callbacks,
 * ownership (every created fake connection is closed exactly once or detached). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* After a pool is freed and all handles released, every created connection was closed. */
static void check_balanced(fake_db *db, long detached) {
    CHECK_EQ_L(atomic_load(&db->created), atomic_load(&db->closed) + detached);
    CHECK_EQ_L(atomic_load(&db->bad_close), 0);
}

static void test_codes_and_version(void) {
    CHECK_EQ_L(UNIPOOL_OK, 0);
    CHECK_EQ_L(UNIPOOL_E_POOL_TIMEOUT, 1);
    CHECK_EQ_L(UNIPOOL_E_POOL_CLOSED, 2);
    CHECK_EQ_L(UNIPOOL_E_CONNECT_FAILED, 3);
    CHECK_EQ_L(UNIPOOL_E_CONNECT_TIMEOUT, 4);
    CHECK_EQ_L(UNIPOOL_E_CONNECTION_BROKEN, 5);
    CHECK_EQ_L(UNIPOOL_E_INVALID_CONFIG, 6);
    CHECK_EQ_L(UNIPOOL_E_INVALID_USAGE, 7);
    CHECK_EQ_L(UNIPOOL_E_INTERNAL, 99);
    CHECK(strcmp(unipool_code_name(UNIPOOL_E_POOL_TIMEOUT), "UNIPOOL_E_POOL_TIMEOUT") == 0);
    CHECK(strcmp(unipool_code_name(99), "UNIPOOL_E_INTERNAL") == 0);
    CHECK(strcmp(unipool_code_name(12345), "UNIPOOL_E_UNKNOWN") == 0);
    CHECK(strlen(unipool_version()) >= 5);
}

static void test_null_arguments(void) {
    unipool_config *cfg = (unipool_config *)1; /* must be overwritten with NULL on failure */
    unipool_pool *pool = NULL;
    unipool_conn *conn = NULL;
    char buf[16];
    size_t needed = 0;
    unipool_status st;
    unipool_settings s;
    unipool_conn_info info;
    void *p = NULL;
    bool b = false;
    uint64_t id = 0;

    CHECK_RC(unipool_config_new(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "'out'");
    CHECK_EQ_L(unipool_last_error_kind(), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_from_string(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(unipool_last_error_message(), "'text'");
    CHECK_RC(unipool_config_set(NULL, "pool_size", "1"), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "'config'");
    CHECK_OK(unipool_config_new(&cfg));
    CHECK_RC(unipool_config_set(cfg, NULL, "1"), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "'key'");
    CHECK_RC(unipool_config_set_int(cfg, NULL, 1), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_set_double(NULL, "pool_timeout", 1.0), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_set_bool(NULL, "use_lifo", true), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_parse(cfg, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_parse(NULL, "pool_size=1"), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_get(NULL, "pool_size", buf, sizeof buf, &needed), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_get(cfg, "pool_size", NULL, 5, &needed), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_get(cfg, NULL, buf, sizeof buf, &needed), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_to_string(cfg, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_validate(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_get_settings(cfg, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_get_settings(NULL, &s), UNIPOOL_E_INVALID_USAGE);
    unipool_config_free(cfg);
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_config_from_env(NULL, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_from_toml(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL); /* out is reset even on failure */
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_config_from_profile(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_config_clone(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);
    CHECK_RC(unipool_settings_init(NULL), UNIPOOL_E_INVALID_USAGE);
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_config_from_settings(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);

    /* pool */
    fake_db db = {0};
    unipool_callbacks cb = fake_callbacks(&db);
    CHECK_RC(unipool_pool_new(NULL, &cb, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_new(NULL, NULL, &pool), UNIPOOL_E_INVALID_USAGE);
    CHECK(pool == NULL);
    cb.create = NULL;
    CHECK_RC(unipool_pool_new(NULL, &cb, &pool), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "create");
    cb = fake_callbacks(&db);
    cb.close = NULL;
    CHECK_RC(unipool_pool_new(NULL, &cb, &pool), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "close");
    CHECK(pool == NULL);

    conn = (unipool_conn *)1;
    CHECK_RC(unipool_pool_acquire(NULL, 10, &conn), UNIPOOL_E_INVALID_USAGE);
    CHECK(conn == NULL);
    CHECK_RC(unipool_pool_try_acquire(NULL, &conn), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_release(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "'conn'");
    CHECK_RC(unipool_conn_invalidate(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_detach(NULL, &p), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_get(NULL, &p), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_get_info(NULL, &info), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_dispose(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_resize(NULL, 1, 0), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_pause(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_resume(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_close(NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_is_closed(NULL, &b), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_maintain(NULL, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_wait_min_idle(NULL, 1), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_status(NULL, &st), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_metrics(NULL, buf, sizeof buf, &needed), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_metrics_string(NULL, NULL), UNIPOOL_E_INVALID_USAGE);
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_pool_config(NULL, &cfg), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);
    CHECK_RC(unipool_pool_subscribe(NULL, NULL, NULL, &id), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_unsubscribe(NULL, 1), UNIPOOL_E_INVALID_USAGE);

    /* with a real pool, NULL out-parameters */
    cb = fake_callbacks(&db);
    CHECK_OK(unipool_pool_new(NULL, &cb, &pool));
    CHECK_RC(unipool_pool_acquire(pool, 10, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_try_acquire(pool, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_status(pool, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_is_closed(pool, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_subscribe(pool, NULL, NULL, &id), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_unsubscribe(pool, 424242), UNIPOOL_E_INVALID_USAGE);
    CHECK_OK(unipool_pool_acquire(pool, 1000, &conn));
    CHECK_RC(unipool_conn_get(conn, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_get_info(conn, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_conn_detach(conn, NULL), UNIPOOL_E_INVALID_USAGE); /* handle not consumed */
    CHECK_OK(unipool_conn_release(conn));
    unipool_pool_free(pool);

    /* every _free accepts NULL */
    unipool_config_free(NULL);
    unipool_pool_free(NULL);
    unipool_string_free(NULL);
    check_balanced(&db, 0);
}

static void test_config(void) {
    unipool_config *cfg = NULL, *copy = NULL;
    char buf[64];
    size_t needed = 0;

    CHECK_OK(unipool_config_new(&cfg));
    CHECK_OK(unipool_config_get(cfg, "pool_size", buf, sizeof buf, &needed));
    CHECK(strcmp(buf, "5") == 0);
    CHECK_EQ_L(needed, 1);
    CHECK_OK(unipool_config_set(cfg, "pool_size", "7"));
    CHECK_OK(unipool_config_set_int(cfg, "max_overflow", 3));
    CHECK_OK(unipool_config_set_double(cfg, "pool_timeout", 2.5));
    CHECK_OK(unipool_config_set_bool(cfg, "pool_pre_ping", true));
    CHECK_OK(unipool_config_set(cfg, "pool_recycle", "30s"));
    CHECK_OK(unipool_config_set(cfg, "pool_recycle", NULL)); /* back to none */

    /* an alias from another pool library, and camelCase */
    CHECK_OK(unipool_config_set(cfg, "maxOverflow", "4"));
    unipool_settings s;
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 7);
    CHECK_EQ_L(s.max_overflow, 4);
    CHECK_EQ_L(s.pool_timeout_ms, 2500);
    CHECK(s.pool_pre_ping);
    CHECK_EQ_L(s.pool_recycle_ms, -1);

    /* errors name the key, the value and what is allowed; the config is unchanged */
    CHECK_RC(unipool_config_set(cfg, "pool_size", "banana"), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "pool_size");
    CHECK_CONTAINS(unipool_last_error_message(), "banana");
    CHECK_EQ_L(unipool_last_error_kind(), UNIPOOL_E_INVALID_CONFIG);
    CHECK_RC(unipool_config_set(cfg, "no_such_key", "1"), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "no_such_key");
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 7);

    /* snprintf-style get: size query, truncation */
    CHECK_OK(unipool_config_get(cfg, "pool_size", NULL, 0, &needed));
    CHECK_EQ_L(needed, 1);
    CHECK_RC(unipool_config_get(cfg, "nope", buf, sizeof buf, &needed), UNIPOOL_E_INVALID_CONFIG);
    CHECK_OK(unipool_config_get(cfg, "name", buf, 4, &needed));
    CHECK_EQ_L(needed, 7); /* "default" */
    CHECK(strcmp(buf, "def") == 0);

    /* parse: all or nothing */
    CHECK_OK(unipool_config_parse(cfg, "pool_size=2, max_overflow=0; name='my pool'"));
    CHECK_OK(unipool_config_get(cfg, "name", buf, sizeof buf, NULL));
    CHECK(strcmp(buf, "my pool") == 0);
    CHECK_RC(unipool_config_parse(cfg, "pool_size=9 bogus"), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "bogus");
    CHECK_RC(unipool_config_parse(cfg, "pool_size=9 max_overflow=x"), UNIPOOL_E_INVALID_CONFIG);
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 2);

    /* clone is independent */
    CHECK_OK(unipool_config_clone(cfg, &copy));
    CHECK_OK(unipool_config_set(copy, "pool_size", "11"));
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 2);

    char *text = NULL;
    CHECK_OK(unipool_config_to_string(copy, &text));
    CHECK_CONTAINS(text, "pool_size=11\n");
    CHECK_CONTAINS(text, "max_overflow=0\n");
    unipool_string_free(text);

    /* validate catches combinations */
    CHECK_OK(unipool_config_validate(cfg));
    CHECK_OK(unipool_config_parse(copy, "pool_size=1 max_overflow=0"));
    unipool_config *bad = NULL;
    int rc = unipool_config_set(copy, "min_idle", "5");
    if (rc == UNIPOOL_OK) CHECK_RC(unipool_config_validate(copy), UNIPOOL_E_INVALID_CONFIG);
    else CHECK_EQ_L(rc, UNIPOOL_E_INVALID_CONFIG);
    (void)bad;
    unipool_config_free(copy);
    unipool_config_free(cfg);

    /* from_string / env / toml / profile / settings */
    CHECK_OK(unipool_config_from_string("pool_size=3 pool_timeout=500ms", &cfg));
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 3);
    CHECK_EQ_L(s.pool_timeout_ms, 500);
    unipool_config_free(cfg);
    CHECK_RC(unipool_config_from_string("pool_size=-3", &cfg), UNIPOOL_E_INVALID_CONFIG);
    CHECK(cfg == NULL);

    setenv("CTEST_POOL_POOL_SIZE", "12", 1);
    setenv("CTEST_POOL_MAX_OVERFLOW", "1", 1);
    CHECK_OK(unipool_config_from_env("CTEST_POOL_", &cfg));
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 12);
    CHECK_EQ_L(s.max_overflow, 1);
    unipool_config_free(cfg);
    setenv("CTEST_POOL_POOL_SIZE", "lots", 1);
    CHECK_RC(unipool_config_from_env("CTEST_POOL_", &cfg), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "lots");
    unsetenv("CTEST_POOL_POOL_SIZE");
    unsetenv("CTEST_POOL_MAX_OVERFLOW");

    char url[128];
    needed = 0;
    CHECK_OK(unipool_config_from_url("postgres://app:s3cr3t@db/test?pool_size=3&sslmode=require", &cfg, url, sizeof url, &needed));
    CHECK(strcmp(url, "postgres://app:s3cr3t@db/test?sslmode=require") == 0);
    CHECK_EQ_L(needed, strlen("postgres://app:s3cr3t@db/test?sslmode=require"));
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 3);
    unipool_config_free(cfg);
    cfg = (unipool_config *)1;
    CHECK_RC(unipool_config_from_url("postgres://app:s3cr3t@db/test?pool_size=many", &cfg, NULL, 0, NULL), UNIPOOL_E_INVALID_CONFIG);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(unipool_last_error_message(), "pool_size");
    CHECK(strstr(unipool_last_error_message(), "s3cr3t") == NULL);
    CHECK_RC(unipool_config_from_url(NULL, &cfg, NULL, 0, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_config_from_url("postgres://h/db", &cfg, NULL, 5, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK(cfg == NULL);

    CHECK_OK(unipool_config_from_toml("[database.pool]\npool_size = 6\nmax_overflow = 2\n", &cfg));
    CHECK_OK(unipool_config_get_settings(cfg, &s));
    CHECK_EQ_L(s.pool_size, 6);
    CHECK_EQ_L(s.max_overflow, 2);
    unipool_config_free(cfg);

    CHECK_OK(unipool_config_from_profile("testing", &cfg));
    unipool_config_free(cfg);
    CHECK_RC(unipool_config_from_profile("no-such-profile", &cfg), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "no-such-profile");

    CHECK_OK(unipool_settings_init(&s));
    CHECK_EQ_L(s.pool_size, 5);
    CHECK_EQ_L(s.max_overflow, 10);
    CHECK_EQ_L(s.pool_timeout_ms, 30000);
    CHECK_EQ_L(s.reset_on_return, UNIPOOL_RESET_ROLLBACK);
    CHECK(s.name == NULL);
    s.name = "from-settings";
    s.pool_size = 2;
    s.max_overflow = -1;
    s.idle_timeout_ms = 1500;
    s.max_uses = 3;
    s.reset_on_return = UNIPOOL_RESET_COMMIT;
    CHECK_OK(unipool_config_from_settings(&s, &cfg));
    unipool_settings back;
    CHECK_OK(unipool_config_get_settings(cfg, &back));
    CHECK_EQ_L(back.pool_size, 2);
    CHECK_EQ_L(back.max_overflow, -1);
    CHECK_EQ_L(back.idle_timeout_ms, 1500);
    CHECK_EQ_L(back.max_uses, 3);
    CHECK_EQ_L(back.reset_on_return, UNIPOOL_RESET_COMMIT);
    CHECK_OK(unipool_config_get(cfg, "name", buf, sizeof buf, NULL));
    CHECK(strcmp(buf, "from-settings") == 0);
    unipool_config_free(cfg);
    s.reset_on_return = 42;
    CHECK_RC(unipool_config_from_settings(&s, &cfg), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "42");
}

static void test_acquire_release_reuse(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "name=basic pool_size=2 max_overflow=0 pool_timeout=2s");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    void *pa = NULL, *pa2 = NULL;
    CHECK_OK(unipool_pool_acquire(pool, -1, &a));
    CHECK(a != NULL);
    CHECK_OK(unipool_conn_get(a, &pa));
    CHECK(pa != NULL && ((fake_conn *)pa)->magic == FAKE_MAGIC);
    unipool_conn_info info;
    CHECK_OK(unipool_conn_get_info(a, &info));
    CHECK(info.is_new);
    CHECK_EQ_L(info.use_count, 1);
    CHECK(info.id > 0);

    unipool_status st = pool_status(pool);
    CHECK(strcmp(st.name, "basic") == 0);
    CHECK_EQ_L(st.open, 1);
    CHECK_EQ_L(st.in_use, 1);
    CHECK_EQ_L(st.idle, 0);
    CHECK_EQ_L(st.max, 2);
    CHECK_EQ_L(st.pool_size, 2);
    CHECK_EQ_L(st.max_overflow, 0);
    CHECK_EQ_L(st.created, 1);
    CHECK_EQ_L(st.acquired, 1);

    CHECK_OK(unipool_conn_release(a));
    CHECK_EQ_L(atomic_load(&db.resets), 1);
    CHECK_EQ_L(atomic_load(&db.last_reset_mode), UNIPOOL_RESET_ROLLBACK);
    st = pool_status(pool);
    CHECK_EQ_L(st.idle, 1);
    CHECK_EQ_L(st.in_use, 0);

    /* the same object comes back */
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_conn_get(b, &pa2));
    CHECK(pa == pa2);
    CHECK_OK(unipool_conn_get_info(b, &info));
    CHECK(!info.is_new);
    CHECK_EQ_L(info.use_count, 2);
    CHECK_OK(unipool_conn_release(b));
    CHECK_EQ_L(atomic_load(&db.created), 1);

    char *text = NULL;
    unipool_config *pc = NULL;
    CHECK_OK(unipool_pool_config(pool, &pc));
    CHECK_OK(unipool_config_to_string(pc, &text));
    CHECK_CONTAINS(text, "pool_size=2");
    unipool_string_free(text);
    unipool_config_free(pc);

    bool closed = true;
    CHECK_OK(unipool_pool_is_closed(pool, &closed));
    CHECK(!closed);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_timeout_and_try_acquire(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0 pool_timeout=10s");
    if (!pool) return;
    unipool_conn *a = NULL, *b = (unipool_conn *)1;
    CHECK_OK(unipool_pool_try_acquire(pool, &a)); /* creates: allowed without waiting */
    CHECK(a != NULL);
    CHECK_RC(unipool_pool_try_acquire(pool, &b), UNIPOOL_E_POOL_TIMEOUT);
    CHECK(b == NULL);
    CHECK_CONTAINS(unipool_last_error_message(), "in_use=1");
    double t0 = now_s();
    CHECK_RC(unipool_pool_acquire(pool, 100, &b), UNIPOOL_E_POOL_TIMEOUT);
    double waited = now_s() - t0;
    CHECK(waited >= 0.09);
    CHECK(b == NULL);
    CHECK_EQ_L(unipool_last_error_kind(), UNIPOOL_E_POOL_TIMEOUT);
    unipool_status st = pool_status(pool);
    CHECK(st.timeouts >= 1);
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_pool_try_acquire(pool, &b));
    CHECK_OK(unipool_conn_release(b));
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

typedef struct waiter_arg {
    unipool_pool *pool;
    int rc;
    int timeout_ms;
    double waited;
} waiter_arg;

static void *waiter_main(void *p) {
    waiter_arg *w = p;
    unipool_conn *c = NULL;
    double t0 = now_s();
    w->rc = unipool_pool_acquire(w->pool, w->timeout_ms, &c);
    w->waited = now_s() - t0;
    if (c) unipool_conn_release(c);
    return NULL;
}

static void test_handoff_to_waiter(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    waiter_arg w = {pool, -1, 5000, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    for (int i = 0; i < 200 && pool_status(pool).waiting == 0; i++) usleep(5000);
    CHECK_EQ_L(pool_status(pool).waiting, 1);
    CHECK_OK(unipool_conn_release(a));
    pthread_join(t, NULL);
    CHECK_RC(w.rc, UNIPOOL_OK);
    CHECK(w.waited < 4.0);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_close_wakes_waiters(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    waiter_arg w = {pool, -1, 10000, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    for (int i = 0; i < 200 && pool_status(pool).waiting == 0; i++) usleep(5000);
    CHECK_OK(unipool_pool_close(pool));
    CHECK_OK(unipool_pool_close(pool)); /* idempotent */
    pthread_join(t, NULL);
    CHECK_RC(w.rc, UNIPOOL_E_POOL_CLOSED);
    CHECK(w.waited < 5.0);
    bool closed = false;
    CHECK_OK(unipool_pool_is_closed(pool, &closed));
    CHECK(closed);
    CHECK_RC(unipool_pool_acquire(pool, 100, &b), UNIPOOL_E_POOL_CLOSED);
    CHECK_RC(unipool_pool_try_acquire(pool, &b), UNIPOOL_E_POOL_CLOSED);
    long closed_before = atomic_load(&db.closed);
    CHECK_OK(unipool_conn_release(a)); /* returned to a closed pool: closed now */
    CHECK_EQ_L(atomic_load(&db.closed), closed_before + 1);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_invalidate_and_detach(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=2 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    void *pb = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_conn_invalidate(a));
    CHECK_EQ_L(atomic_load(&db.closed), 1);
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.invalidated, 1);
    CHECK_EQ_L(st.open, 1);
    CHECK_OK(unipool_conn_detach(b, &pb));
    CHECK(pb != NULL && ((fake_conn *)pb)->magic == FAKE_MAGIC);
    st = pool_status(pool);
    CHECK_EQ_L(st.open, 0);
    CHECK_EQ_L(st.in_use, 0);
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.closed), 1); /* the detached one is ours now */
    char err[8];
    fake_close(&db, pb, err, sizeof err);
    check_balanced(&db, 0);
}

static void test_dispose(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=3 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &c));
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_conn_release(b));
    uint64_t gen = pool_status(pool).generation;
    CHECK_OK(unipool_pool_dispose(pool));
    CHECK_EQ_L(atomic_load(&db.closed), 2); /* the two idle ones */
    CHECK(pool_status(pool).generation > gen);
    CHECK_OK(unipool_conn_release(c)); /* older generation: closed on return */
    CHECK_EQ_L(atomic_load(&db.closed), 3);
    CHECK_EQ_L(pool_status(pool).open, 0);
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a)); /* a fresh one */
    CHECK_EQ_L(atomic_load(&db.created), 4);
    CHECK_OK(unipool_conn_release(a));
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_resize(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=3 max_overflow=0");
    if (!pool) return;
    unipool_conn *c[3];
    for (int i = 0; i < 3; i++) CHECK_OK(unipool_pool_acquire(pool, 1000, &c[i]));
    for (int i = 0; i < 3; i++) CHECK_OK(unipool_conn_release(c[i]));
    CHECK_EQ_L(pool_status(pool).idle, 3);
    CHECK_OK(unipool_pool_resize(pool, 1, 0));
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.pool_size, 1);
    CHECK_EQ_L(st.max, 1);
    CHECK(st.open <= 1);
    CHECK_EQ_L(atomic_load(&db.closed), 3 - (long)st.open);
    CHECK_OK(unipool_pool_resize(pool, 4, -1));
    st = pool_status(pool);
    CHECK_EQ_L(st.max, -1);
    CHECK_EQ_L(st.max_overflow, -1);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_pause_resume(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_pause(pool));
    CHECK_RC(unipool_pool_acquire(pool, 50, &a), UNIPOOL_E_POOL_TIMEOUT);
    CHECK_OK(unipool_pool_resume(pool));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_metrics(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "name=metrics_pool pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    size_t needed = 0;
    CHECK_OK(unipool_pool_metrics(pool, NULL, 0, &needed));
    CHECK(needed > 50);
    char *buf = malloc(needed + 1);
    size_t needed2 = 0;
    CHECK_OK(unipool_pool_metrics(pool, buf, needed + 1, &needed2));
    CHECK_EQ_L(needed2, needed);
    CHECK_EQ_L(strlen(buf), needed);
    CHECK_CONTAINS(buf, "metrics_pool");
    CHECK_CONTAINS(buf, "# TYPE");
    /* truncation: NUL-terminated, still reports the full size */
    char small[10];
    CHECK_OK(unipool_pool_metrics(pool, small, sizeof small, &needed2));
    CHECK_EQ_L(strlen(small), 9);
    CHECK_EQ_L(needed2, needed);
    CHECK(strncmp(small, buf, 9) == 0);
    char *s = NULL;
    CHECK_OK(unipool_pool_metrics_string(pool, &s));
    CHECK(s != NULL && strcmp(s, buf) == 0);
    unipool_string_free(s);
    free(buf);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

typedef struct ev_counts {
    atomic_int by_kind[128];
    atomic_int last_reason;
    atomic_int name_ok;
    char last_message[256];
} ev_counts;

static void on_event(void *ud, const unipool_event *ev) {
    ev_counts *c = ud;
    int k = ev->kind >= 0 && ev->kind < 128 ? ev->kind : 127;
    atomic_fetch_add(&c->by_kind[k], 1);
    if (ev->kind == UNIPOOL_EVENT_CLOSE) atomic_store(&c->last_reason, ev->reason);
    if (ev->pool_name && strcmp(ev->pool_name, "events") == 0) atomic_store(&c->name_ok, 1);
    if (ev->message) snprintf(c->last_message, sizeof c->last_message, "%s", ev->message);
}

static void test_events(void) {
    fake_db db = {0};
    static ev_counts ev;
    memset(&ev, 0, sizeof ev);
    unipool_pool *pool = fake_pool(&db, "name=events pool_size=1 max_overflow=0");
    if (!pool) return;
    uint64_t id = 0, id2 = 0;
    CHECK_OK(unipool_pool_subscribe(pool, on_event, &ev, &id));
    CHECK_OK(unipool_pool_subscribe(pool, on_event, &ev, &id2));
    CHECK(id != id2);
    CHECK_OK(unipool_pool_unsubscribe(pool, id2));
    CHECK_RC(unipool_pool_unsubscribe(pool, id2), UNIPOOL_E_INVALID_USAGE);
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_invalidate(a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_RC(unipool_pool_acquire(pool, 20, &(unipool_conn *){NULL}), UNIPOOL_E_POOL_TIMEOUT);
    CHECK_OK(unipool_conn_release(a));
    atomic_store(&db.fail_close, 1);
    CHECK_OK(unipool_pool_dispose(pool));
    atomic_store(&db.fail_create, 1);
    CHECK_RC(unipool_pool_acquire(pool, 1000, &a), UNIPOOL_E_CONNECT_FAILED);

    CHECK_EQ_L(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CONNECT]), 2);
    CHECK(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CHECKOUT]) >= 2);
    CHECK(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CHECKIN]) >= 1);
    CHECK(atomic_load(&ev.by_kind[UNIPOOL_EVENT_INVALIDATE]) + atomic_load(&ev.by_kind[UNIPOOL_EVENT_CLOSE]) >= 2);
    CHECK_EQ_L(atomic_load(&ev.by_kind[UNIPOOL_EVENT_TIMEOUT]), 1);
    CHECK_EQ_L(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CLOSE_FAILED]), 1);
    CHECK(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CONNECT_FAILED]) >= 1);
    CHECK_CONTAINS(ev.last_message, "fake connect refused");
    CHECK(atomic_load(&ev.name_ok));
    CHECK_EQ_L(atomic_load(&ev.by_kind[127]), 0);

    /* after unsubscribe nothing more arrives */
    CHECK_OK(unipool_pool_unsubscribe(pool, id));
    int before = atomic_load(&ev.by_kind[UNIPOOL_EVENT_CHECKOUT]);
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    CHECK_EQ_L(atomic_load(&ev.by_kind[UNIPOOL_EVENT_CHECKOUT]), before);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_failing_create(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = (unipool_conn *)1;
    atomic_store(&db.fail_create, 1);
    CHECK_RC(unipool_pool_acquire(pool, 1000, &a), UNIPOOL_E_CONNECT_FAILED);
    CHECK(a == NULL);
    CHECK_CONTAINS(unipool_last_error_message(), "fake connect refused (injected)");
    atomic_store(&db.create_code, UNIPOOL_E_CONNECT_TIMEOUT);
    atomic_store(&db.fail_create, 1);
    CHECK_RC(unipool_pool_acquire(pool, 1000, &a), UNIPOOL_E_CONNECT_TIMEOUT);
    atomic_store(&db.create_code, 77); /* unknown code: counts as connect failed */
    atomic_store(&db.fail_create, 1);
    CHECK_RC(unipool_pool_acquire(pool, 1000, &a), UNIPOOL_E_CONNECT_FAILED);
    atomic_store(&db.create_null, 1);
    CHECK_RC(unipool_pool_acquire(pool, 1000, &a), UNIPOOL_E_CONNECT_FAILED);
    CHECK_CONTAINS(unipool_last_error_message(), "NULL");
    atomic_store(&db.create_null, 0);
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.create_failures, 4);
    CHECK_EQ_L(st.open, 0);
    CHECK_EQ_L(st.pending, 0);
    /* the slot was given back each time: a working create still succeeds */
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_failing_ping(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0 pool_pre_ping=true pre_ping_bypass=0");
    if (!pool) return;
    unipool_conn *a = NULL;
    void *p1 = NULL, *p2 = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_get(a, &p1));
    CHECK_OK(unipool_conn_release(a));
    usleep(2000);
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a)); /* pinged, fine */
    CHECK(atomic_load(&db.pings) >= 1);
    CHECK_OK(unipool_conn_release(a));
    usleep(2000);
    atomic_store(&db.fail_ping, 1);
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a)); /* ping fails: closed, a new one made */
    CHECK_OK(unipool_conn_get(a, &p2));
    CHECK_EQ_L(atomic_load(&db.created), 2);
    CHECK_EQ_L(atomic_load(&db.closed), 1);
    unipool_status st = pool_status(pool);
    CHECK(st.ping_failures >= 1);
    CHECK_OK(unipool_conn_release(a));
    (void)p1;
    (void)p2;
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_failing_reset_and_modes(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    atomic_store(&db.fail_reset, 1);
    CHECK_RC(unipool_conn_release(a), UNIPOOL_E_CONNECTION_BROKEN);
    CHECK_CONTAINS(unipool_last_error_message(), "fake rollback failed");
    CHECK_EQ_L(atomic_load(&db.closed), 1);
    CHECK_EQ_L(pool_status(pool).open, 0);
    unipool_pool_free(pool);
    check_balanced(&db, 0);

    fake_db db2 = {0};
    pool = fake_pool(&db2, "pool_size=1 reset_on_return=commit");
    if (!pool) return;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    CHECK_EQ_L(atomic_load(&db2.last_reset_mode), UNIPOOL_RESET_COMMIT);
    unipool_pool_free(pool);
    check_balanced(&db2, 0);

    fake_db db3 = {0};
    pool = fake_pool(&db3, "pool_size=1 reset_on_return=none");
    if (!pool) return;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_conn_release(a));
    CHECK_EQ_L(atomic_load(&db3.resets), 0);
    unipool_pool_free(pool);
    check_balanced(&db3, 0);

    /* optional callbacks may be NULL */
    fake_db db4 = {0};
    unipool_callbacks cb = fake_callbacks(&db4);
    cb.ping = NULL;
    cb.reset = NULL;
    unipool_config *cfg = NULL;
    CHECK_OK(unipool_config_from_string("pool_size=1 pool_pre_ping=1 pre_ping_bypass=0", &cfg));
    CHECK_OK(unipool_pool_new(cfg, &cb, &pool));
    unipool_config_free(cfg);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
        CHECK_OK(unipool_conn_release(a));
    }
    CHECK_EQ_L(atomic_load(&db4.pings) + atomic_load(&db4.resets), 0);
    unipool_pool_free(pool);
    check_balanced(&db4, 0);
}

static void test_overflow_closed_on_return(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=1");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_EQ_L(pool_status(pool).overflow, 1);
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_conn_release(b));
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.open, 1); /* the overflow connection was closed on return */
    CHECK_EQ_L(atomic_load(&db.closed), 1);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_max_uses(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_uses=2");
    if (!pool) return;
    unipool_conn *a = NULL;
    for (int i = 0; i < 4; i++) {
        CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
        CHECK_OK(unipool_conn_release(a));
    }
    CHECK_EQ_L(atomic_load(&db.created), 2);
    CHECK_EQ_L(atomic_load(&db.closed), 2);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_min_idle_maintenance(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=3 max_overflow=0 min_idle=2");
    if (!pool) return;
    CHECK_OK(unipool_pool_wait_min_idle(pool, 5000));
    unipool_status st = pool_status(pool);
    CHECK(st.idle >= 2);
    CHECK(atomic_load(&db.created) >= 2);
    unipool_pool_free(pool);
    check_balanced(&db, 0);

    /* creates keep failing: the wait reports the last connect error */
    fake_db db2 = {0};
    atomic_store(&db2.fail_create, 1000000);
    pool = fake_pool(&db2, "pool_size=2 min_idle=1");
    if (!pool) return;
    CHECK(unipool_pool_wait_min_idle(pool, 800) != UNIPOOL_OK);
    CHECK_CONTAINS(unipool_last_error_message(), "fake connect refused");
    unipool_pool_free(pool);
    atomic_store(&db2.fail_create, 0);
    check_balanced(&db2, 0);
}

static void test_idle_timeout_reaped(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=2 max_overflow=0 idle_timeout=50ms");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_conn_release(b));
    usleep(120000);
    CHECK_OK(unipool_pool_maintain(pool, NULL));
    /* the background thread may have done it already; either way both are gone */
    for (int i = 0; i < 100 && atomic_load(&db.closed) < 2; i++) usleep(10000);
    CHECK_EQ_L(atomic_load(&db.closed), 2);
    CHECK_EQ_L(pool_status(pool).open, 0);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

/* The pool's own maintenance thread reaps idle connections without any call from us. */
static void test_background_thread_reaps(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=2 max_overflow=0 idle_timeout=50ms maintenance_interval=20ms");
    if (!pool) return;
    unipool_conn *a = NULL, *b = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_conn_release(b));
    for (int i = 0; i < 500 && atomic_load(&db.closed) < 2; i++) usleep(10000);
    CHECK_EQ_L(atomic_load(&db.closed), 2);
    CHECK_EQ_L(pool_status(pool).open, 0);
    unipool_pool_free(pool);
    check_balanced(&db, 0);
}

static void test_handle_outlives_pool(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=2");
    if (!pool) return;
    unipool_conn *a = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.closed), 0);
    CHECK_OK(unipool_conn_release(a)); /* the pool is closed: the connection is closed */
    check_balanced(&db, 0);
}

static void *other_thread_error(void *arg) {
    int *out = arg;
    out[0] = unipool_last_error_kind();
    out[1] = (int)strlen(unipool_last_error_message());
    out[2] = unipool_config_set(NULL, "x", "y");
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    unipool_config *cfg = NULL;
    CHECK_OK(unipool_config_new(&cfg));
    CHECK_RC(unipool_config_set(cfg, "pool_size", "zzz"), UNIPOOL_E_INVALID_CONFIG);
    int res[3] = {-1, -1, -1};
    pthread_t t;
    pthread_create(&t, NULL, other_thread_error, res);
    pthread_join(t, NULL);
    CHECK_EQ_L(res[0], UNIPOOL_OK); /* fresh thread: nothing failed there yet */
    CHECK_EQ_L(res[1], 0);
    CHECK_EQ_L(res[2], UNIPOOL_E_INVALID_USAGE);
    /* ours is untouched by the other thread's failure */
    CHECK_EQ_L(unipool_last_error_kind(), UNIPOOL_E_INVALID_CONFIG);
    CHECK_CONTAINS(unipool_last_error_message(), "zzz");
    /* success does not clear it */
    CHECK_OK(unipool_config_set(cfg, "pool_size", "2"));
    CHECK_EQ_L(unipool_last_error_kind(), UNIPOOL_E_INVALID_CONFIG);
    unipool_config_free(cfg);
}

/* freeing the pool from inside an event callback on the maintenance thread must not deadlock */
static void test_initialization_fail_timeout(void) {
    fake_db db = {0};
    atomic_store(&db.fail_create, 1000000);
    unipool_config *cfg = NULL;
    unipool_pool *pool = (unipool_pool *)1;
    CHECK_OK(unipool_config_from_string("pool_size=2 min_idle=1 initialization_fail_timeout=800ms", &cfg));
    unipool_callbacks cb = fake_callbacks(&db);
    int rc = unipool_pool_new(cfg, &cb, &pool);
    CHECK(rc == UNIPOOL_E_CONNECT_FAILED || rc == UNIPOOL_E_POOL_TIMEOUT || rc == UNIPOOL_E_CONNECT_TIMEOUT);
    CHECK(pool == NULL);
    CHECK_CONTAINS(unipool_last_error_message(), "fake connect refused");
    atomic_store(&db.fail_create, 0);
    CHECK_OK(unipool_pool_new(cfg, &cb, &pool));
    unipool_status st = pool_status(pool);
    CHECK(st.idle >= 1);
    unipool_pool_free(pool);
    unipool_config_free(cfg);
    check_balanced(&db, 0);
}


typedef struct async_rec {
    pthread_mutex_t lock;
    int calls, code;
    unipool_conn *conn;
    char message[256];
} async_rec;

static void on_async(void *ud, int code, unipool_conn *conn, const char *message) {
    async_rec *a = ud;
    pthread_mutex_lock(&a->lock);
    a->calls++;
    a->code = code;
    a->conn = conn;
    snprintf(a->message, sizeof a->message, "%s", message ? message : "");
    pthread_mutex_unlock(&a->lock);
}

static int async_calls(async_rec *a, int wait_ms) {
    for (int i = 0;; i++) {
        pthread_mutex_lock(&a->lock);
        int n = a->calls;
        pthread_mutex_unlock(&a->lock);
        if (n || i >= wait_ms) return n;
        usleep(1000);
    }
}

static void test_acquire_async(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=1 max_overflow=0");
    if (!pool) return;
    async_rec a = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    unipool_wait *w = NULL;

    /* free pool: answered before the call returns, create ran on this thread */
    CHECK_OK(unipool_pool_acquire_async(pool, 1000, on_async, &a, &w));
    CHECK_EQ_L(async_calls(&a, 0), 1);
    CHECK_EQ_L(a.code, UNIPOOL_OK);
    CHECK(a.conn != NULL);
    bool cancelled = true;
    CHECK_OK(unipool_wait_cancel(w, &cancelled)); /* already answered */
    CHECK(!cancelled);
    unipool_wait_free(w);
    unipool_conn *held = a.conn;

    /* busy pool: queued, served by the release */
    async_rec b = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    CHECK_OK(unipool_pool_acquire_async(pool, 5000, on_async, &b, NULL));
    CHECK_EQ_L(async_calls(&b, 20), 0);
    CHECK_EQ_L(pool_status(pool).waiting, 1);
    void *p1 = NULL, *p2 = NULL;
    CHECK_OK(unipool_conn_get(held, &p1));
    CHECK_OK(unipool_conn_release(held));
    CHECK_EQ_L(async_calls(&b, 2000), 1);
    CHECK_EQ_L(b.code, UNIPOOL_OK);
    if (b.conn) {
        CHECK_OK(unipool_conn_get(b.conn, &p2));
        CHECK(p1 == p2);
    }

    /* a cancelled wait never gets its callback, and the next one is served */
    async_rec c = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    async_rec d = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    unipool_wait *wc = NULL;
    CHECK_OK(unipool_pool_acquire_async(pool, 5000, on_async, &c, &wc));
    CHECK_OK(unipool_pool_acquire_async(pool, 5000, on_async, &d, NULL));
    CHECK_EQ_L(pool_status(pool).waiting, 2);
    CHECK_OK(unipool_wait_cancel(wc, &cancelled));
    CHECK(cancelled);
    CHECK_OK(unipool_wait_cancel(wc, &cancelled)); /* a second cancel reports false */
    CHECK(!cancelled);
    unipool_wait_free(wc);
    CHECK_EQ_L(pool_status(pool).waiting, 1);
    if (b.conn) CHECK_OK(unipool_conn_release(b.conn));
    CHECK_EQ_L(async_calls(&d, 2000), 1);
    CHECK_EQ_L(d.code, UNIPOOL_OK);
    usleep(20000);
    CHECK_EQ_L(async_calls(&c, 0), 0);

    /* deadline: answered by the pool's timer thread with POOL_TIMEOUT and a message */
    async_rec e = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    CHECK_OK(unipool_pool_acquire_async(pool, 50, on_async, &e, NULL));
    CHECK_EQ_L(async_calls(&e, 3000), 1);
    CHECK_EQ_L(e.code, UNIPOOL_E_POOL_TIMEOUT);
    CHECK(e.conn == NULL);
    CHECK(strlen(e.message) > 0);

    /* close wakes a queued wait with POOL_CLOSED */
    async_rec f = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    CHECK_OK(unipool_pool_acquire_async(pool, 5000, on_async, &f, NULL));
    CHECK_OK(unipool_pool_close(pool));
    CHECK_EQ_L(async_calls(&f, 2000), 1);
    CHECK_EQ_L(f.code, UNIPOOL_E_POOL_CLOSED);
    if (d.conn) CHECK_OK(unipool_conn_release(d.conn));

    /* arguments */
    CHECK_RC(unipool_pool_acquire_async(pool, 10, NULL, NULL, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_acquire_async(NULL, 10, on_async, &f, NULL), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_wait_cancel(NULL, &cancelled), UNIPOOL_E_INVALID_USAGE);
    unipool_wait_free(NULL);
    unipool_pool_free(pool);
    check_balanced(&db, 0);

    /* a failing create is reported to the callback */
    fake_db db2 = {0};
    pool = fake_pool(&db2, "pool_size=1");
    if (!pool) return;
    atomic_store(&db2.fail_create, 1);
    async_rec g = {PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL, ""};
    CHECK_OK(unipool_pool_acquire_async(pool, 1000, on_async, &g, NULL));
    CHECK_EQ_L(async_calls(&g, 1000), 1);
    CHECK_EQ_L(g.code, UNIPOOL_E_CONNECT_FAILED);
    CHECK_CONTAINS(g.message, "fake connect refused");
    unipool_pool_free(pool);
    check_balanced(&db2, 0);
}

static void test_manual_clock_and_maintenance_report(void) {
    fake_db db = {0};
    unipool_config *cfg = NULL;
    unipool_pool *pool = NULL;
    unipool_callbacks cb = fake_callbacks(&db);
    CHECK_OK(unipool_config_from_string("pool_size=3 max_overflow=0 idle_timeout=10 min_idle=1 pool_recycle=100 lifetime_jitter=0", &cfg));
    CHECK_OK(unipool_pool_new_manual_clock(cfg, &cb, &pool));
    unipool_config_free(cfg);
    if (!pool) return;
    unipool_maintenance m;
    memset(&m, 0xff, sizeof m);
    CHECK_OK(unipool_pool_maintain(pool, &m)); /* fills min_idle */
    CHECK_EQ_L(m.created, 1);
    CHECK_EQ_L(m.closed, 0);
    CHECK_EQ_L(m.create_failures, 0);
    CHECK(m.next_run_ms > 0);
    unipool_conn *a = NULL, *b = NULL;
    CHECK_OK(unipool_pool_acquire(pool, 1000, &a));
    CHECK_OK(unipool_pool_acquire(pool, 1000, &b));
    CHECK_OK(unipool_conn_release(a));
    CHECK_OK(unipool_conn_release(b));
    CHECK_EQ_L(pool_status(pool).idle, 2);
    /* real time does not age connections; the manual clock does */
    CHECK_OK(unipool_pool_maintain(pool, &m));
    CHECK_EQ_L(m.closed, 0);
    CHECK_OK(unipool_pool_advance_clock(pool, 11));
    CHECK_OK(unipool_pool_maintain(pool, &m));
    CHECK_EQ_L(m.closed, 1); /* one reaped, min_idle = 1 kept */
    CHECK_EQ_L(m.closed_by_reason[UNIPOOL_CLOSE_IDLE_TIMEOUT], 1);
    CHECK_OK(unipool_pool_advance_clock(pool, 100));
    CHECK_OK(unipool_pool_maintain(pool, &m));
    CHECK_EQ_L(m.closed_by_reason[UNIPOOL_CLOSE_RECYCLED] + m.closed_by_reason[UNIPOOL_CLOSE_IDLE_TIMEOUT], 1);
    CHECK_RC(unipool_pool_advance_clock(pool, -1), UNIPOOL_E_INVALID_USAGE);
    CHECK_RC(unipool_pool_advance_clock(NULL, 1), UNIPOOL_E_INVALID_USAGE);
    unipool_pool_free(pool);
    check_balanced(&db, 0);

    /* a system-clock pool cannot be advanced */
    fake_db db2 = {0};
    pool = fake_pool(&db2, "pool_size=1");
    if (!pool) return;
    CHECK_RC(unipool_pool_advance_clock(pool, 1), UNIPOOL_E_INVALID_USAGE);
    CHECK_CONTAINS(unipool_last_error_message(), "unipool_pool_new_manual_clock");
    unipool_pool_free(pool);
}

static void test_last_error_config_key(void) {
    unipool_config *cfg = NULL;
    CHECK_OK(unipool_config_new(&cfg));
    CHECK_RC(unipool_config_set(cfg, "maxOverflow", "lots"), UNIPOOL_E_INVALID_CONFIG);
    CHECK(strcmp(unipool_last_error_config_key(), "max_overflow") == 0);
    CHECK_RC(unipool_config_set(cfg, NULL, "1"), UNIPOOL_E_INVALID_USAGE);
    CHECK(strcmp(unipool_last_error_config_key(), "") == 0);
    CHECK_OK(unipool_config_parse(cfg, "pool_size=1 max_overflow=0 min_idle=3"));
    fake_db db = {0};
    unipool_callbacks cb = fake_callbacks(&db);
    unipool_pool *pool = NULL;
    CHECK_RC(unipool_pool_new(cfg, &cb, &pool), UNIPOOL_E_INVALID_CONFIG);
    CHECK(strcmp(unipool_last_error_config_key(), "min_idle") == 0);
    CHECK(pool == NULL);
    unipool_config_free(cfg);
}

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    RUN(test_codes_and_version);
    RUN(test_null_arguments);
    RUN(test_config);
    RUN(test_acquire_release_reuse);
    RUN(test_timeout_and_try_acquire);
    RUN(test_handoff_to_waiter);
    RUN(test_close_wakes_waiters);
    RUN(test_invalidate_and_detach);
    RUN(test_dispose);
    RUN(test_resize);
    RUN(test_pause_resume);
    RUN(test_metrics);
    RUN(test_events);
    RUN(test_failing_create);
    RUN(test_failing_ping);
    RUN(test_failing_reset_and_modes);
    RUN(test_overflow_closed_on_return);
    RUN(test_max_uses);
    RUN(test_min_idle_maintenance);
    RUN(test_idle_timeout_reaped);
    RUN(test_background_thread_reaps);
    RUN(test_handle_outlives_pool);
    RUN(test_last_error_is_per_thread);
    RUN(test_initialization_fail_timeout);
    RUN(test_acquire_async);
    RUN(test_manual_clock_and_maintenance_report);
    RUN(test_last_error_config_key);
    return h_finish();
}

/* Pools libpq connections (PGconn *) with unipool from several threads.
 *
 *   create: PQconnectdb(conninfo)      ping: PQexec("SELECT 1")
 *   reset:  ROLLBACK (or COMMIT) when a transaction was left open     close: PQfinish
 *
 * Build:  cc main.c $(pkg-config --cflags --libs unipool libpq) -lpthread -o c-libpq
 * Run:    DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?pool_size=3&max_overflow=1&pool_pre_ping=true' ./c-libpq
 * Pool settings come from the URL's query (unipool_config_from_url takes them out; libpq gets the
 * rest), overridden by DB_POOL_* environment variables (e.g. DB_POOL_POOL_SIZE=2); what neither
 * sets has unipool's defaults (pool_size 5, max_overflow 10). Exits non-zero on any failure. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unipool.h>

#define THREADS 6
#define QUERIES_PER_THREAD 50

static atomic_long failures;
static atomic_long queries;
static atomic_long dirty_checkouts; /* a connection handed out inside a transaction: reset failed */

static void quiet_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

/* user_data is the conninfo string (a libpq URI or key=value string). */
static int pg_create(void *user_data, void **conn_out, char *err, size_t err_len) {
    PGconn *conn = PQconnectdb((const char *)user_data);
    if (conn == NULL) {
        snprintf(err, err_len, "PQconnectdb returned NULL (out of memory)");
        return UNIPOOL_E_CONNECT_FAILED;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password */
        snprintf(err, err_len, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        return UNIPOOL_E_CONNECT_FAILED;
    }
    PQsetNoticeProcessor(conn, quiet_notice, NULL);
    *conn_out = conn;
    return UNIPOOL_OK;
}

static int pg_ping(void *user_data, void *c, char *err, size_t err_len) {
    (void)user_data;
    PGresult *r = PQexec((PGconn *)c, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) snprintf(err, err_len, "ping failed: %s", PQerrorMessage((PGconn *)c));
    PQclear(r);
    return ok ? UNIPOOL_OK : UNIPOOL_E_CONNECTION_BROKEN;
}

static int pg_reset(void *user_data, void *c, int mode, char *err, size_t err_len) {
    (void)user_data;
    PGconn *conn = c;
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (ts == PQTRANS_IDLE) return UNIPOOL_OK; /* nothing to undo */
    if (ts == PQTRANS_UNKNOWN || ts == PQTRANS_ACTIVE) {
        snprintf(err, err_len, "connection in state %d cannot be reset", (int)ts);
        return UNIPOOL_E_CONNECTION_BROKEN;
    }
    PGresult *r = PQexec(conn, mode == UNIPOOL_RESET_COMMIT ? "COMMIT" : "ROLLBACK");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(err, err_len, "reset failed: %s", PQerrorMessage(conn));
    PQclear(r);
    return ok ? UNIPOOL_OK : UNIPOOL_E_CONNECTION_BROKEN;
}

static int pg_close(void *user_data, void *c, char *err, size_t err_len) {
    (void)user_data;
    (void)err;
    (void)err_len;
    PQfinish((PGconn *)c);
    return UNIPOOL_OK;
}

static void *worker(void *arg) {
    unipool_pool *pool = arg;
    for (int i = 0; i < QUERIES_PER_THREAD; i++) {
        unipool_conn *h = NULL;
        int rc = unipool_pool_acquire(pool, 10000, &h);
        if (rc != UNIPOOL_OK) {
            fprintf(stderr, "acquire failed: %s: %s\n", unipool_code_name(rc), unipool_last_error_message());
            atomic_fetch_add(&failures, 1);
            continue;
        }
        void *raw = NULL;
        unipool_conn_get(h, &raw);
        PGconn *conn = raw;
        if (PQtransactionStatus(conn) != PQTRANS_IDLE) atomic_fetch_add(&dirty_checkouts, 1);

        /* every 5th use opens a transaction and "forgets" it: the reset callback rolls it back */
        if (i % 5 == 0) PQclear(PQexec(conn, "BEGIN"));
        PGresult *r = PQexec(conn, "SELECT pg_backend_pid(), 40 + 2");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || strcmp(PQgetvalue(r, 0, 1), "42") != 0) {
            fprintf(stderr, "query failed: %s\n", PQerrorMessage(conn));
            atomic_fetch_add(&failures, 1);
            PQclear(r);
            unipool_conn_invalidate(h); /* broken: the pool closes it */
            continue;
        }
        PQclear(r);
        atomic_fetch_add(&queries, 1);
        rc = unipool_conn_release(h);
        if (rc != UNIPOOL_OK) {
            fprintf(stderr, "release: %s: %s\n", unipool_code_name(rc), unipool_last_error_message());
            atomic_fetch_add(&failures, 1);
        }
    }
    return NULL;
}

int main(void) {
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || *url == '\0') url = "postgres://postgres@127.0.0.1:5432/test";

    unipool_config *cfg = NULL;
    unipool_config *env = NULL;
    /* pool parameters travel in the URL; conninfo is the URL without them, for libpq */
    static char conninfo[2048];
    size_t needed = 0;
    if (unipool_config_from_url(url, &cfg, conninfo, sizeof conninfo, &needed) != UNIPOOL_OK) {
        fprintf(stderr, "DATABASE_URL: %s\n", unipool_last_error_message());
        return 1;
    }
    if (needed >= sizeof conninfo) {
        fprintf(stderr, "DATABASE_URL is longer than %zu bytes\n", sizeof conninfo - 1);
        unipool_config_free(cfg);
        return 1;
    }
    if (unipool_config_set(cfg, "name", "libpq_example") != UNIPOOL_OK) {
        fprintf(stderr, "config: %s\n", unipool_last_error_message());
        unipool_config_free(cfg);
        return 1;
    }
    /* DB_POOL_* environment variables override the settings above. from_env validates them all
     * (its errors name the variable and value); then the ones that are set are applied. */
    if (unipool_config_from_env("DB_POOL_", &env) != UNIPOOL_OK) {
        fprintf(stderr, "config from environment: %s\n", unipool_last_error_message());
        unipool_config_free(cfg);
        return 1;
    }
    unipool_config_free(env);
    static const char *keys[][2] = {{"pool_size", "DB_POOL_POOL_SIZE"},
                                    {"max_overflow", "DB_POOL_MAX_OVERFLOW"},
                                    {"pool_timeout", "DB_POOL_POOL_TIMEOUT"}};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = getenv(keys[k][1]);
        if (v && unipool_config_set(cfg, keys[k][0], v) != UNIPOOL_OK) {
            fprintf(stderr, "%s: %s\n", keys[k][1], unipool_last_error_message());
            unipool_config_free(cfg);
            return 1;
        }
    }

    unipool_callbacks cb = {pg_create, pg_ping, pg_reset, pg_close, conninfo};
    unipool_pool *pool = NULL;
    if (unipool_pool_new(cfg, &cb, &pool) != UNIPOOL_OK) {
        fprintf(stderr, "pool: %s\n", unipool_last_error_message());
        unipool_config_free(cfg);
        return 1;
    }
    unipool_config_free(cfg);

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, pool);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    unipool_status st;
    unipool_pool_status(pool, &st);
    printf("queries ok: %ld, failures: %ld, dirty checkouts: %ld\n", atomic_load(&queries),
           atomic_load(&failures), atomic_load(&dirty_checkouts));
    printf("pool %s: open=%zu idle=%zu in_use=%zu max=%lld created=%llu acquired=%llu closed=%llu\n",
           st.name, st.open, st.idle, st.in_use, (long long)st.max, (unsigned long long)st.created,
           (unsigned long long)st.acquired, (unsigned long long)st.closed);

    char *metrics = NULL;
    if (unipool_pool_metrics_string(pool, &metrics) == UNIPOOL_OK) {
        printf("--- Prometheus metrics ---\n%s", metrics);
        unipool_string_free(metrics);
    }
    int bad = atomic_load(&failures) != 0 || atomic_load(&dirty_checkouts) != 0 ||
              atomic_load(&queries) != THREADS * QUERIES_PER_THREAD ||
              (st.max >= 0 && st.open > (size_t)st.max) || st.in_use != 0 || st.created - st.closed != st.open;
    unipool_pool_free(pool); /* closes the idle PGconn*s with PQfinish */
    return bad ? 1 : 0;
}

/* Many threads acquiring and releasing through the C API: a connection is never handed to two
 * threads at once, the pool never opens more than its maximum, failing creates/pings/resets and
 * invalidations under contention leave the counts consistent, and everything is closed at the end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <unistd.h>

#include "harness.h"

typedef struct worker {
    unipool_pool *pool;
    fake_db *db;
    int iterations;
    int seed;
    int invalidate_every; /* 0 = never */
    long ok, timeouts, connect_failed, broken, other;
    long max_open_seen;
    size_t max_allowed;
    int overcommit; /* saw open > max */
    int double_use; /* saw a connection held by two threads */
    int closed_seen;
} worker;

static void *worker_main(void *p) {
    worker *w = p;
    unsigned s = (unsigned)w->seed;
    for (int i = 0; i < w->iterations; i++) {
        unipool_conn *c = NULL;
        int rc = (i % 7 == 3) ? unipool_pool_try_acquire(w->pool, &c) : unipool_pool_acquire(w->pool, 2000, &c);
        if (rc == UNIPOOL_E_POOL_TIMEOUT) {
            w->timeouts++;
            continue;
        }
        if (rc == UNIPOOL_E_POOL_CLOSED) {
            w->closed_seen = 1;
            break;
        }
        if (rc == UNIPOOL_E_CONNECT_FAILED) {
            w->connect_failed++;
            continue;
        }
        if (rc != UNIPOOL_OK) {
            fprintf(stderr, "  unexpected acquire rc %s: %s\n", unipool_code_name(rc), unipool_last_error_message());
            w->other++;
            continue;
        }
        void *raw = NULL;
        unipool_conn_get(c, &raw);
        fake_conn *fc = raw;
        if (atomic_fetch_add(&fc->holders, 1) != 0) w->double_use = 1;
        unipool_status st;
        unipool_pool_status(w->pool, &st);
        if (st.max >= 0 && st.open > (size_t)st.max) w->overcommit = 1;
        if ((long)st.open > w->max_open_seen) w->max_open_seen = (long)st.open;
        s = s * 1103515245u + 12345u;
        if ((s >> 16) % 4 == 0) sched_yield();
        atomic_fetch_sub(&fc->holders, 1);
        if (w->invalidate_every && (i % w->invalidate_every) == 0) {
            rc = unipool_conn_invalidate(c);
        } else {
            rc = unipool_conn_release(c);
        }
        if (rc == UNIPOOL_OK) w->ok++;
        else if (rc == UNIPOOL_E_CONNECTION_BROKEN) w->broken++;
        else w->other++;
    }
    return NULL;
}

static void run_threads(unipool_pool *pool, fake_db *db, int nthreads, int iters, int invalidate_every, worker *ws) {
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].pool = pool;
        ws[i].db = db;
        ws[i].iterations = iters;
        ws[i].seed = i + 1;
        ws[i].invalidate_every = invalidate_every;
        pthread_create(&t[i], NULL, worker_main, &ws[i]);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
}

static void test_contention_16_threads_pool_of_4(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=4 max_overflow=0 pool_timeout=5s");
    if (!pool) return;
    worker ws[16];
    run_threads(pool, &db, 16, 3000, 0, ws);
    long ok = 0, other = 0;
    for (int i = 0; i < 16; i++) {
        ok += ws[i].ok;
        other += ws[i].other;
        CHECK(!ws[i].double_use);
        CHECK(!ws[i].overcommit);
        CHECK(ws[i].max_open_seen <= 4);
    }
    CHECK_EQ_L(other, 0);
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.in_use, 0);
    CHECK_EQ_L(st.waiting, 0);
    CHECK(st.open <= 4);
    CHECK_EQ_L(st.acquired, ok);
    CHECK(atomic_load(&db.created) <= 4);
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.created), atomic_load(&db.closed));
    CHECK_EQ_L(atomic_load(&db.bad_close), 0);
}

static void test_contention_with_failures(void) {
    fake_db db = {0};
    atomic_store(&db.fail_every_nth, 3); /* every third create fails */
    unipool_pool *pool = fake_pool(&db, "pool_size=3 max_overflow=2 pool_timeout=5s pool_pre_ping=true pre_ping_bypass=0");
    if (!pool) return;
    worker ws[12];
    /* invalidating every 5th keeps creates (and so failures) happening; failing pings/resets too */
    atomic_store(&db.fail_ping, 50);
    atomic_store(&db.fail_reset, 50);
    run_threads(pool, &db, 12, 1500, 5, ws);
    long ok = 0, failed = 0, broken = 0, other = 0;
    for (int i = 0; i < 12; i++) {
        ok += ws[i].ok;
        failed += ws[i].connect_failed;
        broken += ws[i].broken;
        other += ws[i].other;
        CHECK(!ws[i].double_use);
        CHECK(!ws[i].overcommit);
    }
    CHECK_EQ_L(other, 0);
    CHECK(failed > 0);
    CHECK(broken > 0);
    CHECK(ok > 1000);
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.in_use, 0);
    CHECK_EQ_L(st.pending, 0);
    CHECK_EQ_L(st.waiting, 0);
    CHECK(st.open <= 5);
    CHECK((long)st.create_failures >= failed);
    CHECK_EQ_L(st.open, atomic_load(&db.created) - atomic_load(&db.closed));
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.created), atomic_load(&db.closed));
    CHECK_EQ_L(atomic_load(&db.bad_close), 0);
}

typedef struct closer_arg {
    unipool_pool *pool;
} closer_arg;

static void *closer_main(void *p) {
    closer_arg *a = p;
    usleep(30000);
    unipool_pool_close(a->pool);
    return NULL;
}

static void test_close_under_load(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=2 max_overflow=0 pool_timeout=5s");
    if (!pool) return;
    worker ws[8];
    pthread_t closer;
    closer_arg ca = {pool};
    pthread_create(&closer, NULL, closer_main, &ca);
    /* workers run into the close: acquires fail with POOL_CLOSED (counted as other), releases close */
    run_threads(pool, &db, 8, 200000, 0, ws);
    pthread_join(closer, NULL);
    for (int i = 0; i < 8; i++) {
        CHECK(ws[i].closed_seen);
        CHECK_EQ_L(ws[i].other, 0);
        CHECK(!ws[i].double_use);
        CHECK(!ws[i].overcommit);
    }
    CHECK_RC(unipool_pool_acquire(pool, 10, &(unipool_conn *){NULL}), UNIPOOL_E_POOL_CLOSED);
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.in_use, 0);
    CHECK_EQ_L(st.open, 0);
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.created), atomic_load(&db.closed));
}


typedef struct async_slot {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, code;
    unipool_conn *conn;
} async_slot;

static void on_async(void *ud, int code, unipool_conn *conn, const char *message) {
    (void)message;
    async_slot *s = ud;
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    s->code = code;
    s->conn = conn;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

typedef struct async_worker {
    unipool_pool *pool;
    int iterations, ok, other, double_use;
} async_worker;

/* Threads that acquire through unipool_pool_acquire_async and wait for the callback, mixed with
 * blocking workers: the callback may run on a releasing thread or the timer thread. */
static void *async_main(void *p) {
    async_worker *w = p;
    async_slot s;
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    for (int i = 0; i < w->iterations; i++) {
        s.done = 0;
        s.conn = NULL;
        unipool_wait *h = NULL;
        if (unipool_pool_acquire_async(w->pool, 5000, on_async, &s, (i & 1) ? &h : NULL) != UNIPOOL_OK) {
            w->other++;
            continue;
        }
        pthread_mutex_lock(&s.lock);
        while (!s.done) pthread_cond_wait(&s.cond, &s.lock);
        pthread_mutex_unlock(&s.lock);
        unipool_wait_free(h);
        if (s.code != UNIPOOL_OK) {
            w->other++;
            continue;
        }
        void *raw = NULL;
        unipool_conn_get(s.conn, &raw);
        fake_conn *fc = raw;
        if (atomic_fetch_add(&fc->holders, 1) != 0) w->double_use = 1;
        sched_yield();
        atomic_fetch_sub(&fc->holders, 1);
        if (unipool_conn_release(s.conn) == UNIPOOL_OK) w->ok++;
        else w->other++;
    }
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
    return NULL;
}

static void test_async_and_blocking_mixed(void) {
    fake_db db = {0};
    unipool_pool *pool = fake_pool(&db, "pool_size=3 max_overflow=0 pool_timeout=5s");
    if (!pool) return;
    pthread_t at[6];
    async_worker aw[6];
    for (int i = 0; i < 6; i++) {
        aw[i] = (async_worker){pool, 2000, 0, 0, 0};
        pthread_create(&at[i], NULL, async_main, &aw[i]);
    }
    worker ws[6];
    run_threads(pool, &db, 6, 2000, 0, ws);
    long ok = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(at[i], NULL);
        CHECK_EQ_L(aw[i].other, 0);
        CHECK(!aw[i].double_use);
        CHECK(!ws[i].double_use);
        CHECK_EQ_L(ws[i].other, 0);
        ok += aw[i].ok + ws[i].ok;
    }
    unipool_status st = pool_status(pool);
    CHECK_EQ_L(st.acquired, ok);
    CHECK_EQ_L(st.in_use, 0);
    CHECK_EQ_L(st.waiting, 0);
    CHECK(st.open <= 3);
    unipool_pool_free(pool);
    CHECK_EQ_L(atomic_load(&db.created), atomic_load(&db.closed));
}

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    RUN(test_contention_16_threads_pool_of_4);
    RUN(test_contention_with_failures);
    RUN(test_close_under_load);
    RUN(test_async_and_blocking_mixed);
    return h_finish();
}

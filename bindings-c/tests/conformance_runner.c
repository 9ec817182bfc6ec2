/* Plays the conformance scenarios (the tests/conformance TOML files, see FORMAT.md there) through the
 * public C API. Input: the line format made by conformance_to_lines.py, on stdin.
 * The runner is the host: its create callback makes connections named c1, c2, ... in creation
 * order, its close callback frees them; pools are made with unipool_pool_new_manual_clock so
 * `advance` steps can move the lifecycle clock and `maintain` steps drive maintenance.
 * Prints one line per scenario and "N passed, N failed" last. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unipool.h"

#define MAX_ITEMS 64
#define MAX_LINE 4096

/* ---- input ------------------------------------------------------------------------------- */

typedef struct kv {
    char type; /* s i f b, or 'A' for an array item */
    char key[64];
    char *value;
} kv;

typedef struct step {
    kv items[MAX_ITEMS];
    int n;
} step;

static const char *get(const step *s, const char *key) {
    for (int i = 0; i < s->n; i++)
        if (s->items[i].type != 'A' && strcmp(s->items[i].key, key) == 0) return s->items[i].value;
    return NULL;
}

static double get_num(const step *s, const char *key, double dflt) {
    const char *v = get(s, key);
    return v ? atof(v) : dflt;
}

/* ---- the host's connections ---------------------------------------------------------------- */

typedef struct rconn {
    int magic;
    char name[16];
} rconn;

typedef struct host {
    atomic_int created, closed, pings, fail_next_create;
    pthread_mutex_t lock;
    /* Close events seen during the current step: (conn id, reason) */
    uint64_t close_ids[64];
    int close_reasons[64];
    int n_close;
} host;

static int h_create(void *ud, void **out, char *err, size_t n) {
    host *h = ud;
    if (atomic_exchange(&h->fail_next_create, 0)) {
        snprintf(err, n, "scenario connect failure");
        return UNIPOOL_E_CONNECT_FAILED;
    }
    rconn *c = calloc(1, sizeof *c);
    if (!c) return UNIPOOL_E_CONNECT_FAILED;
    c->magic = 0xC0FFEE;
    snprintf(c->name, sizeof c->name, "c%d", atomic_fetch_add(&h->created, 1) + 1);
    *out = c;
    return UNIPOOL_OK;
}

static int h_ping(void *ud, void *c, char *err, size_t n) {
    (void)c;
    (void)err;
    (void)n;
    atomic_fetch_add(&((host *)ud)->pings, 1);
    return UNIPOOL_OK;
}

static int h_close(void *ud, void *c, char *err, size_t n) {
    (void)err;
    (void)n;
    rconn *r = c;
    if (r->magic != 0xC0FFEE) abort();
    r->magic = 0;
    free(r);
    atomic_fetch_add(&((host *)ud)->closed, 1);
    return UNIPOOL_OK;
}

static void h_event(void *ud, const unipool_event *ev) {
    host *h = ud;
    if (ev->kind != UNIPOOL_EVENT_CLOSE) return;
    pthread_mutex_lock(&h->lock);
    if (h->n_close < 64) {
        h->close_ids[h->n_close] = ev->conn_id;
        h->close_reasons[h->n_close] = ev->reason;
        h->n_close++;
    }
    pthread_mutex_unlock(&h->lock);
}

static const char *kind_name(int code) {
    switch (code) {
    case UNIPOOL_E_POOL_TIMEOUT: return "pool_timeout";
    case UNIPOOL_E_POOL_CLOSED: return "pool_closed";
    case UNIPOOL_E_CONNECT_FAILED: return "connect_failed";
    case UNIPOOL_E_CONNECT_TIMEOUT: return "connect_timeout";
    case UNIPOOL_E_CONNECTION_BROKEN: return "connection_broken";
    case UNIPOOL_E_INVALID_CONFIG: return "invalid_config";
    case UNIPOOL_E_INVALID_USAGE: return "invalid_usage";
    case UNIPOOL_E_INTERNAL: return "internal";
    default: return "unknown";
    }
}

static const char *reason_name(int r) {
    static const char *names[] = {"none", "overflow", "recycled", "idle_timeout", "max_uses", "invalidated",
                                  "ping_failed", "disposed", "pool_closed", "resized", "detached"};
    return r >= 0 && r <= 10 ? names[r] : "other";
}

/* ---- handles and background waits -------------------------------------------------------- */

typedef struct named {
    char name[32];
    unipool_conn *conn;
} named;

typedef struct waitrec {
    char name[32];
    unipool_wait *w;
    pthread_mutex_t lock;
    int done, code;
    unipool_conn *conn;
    int used; /* slot in use */
} waitrec;

typedef struct runner {
    const char *file;
    int step_no;
    char failure[1024];
    host h;
    unipool_pool *pool;
    named held[MAX_ITEMS];
    waitrec waits[16];
} runner;

static void failf(runner *r, const char *fmt, ...) {
    if (r->failure[0]) return; /* keep the first */
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->failure, sizeof r->failure, "step %d: %s", r->step_no, msg);
}

static unipool_conn **held_slot(runner *r, const char *name, int create) {
    for (int i = 0; i < MAX_ITEMS; i++)
        if (r->held[i].conn && strcmp(r->held[i].name, name) == 0) return &r->held[i].conn;
    if (!create) return NULL;
    for (int i = 0; i < MAX_ITEMS; i++)
        if (!r->held[i].conn) {
            snprintf(r->held[i].name, sizeof r->held[i].name, "%s", name);
            return &r->held[i].conn;
        }
    return NULL;
}

static const char *conn_name(unipool_conn *c) {
    void *p = NULL;
    if (unipool_conn_get(c, &p) != UNIPOOL_OK || !p) return "?";
    return ((rconn *)p)->name;
}

static void on_acquired(void *ud, int code, unipool_conn *conn, const char *message) {
    (void)message;
    waitrec *w = ud;
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    w->code = code;
    w->conn = conn;
    pthread_mutex_unlock(&w->lock);
}

static waitrec *find_wait(runner *r, const char *name) {
    for (int i = 0; i < 16; i++)
        if (r->waits[i].used && strcmp(r->waits[i].name, name) == 0) return &r->waits[i];
    return NULL;
}

/* "waiting", "served" (the connection moves to the held handles under the wait's name),
 * or "error:<kind>" */
static void wait_state(runner *r, waitrec *w, char *out, size_t n) {
    pthread_mutex_lock(&w->lock);
    if (!w->done) {
        snprintf(out, n, "%s", held_slot(r, w->name, 0) ? "served" : "waiting");
    } else if (w->code == UNIPOOL_OK) {
        if (w->conn) {
            unipool_conn **slot = held_slot(r, w->name, 1);
            if (slot) *slot = w->conn;
            w->conn = NULL;
        }
        snprintf(out, n, "served");
    } else {
        snprintf(out, n, "error:%s", kind_name(w->code));
    }
    pthread_mutex_unlock(&w->lock);
}

static void check_conn(runner *r, const step *s, unipool_conn *c) {
    const char *want = get(s, "expect_conn");
    if (want && strcmp(conn_name(c), want) != 0) failf(r, "expected connection %s, got %s", want, conn_name(c));
    const char *want_new = get(s, "expect_new");
    if (want_new) {
        unipool_conn_info info;
        unipool_conn_get_info(c, &info);
        if (info.is_new != (strcmp(want_new, "true") == 0)) failf(r, "expected is_new = %s", want_new);
    }
}

static void begin_step(runner *r) {
    pthread_mutex_lock(&r->h.lock);
    r->h.n_close = 0;
    pthread_mutex_unlock(&r->h.lock);
}

static void run_step(runner *r, const step *s) {
    const char *v;
    begin_step(r);
    if ((v = get(s, "acquire"))) {
        double timeout = get_num(s, "timeout", 0.0);
        const char *fails = get(s, "connect_fails");
        if (fails && strcmp(fails, "true") == 0) atomic_store(&r->h.fail_next_create, 1);
        int pings_before = atomic_load(&r->h.pings);
        unipool_conn *c = NULL;
        int rc = unipool_pool_acquire(r->pool, (int64_t)(timeout * 1000.0), &c);
        atomic_store(&r->h.fail_next_create, 0);
        const char *want_err = get(s, "expect_error");
        if (rc == UNIPOOL_OK && want_err) {
            failf(r, "expected error %s, got connection %s", want_err, conn_name(c));
            unipool_conn_release(c);
        } else if (rc != UNIPOOL_OK && !want_err) {
            failf(r, "unexpected error %s: %s", kind_name(rc), unipool_last_error_message());
        } else if (rc != UNIPOOL_OK && strcmp(want_err, kind_name(rc)) != 0) {
            failf(r, "expected error %s, got %s: %s", want_err, kind_name(rc), unipool_last_error_message());
        } else if (rc == UNIPOOL_OK) {
            check_conn(r, s, c);
            const char *np = get(s, "expect_needs_ping");
            if (np) {
                int pinged = atomic_load(&r->h.pings) > pings_before;
                if (pinged != (strcmp(np, "true") == 0)) failf(r, "expected needs_ping = %s (ping callback %s)", np, pinged ? "ran" : "did not run");
            }
            unipool_conn **slot = held_slot(r, v, 1);
            if (slot) *slot = c;
        }
    } else if ((v = get(s, "release"))) {
        unipool_conn **slot = held_slot(r, v, 0);
        if (!slot) return failf(r, "nothing held as %s", v);
        unipool_conn_info info;
        unipool_conn_get_info(*slot, &info);
        int rc = unipool_conn_release(*slot);
        *slot = NULL;
        if (rc != UNIPOOL_OK) failf(r, "release failed: %s", unipool_last_error_message());
        const char *closed = "none";
        pthread_mutex_lock(&r->h.lock);
        for (int i = 0; i < r->h.n_close; i++)
            if (r->h.close_ids[i] == info.id) closed = reason_name(r->h.close_reasons[i]);
        pthread_mutex_unlock(&r->h.lock);
        const char *want = get(s, "expect_closed");
        if (want && strcmp(want, closed) != 0) failf(r, "expected closed = %s, got %s", want, closed);
    } else if ((v = get(s, "invalidate"))) {
        unipool_conn **slot = held_slot(r, v, 0);
        if (!slot) return failf(r, "nothing held as %s", v);
        if (unipool_conn_invalidate(*slot) != UNIPOOL_OK) failf(r, "invalidate: %s", unipool_last_error_message());
        *slot = NULL;
    } else if ((v = get(s, "wait"))) {
        waitrec *w = NULL;
        for (int i = 0; i < 16 && !w; i++)
            if (!r->waits[i].used) w = &r->waits[i];
        if (!w) return failf(r, "too many waits");
        memset(w, 0, sizeof *w);
        w->used = 1;
        pthread_mutex_init(&w->lock, NULL);
        snprintf(w->name, sizeof w->name, "%s", v);
        double timeout = get_num(s, "timeout", 10.0);
        if (unipool_pool_acquire_async(r->pool, (int64_t)(timeout * 1000.0), on_acquired, w, &w->w) != UNIPOOL_OK)
            return failf(r, "acquire_async: %s", unipool_last_error_message());
        const char *want = get(s, "expect_state");
        if (want) {
            char got[64];
            wait_state(r, w, got, sizeof got);
            if (strcmp(got, want) != 0) failf(r, "expected %s %s, got %s", v, want, got);
        }
    } else if ((v = get(s, "check"))) {
        waitrec *w = find_wait(r, v);
        if (!w) return failf(r, "no wait named %s", v);
        char got[64];
        wait_state(r, w, got, sizeof got);
        const char *want = get(s, "expect_state");
        if (want && strcmp(got, want) != 0) failf(r, "expected %s %s, got %s", v, want, got);
        unipool_conn **slot = held_slot(r, v, 0);
        if (slot) check_conn(r, s, *slot);
    } else if ((v = get(s, "cancel"))) {
        waitrec *w = find_wait(r, v);
        if (!w) return failf(r, "no wait named %s", v);
        bool cancelled = false;
        if (unipool_wait_cancel(w->w, &cancelled) != UNIPOOL_OK) failf(r, "cancel: %s", unipool_last_error_message());
        const char *want = get(s, "expect_state");
        const char *got = cancelled ? "cancelled" : "answered";
        if (want && strcmp(want, got) != 0) failf(r, "expected %s %s, got %s", v, want, got);
    } else if (get(s, "sleep")) {
        double secs = get_num(s, "sleep", 0.0);
        struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
        nanosleep(&ts, NULL);
    } else if (get(s, "advance")) {
        if (unipool_pool_advance_clock(r->pool, get_num(s, "advance", 0.0)) != UNIPOOL_OK)
            failf(r, "advance: %s", unipool_last_error_message());
    } else if (get(s, "maintain")) {
        unipool_maintenance m;
        if (unipool_pool_maintain(r->pool, &m) != UNIPOOL_OK) return failf(r, "maintain: %s", unipool_last_error_message());
        /* expected reasons: a multiset compared with closed_by_reason */
        size_t want_by_reason[16] = {0};
        int have_list = get(s, "expect_closed_reasons") != NULL;
        for (int i = 0; i < s->n; i++) {
            if (s->items[i].type == 'A' && strcmp(s->items[i].key, "expect_closed_reasons") == 0) {
                int found = 0;
                for (int k = 0; k <= 10; k++)
                    if (strcmp(reason_name(k), s->items[i].value) == 0) {
                        want_by_reason[k]++;
                        found = 1;
                    }
                if (!found) failf(r, "unknown close reason %s", s->items[i].value);
            }
        }
        if (have_list) {
            for (int k = 0; k < 16; k++)
                if (want_by_reason[k] != m.closed_by_reason[k])
                    failf(r, "expected %zu closed as %s, got %zu", want_by_reason[k], reason_name(k), m.closed_by_reason[k]);
        }
        const char *c = get(s, "expect_creates");
        if (c && (size_t)atol(c) != m.created + m.create_failures)
            failf(r, "expected %s creates, got %zu", c, m.created + m.create_failures);
        const char *l = get(s, "expect_leaks");
        if (l && (size_t)atol(l) != m.leaks) failf(r, "expected %s leaks, got %zu", l, m.leaks);
    } else if (get(s, "dispose") || get(s, "resize.pool_size") || get(s, "close")) {
        int before = atomic_load(&r->h.closed), rc;
        if (get(s, "dispose")) rc = unipool_pool_dispose(r->pool);
        else if (get(s, "close")) rc = unipool_pool_close(r->pool);
        else rc = unipool_pool_resize(r->pool, (size_t)atol(get(s, "resize.pool_size")), atol(get(s, "resize.max_overflow") ? get(s, "resize.max_overflow") : "0"));
        if (rc != UNIPOOL_OK) return failf(r, "%s", unipool_last_error_message());
        const char *want = get(s, "expect_closed_count");
        int n = atomic_load(&r->h.closed) - before;
        if (want && atoi(want) != n) failf(r, "expected %s closed, got %d", want, n);
    } else if (get(s, "pause")) {
        unipool_pool_pause(r->pool);
    } else if (get(s, "resume")) {
        unipool_pool_resume(r->pool);
    } else if (get(s, "status")) {
        unipool_status st;
        unipool_pool_status(r->pool, &st);
        for (int i = 0; i < s->n; i++) {
            const kv *e = &s->items[i];
            if (strncmp(e->key, "expect_status.", 14) != 0) continue;
            const char *f = e->key + 14;
            long long got;
            if (!strcmp(f, "open")) got = (long long)st.open;
            else if (!strcmp(f, "idle")) got = (long long)st.idle;
            else if (!strcmp(f, "in_use")) got = (long long)st.in_use;
            else if (!strcmp(f, "pending")) got = (long long)st.pending;
            else if (!strcmp(f, "waiting")) got = (long long)st.waiting;
            else if (!strcmp(f, "max")) got = (long long)st.max;
            else if (!strcmp(f, "overflow")) got = (long long)st.overflow;
            else if (!strcmp(f, "generation")) got = (long long)st.generation;
            else if (!strcmp(f, "acquired")) got = (long long)st.acquired;
            else if (!strcmp(f, "created")) got = (long long)st.created;
            else if (!strcmp(f, "create_failures")) got = (long long)st.create_failures;
            else if (!strcmp(f, "closed")) got = (long long)st.closed;
            else if (!strcmp(f, "timeouts")) got = (long long)st.timeouts;
            else if (!strcmp(f, "invalidated")) got = (long long)st.invalidated;
            else if (!strcmp(f, "leaks_detected")) got = (long long)st.leaks_detected;
            else {
                failf(r, "unknown status field %s", f);
                continue;
            }
            if (got != atoll(e->value)) failf(r, "status.%s: expected %s, got %lld", f, e->value, got);
        }
    } else if (get(s, "metrics")) {
        char *text = NULL;
        unipool_status st;
        unipool_pool_status(r->pool, &st);
        if (unipool_pool_metrics_string(r->pool, &text) != UNIPOOL_OK) return failf(r, "metrics: %s", unipool_last_error_message());
        for (int i = 0; i < s->n; i++) {
            const kv *e = &s->items[i];
            if (e->type != 'A' || strcmp(e->key, "expect_lines") != 0) continue;
            char line[1024] = {0};
            const char *src = e->value;
            size_t o = 0;
            while (*src && o + 70 < sizeof line) {
                if (strncmp(src, "{pool}", 6) == 0) {
                    o += (size_t)snprintf(line + o, sizeof line - o, "%s", st.name);
                    src += 6;
                } else {
                    line[o++] = *src++;
                }
            }
            line[o] = 0;
            int found = 0;
            for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len == strlen(line) && strncmp(p, line, len) == 0) found = 1;
                p = nl ? nl + 1 : NULL;
            }
            if (!found) failf(r, "metrics lack line %s", line);
        }
        unipool_string_free(text);
    } else {
        failf(r, "unknown step (first key %s)", s->n ? s->items[0].key : "(none)");
    }
}

/* ---- one scenario ------------------------------------------------------------------------ */

typedef struct scenario {
    char file[256];
    kv config[MAX_ITEMS];
    int n_config;
    char expect_config_error[64];
    int has_config_error;
    step *steps;
    int n_steps;
} scenario;

static int run_scenario(scenario *sc) {
    runner *r = calloc(1, sizeof *r);
    r->file = sc->file;
    pthread_mutex_init(&r->h.lock, NULL);
    unipool_config *cfg = NULL;
    int rc = unipool_config_new(&cfg);
    if (rc == UNIPOOL_OK) rc = unipool_config_set(cfg, "name", "conformance");
    for (int i = 0; i < sc->n_config && rc == UNIPOOL_OK; i++) {
        const kv *e = &sc->config[i];
        switch (e->type) {
        case 'i': rc = unipool_config_set_int(cfg, e->key, atoll(e->value)); break;
        case 'f': rc = unipool_config_set_double(cfg, e->key, atof(e->value)); break;
        case 'b': rc = unipool_config_set_bool(cfg, e->key, strcmp(e->value, "true") == 0); break;
        default: rc = unipool_config_set(cfg, e->key, e->value); break;
        }
    }
    unipool_callbacks cb = {h_create, h_ping, NULL, h_close, &r->h};
    if (rc == UNIPOOL_OK) rc = unipool_pool_new_manual_clock(cfg, &cb, &r->pool);
    unipool_config_free(cfg);

    if (sc->has_config_error) {
        if (rc != UNIPOOL_E_INVALID_CONFIG) {
            snprintf(r->failure, sizeof r->failure, "expected a config error, got %s", kind_name(rc));
        } else if (strcmp(unipool_last_error_config_key(), sc->expect_config_error) != 0) {
            snprintf(r->failure, sizeof r->failure, "config error names key '%s', expected '%s' (%s)",
                     unipool_last_error_config_key(), sc->expect_config_error, unipool_last_error_message());
        }
    } else if (rc != UNIPOOL_OK) {
        snprintf(r->failure, sizeof r->failure, "pool: %s", unipool_last_error_message());
    } else {
        uint64_t sub = 0;
        unipool_pool_subscribe(r->pool, h_event, &r->h, &sub);
        if (sc->n_steps == 0) snprintf(r->failure, sizeof r->failure, "no steps");
        for (int i = 0; i < sc->n_steps && !r->failure[0]; i++) {
            r->step_no = i + 1;
            run_step(r, &sc->steps[i]);
        }
    }
    /* tear down: withdraw waits, give everything back, free the pool; every connection closed */
    for (int i = 0; i < 16; i++) {
        waitrec *w = &r->waits[i];
        if (!w->used) continue;
        bool cancelled = false;
        unipool_wait_cancel(w->w, &cancelled);
        if (!cancelled) {
            for (int k = 0; k < 5000; k++) { /* answered: its callback has run or is running */
                pthread_mutex_lock(&w->lock);
                int done = w->done;
                pthread_mutex_unlock(&w->lock);
                if (done) break;
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
        if (w->conn) unipool_conn_release(w->conn);
        unipool_wait_free(w->w);
        pthread_mutex_destroy(&w->lock);
    }
    for (int i = 0; i < MAX_ITEMS; i++)
        if (r->held[i].conn) unipool_conn_release(r->held[i].conn);
    unipool_pool_free(r->pool);
    if (!r->failure[0] && atomic_load(&r->h.created) != atomic_load(&r->h.closed))
        snprintf(r->failure, sizeof r->failure, "after free: %d created but %d closed", atomic_load(&r->h.created),
                 atomic_load(&r->h.closed));
    int ok = !r->failure[0];
    if (ok) printf("ok   %s\n", sc->file);
    else printf("FAIL %s: %s\n", sc->file, r->failure);
    pthread_mutex_destroy(&r->h.lock);
    free(r);
    return ok;
}

static void free_scenario(scenario *sc) {
    for (int i = 0; i < sc->n_config; i++) free(sc->config[i].value);
    for (int i = 0; i < sc->n_steps; i++)
        for (int k = 0; k < sc->steps[i].n; k++) free(sc->steps[i].items[k].value);
    free(sc->steps);
    memset(sc, 0, sizeof *sc);
}

static char *field(char **cursor) {
    char *s = *cursor;
    if (!s) return NULL;
    char *t = strchr(s, '\t');
    if (t) {
        *t = 0;
        *cursor = t + 1;
    } else {
        *cursor = NULL;
    }
    return s;
}

int main(void) {
    static char line[MAX_LINE];
    scenario sc;
    memset(&sc, 0, sizeof sc);
    int passed = 0, failed = 0, bad_input = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *cur = line;
        char *tag = field(&cur);
        if (!tag || !*tag) continue;
        if (!strcmp(tag, "F")) {
            free_scenario(&sc);
            snprintf(sc.file, sizeof sc.file, "%s", field(&cur));
        } else if (!strcmp(tag, "C") && sc.n_config < MAX_ITEMS) {
            kv *e = &sc.config[sc.n_config++];
            char *t = field(&cur), *k = field(&cur), *v = field(&cur);
            if (!t || !k || !v) { bad_input = 1; continue; }
            e->type = t[0];
            snprintf(e->key, sizeof e->key, "%s", k);
            e->value = strdup(v);
        } else if (!strcmp(tag, "X")) {
            sc.has_config_error = 1;
            char *k = field(&cur);
            snprintf(sc.expect_config_error, sizeof sc.expect_config_error, "%s", k ? k : "");
        } else if (!strcmp(tag, "T")) {
            sc.steps = realloc(sc.steps, sizeof(step) * (size_t)(sc.n_steps + 1));
            memset(&sc.steps[sc.n_steps], 0, sizeof(step));
            sc.n_steps++;
        } else if ((!strcmp(tag, "K") || !strcmp(tag, "A")) && sc.n_steps > 0) {
            step *st = &sc.steps[sc.n_steps - 1];
            if (st->n >= MAX_ITEMS) { bad_input = 1; continue; }
            kv *e = &st->items[st->n++];
            char *t = tag[0] == 'K' ? field(&cur) : "A";
            char *k = field(&cur), *v = field(&cur);
            if (!t || !k || !v) { bad_input = 1; st->n--; continue; }
            e->type = t[0];
            snprintf(e->key, sizeof e->key, "%s", k);
            e->value = strdup(v);
        } else if (!strcmp(tag, "E")) {
            if (run_scenario(&sc)) passed++;
            else failed++;
            free_scenario(&sc);
        } else {
            bad_input = 1;
        }
    }
    free_scenario(&sc);
    if (bad_input) {
        printf("FAIL malformed input line\n");
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed || passed == 0 ? 1 : 0;
}

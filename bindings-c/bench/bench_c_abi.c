/* Benchmark: acquire + release through the C ABI on a pool of 4 (pool_size=4, max_overflow=0,
 * reset_on_return=none, no pre-ping), with 1 thread and with 8 threads.
 * Each measurement runs ROUNDS times; the median ns per acquire+release pair is printed as
 *   c_abi threads=T ops=N median_ns=X min_ns=Y
 * Usage: bench_c_abi [--iters N per thread per round] [--threads 1,8] [--rounds R] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unipool.h"

static int mk(void *ud, void **out, char *err, size_t n) {
    (void)ud; (void)err; (void)n;
    *out = malloc(16);
    return *out ? UNIPOOL_OK : UNIPOOL_E_CONNECT_FAILED;
}
static int cl(void *ud, void *c, char *err, size_t n) {
    (void)ud; (void)err; (void)n;
    free(c);
    return UNIPOOL_OK;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

typedef struct { unipool_pool *pool; long iters; long errors; pthread_barrier_t *start; } arg_t;

static void *loop(void *p) {
    arg_t *a = p;
    pthread_barrier_wait(a->start);
    for (long i = 0; i < a->iters; i++) {
        unipool_conn *c;
        if (unipool_pool_acquire(a->pool, 10000, &c) != UNIPOOL_OK) { a->errors++; continue; }
        if (unipool_conn_release(c) != UNIPOOL_OK) a->errors++;
    }
    return NULL;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    long iters = 1000000;
    int rounds = 7;
    char threads_arg[64] = "1,8";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--iters")) iters = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) snprintf(threads_arg, sizeof threads_arg, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > 99) rounds = 7;
    unipool_config *cfg = NULL;
    unipool_pool *pool = NULL;
    unipool_callbacks cb = {mk, NULL, NULL, cl, NULL};
    if (unipool_config_from_string("name=bench pool_size=4 max_overflow=0 reset_on_return=none", &cfg) ||
        unipool_pool_new(cfg, &cb, &pool)) {
        fprintf(stderr, "setup: %s\n", unipool_last_error_message());
        return 1;
    }
    unipool_config_free(cfg);
    int failed = 0;
    for (char *tok = strtok(threads_arg, ","); tok; tok = strtok(NULL, ",")) {
        int nt = atoi(tok);
        if (nt < 1 || nt > 256) continue;
        double per_op[99];
        for (int r = 0; r < rounds; r++) {
            pthread_t th[256];
            arg_t args[256];
            pthread_barrier_t start;
            pthread_barrier_init(&start, NULL, (unsigned)nt + 1);
            for (int t = 0; t < nt; t++) {
                args[t] = (arg_t){pool, iters, 0, &start};
                pthread_create(&th[t], NULL, loop, &args[t]);
            }
            pthread_barrier_wait(&start);
            double t0 = now_ns();
            for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
            double el = now_ns() - t0;
            pthread_barrier_destroy(&start);
            for (int t = 0; t < nt; t++) failed += args[t].errors != 0;
            per_op[r] = el / ((double)iters * nt);
        }
        qsort(per_op, (size_t)rounds, sizeof per_op[0], cmp);
        printf("c_abi threads=%d ops=%ld median_ns=%.1f min_ns=%.1f\n", nt, iters * nt, per_op[rounds / 2], per_op[0]);
    }
    unipool_pool_free(pool);
    if (failed) fprintf(stderr, "errors during the benchmark: %s\n", unipool_last_error_message());
    return failed ? 1 : 0;
}

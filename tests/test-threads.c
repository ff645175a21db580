// Thread pool: every thread runs the job once, barriers order phases, repeated runs work,
// both back to back (spinning workers) and after idle periods (sleeping workers).
#include "alrp.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct job { int n; int64_t * slots; int64_t * phase2; };

static void work(void * arg, int ith, int nth) {
    struct job * j = (struct job *) arg;
    for (int i = ith; i < j->n; i += nth) j->slots[i] = i * 2;
    alrp_threadpool_barrier(NULL);
    (void) nth;
}

static struct alrp_threadpool * g_tp; // test-only: lets the job reach the pool

static void work_barrier(void * arg, int ith, int nth) {
    struct job * j = (struct job *) arg;
    for (int i = ith; i < j->n; i += nth) j->slots[i] = i;
    alrp_threadpool_barrier(g_tp);
    // phase 2 reads what other threads wrote in phase 1
    for (int i = ith; i < j->n; i += nth) j->phase2[i] = j->slots[j->n - 1 - i];
    alrp_threadpool_barrier(g_tp);
}

int main(void) {
    int fails = 0;
    for (int nt = 1; nt <= 4; nt++) {
        struct alrp_threadpool * tp = alrp_threadpool_new(nt);
        g_tp = tp;
        int64_t slots[1000], phase2[1000];
        struct job j = { 1000, slots, phase2 };
        for (int rep = 0; rep < 200; rep++) {
            if (rep % 40 == 39) usleep(3000); // idle long enough for the workers to go to sleep
            memset(slots, -1, sizeof(slots));
            alrp_threadpool_run(tp, work, &j);
            for (int i = 0; i < 1000; i++) if (slots[i] != i * 2) { fails++; break; }
            alrp_threadpool_run(tp, work_barrier, &j);
            for (int i = 0; i < 1000; i++) if (phase2[i] != 999 - i) { fails++; break; }
        }
        alrp_threadpool_free(tp);
        printf("threads %d: %s\n", nt, fails ? "FAIL" : "OK");
    }
    return fails ? 1 : 0;
}

/* Measures the reachability scan alone on a live process: snapshot and
 * analyse as -p does, then time reach_process with no scan limit, and its
 * peak memory (VmHWM reset through /proc/self/clear_refs before the scan).
 * Prints one line per run: "scanned_bytes heap_bytes chunks marked ms kib
 * unreachable".
 * Usage: bench-reach-cost PID [REPEAT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "model.h"
#include "reach.h"
#include "util.h"

static long status_kib(const char *key)
{
        _cleanup_free_ char *text = NULL;
        if (read_full_file("/proc/self/status", &text) < 0)
                return -1;
        const char *p = strstr(text, key);
        return p ? strtol(p + strlen(key) + 1, NULL, 10) : -1;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: bench-reach-cost PID [REPEAT]\n");
                return 2;
        }
        pid_t pid = atoi(argv[1]);
        int repeat = argc > 2 ? atoi(argv[2]) : 5;
        struct leakscan_options opts;
        leakscan_options_init(&opts);
        for (int i = 0; i < repeat; i++) {
                struct process_capture *cap = NULL;
                struct leakscan_process p = { .pid = pid };
                int r = inspect_snapshot(pid, &opts, NULL, 0, &cap);
                if (r == 0)
                        r = inspect_analyse(cap, &opts, NULL, &p);
                if (r < 0) {
                        fprintf(stderr, "cannot inspect %d: %s\n", (int) pid, strerror(-r));
                        return 1;
                }
                FILE *f = fopen("/proc/self/clear_refs", "w");
                if (f) {
                        fputs("5", f);
                        fclose(f);
                }
                long rss0 = status_kib("VmRSS:");
                struct reach_stats st;
                uint64_t t0 = now_usec(CLOCK_MONOTONIC);
                r = reach_process(&p, cap->maps_text, NULL, 0, 0, &st);
                uint64_t t1 = now_usec(CLOCK_MONOTONIC);
                long hwm = status_kib("VmHWM:");
                size_t unreachable = 0;
                for (size_t k = 0; k < p.n_threads; k++)
                        unreachable += p.threads[k].reach == LEAKSCAN_REACH_UNREACHABLE;
                printf("%llu %llu %zu %zu %.2f %ld %zu\n", (unsigned long long) st.scanned_bytes,
                       (unsigned long long) st.heap_bytes, st.n_chunks, st.n_marked, (t1 - t0) / 1000.0,
                       hwm - rss0, unreachable);
                fflush(stdout);
                process_capture_free(cap);
                process_free_contents(&p);
        }
        return 0;
}

/* leakscan --serve: an exporter that snapshots its targets every interval
 * and serves the results to Prometheus (/metrics), to programs
 * (/report.json), to continuous profilers (/debug/pprof/threads) and to
 * health checks (/healthz).  It is, with main.c, front-end code: it prints
 * its own log lines and errors to stderr. */
#ifndef LEAKSCAN_SERVE_H
#define LEAKSCAN_SERVE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "judge.h"
#include "leakscan/leakscan.h"

struct serve_options {
        const char *listen;             /* --serve=ADDR:PORT */
        int64_t interval_ms;            /* between the starts of two scan cycles */
        pid_t *pids;                    /* -p PID, each a target while it lives */
        size_t n_pids, pids_cap;
        bool all_processes;             /* every process it may trace */
        bool has_match;
        regex_t match;                  /* --match: on comm or the exe's path */
        const char *cgroup;             /* --cgroup: processes in it or below */
        double cpu_budget;              /* fraction of one CPU (0.02: 2%) */
        const char *web_config;         /* --web.config.file */
        bool visible_stops;             /* also take snapshots that stop a thread in a call */
        struct leakscan_options inspect;
        uint64_t scan_limit;
        const struct judge_policy *judge;
};

#define SERVE_DEFAULT_INTERVAL_MS 60000
#define SERVE_DEFAULT_CPU_BUDGET 0.02
/* The environment variable (in /proc/PID/environ, as the process started)
 * and the extended attribute (on its executable) that keep a process out. */
#define SERVE_OPTOUT_ENV "LEAKSCAN_OPTOUT"
#define SERVE_OPTOUT_XATTR "user.leakscan.optout"

/* Adds a -p PID.  Returns 0 or -ENOMEM. */
int serve_options_add_pid(struct serve_options *o, pid_t pid);
void serve_options_done(struct serve_options *o);

/* Runs the exporter until SIGTERM or SIGINT.  Returns an exit status: 0
 * when stopped by a signal, 2 for a bad configuration, 3 when it cannot
 * listen; the error is printed. */
int serve_run(const struct serve_options *o);

#endif

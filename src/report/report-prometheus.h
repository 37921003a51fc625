/* Prometheus metrics of leakscan's reports: the text exposition format
 * (version 0.0.4, which OpenMetrics parsers also read), for node_exporter's
 * textfile collector (--format=prometheus) and for the exporter's /metrics
 * (src/serve/serve.c).
 *
 * Metric names follow Prometheus's conventions: one prefix (leakscan_),
 * base units (seconds), _total for counters, _info for constant labels.
 * Labels are of low cardinality: a process is named by pid, comm and the
 * container, pod and namespace its cgroup shows; a thread's TID or stack
 * is never a label (a leak site is, by its headline function and file:line,
 * bounded by the number of leak sites in the code). */
#ifndef LEAKSCAN_REPORT_PROMETHEUS_H
#define LEAKSCAN_REPORT_PROMETHEUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "leakscan/leakscan.h"

/* Who a process is, in the labels of its series.  Strings may hold any
 * byte (escaped when written); empty when unknown. */
struct prom_identity {
        char comm[64];
        char container[80];     /* container ID from the cgroup path (12 hex digits
                                 * for the runtimes that use 64) */
        char pod[254];          /* Kubernetes: the pod's hostname, only when the
                                 * cgroup path shows a pod */
        char namespace[64];     /* Kubernetes: the service account's namespace */
        char pod_uid[40];       /* Kubernetes: the pod UID in the cgroup path */
};

/* Parses the text of /proc/PID/cgroup into id->container and id->pod_uid
 * (left empty when the path shows neither).  Never fails: unknown shapes
 * leave the fields empty. */
void prom_identity_parse_cgroup(const char *text, struct prom_identity *id);

/* Fills *id for process pid: comm, the cgroup's container and pod UID, and,
 * for a Kubernetes pod, its name (the container's /etc/hostname) and
 * namespace (its service account's namespace file), read inside the
 * process's own root without following a link out of it, and kept only
 * when they are valid Kubernetes names.  Best effort: fields that cannot be
 * read stay empty.  fallback_comm (may be NULL) names a process gone. */
void prom_identity_read(pid_t pid, const char *fallback_comm, struct prom_identity *id);

/* One process's last snapshot, for the writer. */
struct prom_target {
        const struct leakscan_process *process;
        const struct prom_identity *identity;
};

/* Writes the per-process families (leakscan_threads, leakscan_leaked_threads,
 * leakscan_leak_group_threads) for n targets, each family's HELP and TYPE
 * once.  Never fails (errors show in ferror(f)). */
void prom_write_targets(FILE *f, const struct prom_target *targets, size_t n);

/* leakscan_build_info. */
void prom_write_build_info(FILE *f);

/* A histogram of durations in seconds, with fixed buckets fit for stops
 * and scans (100us to 10s). */
#define PROM_HISTOGRAM_BUCKETS 14
extern const double prom_histogram_bounds[PROM_HISTOGRAM_BUCKETS];
struct prom_histogram {
        uint64_t counts[PROM_HISTOGRAM_BUCKETS];        /* per bucket, not cumulative */
        uint64_t count;                                 /* with those above the last bound */
        double sum;
};

void prom_histogram_observe(struct prom_histogram *h, double seconds);

/* Writes a histogram family called name (with HELP text help). */
void prom_write_histogram(FILE *f, const char *name, const char *help, const struct prom_histogram *h);

/* s as a label value inside its quotes: backslash, quote and newline
 * escaped, bytes that are not valid UTF-8 as the four characters \xNN
 * (with the backslash escaped), as the other formats write them. */
void prom_label_value(FILE *f, const char *s);

#endif

/* Prometheus text exposition of reports; see report-prometheus.h.
 *
 * The writer goes family by family over every target, since the format
 * wants all series of a family together under one HELP and TYPE.  A leak
 * verdict proven in pid mode (deadlock, orphaned, unreachable) always has a
 * series, 0 when there is none, so that an alert on growth sees the step
 * from 0; thread states have series only for the states present. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report-common.h"
#include "report-prometheus.h"
#include "report.h"
#include "util.h"

#ifndef LEAKSCAN_VERSION
#define LEAKSCAN_VERSION "0"
#endif

void prom_label_value(FILE *f, const char *s)
{
        while (s && *s) {
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                if (len == 0) {
                        fprintf(f, "\\\\x%02x", (unsigned char) *s);
                        s++;
                        continue;
                }
                if (cp == '\\')
                        fputs("\\\\", f);
                else if (cp == '"')
                        fputs("\\\"", f);
                else if (cp == '\n')
                        fputs("\\n", f);
                else
                        fwrite(s, 1, len, f);
                s += len;
        }
}

/* ---- who a process is ---- */

static bool all_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i]))
                        return false;
        return true;
}

/* The container ID a cgroup path component names: "docker-ID.scope",
 * "cri-containerd-ID.scope", "crio-ID.scope", "libpod-ID.scope" (systemd
 * driver) or a bare ID (cgroupfs driver), ID of 64 hex digits. */
static bool component_container(const char *c, size_t len, char *out, size_t size)
{
        if (len > 6 && memcmp(c + len - 6, ".scope", 6) == 0)
                len -= 6;
        const char *dash = memrchr(c, '-', len);
        const char *id = dash ? dash + 1 : c;
        size_t n = len - (size_t) (id - c);
        if (n != 64 || !all_hex(id, n))
                return false;
        snprintf(out, size, "%.12s", id);
        return true;
}

/* The pod UID in "kubepods-burstable-pod<UID with _>.slice" (systemd
 * driver) or "pod<UID>" (cgroupfs driver). */
static bool component_pod(const char *c, size_t len, char *out, size_t size)
{
        const char *pod = NULL;
        for (size_t i = 0; i + 3 <= len; i++)
                if (memcmp(c + i, "pod", 3) == 0 && (i == 0 || c[i - 1] == '-'))
                        pod = c + i + 3;
        if (!pod)
                return false;
        char uid[40];
        size_t n = 0;
        for (const char *s = pod; s < c + len && n < sizeof uid - 1; s++) {
                if (*s == '_' || *s == '-')
                        uid[n++] = '-';
                else if (isxdigit((unsigned char) *s))
                        uid[n++] = *s;
                else
                        break;
        }
        uid[n] = 0;
        if (n != 36)
                return false;
        snprintf(out, size, "%s", uid);
        return true;
}

static void parse_cgroup_path(const char *path, size_t len, struct prom_identity *id)
{
        const char *end = path + len;
        for (const char *c = path; c < end;) {
                while (c < end && *c == '/')
                        c++;
                const char *slash = memchr(c, '/', (size_t) (end - c));
                size_t n = (size_t) ((slash ? slash : end) - c);
                if (n > 0) {
                        char container[sizeof id->container];
                        if (component_container(c, n, container, sizeof container))
                                snprintf(id->container, sizeof id->container, "%s", container);
                        if (startswith(c, "kubepods") || (n > 3 && memcmp(c, "pod", 3) == 0))
                                (void) component_pod(c, n, id->pod_uid, sizeof id->pod_uid);
                }
                c += n;
        }
}

void prom_identity_parse_cgroup(const char *text, struct prom_identity *id)
{
        id->container[0] = id->pod_uid[0] = 0;
        /* the unified hierarchy's line ("0::PATH") names the process's
         * cgroup; on a v1-only system any line that shows a container does */
        for (int pass = 0; pass < 2 && !id->container[0] && !id->pod_uid[0]; pass++) {
                for (const char *line = text; line && *line;) {
                        const char *nl = strchr(line, '\n');
                        size_t len = nl ? (size_t) (nl - line) : strlen(line);
                        const char *colon = memchr(line, ':', len);
                        const char *colon2 = colon ? memchr(colon + 1, ':', len - (size_t) (colon + 1 - line)) : NULL;
                        bool unified = colon && colon2 == colon + 1 && colon == line + 1 && line[0] == '0';
                        if (colon2 && (pass == 1 || unified))
                                parse_cgroup_path(colon2 + 1, len - (size_t) (colon2 + 1 - line), id);
                        line = nl ? nl + 1 : NULL;
                }
        }
}

/* Reads path inside the root of process pid (RESOLVE_IN_ROOT: a link that
 * points at / means the container's /, never the host's), a regular file of
 * at most size - 1 bytes, first line only.  Returns 0 or a negative errno. */
static int read_in_root(pid_t pid, const char *path, char *buf, size_t size)
{
        char root[64];
        snprintf(root, sizeof root, "/proc/%d/root", (int) pid);
        _cleanup_close_ int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        struct open_how how = {
                .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        _cleanup_close_ int fd = (int) syscall(SYS_openat2, dir, path, &how, sizeof how);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;         /* a FIFO or a device would block or lie */
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        return 0;
}

/* A DNS-1123 subdomain (a pod name) or label (a namespace, max 63). */
static bool k8s_name(const char *s, size_t max)
{
        size_t n = strlen(s);
        if (n == 0 || n > max || !isalnum((unsigned char) s[0]) || !isalnum((unsigned char) s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '-' ||
                      (s[i] == '.' && max > 63)))
                        return false;
        return true;
}

void prom_identity_read(pid_t pid, const char *fallback_comm, struct prom_identity *id)
{
        *id = (struct prom_identity) {0};
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
        ssize_t n = read_small_file(path, buf, sizeof buf);
        if (n > 0) {
                /* only the newline the kernel appends: a name may hold more */
                if (buf[n - 1] == '\n')
                        buf[n - 1] = 0;
                snprintf(id->comm, sizeof id->comm, "%.63s", buf);
        } else if (fallback_comm) {
                snprintf(id->comm, sizeof id->comm, "%.15s", fallback_comm);
        }
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        _cleanup_free_ char *cgroup = NULL;
        if (read_full_file(path, &cgroup) >= 0)
                prom_identity_parse_cgroup(cgroup, id);
        if (!id->pod_uid[0])
                return;
        /* the kubelet gives every container of a pod the pod's name as
         * hostname, and mounts its service account's namespace */
        if (read_in_root(pid, "/etc/hostname", buf, 254) == 0 && k8s_name(buf, 253))
                snprintf(id->pod, sizeof id->pod, "%.253s", buf);
        if (read_in_root(pid, "/var/run/secrets/kubernetes.io/serviceaccount/namespace", buf, 64) == 0 &&
            k8s_name(buf, 63))
                snprintf(id->namespace, sizeof id->namespace, "%.63s", buf);
}

/* ---- the families ---- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label(FILE *f, const char *key, const char *value, bool first)
{
        fprintf(f, "%s%s=\"", first ? "" : ",", key);
        prom_label_value(f, value);
        fputc('"', f);
}

/* "{pid="1",comm="x",container="..."[,pod=..,namespace=..]" without the closing brace */
static void process_labels(FILE *f, const struct prom_target *t)
{
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int) t->process->pid);
        fputc('{', f);
        label(f, "pid", pid, true);
        label(f, "comm", t->identity->comm, false);
        label(f, "container", t->identity->container, false);
        if (t->identity->pod_uid[0]) {
                label(f, "pod", t->identity->pod[0] ? t->identity->pod : t->identity->pod_uid, false);
                label(f, "namespace", t->identity->namespace, false);
        }
}

static const char *basename_of(const char *path)
{
        const char *b = path ? strrchr(path, '/') : NULL;
        return b ? b + 1 : path;
}

/* The leak site of a leaked thread: its headline function and file:line. */
static void leak_site(const struct leakscan_thread *t, char *function, size_t fsize, char *location, size_t lsize)
{
        const struct leakscan_frame *fr = report_top_frame(t, NULL);
        snprintf(function, fsize, "??");
        location[0] = 0;
        if (!fr)
                return;
        if (fr->function)
                snprintf(function, fsize, "%s", fr->function);
        else if (fr->module)
                snprintf(function, fsize, "%s+0x%" PRIx64, basename_of(fr->module), fr->offset);
        if (fr->file)
                snprintf(location, lsize, "%s:%d", fr->file, fr->line);
}

static const enum leakscan_verdict proven[] = {
        LEAKSCAN_VERDICT_DEADLOCK, LEAKSCAN_VERDICT_ORPHANED, LEAKSCAN_VERDICT_UNREACHABLE,
};

void prom_write_targets(FILE *f, const struct prom_target *targets, size_t n)
{
        family(f, "leakscan_threads", "gauge", "Threads of the process in its last snapshot, by state.");
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_process *p = targets[i].process;
                size_t counts[_LEAKSCAN_STATE_MAX] = {0};
                for (size_t k = 0; k < p->n_threads; k++)
                        if ((unsigned) p->threads[k].state < _LEAKSCAN_STATE_MAX)
                                counts[p->threads[k].state]++;
                for (unsigned s = 0; s < _LEAKSCAN_STATE_MAX; s++) {
                        if (!counts[s])
                                continue;
                        fputs("leakscan_threads", f);
                        process_labels(f, &targets[i]);
                        label(f, "state", leakscan_state_to_string(s), false);
                        fprintf(f, "} %zu\n", counts[s]);
                }
        }

        family(f, "leakscan_leaked_threads", "gauge",
               "Threads proven leaked in the last snapshot, by verdict (deadlock, orphaned, unreachable; "
               "others with --idle or at exit).");
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_process *p = targets[i].process;
                size_t counts[_LEAKSCAN_VERDICT_MAX] = {0};
                for (size_t k = 0; k < p->n_threads; k++)
                        if (p->threads[k].leaked && (unsigned) p->threads[k].verdict < _LEAKSCAN_VERDICT_MAX)
                                counts[p->threads[k].verdict]++;
                for (unsigned v = 0; v < _LEAKSCAN_VERDICT_MAX; v++) {
                        bool always = false;
                        for (size_t j = 0; j < ARRAY_SIZE(proven); j++)
                                always |= proven[j] == v;
                        if (!counts[v] && !always)
                                continue;
                        fputs("leakscan_leaked_threads", f);
                        process_labels(f, &targets[i]);
                        label(f, "verdict", leakscan_verdict_to_string(v), false);
                        fprintf(f, "} %zu\n", counts[v]);
                }
        }

        family(f, "leakscan_leak_group_threads", "gauge",
               "Leaked threads of the last snapshot per leak site: the function on top of their stack "
               "and its file:line.");
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_process *p = targets[i].process;
                for (size_t k = 0; k < p->n_threads; k++) {
                        if (!p->threads[k].leaked)
                                continue;
                        char function[512], location[1024];
                        leak_site(&p->threads[k], function, sizeof function, location, sizeof location);
                        /* once per site, at its first thread */
                        bool seen = false;
                        size_t count = 1;
                        for (size_t j = 0; j < p->n_threads && !seen; j++) {
                                if (j == k || !p->threads[j].leaked)
                                        continue;
                                char fj[512], lj[1024];
                                leak_site(&p->threads[j], fj, sizeof fj, lj, sizeof lj);
                                bool same = streq(fj, function) && streq(lj, location);
                                seen = same && j < k;
                                count += same;
                        }
                        if (seen)
                                continue;
                        fputs("leakscan_leak_group_threads", f);
                        process_labels(f, &targets[i]);
                        label(f, "function", function, false);
                        label(f, "location", location, false);
                        fprintf(f, "} %zu\n", count);
                }
        }
}

void prom_write_build_info(FILE *f)
{
        family(f, "leakscan_build_info", "gauge", "Always 1: the version of leakscan that wrote these metrics.");
        fprintf(f, "leakscan_build_info{version=\"%s\"} 1\n", LEAKSCAN_VERSION);
}

const double prom_histogram_bounds[PROM_HISTOGRAM_BUCKETS] = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 10,
};

void prom_histogram_observe(struct prom_histogram *h, double seconds)
{
        for (size_t i = 0; i < PROM_HISTOGRAM_BUCKETS; i++)
                if (seconds <= prom_histogram_bounds[i]) {
                        h->counts[i]++;
                        break;
                }
        h->count++;
        h->sum += seconds;
}

void prom_write_histogram(FILE *f, const char *name, const char *help, const struct prom_histogram *h)
{
        family(f, name, "histogram", help);
        uint64_t cumulative = 0;
        for (size_t i = 0; i < PROM_HISTOGRAM_BUCKETS; i++) {
                cumulative += h->counts[i];
                fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, prom_histogram_bounds[i], cumulative);
        }
        fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.9g\n%s_count %" PRIu64 "\n", name, h->count,
                name, h->sum, name, h->count);
}

/* --format=prometheus: one snapshot (or the processes judged at exit), for
 * node_exporter's textfile collector. */
static int prometheus_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        (void) opts;
        struct prom_target *targets = calloc(report->n_processes + 1, sizeof *targets);
        struct prom_identity *ids = calloc(report->n_processes + 1, sizeof *ids);
        if (!targets || !ids) {
                free(targets);
                free(ids);
                return -ENOMEM;
        }
        struct prom_histogram stops = {0};
        size_t n = 0;
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                if (p->not_inspected)
                        continue;
                /* a pid given again within the run (--follow-forks): the
                 * series are the last process's, as for a later snapshot;
                 * two would repeat a series, which the format forbids */
                size_t later = i + 1;
                while (later < report->n_processes && (report->processes[later].pid != p->pid ||
                                                        report->processes[later].not_inspected))
                        later++;
                if (later < report->n_processes)
                        continue;
                prom_identity_read(p->pid, basename_of(p->exe), &ids[n]);
                targets[n] = (struct prom_target) { p, &ids[n] };
                n++;
                if (!p->has_exit)
                        prom_histogram_observe(&stops, (double) p->stopped_us / 1e6);
        }
        prom_write_build_info(f);
        prom_write_targets(f, targets, n);
        prom_write_histogram(f, "leakscan_snapshot_stop_seconds",
                             "How long each target was held stopped for its snapshot.", &stops);
        free(targets);
        free(ids);
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_prometheus = {
        .name = "prometheus",
        .summary = "metrics; -o FILE is replaced whole, for node_exporter's textfile collector",
        .write = prometheus_write,
        .atomic_output = true,
};

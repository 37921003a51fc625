/* leakscan --serve; see serve.h.
 *
 * Two threads and the main one: the scanner takes one target at a time
 * (never two held at once), the HTTP thread answers from what the scanner
 * last stored, and the main thread waits for SIGTERM or SIGINT and stops
 * both through a pipe.  The shared state is the list of targets with each
 * one's last report, and the counters, under one mutex held only to swap
 * a report in or to render an answer.
 *
 * A target is a process named by its PID and start time: a PID reused by a
 * new process is a new target, and a process that ended is forgotten with
 * its report at the next cycle.  Before each snapshot a target is checked
 * for what makes the exporter keep away (real-time threads, another
 * tracer, an opt-out); a snapshot that would stop a thread inside a call is
 * refused unless --visible-stops.  The CPU budget is kept by stretching:
 * after each target, the scanner sleeps until its CPU time since the cycle
 * began is within the budget of the wall time, and a cycle starts no sooner
 * than the interval after the last one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "inspect.h"
#include "judge.h"
#include "procfs.h"
#include "report-common.h"
#include "report-prometheus.h"
#include "report.h"
#include "seize.h"
#include "serve-http.h"
#include "serve.h"
#include "util.h"

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#define PF_KTHREAD 0x00200000u

int serve_options_add_pid(struct serve_options *o, pid_t pid)
{
        for (size_t i = 0; i < o->n_pids; i++)
                if (o->pids[i] == pid)
                        return 0;
        if (grow_array(&o->pids, &o->pids_cap, o->n_pids + 1, sizeof *o->pids) < 0)
                return -ENOMEM;
        o->pids[o->n_pids++] = pid;
        return 0;
}

void serve_options_done(struct serve_options *o)
{
        free(o->pids);
        if (o->has_match)
                regfree(&o->match);
        o->pids = NULL;
        o->n_pids = o->pids_cap = 0;
        o->has_match = false;
}

/* Why a target was not snapshotted: each a label value of
 * leakscan_targets_skipped_total. */
enum skip {
        SKIP_NONE,
        SKIP_REALTIME,
        SKIP_TRACED,
        SKIP_OPTOUT,
        SKIP_VISIBLE_STOP,
        _SKIP_MAX,
};

static const char *const skip_names[_SKIP_MAX] = {
        [SKIP_REALTIME] = "realtime", [SKIP_TRACED] = "traced", [SKIP_OPTOUT] = "optout",
        [SKIP_VISIBLE_STOP] = "visible_stop",
};

static const char *const skip_texts[_SKIP_MAX] = {
        [SKIP_REALTIME] = "skipped: a thread runs in a real-time scheduling class",
        [SKIP_TRACED] = "skipped: already traced by another process",
        [SKIP_OPTOUT] = "skipped: opted out (" SERVE_OPTOUT_ENV " or the " SERVE_OPTOUT_XATTR " xattr)",
        [SKIP_VISIBLE_STOP] = "skipped: would need a visible stop (a thread stopped inside a call)",
};

/* Why a snapshot failed: label values of leakscan_scan_errors_total. */
enum scan_error {
        ERROR_PERMISSION,
        ERROR_MEMORY,
        ERROR_OTHER,
        _ERROR_MAX,
};

static const char *const error_names[_ERROR_MAX] = {
        [ERROR_PERMISSION] = "permission", [ERROR_MEMORY] = "memory", [ERROR_OTHER] = "other",
};

struct target {
        pid_t pid;
        uint64_t start_time;
        struct prom_identity identity;
        struct leakscan_report *report; /* the last snapshot, or NULL */
        enum skip skipped;              /* in the last cycle */
        char *error;                    /* the last snapshot's failure, or NULL */
        bool seen;
};

struct state {
        const struct serve_options *o;
        pthread_mutex_t lock;
        struct target *targets;
        size_t n_targets, cap;
        struct prom_histogram stops, scans;
        uint64_t scans_total, cycles_total;
        uint64_t skips[_SKIP_MAX], errors[_ERROR_MAX];
        double last_cycle_seconds, last_cycle_cpu_seconds;
        int stop[2];                    /* readable: stop now */
};

static double cpu_seconds(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
               (double) ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
        return (double) now_usec(CLOCK_MONOTONIC) / 1e6;
}

/* Sleeps for seconds unless asked to stop.  Returns true when asked. */
static bool sleep_or_stop(struct state *st, double seconds)
{
        struct pollfd p = { st->stop[0], POLLIN, 0 };
        int ms = seconds <= 0 ? 0 : seconds > 86400 ? 86400000 : (int) (seconds * 1000 + 0.5);
        return poll(&p, 1, ms) > 0;
}

static void target_clear(struct target *t)
{
        leakscan_report_free(t->report);
        free(t->error);
        t->report = NULL;
        t->error = NULL;
}

/* ---- which processes are targets ---- */

struct candidate {
        pid_t pid;
        uint64_t start_time;
};

static int read_stat(pid_t pid, struct proc_stat *ret)
{
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        ssize_t n = read_small_file(path, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        return procfs_parse_stat(buf, ret);
}

/* The cgroup v2 path of pid ("/system.slice/x.service"), or NULL. */
static char *cgroup_of(pid_t pid)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        if (read_full_file(path, &text) < 0)
                return NULL;
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                if (startswith(line, "0::"))
                        return strdup(line + 3);
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* Whether process pid passes --match and --cgroup. */
static bool selected(const struct serve_options *o, pid_t pid, const struct proc_stat *ps)
{
        if (o->has_match) {
                bool hit = regexec(&o->match, ps->comm, 0, NULL, 0) == 0;
                if (!hit) {
                        char path[64], exe[4096];
                        snprintf(path, sizeof path, "/proc/%d/exe", (int) pid);
                        ssize_t n = readlink(path, exe, sizeof exe - 1);
                        if (n > 0) {
                                exe[n] = 0;
                                hit = regexec(&o->match, exe, 0, NULL, 0) == 0;
                        }
                }
                if (!hit)
                        return false;
        }
        if (o->cgroup) {
                const char *want = o->cgroup;
                if (startswith(want, "/sys/fs/cgroup"))
                        want += strlen("/sys/fs/cgroup");
                size_t n = strlen(want);
                while (n > 1 && want[n - 1] == '/')
                        n--;
                _cleanup_free_ char *cg = cgroup_of(pid);
                if (!cg || !(n <= 1 || (strncmp(cg, want, n) == 0 && (cg[n] == 0 || cg[n] == '/'))))
                        return false;
        }
        return true;
}

static int add_candidate(struct candidate **list, size_t *n, size_t *cap, pid_t pid, uint64_t start)
{
        if (grow_array(list, cap, *n + 1, sizeof **list) < 0)
                return -ENOMEM;
        (*list)[(*n)++] = (struct candidate) { pid, start };
        return 0;
}

/* The processes to scan now.  pinned[i] is the start time -p's i-th PID
 * was first seen with (0: not seen yet; UINT64_MAX: it ended). */
static int list_candidates(const struct serve_options *o, uint64_t *pinned, struct candidate **ret, size_t *ret_n)
{
        struct candidate *list = NULL;
        size_t n = 0, cap = 0;
        pid_t self = getpid();
        for (size_t i = 0; i < o->n_pids; i++) {
                struct proc_stat ps;
                if (pinned[i] == UINT64_MAX)
                        continue;
                if (read_stat(o->pids[i], &ps) < 0 || ps.state == 'Z' || ps.state == 'X' ||
                    (pinned[i] && ps.starttime != pinned[i])) {
                        if (pinned[i])
                                pinned[i] = UINT64_MAX;         /* it ended: a new process is no -p */
                        continue;
                }
                pinned[i] = ps.starttime;
                if (add_candidate(&list, &n, &cap, o->pids[i], ps.starttime) < 0)
                        goto oom;
        }
        if (o->all_processes || o->has_match || o->cgroup) {
                DIR *d = opendir("/proc");
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        char *end;
                        long pid = strtol(de->d_name, &end, 10);
                        if (*end || pid <= 0 || pid == self)
                                continue;
                        struct proc_stat ps;
                        if (read_stat((pid_t) pid, &ps) < 0 || (ps.flags & PF_KTHREAD) || ps.state == 'Z' ||
                            ps.state == 'X' || !selected(o, (pid_t) pid, &ps))
                                continue;
                        bool dup = false;
                        for (size_t i = 0; i < n && !dup; i++)
                                dup = list[i].pid == pid;
                        if (!dup && add_candidate(&list, &n, &cap, (pid_t) pid, ps.starttime) < 0) {
                                closedir(d);
                                goto oom;
                        }
                }
                if (d)
                        closedir(d);
        }
        *ret = list;
        *ret_n = n;
        return 0;
oom:
        free(list);
        return -ENOMEM;
}

/* Brings the target list to the candidates: new ones added, ended or
 * replaced ones forgotten.  Under the lock. */
static int update_targets(struct state *st, const struct candidate *c, size_t n)
{
        for (size_t i = 0; i < st->n_targets; i++)
                st->targets[i].seen = false;
        for (size_t k = 0; k < n; k++) {
                struct target *t = NULL;
                for (size_t i = 0; i < st->n_targets && !t; i++)
                        if (st->targets[i].pid == c[k].pid && st->targets[i].start_time == c[k].start_time)
                                t = &st->targets[i];
                if (!t) {
                        if (grow_array(&st->targets, &st->cap, st->n_targets + 1, sizeof *st->targets) < 0)
                                return -ENOMEM;
                        t = &st->targets[st->n_targets++];
                        *t = (struct target) { .pid = c[k].pid, .start_time = c[k].start_time };
                        prom_identity_read(t->pid, NULL, &t->identity);
                }
                t->seen = true;
        }
        size_t kept = 0;
        for (size_t i = 0; i < st->n_targets; i++) {
                if (st->targets[i].seen)
                        st->targets[kept++] = st->targets[i];
                else
                        target_clear(&st->targets[i]);
        }
        st->n_targets = kept;
        if (kept == 0) {
                /* a fleet that empties gives its memory back */
                free(st->targets);
                st->targets = NULL;
                st->cap = 0;
        }
        return 0;
}

/* ---- before a snapshot: what keeps the exporter away ---- */

static bool opted_out(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/exe", (int) pid);
        if (getxattr(path, SERVE_OPTOUT_XATTR, NULL, 0) >= 0)
                return true;
        snprintf(path, sizeof path, "/proc/%d/environ", (int) pid);
        _cleanup_free_ char *env = NULL;
        ssize_t n = read_full_file(path, &env);
        for (ssize_t i = 0; i < n;) {
                const char *var = env + i;
                size_t len = strnlen(var, (size_t) (n - i));
                if (startswith(var, SERVE_OPTOUT_ENV "=") && !streq(var, SERVE_OPTOUT_ENV "=") &&
                    !streq(var, SERVE_OPTOUT_ENV "=0"))
                        return true;
                i += (ssize_t) len + 1;
        }
        return false;
}

static bool realtime(pid_t pid)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        if (procfs_list_tasks(pid, &tids, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                int policy = sched_getscheduler(tids[i]);
                if (policy == SCHED_FIFO || policy == SCHED_RR || policy == SCHED_DEADLINE)
                        return true;
        }
        return false;
}

static enum skip check_skip(pid_t pid)
{
        pid_t tracer, tid;
        if (opted_out(pid))
                return SKIP_OPTOUT;
        if (seize_find_tracer(pid, &tracer, &tid) == 0)
                return SKIP_TRACED;
        if (realtime(pid))
                return SKIP_REALTIME;
        return SKIP_NONE;
}

/* ---- the scanner ---- */

/* Snapshots target (pid, start) and stores the outcome.  Takes the lock
 * only to store. */
static void scan_target(struct state *st, pid_t pid, uint64_t start)
{
        const struct serve_options *o = st->o;
        enum skip skip = check_skip(pid);
        struct leakscan_report *report = NULL;
        int r = 0;
        double began = wall_seconds();
        if (skip == SKIP_NONE) {
                r = inspect_pid_limited(pid, &o->inspect, NULL, o->scan_limit, &report);
                if (r == 0 && judge_report(report, o->judge) < 0) {
                        leakscan_report_free(report);
                        report = NULL;
                        r = -ENOMEM;
                }
                if (r == -EWOULDBLOCK)
                        skip = SKIP_VISIBLE_STOP;
                else if (r == -EBUSY)
                        skip = SKIP_TRACED;
        }
        double took = wall_seconds() - began;
        /* A target killed during its snapshot dies traced: its zombie is
         * reported to us, the tracer, and its parent cannot reap it until
         * we have.  One-shot leakscan exits and the kernel lets it go; the
         * exporter lives on, so it collects such exits here.  It has no
         * children, and holds no live tracee once inspect returned: any
         * event left is such an exit. */
        while (waitpid(-1, NULL, __WALL | WNOHANG) > 0)
                ;
        char msg[512] = "";
        bool gone = r == -ESRCH || r == -EOWNERDEAD || r == -ECHILD || r == -ENOTUNIQ;
        if (r < 0 && skip == SKIP_NONE && !gone)
                leakscan_describe_error(r, pid, msg, sizeof msg);

        pthread_mutex_lock(&st->lock);
        struct target *t = NULL;
        for (size_t i = 0; i < st->n_targets && !t; i++)
                if (st->targets[i].pid == pid && st->targets[i].start_time == start)
                        t = &st->targets[i];
        if (t) {
                t->skipped = skip;
                if (skip != SKIP_NONE) {
                        st->skips[skip]++;
                        target_clear(t);
                } else if (r == 0) {
                        target_clear(t);
                        t->report = TAKE_PTR(report);
                        st->scans_total++;
                        prom_histogram_observe(&st->scans, took);
                        if (t->report->n_processes)
                                prom_histogram_observe(&st->stops,
                                                       (double) t->report->processes[0].stopped_us / 1e6);
                } else if (!gone) {
                        target_clear(t);
                        t->error = strdup(msg);
                        st->errors[r == -EPERM || r == -EACCES ? ERROR_PERMISSION :
                                   r == -ENOMEM ? ERROR_MEMORY : ERROR_OTHER]++;
                }
                /* a target gone meanwhile is forgotten at the next cycle */
        }
        pthread_mutex_unlock(&st->lock);
        leakscan_report_free(report);
}

static void *scanner(void *userdata)
{
        struct state *st = userdata;
        const struct serve_options *o = st->o;
        uint64_t *pinned = calloc(o->n_pids + 1, sizeof *pinned);
        if (!pinned)
                return NULL;
        for (;;) {
                double cycle_wall = wall_seconds(), cycle_cpu = cpu_seconds();
                struct candidate *c = NULL;
                size_t n = 0;
                if (list_candidates(o, pinned, &c, &n) == 0) {
                        pthread_mutex_lock(&st->lock);
                        (void) update_targets(st, c, n);
                        pthread_mutex_unlock(&st->lock);
                }
                bool stop = false;
                for (size_t i = 0; i < n && !stop; i++) {
                        scan_target(st, c[i].pid, c[i].start_time);
                        /* within the budget: CPU spent so far is at most
                         * budget times the time since the cycle began */
                        double owed = (cpu_seconds() - cycle_cpu) / o->cpu_budget - (wall_seconds() - cycle_wall);
                        stop = sleep_or_stop(st, owed);
                }
                free(c);
                double cpu = cpu_seconds() - cycle_cpu;
                double next = (double) o->interval_ms / 1000.0;
                if (cpu / o->cpu_budget > next)
                        next = cpu / o->cpu_budget;
                pthread_mutex_lock(&st->lock);
                st->cycles_total++;
                st->last_cycle_cpu_seconds = cpu;
                st->last_cycle_seconds = next;
                pthread_mutex_unlock(&st->lock);
                if (stop || sleep_or_stop(st, cycle_wall + next - wall_seconds()))
                        break;
        }
        free(pinned);
        return NULL;
}

/* ---- the answers ---- */

static void counter_family(FILE *f, const char *name, const char *help, const char *label,
                           const char *const *names, const uint64_t *values, size_t n)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
        for (size_t i = 0; i < n; i++)
                if (names[i])
                        fprintf(f, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, names[i], values[i]);
}

static void render_metrics(struct state *st, FILE *f)
{
        _cleanup_free_ struct prom_target *pt = calloc(st->n_targets + 1, sizeof *pt);
        size_t n = 0;
        for (size_t i = 0; pt && i < st->n_targets; i++)
                if (st->targets[i].report && st->targets[i].report->n_processes)
                        pt[n++] = (struct prom_target) { &st->targets[i].report->processes[0],
                                                         &st->targets[i].identity };
        prom_write_build_info(f);
        prom_write_targets(f, pt, n);
        prom_write_histogram(f, "leakscan_snapshot_stop_seconds",
                             "How long each target was held stopped for its snapshot.", &st->stops);
        prom_write_histogram(f, "leakscan_scan_duration_seconds",
                             "How long the snapshot and analysis of one target took.", &st->scans);
        fprintf(f, "# HELP leakscan_scans_total Snapshots taken.\n# TYPE leakscan_scans_total counter\n"
                "leakscan_scans_total %" PRIu64 "\n", st->scans_total);
        fprintf(f, "# HELP leakscan_scan_cycles_total Cycles over every target.\n"
                "# TYPE leakscan_scan_cycles_total counter\nleakscan_scan_cycles_total %" PRIu64 "\n",
                st->cycles_total);
        counter_family(f, "leakscan_scan_errors_total", "Snapshots that failed, by reason.", "reason",
                       error_names, st->errors, _ERROR_MAX);
        counter_family(f, "leakscan_targets_skipped_total",
                       "Targets left alone at a cycle, by reason (realtime, traced, optout, visible_stop).",
                       "reason", skip_names, st->skips, _SKIP_MAX);
        size_t skipped_now = 0;
        for (size_t i = 0; i < st->n_targets; i++)
                skipped_now += st->targets[i].skipped != SKIP_NONE;
        fprintf(f, "# HELP leakscan_targets Processes the exporter watches now.\n# TYPE leakscan_targets gauge\n"
                "leakscan_targets %zu\n", st->n_targets);
        fprintf(f, "# HELP leakscan_targets_skipped Targets skipped at their last cycle.\n"
                "# TYPE leakscan_targets_skipped gauge\nleakscan_targets_skipped %zu\n", skipped_now);
        fprintf(f, "# HELP leakscan_cycle_seconds Time between the starts of the last two cycles: the "
                "interval, stretched to keep the CPU budget.\n# TYPE leakscan_cycle_seconds gauge\n"
                "leakscan_cycle_seconds %.6f\n", st->last_cycle_seconds);
        fprintf(f, "# HELP leakscan_cycle_cpu_seconds CPU time the exporter spent in its last cycle.\n"
                "# TYPE leakscan_cycle_cpu_seconds gauge\nleakscan_cycle_cpu_seconds %.6f\n",
                st->last_cycle_cpu_seconds);
        fprintf(f, "# HELP leakscan_cpu_budget_ratio The CPU budget, a fraction of one CPU.\n"
                "# TYPE leakscan_cpu_budget_ratio gauge\nleakscan_cpu_budget_ratio %g\n", st->o->cpu_budget);
        long rss_pages = 0;
        char statm[256];
        if (read_small_file("/proc/self/statm", statm, sizeof statm) > 0)
                rss_pages = strtol(strchr(statm, ' ') ? strchr(statm, ' ') + 1 : "0", NULL, 10);
        /* what malloc has handed out and not taken back, over every arena:
         * a leak shows here long before it shows in the RSS */
        struct mallinfo2 mi = mallinfo2();
        fprintf(f, "# HELP leakscan_heap_inuse_bytes Bytes the exporter's malloc has handed out and not "
                "taken back.\n# TYPE leakscan_heap_inuse_bytes gauge\nleakscan_heap_inuse_bytes %zu\n",
                mi.uordblks + mi.hblkhd);
        fprintf(f, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n", cpu_seconds());
        fprintf(f, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n",
                rss_pages * sysconf(_SC_PAGESIZE));
}

static void render_report_json(struct state *st, FILE *f)
{
        fprintf(f, "{\"schema\": \"leakscan-serve/1\", \"interval_seconds\": %.3f, \"cycles\": %" PRIu64
                ",\n \"targets\": [", (double) st->o->interval_ms / 1000.0, st->cycles_total);
        for (size_t i = 0; i < st->n_targets; i++) {
                const struct target *t = &st->targets[i];
                fprintf(f, "%s\n  {\"pid\": %d, \"comm\": ", i ? "," : "", (int) t->pid);
                json_string(f, t->identity.comm);
                fputs(", \"container\": ", f);
                json_string(f, t->identity.container[0] ? t->identity.container : NULL);
                fputs(", \"pod\": ", f);
                json_string(f, t->identity.pod[0] ? t->identity.pod : NULL);
                fputs(", \"namespace\": ", f);
                json_string(f, t->identity.namespace[0] ? t->identity.namespace : NULL);
                fprintf(f, ", \"skipped\": ");
                json_string(f, t->skipped ? skip_names[t->skipped] : NULL);
                fputs(", \"skipped_why\": ", f);
                json_string(f, t->skipped ? skip_texts[t->skipped] : NULL);
                fputs(", \"error\": ", f);
                json_string(f, t->error);
                fputs(", \"report\": ", f);
                if (t->report)
                        report_json.write(f, t->report, NULL);
                else
                        fputs("null", f);
                fputs("}", f);
        }
        fputs("]}\n", f);
}

static void render_pprof(struct state *st, FILE *f)
{
        struct leakscan_report all = { .mode = "pid" };
        _cleanup_free_ struct leakscan_process *procs = calloc(st->n_targets + 1, sizeof *procs);
        for (size_t i = 0; procs && i < st->n_targets; i++)
                if (st->targets[i].report && st->targets[i].report->n_processes)
                        procs[all.n_processes++] = st->targets[i].report->processes[0];
        all.processes = procs;
        report_pprof.write(f, &all, NULL);
}

static void handle(void *userdata, const char *path, struct http_response *resp)
{
        struct state *st = userdata;
        void (*render)(struct state *, FILE *) = NULL;
        const char *type = "text/plain; charset=utf-8";
        if (streq(path, "/metrics")) {
                render = render_metrics;
                type = "text/plain; version=0.0.4; charset=utf-8";
        } else if (streq(path, "/report.json")) {
                render = render_report_json;
                type = "application/json";
        } else if (streq(path, "/debug/pprof/threads")) {
                render = render_pprof;
                type = "application/octet-stream";
        } else if (streq(path, "/healthz")) {
                resp->status = 200;
                resp->body = strdup("ok\n");
                resp->len = resp->body ? 3 : 0;
                return;
        } else if (streq(path, "/")) {
                static const char index[] = "leakscan exporter: /metrics /report.json /debug/pprof/threads /healthz\n";
                resp->status = 200;
                resp->body = strdup(index);
                resp->len = resp->body ? sizeof index - 1 : 0;
                return;
        } else {
                resp->body = strdup("not found\n");
                resp->len = resp->body ? 10 : 0;
                return;
        }
        FILE *f = open_memstream(&resp->body, &resp->len);
        if (!f) {
                resp->status = 500;
                return;
        }
        pthread_mutex_lock(&st->lock);
        render(st, f);
        pthread_mutex_unlock(&st->lock);
        bool failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(resp->body);
                resp->body = NULL;
                resp->len = 0;
                resp->status = 500;
                return;
        }
        resp->status = 200;
        resp->content_type = type;
}

struct http_thread {
        struct http_server *server;
        int stop_fd;
};

static void *http_main(void *userdata)
{
        struct http_thread *h = userdata;
        http_server_run(h->server, h->stop_fd);
        return NULL;
}

int serve_run(const struct serve_options *o)
{
        struct web_config cfg = {0};
        if (o->web_config) {
                _cleanup_free_ char *why = NULL;
                int r = web_config_load(o->web_config, &cfg, &why);
                if (r < 0) {
                        fprintf(stderr, "leakscan: --web.config.file: %s\n", why ? why : strerror(-r));
                        return 2;
                }
        }
        struct state st = { .o = o, .stop = { -1, -1 } };
        pthread_mutex_init(&st.lock, NULL);
        struct http_server *server = NULL;
        _cleanup_free_ char *why = NULL;
        int status = 0;
        int r = http_server_new(o->listen, &cfg, handle, &st, &server, &why);
        if (r < 0) {
                fprintf(stderr, "leakscan: --serve: %s\n", why ? why : strerror(-r));
                web_config_done(&cfg);
                return 3;
        }
        if (pipe2(st.stop, O_CLOEXEC) < 0) {
                fprintf(stderr, "leakscan: --serve: %s\n", strerror(errno));
                http_server_free(server);
                web_config_done(&cfg);
                return 3;
        }
        /* a scraper that goes away mid-answer must not kill the exporter */
        signal(SIGPIPE, SIG_IGN);
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

        fprintf(stderr, "leakscan: serving %s/metrics (every %.3gs, CPU budget %g%%%s%s)\n",
                http_server_url(server), (double) o->interval_ms / 1000.0, o->cpu_budget * 100,
                cfg.n_users ? ", basic auth" : "", o->visible_stops ? ", visible stops allowed" : "");
        fflush(stderr);

        struct http_thread h = { server, st.stop[0] };
        pthread_t scan_thread, http_thread;
        bool scanning = pthread_create(&scan_thread, NULL, scanner, &st) == 0;
        bool serving = pthread_create(&http_thread, NULL, http_main, &h) == 0;
        if (!scanning || !serving) {
                fputs("leakscan: --serve: cannot start its threads\n", stderr);
                status = 3;
        } else {
                int sig;
                sigwait(&stop_signals, &sig);
        }
        (void) !write(st.stop[1], "x", 1);
        if (scanning)
                pthread_join(scan_thread, NULL);
        if (serving)
                pthread_join(http_thread, NULL);
        for (size_t i = 0; i < st.n_targets; i++)
                target_clear(&st.targets[i]);
        free(st.targets);
        close(st.stop[0]);
        close(st.stop[1]);
        http_server_free(server);
        web_config_done(&cfg);
        pthread_mutex_destroy(&st.lock);
        return status;
}

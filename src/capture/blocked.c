/* Blocked time across snapshots; see blocked.h.  The file is text, one
 * header line naming the process and one line per thread, so that a damaged
 * or foreign file is recognised and ignored rather than misread:
 *   leakscan-blocked 1 PID PROC_START
 *   TID START_TIME SINCE_NS NVCSW */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blocked.h"
#include "classify.h"
#include "procfs.h"
#include "syscalls.h"
#include "util.h"

#define BLOCKED_MAGIC "leakscan-blocked 1"
/* Files of other processes looked at per save, to bound the cost of the
 * garbage collection in a directory that grew. */
#define BLOCKED_GC_MAX 256
/* How often, and how long apart, a thread is looked at until it sleeps
 * again after our detach. */
#define BLOCKED_SETTLE_ROUNDS 25
#define BLOCKED_SETTLE_NS 2000000L

struct blocked_memory {
        int dirfd;
        pid_t pid;
        uint64_t proc_start;
        struct blocked_entry *old;      /* as loaded */
        size_t n_old;
        struct blocked_entry *next;     /* noted for the next snapshot */
        size_t n_next, cap_next;
        bool has_now;
        uint64_t now_ns;                /* the scheduler clock at the snapshot */
        /* blocked_memory_for: a thread of ours reads the switch counts of
         * the threads likely to be remembered while the snapshot is
         * unwound and analysed; blocked_memory_update joins it */
        const struct process_capture *cap;
        struct switches *seen;          /* per cap->threads index */
        pthread_t reader;
        bool reading;
};

/* What the reader found of one thread. */
struct switches {
        bool asleep;                    /* read, and asleep again */
        uint64_t nvcsw;
};

int blocked_default_dir(char *buf, size_t size)
{
        int n;
        if (geteuid() == 0) {
                n = snprintf(buf, size, "/run/leakscan");
        } else {
                /* secure_getenv: this runs in libleakscan too, maybe in a
                 * set-user-ID program, where the caller chose the environment */
                const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
                if (!xdg || xdg[0] != '/')
                        return -ENOENT;
                n = snprintf(buf, size, "%s/leakscan", xdg);
        }
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static void file_name(char *buf, size_t size, pid_t pid, uint64_t proc_start)
{
        snprintf(buf, size, "%d-%" PRIu64, (int) pid, proc_start);
}

int blocked_parse(const char *text, pid_t pid, uint64_t proc_start, struct blocked_entry **ret, size_t *ret_n)
{
        char header[96];
        snprintf(header, sizeof header, BLOCKED_MAGIC " %d %" PRIu64 "\n", (int) pid, proc_start);
        if (!startswith(text, header))
                return -EINVAL;
        const char *p = text + strlen(header);
        size_t n = 0, cap = 0;
        struct blocked_entry *e = NULL;
        while (*p) {
                const char *nl = strchr(p, '\n');
                if (!nl)
                        goto bad;       /* a torn last line: the whole file is suspect */
                struct blocked_entry x;
                int tid, used = 0;
                if (sscanf(p, "%d %" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &tid, &x.start_time, &x.since_ns,
                           &x.nvcsw, &used) != 4 || p + used != nl || tid <= 0)
                        goto bad;
                x.tid = tid;
                if (n == BLOCKED_MAX_THREADS)
                        goto bad;
                if (grow_array(&e, &cap, n + 1, sizeof *e) < 0) {
                        free(e);
                        return -ENOMEM;
                }
                e[n++] = x;
                p = nl + 1;
        }
        *ret = e;
        *ret_n = n;
        return 0;
bad:
        free(e);
        return -EINVAL;
}

/* Whether fd is a regular file (or, with dir, a directory) of ours that no
 * one else may write (and, for the directory, enter). */
static bool owned_by_us(int fd, bool dir)
{
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid())
                return false;
        if (dir)
                return S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0;
        return S_ISREG(st.st_mode) && (st.st_mode & 022) == 0 && st.st_size <= BLOCKED_MAX_FILE;
}

/* Reads a file of the directory, refusing symlinks, FIFOs, other owners and
 * oversized files.  Returns 0 and a new NUL-terminated text, or -errno. */
static int read_own_file(int dirfd, const char *name, char **ret)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (!owned_by_us(fd, false))
                return -EPERM;
        char *buf = malloc(BLOCKED_MAX_FILE + 1);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        for (;;) {
                ssize_t k = read(fd, buf + len, BLOCKED_MAX_FILE + 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        free(buf);
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > BLOCKED_MAX_FILE) {
                        free(buf);
                        return -EFBIG;
                }
        }
        buf[len] = 0;
        if (strlen(buf) != len) {       /* a NUL inside: not ours */
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        return 0;
}

static int entry_cmp(const void *a, const void *b)
{
        pid_t x = ((const struct blocked_entry *) a)->tid, y = ((const struct blocked_entry *) b)->tid;
        return (x > y) - (x < y);
}

int blocked_memory_open(const char *dir, pid_t pid, uint64_t proc_start, struct blocked_memory **ret)
{
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;
        if (!owned_by_us(dirfd, true)) {
                close(dirfd);
                return -EPERM;
        }
        struct blocked_memory *m = calloc(1, sizeof *m);
        if (!m) {
                close(dirfd);
                return -ENOMEM;
        }
        m->dirfd = dirfd;
        m->pid = pid;
        m->proc_start = proc_start;

        char name[64];
        _cleanup_free_ char *text = NULL;
        file_name(name, sizeof name, pid, proc_start);
        if (read_own_file(dirfd, name, &text) == 0 &&
            blocked_parse(text, pid, proc_start, &m->old, &m->n_old) < 0) {
                m->old = NULL;
                m->n_old = 0;
        }
        if (m->n_old > 1)
                qsort(m->old, m->n_old, sizeof *m->old, entry_cmp);
        *ret = m;
        return 0;
}

static void reader_join(struct blocked_memory *m)
{
        if (m->reading) {
                (void) pthread_join(m->reader, NULL);
                m->reading = false;
        }
}

void blocked_memory_free(struct blocked_memory *m)
{
        if (!m)
                return;
        reader_join(m);
        free(m->seen);
        close(m->dirfd);
        free(m->old);
        free(m->next);
        free(m);
}

uint64_t blocked_memory_since(const struct blocked_memory *m, pid_t tid, uint64_t start_time,
                              uint64_t since_ns, bool has_nvcsw, uint64_t nvcsw)
{
        if (!m || !has_nvcsw || m->n_old == 0)
                return since_ns;        /* (bsearch must not see a NULL array) */
        struct blocked_entry key = { .tid = tid };
        const struct blocked_entry *e = bsearch(&key, m->old, m->n_old, sizeof *m->old, entry_cmp);
        /* the same count: it never slept anew since it went back to sleep
         * after our detach, so it has been blocked throughout */
        if (e && e->start_time == start_time && e->nvcsw == nvcsw && e->since_ns < since_ns)
                return e->since_ns;
        return since_ns;
}

int blocked_memory_note(struct blocked_memory *m, pid_t tid, uint64_t start_time, uint64_t since_ns,
                        uint64_t nvcsw)
{
        if (m->n_next == BLOCKED_MAX_THREADS)
                return -E2BIG;
        if (m->n_next == m->cap_next) {
                size_t cap = m->cap_next ? m->cap_next * 2 : 16;
                struct blocked_entry *ne = realloc(m->next, cap * sizeof *ne);
                if (!ne)
                        return -ENOMEM;
                m->next = ne;
                m->cap_next = cap;
        }
        m->next[m->n_next++] = (struct blocked_entry) {
                .tid = tid, .start_time = start_time, .since_ns = since_ns, .nvcsw = nvcsw };
        return 0;
}

/* Whether the file name PID-START names a process that still runs. */
static bool process_alive(const char *name)
{
        int pid;
        uint64_t start;
        int used = 0;
        if (sscanf(name, "%d-%" SCNu64 "%n", &pid, &start, &used) != 2 || name[used] != 0 || pid <= 0)
                return true;    /* not one of ours: leave it */
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_stat st;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        return read_full_file(path, &text) >= 0 && procfs_parse_stat(text, &st) == 0 && st.starttime == start;
}

/* Removes the files of processes that are gone, and temporary files left
 * by a leakscan that died while writing. */
static void collect_garbage(struct blocked_memory *m)
{
        int fd = openat(m->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        struct dirent *de;
        unsigned looked = 0;
        while ((de = readdir(d)) && looked < BLOCKED_GC_MAX) {
                if (de->d_name[0] == '.' && de->d_name[1] == 't') {
                        /* .tmp-PID-...: its writer is gone when PID is */
                        int writer = atoi(de->d_name + 5);
                        if (writer > 0 && writer != getpid() && kill(writer, 0) < 0 && errno == ESRCH)
                                (void) unlinkat(m->dirfd, de->d_name, 0);
                        continue;
                }
                if (de->d_name[0] == '.')
                        continue;
                looked++;
                if (!process_alive(de->d_name))
                        (void) unlinkat(m->dirfd, de->d_name, 0);
        }
        closedir(d);
}

int blocked_memory_save(struct blocked_memory *m)
{
        char name[64], tmp[96];
        file_name(name, sizeof name, m->pid, m->proc_start);
        snprintf(tmp, sizeof tmp, ".tmp-%d-%s", (int) getpid(), name);
        (void) unlinkat(m->dirfd, tmp, 0);
        int r = 0;
        if (m->n_next == 0) {
                if (unlinkat(m->dirfd, name, 0) < 0 && errno != ENOENT)
                        r = -errno;
                goto gc;
        }
        int fd = openat(m->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                (void) unlinkat(m->dirfd, tmp, 0);
                return r;
        }
        fprintf(f, BLOCKED_MAGIC " %d %" PRIu64 "\n", (int) m->pid, m->proc_start);
        for (size_t i = 0; i < m->n_next; i++) {
                const struct blocked_entry *e = &m->next[i];
                fprintf(f, "%d %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (int) e->tid, e->start_time, e->since_ns,
                        e->nvcsw);
        }
        if (fflush(f) != 0 || ferror(f))
                r = -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -EIO;
        if (r == 0 && renameat(m->dirfd, tmp, m->dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(m->dirfd, tmp, 0);
                return r;
        }
gc:
        collect_garbage(m);
        return r;
}

/* ---- the snapshot's side ---- */

/* The scheduler clock at the snapshot, more precisely than cap->now_sched_ns:
 * our own se.exec_start is only as fresh as the kernel's last accounting of
 * our run (a tick ago, or tens of milliseconds on a tickless CPU), which
 * would make blocked times shrink from one snapshot to the next.  A yield
 * makes the kernel account it now; then step back by the time elapsed since
 * the stop began, on the monotonic clock. */
static bool snapshot_clock(const struct process_capture *cap, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        uint64_t now;
        /* the threads' clock, aligned across CPUs (capture_align_sched_clocks) */
        if (cap->has_clock_offset && cap->stop_begin_us != 0) {
                int64_t at = (int64_t) (cap->stop_begin_us * 1000u) + cap->sched_minus_mono_ns;
                if (at < 0)
                        return false;
                *ret = (uint64_t) at;
                return true;
        }
        (void) sched_yield();
        uint64_t mono = now_usec(CLOCK_MONOTONIC);
        if (read_full_file("/proc/thread-self/sched", &text) < 0 || procfs_parse_sched_exec_start(text, &now) < 0 ||
            cap->stop_begin_us == 0 || mono < cap->stop_begin_us)
                return false;
        uint64_t back = (mono - cap->stop_begin_us) * 1000u;
        if (back > now)
                return false;
        *ret = now - back;
        return true;
}

static void reader_start(struct blocked_memory *m, const struct process_capture *cap);

struct blocked_memory *blocked_memory_for(const struct process_capture *cap)
{
        if (!cap->remember_blocked)
                return NULL;
        uint64_t proc_start = 0;
        bool found = false;
        for (size_t i = 0; i < cap->n_threads; i++)
                if (cap->threads[i].tid == cap->pid) {
                        proc_start = cap->threads[i].stat.starttime;
                        found = true;
                }
        char dir[4096];
        struct blocked_memory *m = NULL;
        if (!found || blocked_default_dir(dir, sizeof dir) < 0 ||
            blocked_memory_open(dir, cap->pid, proc_start, &m) < 0)
                return NULL;
        m->has_now = snapshot_clock(cap, &m->now_ns);
        if (!m->has_now) {
                m->has_now = cap->has_now;
                m->now_ns = cap->now_sched_ns;
        }
        reader_start(m, cap);
        return m;
}

/* What the scheduler says of t: milliseconds since it last ran, or -1. */
static int64_t sched_blocked_ms(const struct blocked_memory *m, const struct process_capture *cap,
                                const struct thread_capture *t)
{
        bool has_now = m ? m->has_now : cap->has_now;
        uint64_t now = m ? m->now_ns : cap->now_sched_ns;
        return classify_blocked_ms(t->has_exec_start, t->exec_start_ns, has_now, now);
}

/* Since when t has been blocked, on the monotonic clock (ns).  The
 * scheduler's clock (rq_clock_task) runs per CPU and leaves out interrupt and
 * steal time, so two readings on different CPUs may disagree by more than a
 * snapshot's interval: it serves only for the first look at a thread, and
 * what is remembered lives on the monotonic clock of the snapshots.  Returns
 * false when the scheduler does not say. */
static bool thread_since(const struct blocked_memory *m, const struct process_capture *cap,
                         const struct thread_capture *t, uint64_t *ret)
{
        int64_t ms = sched_blocked_ms(m, cap, t);
        uint64_t snapshot = cap->stop_begin_us * 1000u;
        if (ms < 0 || cap->stop_begin_us == 0 || (uint64_t) ms * 1000000u > snapshot)
                return false;
        uint64_t since = snapshot - (uint64_t) ms * 1000000u;
        *ret = blocked_memory_since(m, t->tid, t->stat.starttime, since, t->has_nvcsw, t->nvcsw);
        return true;
}

int64_t blocked_ms(const struct blocked_memory *m, const struct process_capture *cap,
                   const struct thread_capture *t)
{
        uint64_t since;
        if (!m || !thread_since(m, cap, t, &since))
                return sched_blocked_ms(m, cap, t);
        return (int64_t) ((cap->stop_begin_us * 1000u - since) / 1000000u);
}

/* Reads the state letter and voluntary switch count of a thread now, with
 * one open and one read into a buffer on the stack (this runs for every
 * blocked thread after each snapshot).  Returns 0, or -ESRCH when it is
 * gone. */
static int read_switches(pid_t pid, pid_t tid, char *ret_state, uint64_t *ret_nvcsw)
{
        char path[64], text[4096];
        long nvcsw;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) tid);
        if (read_small_file(path, text, sizeof text) <= 0)
                return -ESRCH;
        const char *state = strstr(text, "\nState:\t");
        if (!state || procfs_parse_status_field(text, "voluntary_ctxt_switches", &nvcsw) < 0 || nvcsw < 0)
                return -ESRCH;
        *ret_state = state[8];
        *ret_nvcsw = (uint64_t) nvcsw;
        return 0;
}

/* Whether t may be remembered, as far as its syscall tells before the
 * unwinding: asleep in an indefinite wait (classify_thread without the
 * frames), or in a restarted call, which only the frames tell apart. */
static bool may_remember(const struct thread_capture *t)
{
        if (t->vanished || !t->has_exec_start || !t->has_nvcsw || !t->regs_valid || t->syscall_nr < 0)
                return false;
        const struct syscall_info *s = syscalls_lookup(t->syscall_nr);
        if (s && (s->flags & SYSCALL_RESTART))
                return true;
        struct classify_input in = { .proc_state = t->stat.state, .proc_flags = t->stat.flags,
                                     .syscall_nr = t->syscall_nr };
        arch_regs_syscall_args(&t->regs, in.args);
        struct classify_result cr;
        classify_thread(&in, &cr);
        return cr.verdict == LEAKSCAN_VERDICT_BLOCKED && !cr.timeout;
}

/* Whether t was read without a stop and was asleep, in one wait, from its
 * pre-stop facts to the check of its reading: its voluntary switch count
 * then (exec_start's, from sched) is the one its status showed inside the
 * reading, which it did not leave.  Its count needs no new look: it never
 * woke for us. */
static bool asleep_throughout(const struct thread_capture *t)
{
        return may_remember(t) && t->stopfree && t->stopfree_verified && t->has_status_voluntary &&
               t->status_voluntary == t->nvcsw;
}

/* The reader: one look at each thread that may be remembered, a second
 * after a pause at those not asleep yet.  Those still awake are left to
 * blocked_memory_update's rounds. */
static void *reader_main(void *arg)
{
        struct blocked_memory *m = arg;
        const struct process_capture *cap = m->cap;
        for (int look = 0; look < 2; look++) {
                if (look > 0) {
                        struct timespec ts = { 0, BLOCKED_SETTLE_NS / 2 };
                        nanosleep(&ts, NULL);
                }
                for (size_t i = 0; i < cap->n_threads; i++) {
                        const struct thread_capture *t = &cap->threads[i];
                        char state;
                        if (!m->seen[i].asleep && asleep_throughout(t)) {
                                m->seen[i].asleep = true;
                                m->seen[i].nvcsw = t->nvcsw;
                                continue;
                        }
                        if (m->seen[i].asleep || !may_remember(t) ||
                            read_switches(cap->pid, t->tid, &state, &m->seen[i].nvcsw) < 0)
                                continue;
                        m->seen[i].asleep = state == 'S' || state == 'D' || state == 'T' || state == 't';
                }
        }
        return NULL;
}

/* Starts the reader; without it (out of memory, no thread) blocked_memory_update
 * reads everything itself. */
static void reader_start(struct blocked_memory *m, const struct process_capture *cap)
{
        if (cap->n_threads < 2)
                return;
        m->seen = calloc(cap->n_threads, sizeof *m->seen);
        if (!m->seen)
                return;
        m->cap = cap;
        /* signals stay with the caller's thread */
        sigset_t all, old;
        sigfillset(&all);
        bool masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
        m->reading = pthread_create(&m->reader, NULL, reader_main, m) == 0;
        if (masked)
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!m->reading) {
                free(m->seen);
                m->seen = NULL;
        }
}

/* The capture of tid (process_capture_find only looks). */
static const struct thread_capture *capture_find_const(const struct process_capture *cap, pid_t tid)
{
        return process_capture_find((struct process_capture *) cap, tid);
}

void blocked_memory_update(struct blocked_memory *m, const struct process_capture *cap,
                           const struct leakscan_process *p)
{
        if (!m)
                return;
        /* The threads to remember: those not running, whose switch count we
         * know.  Each must be asleep again when its count is read (one on
         * its way back into the wait would count once more); on a busy
         * machine that may take a few milliseconds, so look a few times. */
        _cleanup_free_ const struct thread_capture **todo = calloc(p->n_threads ? p->n_threads : 1, sizeof *todo);
        if (!todo)
                return;
        size_t n = 0;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *lt = &p->threads[i];
                /* a timed wait ends by itself, and its count with it: only
                 * indefinite waits are worth remembering */
                enum leakscan_verdict v = classify_wait_verdict(lt->state, lt->timeout);
                if (v == LEAKSCAN_VERDICT_RUNNING || v == LEAKSCAN_VERDICT_TIMED || lt->timeout)
                        continue;
                const struct thread_capture *t = capture_find_const(cap, lt->tid);
                if (t && t->has_exec_start && t->has_nvcsw)
                        todo[n++] = t;
        }
        /* what the reader found asleep needs no second look */
        reader_join(m);
        for (size_t i = 0; m->seen && i < n; ) {
                const struct thread_capture *t = todo[i];
                const struct switches *sw = &m->seen[t - cap->threads];
                uint64_t since;
                if (!sw->asleep) {
                        i++;
                        continue;
                }
                if (thread_since(m, cap, t, &since) &&
                    blocked_memory_note(m, t->tid, t->stat.starttime, since, sw->nvcsw) < 0) {
                        n = 0;
                        break;
                }
                todo[i] = todo[--n];
        }
        for (int round = 0; n > 0 && round < BLOCKED_SETTLE_ROUNDS; round++) {
                if (round > 0) {
                        struct timespec ts = { 0, BLOCKED_SETTLE_NS };
                        nanosleep(&ts, NULL);
                }
                for (size_t i = 0; i < n; ) {
                        const struct thread_capture *t = todo[i];
                        char state;
                        uint64_t nvcsw;
                        int r = read_switches(cap->pid, t->tid, &state, &nvcsw);
                        if (r == 0 && state != 'S' && state != 'D' && state != 'T' && state != 't') {
                                i++;    /* not asleep yet: look again */
                                continue;
                        }
                        uint64_t since;
                        if (r == 0 && thread_since(m, cap, t, &since)) {
                                if (blocked_memory_note(m, t->tid, t->stat.starttime, since, nvcsw) < 0) {
                                        n = 0;
                                        break;
                                }
                        }
                        todo[i] = todo[--n];
                }
        }
        (void) blocked_memory_save(m);
}

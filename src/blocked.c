/* Blocked time across snapshots; see blocked.h.  The file is text, one
 * header line naming the process and one line per thread, so that a damaged
 * or foreign file is recognised and ignored rather than misread:
 *   leakscan-blocked 1 PID PROC_START
 *   TID START_TIME SINCE_NS NVCSW */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blocked.h"
#include "classify.h"
#include "procfs.h"
#include "util.h"

#define BLOCKED_MAGIC "leakscan-blocked 1"
/* Files of other processes looked at per save, to bound the cost of the
 * garbage collection in a directory that grew. */
#define BLOCKED_GC_MAX 256

struct blocked_memory {
        int dirfd;
        pid_t pid;
        uint64_t proc_start;
        struct blocked_entry *old;      /* as loaded */
        size_t n_old;
        struct blocked_entry *next;     /* noted for the next snapshot */
        size_t n_next, cap_next;
};

int blocked_default_dir(char *buf, size_t size)
{
        int n;
        if (geteuid() == 0) {
                n = snprintf(buf, size, "/run/leakscan");
        } else {
                const char *xdg = getenv("XDG_RUNTIME_DIR");
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
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        struct blocked_entry *ne = realloc(e, cap * sizeof *e);
                        if (!ne) {
                                free(e);
                                return -ENOMEM;
                        }
                        e = ne;
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
        *ret = m;
        return 0;
}

void blocked_memory_free(struct blocked_memory *m)
{
        if (!m)
                return;
        close(m->dirfd);
        free(m->old);
        free(m->next);
        free(m);
}

uint64_t blocked_memory_since(const struct blocked_memory *m, pid_t tid, uint64_t start_time,
                              uint64_t exec_start_ns, bool has_nvcsw, uint64_t nvcsw)
{
        if (!m || !has_nvcsw)
                return exec_start_ns;
        for (size_t i = 0; i < m->n_old; i++) {
                const struct blocked_entry *e = &m->old[i];
                if (e->tid != tid || e->start_time != start_time)
                        continue;
                /* the same count: it never slept anew since it went back to
                 * sleep after our detach, so it has been blocked throughout */
                if (e->nvcsw == nvcsw && e->since_ns < exec_start_ns)
                        return e->since_ns;
                break;
        }
        return exec_start_ns;
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
        return m;
}

int64_t blocked_ms(const struct blocked_memory *m, const struct process_capture *cap,
                   const struct thread_capture *t)
{
        if (!t->has_exec_start)
                return classify_blocked_ms(false, 0, cap->has_now, cap->now_sched_ns);
        uint64_t since = blocked_memory_since(m, t->tid, t->stat.starttime, t->exec_start_ns, t->has_nvcsw,
                                              t->nvcsw);
        return classify_blocked_ms(true, since, cap->has_now, cap->now_sched_ns);
}

void blocked_memory_update(struct blocked_memory *m, const struct process_capture *cap,
                           const struct leakscan_process *p)
{
        if (!m)
                return;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *lt = &p->threads[i];
                if (lt->verdict == LEAKSCAN_VERDICT_RUNNING)
                        continue;
                const struct thread_capture *t = NULL;
                for (size_t k = 0; k < cap->n_threads && !t; k++)
                        if (cap->threads[k].tid == lt->tid)
                                t = &cap->threads[k];
                if (!t || !t->has_exec_start || !t->has_nvcsw)
                        continue;
                /* Its count now that it sleeps again: a thread still on its
                 * way back into the wait is not remembered (its count would
                 * move once more). */
                char path[64];
                _cleanup_free_ char *text = NULL;
                long nvcsw;
                snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) cap->pid, (int) lt->tid);
                if (read_full_file(path, &text) < 0)
                        continue;
                const char *state = strstr(text, "\nState:");
                if (!state || (state[8] != 'S' && state[8] != 'D' && state[8] != 'T' && state[8] != 't') ||
                    procfs_parse_status_field(text, "voluntary_ctxt_switches", &nvcsw) < 0 || nvcsw < 0)
                        continue;
                uint64_t since = blocked_memory_since(m, t->tid, t->stat.starttime, t->exec_start_ns, true,
                                                      t->nvcsw);
                if (blocked_memory_note(m, t->tid, t->stat.starttime, since, (uint64_t) nvcsw) < 0)
                        break;
        }
        (void) blocked_memory_save(m);
}

/* Capture: the few reads done while a thread is held stopped.  Each is one
 * syscall (arch_get_regs, process_vm_readv, readlink) so that the pause
 * stays in microseconds per thread; nothing here parses ELF or DWARF. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "capture.h"
#include "sample.h"
#include "seize.h"
#include "syscalls.h"
#include "util.h"

/* iovecs per process_vm_readv: the kernel takes at most IOV_MAX (1024) */
#define CAPTURE_BATCH 256

struct process_capture *process_capture_new(pid_t pid)
{
        struct process_capture *cap = calloc(1, sizeof *cap);
        if (cap)
                cap->pid = pid;
        return cap;
}

/* Closes the /proc files kept open for t's stop-free readings. */
static void close_kept(struct thread_capture *t)
{
        if (t->syscall_fd1 > 0)
                close(t->syscall_fd1 - 1);
        if (t->schedstat_fd1 > 0)
                close(t->schedstat_fd1 - 1);
        t->syscall_fd1 = t->schedstat_fd1 = 0;
}

void process_capture_free(struct process_capture *cap)
{
        if (!cap)
                return;
        for (size_t i = 0; i < cap->n_threads; i++) {
                free(cap->threads[i].fd_target);
                close_kept(&cap->threads[i]);
        }
        while (cap->chunks) {
                struct capture_chunk *c = cap->chunks;
                cap->chunks = c->next;
                munmap(c, sizeof *c + c->size);
        }
        free(cap->threads);
        free(cap->tid_index);
        free(cap->readable);
        free(cap->maps_text);
        if (cap->live_unwind_free)
                cap->live_unwind_free(cap->live_unwind);
        free(cap);
}

static size_t tid_slot(pid_t tid, size_t size)
{
        return (size_t) (((uint64_t) (uint32_t) tid * 0x9e3779b97f4a7c15ull) >> 32) & (size - 1);
}

static void tid_index_put(size_t *index, size_t size, pid_t tid, size_t i, const struct thread_capture *threads)
{
        size_t h = tid_slot(tid, size);
        while (index[h] && threads[index[h] - 1].tid != tid)
                h = (h + 1) & (size - 1);
        index[h] = i + 1;
}

/* Seize looks every listed thread up, twice per snapshot and once more per
 * thread when libdw unwinds: a linear scan made those quadratic. */
static int tid_index_grow(struct process_capture *cap)
{
        size_t size = cap->tid_index_size ? cap->tid_index_size * 2 : 64;
        size_t *index = calloc(size, sizeof *index);
        if (!index)
                return -ENOMEM;
        for (size_t i = 0; i < cap->n_threads; i++)
                tid_index_put(index, size, cap->threads[i].tid, i, cap->threads);
        free(cap->tid_index);
        cap->tid_index = index;
        cap->tid_index_size = size;
        return 0;
}

struct thread_capture *process_capture_add(struct process_capture *cap, pid_t tid)
{
        if (grow_array(&cap->threads, &cap->cap_threads, cap->n_threads + 1, sizeof *cap->threads) < 0)
                return NULL;
        if ((cap->n_threads + 1) * 2 > cap->tid_index_size && tid_index_grow(cap) < 0)
                return NULL;
        struct thread_capture *t = &cap->threads[cap->n_threads];
        *t = (struct thread_capture) { .tid = tid, .syscall_nr = -1, .wait_fd = -1 };
        tid_index_put(cap->tid_index, cap->tid_index_size, tid, cap->n_threads, cap->threads);
        cap->n_threads++;
        return t;
}

struct thread_capture *process_capture_find(struct process_capture *cap, pid_t tid)
{
        if (!cap->tid_index)
                return NULL;
        for (size_t h = tid_slot(tid, cap->tid_index_size); cap->tid_index[h];
             h = (h + 1) & (cap->tid_index_size - 1))
                if (cap->threads[cap->tid_index[h] - 1].tid == tid)
                        return &cap->threads[cap->tid_index[h] - 1];
        return NULL;
}

bool process_capture_holds(const struct process_capture *cap, pid_t tid)
{
        for (size_t i = 0; i < cap->n_held; i++)
                if (cap->held_tids[i] == tid)
                        return true;
        return false;
}

int capture_blocked_thread(pid_t pid, pid_t tid, size_t window, struct thread_capture *ret)
{
        /* one open and one read: this runs at every thread creation under
         * --at-exit, while the creating thread waits */
        char path[64], text[256];
        struct proc_syscall sc;
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) pid, (int) tid);
        if (read_small_file(path, text, sizeof text) <= 0 || procfs_parse_syscall(text, &sc) < 0)
                return -ESRCH;
        if (sc.running || sc.nr < 0)
                return -EAGAIN;
        return capture_syscall_at(tid, sc.nr, sc.args, sc.sp, sc.pc, window, ret);
}

int capture_syscall_at(pid_t tid, long nr, const uint64_t args[6], uint64_t sp, uint64_t pc, size_t window,
                       struct thread_capture *ret)
{
        struct thread_capture t = { .tid = tid, .syscall_nr = nr, .regs_valid = true, .regs_partial = true };
        arch_regs_from_syscall(&t.regs, nr, args, sp, pc);
        if (window > 0) {
                t.stack = malloc(window);
                if (!t.stack)
                        return -ENOMEM;
                struct iovec local = { t.stack, window };
                struct iovec remote = { (void *) (uintptr_t) sp, window };
                ssize_t k = process_vm_readv(tid, &local, 1, &remote, 1, 0);
                t.stack_len = k > 0 ? (size_t) k : 0;
                t.stack_truncated = t.stack_len == window;
                t.stack_addr = sp;
        }
        *ret = t;
        return 0;
}

int capture_thread_switches(pid_t pid, pid_t tid, struct thread_switches *ret)
{
        char path[64], text[4096];
        _cleanup_free_ char *big = NULL;
        const char *status = text;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) tid);
        ssize_t n = read_small_file(path, text, sizeof text);
        if (n == -EFBIG && read_full_file(path, &big) >= 0) {
                status = big;
                n = 0;
        }
        if (n < 0)
                return n == -EACCES || n == -EPERM ? -EPERM : -ESRCH;
        struct thread_switches sw = {0};
        long tracer = 0;
        const char *state = strstr(status, "\nState:\t");
        if (!state || procfs_parse_status_switches(status, &sw.switches) < 0)
                return -ESRCH;
        long voluntary = 0;
        (void) procfs_parse_status_field(status, "voluntary_ctxt_switches", &voluntary);
        sw.voluntary = voluntary > 0 ? (uint64_t) voluntary : 0;
        sw.state = state[8];
        (void) procfs_parse_status_field(status, "TracerPid", &tracer);
        sw.tracer = (pid_t) tracer;
        *ret = sw;
        return 0;
}

/* What a thread stopped or read from /proc waits on: the futex word
 * (capture_locks) and the fd (capture_fds). */
static void capture_note_wait(struct thread_capture *t, long nr)
{
        uint64_t args[6], word;
        arch_regs_syscall_args(&t->regs, args);
        t->futex_addr = 0;
        t->wait_fd = -1;
        if (syscalls_futex_word(nr, args, &word) && word >= CAPTURE_LOCK_WINDOW / 2)
                t->futex_addr = word;
        int fd_arg = capture_syscall_fd_arg(nr);
        if (fd_arg >= 0)
                t->wait_fd = (int) args[fd_arg];
}

/* One /proc file of thread tid from its start: through the fd kept for it
 * (fd1 = fd + 1: pread at 0 makes the kernel print it anew), else opened
 * for this reading alone.  Returns what read_small_file does. */
static ssize_t read_task_file(pid_t pid, pid_t tid, const char *name, int fd1, char *buf, size_t size)
{
        if (fd1 <= 0) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int) pid, (int) tid, name);
                return read_small_file(path, buf, size);
        }
        return pread_small_file(fd1 - 1, buf, size);
}

/* Returns 0, -ESRCH, or -EAGAIN when we may not read it (seize says why). */
static int read_syscall_line(pid_t pid, const struct thread_capture *t, struct proc_syscall *ret)
{
        char text[256];
        ssize_t n = read_task_file(pid, t->tid, "syscall", t->syscall_fd1, text, sizeof text);
        if (n == -EACCES || n == -EPERM)
                return -EAGAIN;
        if (n <= 0 || procfs_parse_syscall(text, ret) < 0)
                return -ESRCH;
        return 0;
}

/* The witness that t ran nothing between two readings: schedstat's time
 * run and times switched in (one short line; the count grows as the thread
 * is put on a CPU), or, when t->witness_from_status, status's switch
 * count (which grows as it leaves one: the syscall line read between the
 * two waits for that).  Also state and tracer when read from status
 * (state 0 otherwise).  Returns 0, -ESRCH, -EPERM, or -ENOENT when the
 * kernel keeps no schedstat counts. */
static int read_witness(pid_t pid, const struct thread_capture *t, struct thread_switches *ret, uint64_t *ret_run_ns)
{
        if (t->witness_from_status) {
                *ret_run_ns = 0;
                return capture_thread_switches(pid, t->tid, ret);
        }
        char text[128];
        struct proc_schedstat ss;
        ssize_t n = read_task_file(pid, t->tid, "schedstat", t->schedstat_fd1, text, sizeof text);
        if (n == -EACCES || n == -EPERM)
                return -EPERM;
        if (n == -ENOENT && t->schedstat_fd1 <= 0) {
                /* no such file (CONFIG_SCHED_INFO off), or no such thread */
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/task/%d", (int) pid, (int) t->tid);
                return access(path, F_OK) == 0 ? -ENOENT : -ESRCH;
        }
        if (n <= 0)
                return -ESRCH;
        int r = procfs_parse_schedstat(text, &ss);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : -ESRCH;
        *ret = (struct thread_switches) { .switches = ss.switched_in };
        *ret_run_ns = ss.run_ns;
        return 0;
}

/* Takes a reading of t: the witness, its status the first time, then its
 * syscall line; fills t->switches, t->run_ns and t->sc, and sets nothing
 * else.  Returns what capture_stopfree_begin does. */
static int stopfree_read(pid_t pid, struct thread_capture *t)
{
        /* only an interruptible sleep: a job-control or ptrace stop (T, t)
         * is seize's, an uninterruptible one (D) is read from /proc alone */
        if (t->stat.state != 'S' || (t->stat.flags & PF_IO_WORKER_FLAG))
                return -EAGAIN;
        struct thread_switches sw;
        struct proc_syscall sc;
        uint64_t run_ns;
        /* the witness first: reading the syscall line waits until the
         * thread is off its CPU, so whatever it runs after that line is
         * seen by the second reading */
        int r = read_witness(pid, t, &sw, &run_ns);
        if (r == -ENOENT) {
                t->witness_from_status = true;
                r = read_witness(pid, t, &sw, &run_ns);
        }
        if (r < 0)
                return r == -EPERM ? -EAGAIN : r;       /* seize says why */
        /* asleep now (not stopped by a signal or a tracer since the
         * prestop); and one that another tracer holds is left to seize,
         * which names that tracer: it might stop the thread under us */
        struct thread_switches st = sw;
        if (!t->witness_from_status) {
                r = capture_thread_switches(pid, t->tid, &st);
                if (r < 0)
                        return r == -EPERM ? -EAGAIN : r;
        }
        if (st.state != 'S' || (st.tracer != 0 && st.tracer != getpid()))
                return -EAGAIN;
        t->status_voluntary = st.voluntary;
        t->has_status_voluntary = true;
        r = read_syscall_line(pid, t, &sc);
        if (r < 0)
                return r;
        if (sc.running || sc.nr < 0)
                return -EAGAIN;
        t->switches = sw.switches;
        t->run_ns = run_ns;
        t->sc = sc;
        return 0;
}

int capture_stopfree_begin(pid_t pid, struct thread_capture *t)
{
        int r;
        if (t->prepared) {
                t->prepared = false;
                r = t->prepared_result;
        } else {
                r = stopfree_read(pid, t);
        }
        if (r < 0)
                return r;
        t->stopfree = true;
        arch_regs_from_syscall(&t->regs, t->sc.nr, t->sc.args, t->sc.sp, t->sc.pc);
        t->regs_valid = true;
        t->regs_partial = true;
        t->syscall_nr = t->sc.nr;
        capture_note_wait(t, t->sc.nr);
        return 0;
}

int capture_stopfree_verify(pid_t pid, struct thread_capture *t)
{
        /* The syscall line first: it waits for a thread on its CPU to leave
         * it, and shows "running" for one woken but not yet put on a CPU
         * (the count has not moved for it yet): the same line says the
         * thread is asleep in the same call now.  Then the witness. */
        struct thread_switches sw;
        struct proc_syscall sc;
        uint64_t run_ns;
        int r = read_syscall_line(pid, t, &sc);
        if (r < 0)
                return r;
        if (!procfs_syscall_same(&sc, &t->sc))
                return -EAGAIN;
        r = read_witness(pid, t, &sw, &run_ns);
        if (r < 0)
                return r == -EPERM || r == -ENOENT ? -ESRCH : r;
        if (t->witness_from_status && sw.state != 'S')
                return -EAGAIN;
        if (sw.switches != t->switches || run_ns != t->run_ns)
                return -EAGAIN;
        t->stopfree_verified = true;
        return 0;
}

/* Opens /proc/PID/task/TID/name to be kept.  Returns fd + 1, or 0. */
static int open_task_file(pid_t pid, pid_t tid, const char *name)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int) pid, (int) tid, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? 0 : fd + 1;
}

/* The first stop-free reading of t, taken with its pre-stop facts, its
 * files kept open when the budget allows. */
static void stopfree_prepare(struct process_capture *cap, struct thread_capture *t)
{
        if (t->vanished || t->stat.state != 'S' || (t->stat.flags & PF_IO_WORKER_FLAG) ||
            process_capture_holds(cap, t->tid))
                return;
        if (t->syscall_fd1 <= 0 &&
            __atomic_add_fetch(&cap->n_kept_fds, 2, __ATOMIC_RELAXED) <= cap->max_kept_fds) {
                t->syscall_fd1 = open_task_file(cap->pid, t->tid, "syscall");
                t->schedstat_fd1 = open_task_file(cap->pid, t->tid, "schedstat");
        }
        t->prepared_result = stopfree_read(cap->pid, t);
        t->prepared = true;
}

void capture_close_kept(struct process_capture *cap)
{
        for (size_t i = 0; i < cap->n_threads; i++)
                close_kept(&cap->threads[i]);
        cap->n_kept_fds = 0;
}

uint64_t capture_guess_thread_pointer(const struct thread_capture *t, uint64_t end)
{
        if (end > t->stack_addr + t->stack_len)
                end = t->stack_addr + t->stack_len;
        if (!t->stack || end < t->stack_addr + 24)
                return 0;
        /* from the top down: it sits above the frames */
        uint64_t first = (t->stack_addr + 15) & ~UINT64_C(15);
        for (uint64_t a = (end - 24) & ~UINT64_C(15); a >= first; a -= 16) {
                uint64_t tcb, self;
                memcpy(&tcb, t->stack + (a - t->stack_addr), sizeof tcb);
                if (tcb != a)
                        continue;
                memcpy(&self, t->stack + (a - t->stack_addr) + 16, sizeof self);
                if (self == a)
                        return a;
        }
        return 0;
}

/* The TCBs (self-pointing words at 0 and 16, 16-aligned) in the copy buf
 * of [start, start + len) of the target, appended to *found (at most max,
 * counted in *n). */
static void find_tcbs(const uint64_t *buf, uint64_t start, size_t len, uint64_t *found, size_t max, size_t *n)
{
        size_t words = len / sizeof *buf;
        for (size_t w = 0; w + 2 < words && *n < max; w += 2)
                if (buf[w] == start + w * 8 && buf[w + 2] == buf[w])
                        found[(*n)++] = buf[w];
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

/* Whether one of the sorted addresses sps lies in [start, end). */
static bool holds_one(const uint64_t *sps, size_t n, uint64_t start, uint64_t end)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (sps[mid] < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && sps[lo] < end;
}

/* Bytes of small mappings read per process_vm_readv. */
#define TCB_BATCH_BYTES (4u << 20)

/* The TCBs in the small anonymous writable mappings of the target (a
 * batch of them per read): those that hold none of the sorted stack
 * pointers sps, or only those that hold one (with_stacks), appended to
 * *found (at most max, counted in *n). */
static void find_tcbs_in(const struct process_capture *cap, const struct map_entry *maps, size_t n_maps,
                         const uint64_t *sps, size_t n_sps, bool with_stacks, uint64_t *found, size_t max,
                         size_t *n_found)
{
        enum { SMALL_MAPPING = 1 << 20 };
        struct iovec local[CAPTURE_BATCH], remote[CAPTURE_BATCH];
        _cleanup_free_ uint8_t *buf = NULL;
        size_t i = 0;
        while (i < n_maps && *n_found < max) {
                size_t k = 0, bytes = 0;
                for (; i < n_maps && k < CAPTURE_BATCH; i++) {
                        const struct map_entry *m = &maps[i];
                        size_t len = (size_t) (m->end - m->start);
                        if (m->path[0] || strncmp(m->perms, "rw", 2) != 0 || len > SMALL_MAPPING ||
                            holds_one(sps, n_sps, m->start, m->end) != with_stacks)
                                continue;
                        if (k > 0 && bytes + len > TCB_BATCH_BYTES)
                                break;
                        remote[k] = (struct iovec) { (void *) (uintptr_t) m->start, len };
                        local[k].iov_len = len;
                        bytes += len;
                        k++;
                }
                if (k == 0)
                        break;
                free(buf);
                buf = malloc(bytes);
                if (!buf)
                        break;
                for (size_t j = 0, off = 0; j < k; off += local[j++].iov_len)
                        local[j].iov_base = buf + off;
                /* a read stops at the first mapping it cannot read whole:
                 * take what came, skip that one, go on */
                for (size_t j = 0; j < k; ) {
                        ssize_t r = process_vm_readv(cap->pid, local + j, k - j, remote + j, k - j, 0);
                        size_t got = r > 0 ? (size_t) r : 0;
                        for (; j < k && got > 0; j++) {
                                size_t part = got < local[j].iov_len ? got : local[j].iov_len;
                                find_tcbs(local[j].iov_base, (uint64_t) (uintptr_t) remote[j].iov_base, part,
                                          found, max, n_found);
                                got -= part;
                                if (part < local[j].iov_len)
                                        break;
                        }
                        j++;    /* the one that stopped the read (or a failed read) */
                }
        }
}

void capture_recover_thread_pointers(struct process_capture *cap)
{
        /* ld.so's block for the initial TLS is a few pages; thread stacks
         * (where every other TCB lies) are megabytes (find_tcbs_in) */
        enum { MAX_TCBS = 64 };
        struct map_entry *maps = NULL;
        size_t n_maps = 0;
        if (!cap->maps_text || procfs_parse_maps(cap->maps_text, &maps, &n_maps) < 0)
                return;
        struct thread_capture *unknown = NULL;
        size_t n_unknown = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->vanished || !t->regs_valid || !(t->regs_partial || t->sampled) ||
                    arch_regs_tls(&t->regs) != 0)
                        continue;
                /* the stack copy ends where the stack's mapping does */
                const struct map_entry *m = map_entries_find(maps, n_maps, arch_regs_sp(&t->regs));
                uint64_t tp = m ? capture_guess_thread_pointer(t, m->end) : 0;
                if (tp) {
                        arch_regs_set_tls(&t->regs, tp);
                        continue;
                }
                unknown = t;
                n_unknown++;
        }
        if (n_unknown != 1) {
                map_entries_free(maps, n_maps);
                return;
        }
        /* The other threads' stacks hold their own TCBs, known now: the
         * mappings their stack pointers lie in are read only when the
         * others give no TCB (small stacks, a thousand of them, made this
         * read a thousand times what the one TCB needs). */
        _cleanup_free_ uint64_t *sps = malloc((cap->n_threads ? cap->n_threads : 1) * sizeof *sps);
        size_t n_sps = 0;
        if (!sps) {
                map_entries_free(maps, n_maps);
                return;
        }
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t != unknown && !t->vanished && t->regs_valid && arch_regs_sp(&t->regs) != 0)
                        sps[n_sps++] = arch_regs_sp(&t->regs);
        }
        qsort(sps, n_sps, sizeof *sps, cmp_u64);
        uint64_t found[MAX_TCBS];
        size_t n_found = 0;
        uint64_t claim = 0;
        size_t n_claims = 0;
        /* the mappings without another thread's stack first; those with
         * one only if that finds nothing (a mapping the kernel merged with
         * its neighbour may hold both) */
        for (int with_stacks = 0; with_stacks < 2 && n_claims == 0; with_stacks++) {
                find_tcbs_in(cap, maps, n_maps, sps, n_sps, with_stacks, found, MAX_TCBS, &n_found);
                claim = 0;
                n_claims = 0;
                for (size_t k = 0; k < n_found; k++) {
                        bool known = false;
                        for (size_t t = 0; t < cap->n_threads && !known; t++)
                                known = cap->threads[t].regs_valid && arch_regs_tls(&cap->threads[t].regs) == found[k];
                        if (!known) {
                                claim = found[k];
                                n_claims++;
                        }
                }
        }
        map_entries_free(maps, n_maps);
        if (n_claims == 1)
                arch_regs_set_tls(&unknown->regs, claim);
}

void capture_thread_forget(struct thread_capture *t)
{
        t->stack = NULL;        /* its chunk is freed with the capture */
        t->stack_addr = 0;
        t->stack_len = 0;
        t->stack_truncated = false;
        t->has_futex_word = false;
        t->futex_word = 0;
        t->lock_addr = 0;
        t->lock_len = 0;
        t->regs_valid = false;
        t->regs_partial = false;
        t->fp_guessed = false;
        t->stopfree = false;
        t->stopfree_verified = false;
        t->has_status_voluntary = false;        /* of an earlier reading */
        t->prepared = false;
        t->syscall_nr = -1;
        t->futex_addr = 0;
        t->wait_fd = -1;
}

int capture_thread_prestop(pid_t pid, struct thread_capture *t)
{
        /* This runs for every thread before each snapshot: the reads are
         * most of a snapshot's own CPU time at 1000 threads. */
        char path[64], text[8192];
        _cleanup_free_ char *big = NULL;

        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) t->tid);
        if (read_small_file(path, text, sizeof text) < 0)
                return -ESRCH;
        if (procfs_parse_stat(text, &t->stat) < 0)
                return -ESRCH;

        /* se.exec_start needs CONFIG_SCHED_DEBUG; without it blocked_ms is
         * unknown rather than guessed. */
        snprintf(path, sizeof path, "/proc/%d/task/%d/sched", (int) pid, (int) t->tid);
        const char *sched = text;
        ssize_t n = read_small_file(path, text, sizeof text);
        if (n == -EFBIG && read_full_file(path, &big) >= 0) {
                sched = big;
                n = 0;
        }
        if (n >= 0 && procfs_parse_sched_exec_start(sched, &t->exec_start_ns) == 0) {
                t->has_exec_start = true;
                t->has_nvcsw = procfs_parse_sched_field(sched, "nr_voluntary_switches", &t->nvcsw) == 0;
        }
        return 0;
}

/* The CPUs whose clocks capture_align_sched_clocks reads, and what it
 * found: offset[i] is cpus[i]'s scheduler clock less CLOCK_MONOTONIC. */
struct clock_visit {
        const int *cpus;
        size_t n;
        int64_t *offset;
        bool *known;
};

/* Runs on a thread of its own, so that the caller's CPU affinity (a
 * program using libleakscan) is never touched. */
static void *clock_visit_run(void *arg)
{
        struct clock_visit *v = arg;
        char text[8192];
        for (size_t i = 0; i < v->n; i++) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(v->cpus[i], &set);
                if (sched_setaffinity(0, sizeof set, &set) < 0)
                        continue;
                /* a yield makes the kernel account our run (update_curr),
                 * so that our exec_start is this CPU's clock now */
                (void) sched_yield();
                uint64_t mono = now_usec(CLOCK_MONOTONIC) * 1000u;
                uint64_t exec_start;
                if (read_small_file("/proc/thread-self/sched", text, sizeof text) < 0 ||
                    procfs_parse_sched_exec_start(text, &exec_start) < 0 || sched_getcpu() != v->cpus[i])
                        continue;
                v->offset[i] = (int64_t) (exec_start - mono);
                v->known[i] = true;
        }
        return NULL;
}

int capture_align_sched_clocks(struct process_capture *cap, uint64_t now_mono_us)
{
        int cpus[CPU_SETSIZE];
        size_t n = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                int c = t->stat.processor;
                if (t->vanished || !t->has_exec_start || c < 0 || c >= CPU_SETSIZE)
                        continue;
                bool seen = false;
                for (size_t k = 0; k < n && !seen; k++)
                        seen = cpus[k] == c;
                if (!seen)
                        cpus[n++] = c;
        }
        if (n == 0)
                return -ENOENT;
        int64_t offset[CPU_SETSIZE];
        bool known[CPU_SETSIZE] = { false };
        struct clock_visit v = { cpus, n, offset, known };
        pthread_t visitor;
        int r = pthread_create(&visitor, NULL, clock_visit_run, &v);
        if (r != 0)
                return -r;
        (void) pthread_join(visitor, NULL);

        size_t ref = n;
        for (size_t k = 0; k < n && ref == n; k++)
                if (known[k])
                        ref = k;
        if (ref == n)
                return -ENOENT;
        for (size_t i = 0; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->vanished || !t->has_exec_start)
                        continue;
                for (size_t k = 0; k < n; k++)
                        if (cpus[k] == t->stat.processor && known[k]) {
                                int64_t shift = offset[ref] - offset[k];
                                t->exec_start_ns = shift < 0 && (uint64_t) -shift > t->exec_start_ns
                                                           ? 0
                                                           : t->exec_start_ns + (uint64_t) shift;
                                break;
                        }
        }
        cap->sched_minus_mono_ns = offset[ref];
        cap->has_clock_offset = true;
        cap->now_sched_ns = (uint64_t) ((int64_t) (now_mono_us * 1000u) + offset[ref]);
        cap->has_now = true;
        return 0;
}

/* Threads handed out per grab, so that the two readers share the list
 * without a lock per thread. */
#define PRESTOP_CHUNK 32
/* Fewer threads than this are read by the caller alone: starting a thread
 * costs about as much as 10 reads.  A stop-free snapshot reads five files
 * of a thread asleep, not two: a quarter as many are worth it. */
#define PRESTOP_PARALLEL_MIN 128
#define PRESTOP_PARALLEL_MIN_STOPFREE 32

struct prestop_job {
        struct process_capture *cap;
        size_t next;            /* the next thread to read (atomic) */
        size_t end;
};

static void *prestop_run(void *arg)
{
        struct prestop_job *job = arg;
        for (;;) {
                size_t i = __atomic_fetch_add(&job->next, PRESTOP_CHUNK, __ATOMIC_RELAXED);
                if (i >= job->end)
                        return NULL;
                size_t end = i + PRESTOP_CHUNK < job->end ? i + PRESTOP_CHUNK : job->end;
                for (; i < end; i++) {
                        struct thread_capture *t = &job->cap->threads[i];
                        if (!t->vanished && capture_thread_prestop(job->cap->pid, t) < 0)
                                t->vanished = true;
                        if (job->cap->stopfree)
                                stopfree_prepare(job->cap, t);
                }
        }
}

/* The second thread: the copies' memory first (faulting it in costs about
 * a fifth of the reads), then its share of the reads. */
static void *prestop_help(void *arg)
{
        struct prestop_job *job = arg;
        (void) capture_reserve(job->cap, job->cap->reserve_ahead);
        return prestop_run(job);
}

void capture_threads_prestop(struct process_capture *cap, size_t from)
{
        struct prestop_job job = { .cap = cap, .next = from, .end = cap->n_threads };
        pthread_t helper;
        struct rlimit nofile;
        /* each kept file saves an open and a close per reading; half the
         * limit stays free for the rest (the ELF files the unwinder opens) */
        if (cap->stopfree && cap->max_kept_fds == 0 && getrlimit(RLIMIT_NOFILE, &nofile) == 0)
                cap->max_kept_fds = nofile.rlim_cur == RLIM_INFINITY ? SIZE_MAX / 2 : (size_t) nofile.rlim_cur / 2;
        /* Each entry is written by whichever thread took its chunk, and the
         * chunk list by the helper alone; the join orders those writes
         * before anything reads them. */
        bool helped = false;
        if (job.end - from >= (cap->stopfree ? PRESTOP_PARALLEL_MIN_STOPFREE : PRESTOP_PARALLEL_MIN)) {
                /* signals stay with the caller's thread */
                sigset_t all, old;
                sigfillset(&all);
                bool masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
                helped = pthread_create(&helper, NULL, prestop_help, &job) == 0;
                if (masked)
                        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        if (!helped && cap->reserve_ahead)
                (void) capture_reserve(cap, cap->reserve_ahead);
        prestop_run(&job);
        if (helped)
                (void) pthread_join(helper, NULL);
        cap->reserve_ahead = 0;
}

int capture_syscall_fd_arg(long nr)
{
        return syscalls_fd_arg(nr);
}

int capture_reserve(struct process_capture *cap, size_t bytes)
{
        if (bytes == 0)
                return 0;
        size_t len = sizeof(struct capture_chunk) + bytes;
        struct capture_chunk *c = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (c == MAP_FAILED)
                return -ENOMEM;
        c->size = bytes;
        c->used = 0;
        c->next = cap->chunks;
        cap->chunks = c;
        return 0;
}

void capture_thread_stack(struct process_capture *cap, struct thread_capture *t, size_t window)
{
        uint64_t sp = arch_regs_sp(&t->regs);
        if (window == 0 || sp == 0)
                return;
        if ((!cap->chunks || cap->chunks->size - cap->chunks->used < window) &&
            capture_reserve(cap, window > (1u << 20) ? window : (1u << 20)) < 0)
                return;
        struct capture_chunk *c = cap->chunks;
        uint8_t *buf = c->data + c->used;
        /* One read of the whole window: process_vm_readv stops at the first
         * unreadable page, which for a thread stack is the end of its mapping
         * or the guard page of the next stack, so a shallow stack costs only
         * what it uses. */
        struct iovec local = { buf, window };
        struct iovec remote = { (void *) (uintptr_t) sp, window };
        ssize_t n = process_vm_readv(cap->pid, &local, 1, &remote, 1, 0);
        if (n <= 0)
                return;
        t->stack_truncated = (size_t) n == window;
        t->stack = buf;
        t->stack_addr = sp;
        t->stack_len = (size_t) n;
        c->used += ((size_t) n + 15) & ~(size_t) 15;
        if (c->used > c->size)
                c->used = c->size;
}

static int read_maps(pid_t pid, char **ret);

/* The target's mappings for the samples of one call: those read just
 * before the stop (capture_process_early: a stack mapping does not move),
 * and read again at most once, for a stack made since (a process with
 * 60,000 mappings made one read per sample cost seconds). */
struct sample_maps {
        bool parsed, fresh;
        struct map_entry *entries;
        size_t n;
};

static void sample_maps_done(struct sample_maps *m)
{
        map_entries_free(m->entries, m->n);
        *m = (struct sample_maps) {0};
}

/* How much of the stack from sp a stop's copy would hold: the rest of the
 * mapping sp lies in, at most window.  0 when sp is in no mapping (or the
 * maps cannot be read). */
static size_t stack_need(const struct process_capture *cap, struct sample_maps *maps, uint64_t sp, size_t window)
{
        if (!maps->parsed) {
                maps->parsed = true;
                if (!cap->maps_text || procfs_parse_maps(cap->maps_text, &maps->entries, &maps->n) < 0) {
                        maps->entries = NULL;
                        maps->n = 0;
                }
        }
        const struct map_entry *m = map_entries_find(maps->entries, maps->n, sp);
        if (!m && !maps->fresh) {
                _cleanup_free_ char *text = NULL;
                maps->fresh = true;
                map_entries_free(maps->entries, maps->n);
                if (read_maps(cap->pid, &text) < 0 || procfs_parse_maps(text, &maps->entries, &maps->n) < 0) {
                        maps->entries = NULL;
                        maps->n = 0;
                }
                m = map_entries_find(maps->entries, maps->n, sp);
        }
        size_t need = m ? (size_t) (m->end - sp) : 0;
        return need < window ? need : window;
}

/* Samples a thread's stack can be cut short: the kernel copies it in
 * interrupt context, where a page not present (never touched since exec,
 * or reclaimed) cannot be faulted in.  The page-in of one read through
 * process_vm_readv (as a stop's copy would do) then lets the next sample
 * through. */
#define SAMPLE_TRIES 3

/* A copy the kernel filled to the most a record carries (65,320 bytes
 * with the registers, under the default 64 KiB window) is taken as cut at
 * the window, as a stop's copy of a deeper stack is, when it lacks at
 * most this much of what the stop would copy: the far end of a deep
 * stack, beyond the frames the window holds anyway.  Beyond it (a larger
 * --stack-window) the thread is stopped. */
#define SAMPLE_FULL_SLACK 1024u

/* Takes sample s of t (its stack already in the chunk being filled) as
 * t's copy, or returns -EAGAIN when its stack copy stopped short of what
 * a stop would copy at a page not present (see SAMPLE_TRIES), having
 * read that range in for the next try, or -EOPNOTSUPP when it cannot be
 * had. */
static int take_sample(struct process_capture *cap, struct sample_maps *maps, struct thread_capture *t,
                       const struct thread_sample *s, size_t want, bool last_try)
{
        struct capture_chunk *c = cap->chunks;
        bool truncated = s->stack_truncated;
        if (s->stack_len < cap->sample_window) {
                size_t need = stack_need(cap, maps, s->stack_addr, cap->sample_window);
                if (s->stack_len < need && s->stack_truncated) {
                        /* full: no page was missing, another try gives the same */
                        if (need - s->stack_len > SAMPLE_FULL_SLACK)
                                return -EOPNOTSUPP;
                        truncated = true;
                } else if (s->stack_len < need) {
                        if (last_try)
                                return -EOPNOTSUPP;
                        size_t touch = need < want ? need : want;
                        struct iovec local = { c->data + c->used, touch };
                        struct iovec remote = { (void *) (uintptr_t) s->stack_addr, touch };
                        (void) process_vm_readv(cap->pid, &local, 1, &remote, 1, 0);
                        return -EAGAIN;
                }
        }
        t->regs = s->regs;
        t->regs_valid = true;
        t->regs_partial = false;
        t->syscall_nr = -1;     /* in user space at the tick */
        t->futex_addr = 0;
        t->wait_fd = -1;
        if (s->stack_len > 0) {
                t->stack = c->data + c->used;
                t->stack_addr = s->stack_addr;
                t->stack_len = s->stack_len;
                t->stack_truncated = truncated;
                c->used += (s->stack_len + 15) & ~(size_t) 15;
                if (c->used > c->size)
                        c->used = c->size;
        }
        t->sampled = true;
        cap->n_sampled++;
        return 0;
}

/* Room for one sample's stack at the end of the chunk being filled. */
static bool sample_room(struct process_capture *cap, size_t want)
{
        return (cap->chunks && cap->chunks->size - cap->chunks->used >= want) ||
               capture_reserve(cap, want > (1u << 20) ? want : (1u << 20)) == 0;
}

int capture_sample_thread(struct process_capture *cap, struct thread_capture *t, unsigned timeout_ms,
                          unsigned patience_ms)
{
        if (cap->sample_refused)
                return -EOPNOTSUPP;
        size_t want = cap->sample_window < SAMPLE_STACK_MAX ? cap->sample_window : SAMPLE_STACK_MAX;
        struct sample_maps maps = {0};
        int r;
        for (int tries = 1; ; tries++) {
                if (!sample_room(cap, want)) {
                        r = -EOPNOTSUPP;
                        break;
                }
                struct thread_sample s;
                r = sample_thread(cap->pid, t->tid, cap->chunks->data + cap->chunks->used, want, timeout_ms,
                                  patience_ms, &s);
                if (r == -EOPNOTSUPP)
                        cap->sample_refused = true;
                if (r == -EPROTONOSUPPORT)
                        r = -EOPNOTSUPP;
                if (r < 0)
                        break;
                r = take_sample(cap, &maps, t, &s, want, tries == SAMPLE_TRIES);
                if (r != -EAGAIN)
                        break;
        }
        sample_maps_done(&maps);
        return r;
}

void capture_sample_threads(struct process_capture *cap, struct thread_capture **ts, size_t n, unsigned timeout_ms,
                            int *results)
{
        size_t want = cap->sample_window < SAMPLE_STACK_MAX ? cap->sample_window : SAMPLE_STACK_MAX;
        size_t stride = (want + 15) & ~(size_t) 15;    /* as take_sample advances */
        struct sample_request reqs[SAMPLE_BATCH];
        struct sample_maps maps = {0};
        for (size_t from = 0; from < n; from += SAMPLE_BATCH) {
                size_t k = n - from < SAMPLE_BATCH ? n - from : SAMPLE_BATCH;
                if (cap->sample_refused || !sample_room(cap, stride * k)) {
                        for (size_t i = 0; i < k; i++)
                                results[from + i] = -EOPNOTSUPP;
                        continue;
                }
                /* each its own room in the chunk, given back below */
                struct capture_chunk *c = cap->chunks;
                size_t base = c->used;
                for (size_t i = 0; i < k; i++)
                        reqs[i] = (struct sample_request) { .tid = ts[from + i]->tid,
                                                            .stack_buf = c->data + base + i * stride,
                                                            .stack_bytes = want };
                sample_threads(cap->pid, reqs, k, timeout_ms);
                for (size_t i = 0; i < k; i++) {
                        int r = reqs[i].result;
                        if (r == -EOPNOTSUPP)
                                cap->sample_refused = true;
                        results[from + i] = r == -EPROTONOSUPPORT ? -EOPNOTSUPP : r;
                }
                /* keep each copy: compact them to the front, one after
                 * another, as take_sample places a copy */
                for (size_t i = 0; i < k; i++) {
                        if (results[from + i] < 0)
                                continue;
                        struct thread_sample *s = &reqs[i].sample;
                        if (cap->chunks->size - cap->chunks->used < stride && !sample_room(cap, stride)) {
                                results[from + i] = -EOPNOTSUPP;
                                continue;
                        }
                        c = cap->chunks;
                        memmove(c->data + c->used, reqs[i].stack_buf, s->stack_len);
                        int r = take_sample(cap, &maps, ts[from + i], s, want, false);
                        /* cut short at a page not present, now read in:
                         * sampled again alone, with retries */
                        results[from + i] = r == -EAGAIN ? capture_sample_thread(cap, ts[from + i], timeout_ms, 0) : r;
                }
        }
        sample_maps_done(&maps);
}

int capture_thread_state(struct process_capture *cap, struct thread_capture *t)
{
        pid_t pid = cap->pid;
        if (t->stat.flags & PF_IO_WORKER_FLAG)
                return 0;       /* no user registers worth the name, no user stack */
        if (t->stopfree || t->sampled)
                return 0;       /* read by capture_stopfree_begin, or sampled */
        if (t->held || !t->stopped) {
                struct thread_capture b;
                int r = capture_blocked_thread(cap->pid, t->tid, 0, &b);
                if (r < 0)
                        return r == -EAGAIN ? 0 : r;
                t->regs = b.regs;
                t->regs_valid = true;
                t->regs_partial = true;
                t->syscall_nr = b.syscall_nr;
                return 0;
        }
        if (!t->regs_valid) {   /* seize reads them when the thread stops */
                int r = arch_get_regs(t->tid, &t->regs);        /* -EPROTONOSUPPORT: a compat thread */
                if (r < 0)
                        return r;
                t->regs_valid = true;
        }

        /* A thread that was running when /proc was read may have gone to
         * sleep before our interrupt came: a wait that our interrupt ended
         * counts as one it slept in. */
        bool was_asleep = t->stat.state == 'S' || t->stat.state == 'D' || seize_eintr_was_ours(pid, t);
        long nr = arch_regs_slept_in_syscall(&t->regs, was_asleep);
        t->syscall_nr = nr;
        capture_note_wait(t, nr);
        return 0;
}

/* One thread's lock bytes alone: the window, or from the word on when the
 * page before it is not readable. */
static void capture_lock(pid_t pid, struct thread_capture *t)
{
        for (uint64_t before = CAPTURE_LOCK_WINDOW / 2; ; before = 0) {
                struct iovec local = { t->lock, CAPTURE_LOCK_WINDOW / 2 + before };
                struct iovec remote = { (void *) (uintptr_t) (t->futex_addr - before), local.iov_len };
                ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                if (n >= (ssize_t) (before + sizeof t->futex_word)) {
                        t->lock_addr = t->futex_addr - before;
                        t->lock_len = (size_t) n;
                        memcpy(&t->futex_word, t->lock + before, sizeof t->futex_word);
                        t->has_futex_word = true;
                        return;
                }
                if (before == 0)
                        return;
        }
}

void capture_locks(struct process_capture *cap)
{
        struct iovec local[CAPTURE_BATCH], remote[CAPTURE_BATCH];
        struct thread_capture *who[CAPTURE_BATCH];
        const size_t half = CAPTURE_LOCK_WINDOW / 2;
        size_t i = 0;
        while (i < cap->n_threads) {
                size_t k = 0;
                for (; i < cap->n_threads && k < CAPTURE_BATCH; i++) {
                        struct thread_capture *t = &cap->threads[i];
                        if (t->vanished || !t->futex_addr || t->has_futex_word)
                                continue;
                        local[k] = (struct iovec) { t->lock, CAPTURE_LOCK_WINDOW };
                        remote[k] = (struct iovec) { (void *) (uintptr_t) (t->futex_addr - half), CAPTURE_LOCK_WINDOW };
                        who[k++] = t;
                }
                /* process_vm_readv stops at the first window it cannot read
                 * whole: take those before it, read that one alone, go on */
                for (size_t j = 0; j < k; ) {
                        ssize_t n = process_vm_readv(cap->pid, local + j, k - j, remote + j, k - j, 0);
                        size_t got = n > 0 ? (size_t) n : 0;
                        for (; j < k && got >= CAPTURE_LOCK_WINDOW; j++, got -= CAPTURE_LOCK_WINDOW) {
                                struct thread_capture *t = who[j];
                                t->lock_addr = t->futex_addr - half;
                                t->lock_len = CAPTURE_LOCK_WINDOW;
                                memcpy(&t->futex_word, t->lock + half, sizeof t->futex_word);
                                t->has_futex_word = true;
                        }
                        if (j < k)
                                capture_lock(cap->pid, who[j++]);
                }
        }
}

/* The readable bytes from addr on, as process_vm_readv would read them, at
 * most max; 0 when addr is not readable. */
static size_t readable_from(const struct process_capture *cap, uint64_t addr, size_t max)
{
        size_t lo = 0, hi = cap->n_readable;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (addr < cap->readable[mid].start)
                        hi = mid;
                else if (addr >= cap->readable[mid].end)
                        lo = mid + 1;
                else
                        return cap->readable[mid].end - addr < max ? (size_t) (cap->readable[mid].end - addr) : max;
        }
        return 0;
}

/* Room for len bytes of copy in the chunk being filled (a new chunk when it
 * is full).  Returns the place, or NULL. */
static uint8_t *capture_room(struct process_capture *cap, size_t len)
{
        if ((!cap->chunks || cap->chunks->size - cap->chunks->used < len) &&
            capture_reserve(cap, len > (1u << 20) ? len : (1u << 20)) < 0)
                return NULL;
        struct capture_chunk *c = cap->chunks;
        uint8_t *buf = c->data + c->used;
        c->used += (len + 15) & ~(size_t) 15;
        if (c->used > c->size)
                c->used = c->size;
        return buf;
}

size_t capture_stacks(struct process_capture *cap, size_t first, size_t stack_window)
{
        struct iovec local[CAPTURE_BATCH], remote[CAPTURE_BATCH];
        struct thread_capture *who[CAPTURE_BATCH];
        size_t k = 0, i = first;
        for (; i < cap->n_threads && k < CAPTURE_BATCH; i++) {
                struct thread_capture *t = &cap->threads[i];
                uint64_t sp = t->regs_valid ? arch_regs_sp(&t->regs) : 0;
                if (t->vanished || sp == 0 || stack_window == 0 || t->sampled)
                        continue;       /* a sample carries its own copy */
                /* Exactly what is readable from SP (a thread stack's mapping
                 * ends at its top, or at the guard page of the next stack),
                 * so that no window of the batch stops the read short. */
                size_t len = readable_from(cap, sp, stack_window);
                if (len == 0) {
                        /* not in the maps we could read: try, alone */
                        capture_thread_stack(cap, t, stack_window);
                        continue;
                }
                uint8_t *buf = capture_room(cap, len);
                if (!buf)
                        continue;
                local[k] = (struct iovec) { buf, len };
                remote[k] = (struct iovec) { (void *) (uintptr_t) sp, len };
                who[k++] = t;
        }
        for (size_t j = 0; j < k; ) {
                ssize_t n = process_vm_readv(cap->pid, local + j, k - j, remote + j, k - j, 0);
                size_t got = n > 0 ? (size_t) n : 0;
                /* whole windows first; then the one cut short (maps said it
                 * was readable: a special mapping, or it changed), with what
                 * was read of it, and the rest in another call */
                for (; j < k; j++) {
                        struct thread_capture *t = who[j];
                        size_t len = local[j].iov_len, part = got < len ? got : len;
                        if (part > 0) {
                                t->stack = local[j].iov_base;
                                t->stack_addr = (uint64_t) (uintptr_t) remote[j].iov_base;
                                t->stack_len = part;
                                t->stack_truncated = part == stack_window;
                        }
                        got -= part;
                        if (part < len) {
                                j++;
                                break;
                        }
                }
        }
        return i - first;
}

static int cmp_wait_fd(const void *a, const void *b)
{
        int x = (*(struct thread_capture * const *) a)->wait_fd, y = (*(struct thread_capture * const *) b)->wait_fd;
        return (x > y) - (x < y);
}

void capture_fds(struct process_capture *cap)
{
        size_t n = 0;
        _cleanup_free_ struct thread_capture **by_fd = malloc((cap->n_threads ? cap->n_threads : 1) * sizeof *by_fd);
        if (!by_fd)
                return;
        for (size_t i = 0; i < cap->n_threads; i++)
                if (!cap->threads[i].vanished && cap->threads[i].wait_fd >= 0 && !cap->threads[i].fd_target)
                        by_fd[n++] = &cap->threads[i];
        qsort(by_fd, n, sizeof *by_fd, cmp_wait_fd);
        char target[256];
        ssize_t len = -1;
        for (size_t i = 0; i < n; i++) {
                if (i == 0 || by_fd[i]->wait_fd != by_fd[i - 1]->wait_fd) {
                        char path[64];
                        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) cap->pid, by_fd[i]->wait_fd);
                        len = readlink(path, target, sizeof target - 1);
                        if (len > 0)
                                target[len] = 0;
                }
                if (len > 0)
                        by_fd[i]->fd_target = strdup(target);
        }
}

/* The readable ranges of a maps text, adjacent ones merged.  Returns 0 or
 * -ENOMEM; a line it cannot read ends the list (its stacks are then read
 * one by one). */
static int capture_readable_runs(struct process_capture *cap)
{
        size_t n = 0, size = 0;
        struct capture_run *runs = NULL;
        for (const char *line = cap->maps_text; line && *line; ) {
                char *end;
                uint64_t start = strtoull(line, &end, 16);
                if (*end != '-')
                        break;
                uint64_t stop = strtoull(end + 1, &end, 16);
                if (*end != ' ')
                        break;
                if (end[1] == 'r') {
                        if (n > 0 && runs[n - 1].end == start) {
                                runs[n - 1].end = stop;
                        } else {
                                if (grow_array(&runs, &size, n + 1, sizeof *runs) < 0) {
                                        free(runs);
                                        return -ENOMEM;
                                }
                                runs[n++] = (struct capture_run) { start, stop };
                        }
                }
                line = strchr(end, '\n');
                if (line)
                        line++;
        }
        free(cap->readable);
        cap->readable = runs;
        cap->n_readable = n;
        return 0;
}

static int read_maps(pid_t pid, char **ret)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/maps", (int) pid);
        ssize_t r = read_full_file(path, ret);
        return r < 0 ? (int) r : 0;
}

int capture_process(struct process_capture *cap)
{
        if (cap->maps_early)
                return 0;
        free(cap->maps_text);
        cap->maps_text = NULL;
        int r = read_maps(cap->pid, &cap->maps_text);
        if (r < 0)
                return r;
        return capture_readable_runs(cap);
}

int capture_process_early(struct process_capture *cap)
{
        if (cap->rewind_at_release)
                return 0;
        char *text = NULL;
        int r = read_maps(cap->pid, &text);
        if (r < 0)
                return r;
        free(cap->maps_text);
        cap->maps_text = text;
        r = capture_readable_runs(cap);
        cap->maps_early = r == 0;
        return r;
}

void capture_process_late(struct process_capture *cap)
{
        capture_close_kept(cap);
        char *text = NULL;
        if (!cap->maps_early || read_maps(cap->pid, &text) < 0)
                return;
        free(cap->maps_text);
        cap->maps_text = text;
}

/* The ptrace floor: the least a tracer must do to take a consistent snapshot
 * of every thread of a process, and how long that holds the target.
 *
 * Seizes every thread (PTRACE_SEIZE, which does not stop it), interrupts
 * them all (PTRACE_INTERRUPT), waits until each is stopped, then per thread
 * reads its registers (PTRACE_GETREGSET), copies a stack window above its
 * stack pointer (one process_vm_readv) and detaches it.  It prints how long
 * the target was held: from the first interrupt to the last detach, the same
 * span as leakscan's `stopped_us`.  Nothing else: no /proc reads while the
 * threads are held, no unwinding, no report.  bench/floor.py measures
 * leakscan against it on the same target.
 *
 * Copies go to memory faulted in before the stop (as leakscan's do), packed
 * by the bytes actually read, so the floor pays no page faults either.
 *
 * Options, each a lever of the floor itself:
 *   --window=BYTES  stack bytes per thread (default 65536; 0: registers only)
 *   --tracers=N     N tracer threads, each seizing, waiting for and
 *                   releasing its own share of the threads (default 1)
 *   --regs=proc     read pc, sp and syscall from /proc/PID/task/TID/syscall
 *                   instead of PTRACE_GETREGSET
 *   --repeat=N      take N snapshots, print one line each
 *
 * Usage: floor [OPTIONS] PID
 * Prints: {"threads": N, "held_us": U, "stopping_us": S, "copied": BYTES}
 * (stopping_us: from the first interrupt until every thread is stopped)
 * Signals that arrive while a thread is held are handed back when it is
 * detached.  A thread in uninterruptible sleep would keep the floor waiting:
 * it is a benchmark for targets that have none. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct thread {
        pid_t tid;
        int signal;             /* to re-inject on detach */
        bool seized, stopped;
};

struct tracer {
        pthread_t handle;
        struct thread *threads; /* every tracers'th of the list, from index */
        size_t n, index, stride;
        uint8_t *arena;         /* prefaulted copies */
        size_t arena_size, used;
        uint64_t first_interrupt_ns, all_stopped_ns, last_detach_ns;
        size_t held;
};

static pid_t target;
static size_t window = 65536;
static bool regs_from_proc;
static pthread_barrier_t start_line;

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int list_threads(struct thread **ret, size_t *ret_n)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) target);
        DIR *d = opendir(path);
        if (!d)
                return -errno;
        size_t n = 0, cap = 1024;
        struct thread *t = malloc(cap * sizeof *t);
        struct dirent *de;
        while (t && (de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                if (n == cap)
                        t = realloc(t, (cap *= 2) * sizeof *t);
                if (t)
                        t[n++] = (struct thread) { .tid = atoi(de->d_name) };
        }
        closedir(d);
        if (!t)
                return -ENOMEM;
        *ret = t;
        *ret_n = n;
        return 0;
}

/* The stack pointer of a stopped thread, or 0. */
static uint64_t read_sp(pid_t tid)
{
        if (regs_from_proc) {
                char path[64], text[256];
                snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) target, (int) tid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return 0;
                ssize_t n = read(fd, text, sizeof text - 1);
                close(fd);
                if (n <= 0)
                        return 0;
                text[n] = 0;
                /* "nr a0 .. a5 sp pc", or "-1 sp pc", or "running" */
                char *words[9];
                size_t k = 0;
                for (char *save = NULL, *w = strtok_r(text, " \n", &save); w && k < 9;
                     w = strtok_r(NULL, " \n", &save))
                        words[k++] = w;
                return k >= 3 ? strtoull(words[k - 2], NULL, 16) : 0;
        }
        struct user_regs_struct regs;
        struct iovec iov = { &regs, sizeof regs };
        if (ptrace(PTRACE_GETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return 0;
        return regs.rsp;
}

static void copy_stack(struct tracer *tr, uint64_t sp)
{
        if (window == 0 || sp == 0)
                return;
        if (tr->arena_size - tr->used < window) {
                /* out of prefaulted room: fresh pages, paid in the window */
                size_t size = 64u << 20;
                uint8_t *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (a == MAP_FAILED)
                        return;
                tr->arena = a;
                tr->arena_size = size;
                tr->used = 0;
        }
        struct iovec local = { tr->arena + tr->used, window };
        struct iovec remote = { (void *) (uintptr_t) sp, window };
        ssize_t n = process_vm_readv(target, &local, 1, &remote, 1, 0);
        if (n > 0)
                tr->used += ((size_t) n + 15) & ~(size_t) 15;
}

static void *trace(void *arg)
{
        struct tracer *tr = arg;
        struct thread *mine = tr->threads;
        for (size_t i = tr->index; i < tr->n; i += tr->stride)
                if (ptrace(PTRACE_SEIZE, mine[i].tid, 0, 0) == 0)
                        mine[i].seized = true;
        pthread_barrier_wait(&start_line);

        tr->first_interrupt_ns = now_ns();
        for (size_t i = tr->index; i < tr->n; i += tr->stride)
                if (mine[i].seized && ptrace(PTRACE_INTERRUPT, mine[i].tid, 0, 0) < 0)
                        mine[i].seized = false;
        for (size_t i = tr->index; i < tr->n; i += tr->stride) {
                struct thread *t = &mine[i];
                while (t->seized && !t->stopped) {
                        int status;
                        if (waitpid(t->tid, &status, __WALL) != t->tid) {
                                t->seized = false;
                                break;
                        }
                        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                                t->seized = false;
                        } else if (WIFSTOPPED(status)) {
                                t->stopped = true;
                                if ((status >> 16) != PTRACE_EVENT_STOP)
                                        t->signal = WSTOPSIG(status);
                        }
                }
        }
        tr->all_stopped_ns = now_ns();
        /* every thread of this tracer is held; wait for the others, so
         * that the snapshot is one instant for the whole process */
        pthread_barrier_wait(&start_line);

        for (size_t i = tr->index; i < tr->n; i += tr->stride) {
                struct thread *t = &mine[i];
                if (!t->stopped)
                        continue;
                copy_stack(tr, read_sp(t->tid));
                (void) ptrace(PTRACE_DETACH, t->tid, 0, (void *) (long) t->signal);
                tr->held++;
        }
        tr->last_detach_ns = now_ns();
        return NULL;
}

static int snapshot(unsigned n_tracers)
{
        struct thread *threads = NULL;
        size_t n = 0;
        int r = list_threads(&threads, &n);
        if (r < 0) {
                fprintf(stderr, "floor: cannot list threads of %d: %s\n", (int) target, strerror(-r));
                return 1;
        }
        struct tracer tr[64] = {0};
        pthread_barrier_init(&start_line, NULL, n_tracers);
        size_t copied = 0, held = 0;
        for (unsigned k = 0; k < n_tracers; k++) {
                tr[k] = (struct tracer) { .threads = threads, .n = n, .index = k, .stride = n_tracers };
                /* what leakscan reserves: 8 KiB a thread plus one window */
                tr[k].arena_size = (n / n_tracers + 1) * 8192 + window;
                tr[k].arena = mmap(NULL, tr[k].arena_size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
                if (tr[k].arena == MAP_FAILED) {
                        fprintf(stderr, "floor: out of memory\n");
                        return 1;
                }
        }
        for (unsigned k = 1; k < n_tracers; k++)
                pthread_create(&tr[k].handle, NULL, trace, &tr[k]);
        trace(&tr[0]);
        uint64_t begin = tr[0].first_interrupt_ns, end = tr[0].last_detach_ns, stopped = 0;
        for (unsigned k = 0; k < n_tracers; k++) {
                if (k > 0)
                        pthread_join(tr[k].handle, NULL);
                if (tr[k].first_interrupt_ns < begin)
                        begin = tr[k].first_interrupt_ns;
                if (tr[k].last_detach_ns > end)
                        end = tr[k].last_detach_ns;
                if (tr[k].all_stopped_ns > stopped)
                        stopped = tr[k].all_stopped_ns;
                copied += tr[k].used;
                held += tr[k].held;
        }
        pthread_barrier_destroy(&start_line);
        printf("{\"threads\": %zu, \"held_us\": %" PRIu64 ", \"stopping_us\": %" PRIu64 ", \"copied\": %zu}\n",
               held, (end - begin) / 1000, (stopped - begin) / 1000, copied);
        fflush(stdout);
        free(threads);
        return 0;
}

int main(int argc, char **argv)
{
        unsigned n_tracers = 1, repeat = 1;
        int i;
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (!strncmp(argv[i], "--window=", 9))
                        window = strtoul(argv[i] + 9, NULL, 0);
                else if (!strncmp(argv[i], "--tracers=", 10))
                        n_tracers = (unsigned) atoi(argv[i] + 10);
                else if (!strcmp(argv[i], "--regs=proc"))
                        regs_from_proc = true;
                else if (!strcmp(argv[i], "--regs=getregset"))
                        regs_from_proc = false;
                else if (!strncmp(argv[i], "--repeat=", 9))
                        repeat = (unsigned) atoi(argv[i] + 9);
                else
                        break;
        }
        if (i != argc - 1 || n_tracers < 1 || n_tracers > 64 || repeat < 1) {
                fprintf(stderr, "usage: floor [--window=BYTES] [--tracers=1..64] [--regs=getregset|proc] [--repeat=N] PID\n");
                return 2;
        }
        target = (pid_t) atoi(argv[i]);
        for (unsigned k = 0; k < repeat; k++)
                if (snapshot(n_tracers) != 0)
                        return 1;
        return 0;
}

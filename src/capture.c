/* Capture: the few reads done while a thread is held stopped.  Each is one
 * syscall (PTRACE_GETREGSET, process_vm_readv, readlink) so that the pause
 * stays in microseconds per thread; nothing here parses ELF or DWARF. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "capture.h"
#include "seize.h"
#include "syscalls.h"
#include "util.h"

struct process_capture *process_capture_new(pid_t pid)
{
        struct process_capture *cap = calloc(1, sizeof *cap);
        if (cap)
                cap->pid = pid;
        return cap;
}

void process_capture_free(struct process_capture *cap)
{
        if (!cap)
                return;
        for (size_t i = 0; i < cap->n_threads; i++)
                free(cap->threads[i].fd_target);
        while (cap->chunks) {
                struct capture_chunk *c = cap->chunks;
                cap->chunks = c->next;
                munmap(c, sizeof *c + c->size);
        }
        free(cap->threads);
        free(cap->maps_text);
        if (cap->live_unwind_free)
                cap->live_unwind_free(cap->live_unwind);
        free(cap);
}

struct thread_capture *process_capture_add(struct process_capture *cap, pid_t tid)
{
        if (cap->n_threads == cap->cap_threads) {
                size_t n = cap->cap_threads ? cap->cap_threads * 2 : 16;
                struct thread_capture *t = realloc(cap->threads, n * sizeof *t);
                if (!t)
                        return NULL;
                cap->threads = t;
                cap->cap_threads = n;
        }
        struct thread_capture *t = &cap->threads[cap->n_threads++];
        *t = (struct thread_capture) { .tid = tid, .syscall_nr = -1 };
        return t;
}

struct thread_capture *process_capture_find(struct process_capture *cap, pid_t tid)
{
        for (size_t i = 0; i < cap->n_threads; i++)
                if (cap->threads[i].tid == tid)
                        return &cap->threads[i];
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
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        ssize_t n = read(fd, text, sizeof text - 1);
        if (n <= 0)
                return -ESRCH;
        text[n] = 0;
        if (procfs_parse_syscall(text, &sc) < 0)
                return -ESRCH;
        if (sc.running || sc.nr < 0)
                return -EAGAIN;

        struct thread_capture t = { .tid = tid, .syscall_nr = sc.nr, .regs_valid = true };
        arch_regs_from_syscall(&t.regs, sc.nr, sc.args, sc.sp, sc.pc);
        if (window > 0) {
                t.stack = malloc(window);
                if (!t.stack)
                        return -ENOMEM;
                struct iovec local = { t.stack, window };
                struct iovec remote = { (void *) (uintptr_t) sc.sp, window };
                ssize_t k = process_vm_readv(tid, &local, 1, &remote, 1, 0);
                t.stack_len = k > 0 ? (size_t) k : 0;
                t.stack_truncated = t.stack_len == window;
                t.stack_addr = sc.sp;
        }
        *ret = t;
        return 0;
}

int capture_thread_prestop(pid_t pid, struct thread_capture *t)
{
        char path[64];
        _cleanup_free_ char *text = NULL;

        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) t->tid);
        if (read_full_file(path, &text) < 0)
                return -ESRCH;
        if (procfs_parse_stat(text, &t->stat) < 0)
                return -ESRCH;
        free(TAKE_PTR(text));

        /* se.exec_start needs CONFIG_SCHED_DEBUG; without it blocked_ms is
         * unknown rather than guessed. */
        snprintf(path, sizeof path, "/proc/%d/task/%d/sched", (int) pid, (int) t->tid);
        if (read_full_file(path, &text) >= 0 &&
            procfs_parse_sched_exec_start(text, &t->exec_start_ns) == 0) {
                t->has_exec_start = true;
                t->has_nvcsw = procfs_parse_sched_field(text, "nr_voluntary_switches", &t->nvcsw) == 0;
        }
        return 0;
}

int capture_syscall_fd_arg(long nr)
{
        return syscalls_fd_arg(nr);
}

int capture_reserve(struct process_capture *cap, size_t bytes)
{
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

static void capture_stack(struct process_capture *cap, struct thread_capture *t, size_t window)
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

int capture_thread_state(struct process_capture *cap, struct thread_capture *t)
{
        pid_t pid = cap->pid;
        if (t->stat.flags & PF_IO_WORKER_FLAG)
                return 0;       /* no user registers worth the name, no user stack */
        if (t->held || !t->stopped) {
                struct thread_capture b;
                int r = capture_blocked_thread(cap->pid, t->tid, 0, &b);
                if (r < 0)
                        return r == -EAGAIN ? 0 : r;
                t->regs = b.regs;
                t->regs_valid = true;
                t->syscall_nr = b.syscall_nr;
                return 0;
        }
        if (!t->regs_valid) {   /* seize reads them when the thread stops */
                struct iovec iov = { &t->regs, sizeof t->regs };
                if (ptrace(PTRACE_GETREGSET, t->tid, (void *) NT_PRSTATUS, &iov) < 0)
                        return errno == ESRCH ? -ESRCH : -errno;
                if (!arch_regs_native(iov.iov_len))
                        return -EPROTONOSUPPORT;        /* a 32-bit (compat) thread */
                t->regs_valid = true;
        }

        /* A thread that was running when /proc was read may have gone to
         * sleep before our interrupt came: a wait that our interrupt ended
         * counts as one it slept in. */
        bool was_asleep = t->stat.state == 'S' || t->stat.state == 'D' || seize_eintr_was_ours(pid, t);
        long nr = arch_regs_slept_in_syscall(&t->regs, was_asleep);
        t->syscall_nr = nr;
        uint64_t args[6];
        arch_regs_syscall_args(&t->regs, args);

        uint64_t word;
        if (syscalls_futex_word(nr, args, &word) && word >= CAPTURE_LOCK_WINDOW / 2) {
                /* the window, or from the word on when the page before it is
                 * not readable */
                for (uint64_t before = CAPTURE_LOCK_WINDOW / 2; ; before = 0) {
                        struct iovec local = { t->lock, CAPTURE_LOCK_WINDOW / 2 + before };
                        struct iovec remote = { (void *) (uintptr_t) (word - before), local.iov_len };
                        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                        if (n >= (ssize_t) (before + sizeof t->futex_word)) {
                                t->lock_addr = word - before;
                                t->lock_len = (size_t) n;
                                memcpy(&t->futex_word, t->lock + before, sizeof t->futex_word);
                                t->has_futex_word = true;
                                break;
                        }
                        if (before == 0)
                                break;
                }
        }

        int fd_arg = capture_syscall_fd_arg(nr);
        if (fd_arg >= 0) {
                char path[64], target[256];
                snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) pid, (int) args[fd_arg]);
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n > 0) {
                        target[n] = 0;
                        t->fd_target = strdup(target);
                }
        }
        return 0;
}

void capture_thread_stack(struct process_capture *cap, struct thread_capture *t, size_t stack_window)
{
        /* a held thread waits in the kernel for the caller, a proc_only one
         * in an uninterruptible sleep: their stacks are as still as a
         * stopped one's */
        if (t->regs_valid)
                capture_stack(cap, t, stack_window);
}

int capture_process(struct process_capture *cap)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/maps", (int) cap->pid);
        ssize_t r = read_full_file(path, &cap->maps_text);
        return r < 0 ? (int) r : 0;
}

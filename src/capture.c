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
#include <sys/syscall.h>
#include <sys/uio.h>

#include "capture.h"
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

int capture_creator(pid_t pid, pid_t tid, size_t window, struct thread_capture *ret)
{
        struct thread_capture t = { .tid = tid, .syscall_nr = -1 };
        struct iovec iov = { &t.regs, sizeof t.regs };
        if (ptrace(PTRACE_GETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return -errno;
        if (iov.iov_len != sizeof t.regs)
                return -EPROTONOSUPPORT;
        t.regs_valid = true;
        if (window == 0) {
                *ret = t;
                return 0;
        }
        t.stack = malloc(window);
        if (!t.stack)
                return -ENOMEM;
        struct iovec local = { t.stack, window };
        struct iovec remote = { (void *) (uintptr_t) arch_regs_sp(&t.regs), window };
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        t.stack_len = n > 0 ? (size_t) n : 0;
        t.stack_addr = arch_regs_sp(&t.regs);
        t.stack_truncated = t.stack_len == window;
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
            procfs_parse_sched_exec_start(text, &t->exec_start_ns) == 0)
                t->has_exec_start = true;
        return 0;
}

int capture_syscall_fd_arg(long nr)
{
        switch (nr) {
        case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
        case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
        case SYS_preadv2: case SYS_pwritev2:
        case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
        case SYS_recvmmsg: case SYS_sendmmsg:
        case SYS_accept: case SYS_accept4: case SYS_connect:
        case SYS_flock: case SYS_splice: case SYS_tee:
                return 0;
        default:
                return -1;
        }
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
        struct iovec iov = { &t->regs, sizeof t->regs };
        if (ptrace(PTRACE_GETREGSET, t->tid, (void *) NT_PRSTATUS, &iov) < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        if (iov.iov_len != sizeof t->regs)
                return -EPROTONOSUPPORT;        /* a 32-bit (compat) thread */
        t->regs_valid = true;

        /* The held thread sits at the entry of the syscall it asked for
         * (exit_group, for --at-exit). */
        long nr = process_capture_holds(cap, t->tid) ? (long) t->regs.orig_rax :
                  arch_regs_slept_in_syscall(&t->regs, t->stat.state == 'S' || t->stat.state == 'D');
        t->syscall_nr = nr;
        uint64_t args[6];
        arch_regs_syscall_args(&t->regs, args);

        if (nr == SYS_futex) {
                uint32_t word;
                struct iovec local = { &word, sizeof word };
                struct iovec remote = { (void *) (uintptr_t) args[0], sizeof word };
                if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t) sizeof word) {
                        t->has_futex_word = true;
                        t->futex_word = word;
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

/* Seize and release; see seize.h.  The ptrace corners handled here are listed
 * in docs/design.md ("Stopping threads safely"). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "seize.h"
#include "syscalls.h"
#include "util.h"

#define SEIZE_MAX_PASSES 10

int seize_check_process(pid_t pid, pid_t *ret_tracer, long *ret_threads)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_stat st;
        long tracer = 0, threads = 1;

        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_full_file(path, &text) < 0 || procfs_parse_stat(text, &st) < 0)
                return -ESRCH;
        if (st.flags & PF_KTHREAD_FLAG)
                return -EINVAL;
        free(TAKE_PTR(text));

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        if (read_full_file(path, &text) < 0)
                return -ESRCH;
        long tgid = pid;
        (void) procfs_parse_status_field(text, "Tgid", &tgid);
        if (tgid != pid)
                return -ENOTUNIQ;       /* a thread of another process */
        (void) procfs_parse_status_field(text, "Threads", &threads);
        if (ret_threads)
                *ret_threads = threads;
        /* A leader that called pthread_exit is a zombie while its threads
         * live on: that process is still worth looking at. */
        if ((st.state == 'Z' || st.state == 'X') && threads <= 1)
                return -ECHILD;
        (void) procfs_parse_status_field(text, "TracerPid", &tracer);
        if (tracer != 0 && tracer != getpid()) {
                if (ret_tracer)
                        *ret_tracer = (pid_t) tracer;
                return -EBUSY;
        }
        return 0;
}

/* Lists /proc/PID/task.  Returns 0 and a new array, or a negative errno. */
static int list_tasks(pid_t pid, pid_t **ret, size_t *ret_n)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;
        size_t n = 0, cap = 64;
        pid_t *tids = malloc(cap * sizeof *tids);
        if (!tids) {
                closedir(d);
                return -ENOMEM;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                if (n == cap) {
                        pid_t *nt = realloc(tids, (cap *= 2) * sizeof *tids);
                        if (!nt) {
                                free(tids);
                                closedir(d);
                                return -ENOMEM;
                        }
                        tids = nt;
                }
                tids[n++] = (pid_t) atoi(de->d_name);
        }
        closedir(d);
        *ret = tids;
        *ret_n = n;
        return 0;
}

/* Interprets one wait status of a seized thread.  Returns true when the
 * thread is now held (stopped) or gone. */
static bool seize_note_status(struct thread_capture *t, int status)
{
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                t->vanished = true;
                t->stopped = false;
                return true;
        }
        if (!WIFSTOPPED(status))
                return false;
        t->stopped = true;
        if ((status >> 16) == PTRACE_EVENT_STOP) {
                /* our interrupt (SIGTRAP), or a group-stop (the stop signal):
                 * nothing to re-inject */
                t->group_stop = WSTOPSIG(status) != SIGTRAP;
                return true;
        }
        /* A signal-delivery-stop came before our interrupt: hold the thread
         * here and hand the signal back when we detach. */
        t->pending_signal = WSTOPSIG(status);
        return true;
}

/* Waits until every thread seized in [from, n) is stopped or gone, polling so
 * that one thread stuck in an uninterruptible sleep cannot hang us. */
static void seize_wait_stopped(struct process_capture *cap, size_t from, unsigned timeout_ms)
{
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000u;
        unsigned idle_us = 1;
        for (;;) {
                bool pending = false, progress = false;
                for (size_t i = from; i < cap->n_threads; i++) {
                        struct thread_capture *t = &cap->threads[i];
                        if (!t->seized || t->stopped || t->vanished)
                                continue;
                        int status;
                        pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
                        if (r == t->tid && seize_note_status(t, status)) {
                                progress = true;
                                continue;
                        }
                        if (r < 0 && errno == ECHILD) {
                                t->vanished = true;
                                continue;
                        }
                        pending = true;
                }
                if (!pending)
                        return;
                if (progress) {
                        idle_us = 1;
                        continue;
                }
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return;
                struct timespec ts = { 0, (long) idle_us * 1000 };
                nanosleep(&ts, NULL);
                if (idle_us < 1000)
                        idle_us *= 2;
        }
}

/* One pass: seize and interrupt every listed thread not seen before.
 * Returns the number of new threads, or a negative errno. */
static int seize_new_threads(struct process_capture *cap, const pid_t *tids, size_t n)
{
        size_t first_new = cap->n_threads;
        for (size_t i = 0; i < n; i++) {
                if (process_capture_find(cap, tids[i]))
                        continue;
                struct thread_capture *t = process_capture_add(cap, tids[i]);
                if (!t)
                        return -ENOMEM;
                if (capture_thread_prestop(cap->pid, t) < 0)
                        t->vanished = true;
        }
        int r = 0;
        for (size_t i = first_new; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                if (t->stat.state == 'Z' || t->stat.state == 'X') {
                        t->vanished = true;     /* a zombie leader cannot be stopped */
                        continue;
                }
                if (process_capture_holds(cap, t->tid)) {
                        t->held = true;
                        continue;
                }
                if (ptrace(PTRACE_SEIZE, t->tid, 0, 0) < 0) {
                        int e = errno;
                        /* EPERM for a thread that just exited looks the same
                         * as a real refusal; a vanished task settles it.  A
                         * thread that is our tracee already (it never stopped
                         * to be let go, in --watch) is simply ours. */
                        char path[64];
                        _cleanup_free_ char *status = NULL;
                        long tracer = 0;
                        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) cap->pid, (int) t->tid);
                        bool exists = read_full_file(path, &status) >= 0;
                        if (exists && procfs_parse_status_field(status, "TracerPid", &tracer) == 0 &&
                            tracer == getpid()) {
                                t->seized = true;
                                continue;
                        }
                        if (e == EPERM && exists && r == 0)
                                r = -EPERM;
                        t->vanished = true;
                        continue;
                }
                t->seized = true;
        }
        if (cap->stop_begin_us == 0)
                cap->stop_begin_us = now_usec(CLOCK_MONOTONIC);
        for (size_t i = first_new; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->seized && !t->stopped && ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0 && errno == ESRCH)
                        t->vanished = true;
        }
        if (r < 0)
                return r;
        return (int) (cap->n_threads - first_new);
}

int seize_process(struct process_capture *cap, unsigned stop_timeout_ms)
{
        int r;
        for (int pass = 0; pass < SEIZE_MAX_PASSES; pass++) {
                _cleanup_free_ pid_t *tids = NULL;
                size_t n = 0;
                r = list_tasks(cap->pid, &tids, &n);
                if (r < 0)
                        goto fail;
                size_t from = cap->n_threads;
                r = seize_new_threads(cap, tids, n);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                seize_wait_stopped(cap, from, stop_timeout_ms);
                if (pass == SEIZE_MAX_PASSES - 1)
                        cap->incomplete = true;
        }

        size_t held = 0;
        cap->n_vanished = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                if (cap->threads[i].vanished)
                        cap->n_vanished++;
                else if (cap->threads[i].seized || cap->threads[i].held)
                        held++;
        }
        if (held == 0) {
                r = -ESRCH;
                goto fail;
        }
        return 0;
fail:
        seize_release(cap);
        return r;
}

bool seize_eintr_restartable(long nr, const uint64_t args[6])
{
        return syscalls_eintr_restartable(nr, args);
}

/* Our interrupt made an indefinite wait that the kernel never restarts
 * return -EINTR: make the thread enter it again, so that the program never
 * sees an error it would not have had without us.  Only when the thread was
 * asleep in it before we came and no real signal is involved. */
static void seize_undo_eintr(pid_t pid, struct thread_capture *t)
{
        if (!t->regs_valid || t->pending_signal || t->group_stop || t->stat.state != 'S' ||
            !arch_regs_returned_eintr(&t->regs))
                return;
        uint64_t args[6];
        arch_regs_syscall_args(&t->regs, args);
        if (!seize_eintr_restartable(arch_regs_syscall_nr(&t->regs), args))
                return;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (arch_regs_pc(&t->regs) - sizeof insn), sizeof insn };
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn)
                return;
        arch_regs regs = t->regs;
        if (!arch_regs_rewind_syscall(&regs, insn))
                return;
        struct iovec iov = { &regs, sizeof regs };
        (void) ptrace(PTRACE_SETREGSET, t->tid, (void *) NT_PRSTATUS, &iov);
}

void seize_release_thread(struct process_capture *cap, struct thread_capture *t)
{
        if (!t->seized || t->vanished)
                return;
        if (!t->stopped) {
                /* Never stopped (uninterruptible sleep): one last look; if it
                 * still has not stopped, the kernel lets it go when we exit,
                 * since PTRACE_DETACH needs a stopped tracee. */
                int status;
                if (waitpid(t->tid, &status, __WALL | WNOHANG) != t->tid ||
                    !seize_note_status(t, status) || t->vanished)
                        return;
        }
        seize_undo_eintr(cap->pid, t);
        (void) ptrace(PTRACE_DETACH, t->tid, 0, (void *) (long) t->pending_signal);
        t->stopped = false;
        t->seized = false;
}

void seize_release(struct process_capture *cap)
{
        for (size_t i = 0; i < cap->n_threads; i++)
                seize_release_thread(cap, &cap->threads[i]);
        cap->stop_end_us = now_usec(CLOCK_MONOTONIC);
}

/* The embeddable entry point: leakscan_inspect_pid wires the steps in their
 * one direction, seize -> capture -> resume -> unwind -> symbolize ->
 * classify, and turns the copy into a public report.  The target is held
 * only between seize_process and seize_release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse.h"
#include "blocked.h"
#include "capturer.h"
#include "classify.h"
#include "inspect.h"
#include "judge.h"
#include "leakscan/leakscan.h"
#include "model.h"
#include "modules.h"
#include "reach.h"
#include "seize.h"
#include "snapshot.h"
#include "symbolize.h"
#include "testname.h"
#include "unwind.h"
#include "util.h"

void leakscan_options_init(struct leakscan_options *opts)
{
        *opts = (struct leakscan_options) {
                .min_blocked_ms = 1000,
                .stack_window = 64 * 1024,
                .max_frames = 256,
                .unwinder = "libdw",
                .stop_timeout_ms = 2000,
        };
}

const char *leakscan_describe_error(int err, pid_t pid, char *buf, size_t size)
{
        pid_t tracer = 0;
        char comm[64] = "?";
        switch (err) {
        case -ESRCH:
                snprintf(buf, size, "no such process %d; check the PID with ps", (int) pid);
                break;
        case -ENOTUNIQ: {
                char path[64];
                long tgid = 0;
                _cleanup_free_ char *text = NULL;
                snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
                if (read_full_file(path, &text) > 0)
                        (void) procfs_parse_status_field(text, "Tgid", &tgid);
                snprintf(buf, size, "%d is a thread of process %ld, not a process: use -p %ld", (int) pid, tgid, tgid);
                break;
        }
        case -ECHILD:
                snprintf(buf, size, "process %d is a zombie: it has exited and waits for its parent to reap it; there are no threads left to inspect", (int) pid);
                break;
        case -EINVAL:
                snprintf(buf, size, "process %d is a kernel thread: only user-space processes can be inspected", (int) pid);
                break;
        case -EBUSY: {
                pid_t tid = pid;
                (void) seize_find_tracer(pid, &tracer, &tid);
                char path[64], who[64];
                _cleanup_free_ char *text = NULL;
                snprintf(path, sizeof path, "/proc/%d/comm", (int) tracer);
                if (read_full_file(path, &text) > 0) {
                        text[strcspn(text, "\n")] = 0;
                        snprintf(comm, sizeof comm, "%s", text);
                }
                if (tid == pid)
                        snprintf(who, sizeof who, "process %d", (int) pid);
                else
                        snprintf(who, sizeof who, "thread %d of process %d", (int) tid, (int) pid);
                snprintf(buf, size, "%s is already traced by process %d (%s); detach that debugger or tracer first, a thread has only one tracer", who, (int) tracer, comm);
                break;
        }
        case -EDEADLK:
                snprintf(buf, size, "process %d is leakscan itself: it cannot stop its own threads; inspect it from another leakscan", (int) pid);
                break;
        case -EOWNERDEAD:
                snprintf(buf, size, "process %d exited while leakscan was inspecting it: there is nothing left to report", (int) pid);
                break;
        case -EPERM: {
                char scope[48] = "not set: Yama is not enabled here";
                _cleanup_free_ char *text = NULL;
                if (read_full_file("/proc/sys/kernel/yama/ptrace_scope", &text) > 0)
                        snprintf(scope, sizeof scope, "now %.*s", (int) strcspn(text, "\n"), text);
                snprintf(buf, size, "permission denied to trace process %d: run as root or as its owner with CAP_SYS_PTRACE (in a container: --cap-add=SYS_PTRACE), and check kernel.yama.ptrace_scope (%s; 1 allows only descendants, 2 needs CAP_SYS_PTRACE, 3 forbids attaching)", (int) pid, scope);
                break;
        }
        case -EPROTONOSUPPORT:
                snprintf(buf, size, "process %d is not an x86_64 process: 32-bit targets are not supported", (int) pid);
                break;
        default:
                snprintf(buf, size, "cannot inspect process %d: %s", (int) pid, strerror(-err));
                break;
        }
        return buf;
}

/* After the process runs again: exe and cmdline do not change under us in a
 * way that matters. */
void inspect_read_identity(struct leakscan_process *p)
{
        char path[64], target[4096];
        snprintf(path, sizeof path, "/proc/%d/exe", (int) p->pid);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
                target[n] = 0;
                p->exe = strdup(target);
        }
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) p->pid);
        _cleanup_free_ char *text = NULL;
        ssize_t len = read_full_file(path, &text);
        if (len > 0)
                (void) procfs_split_cmdline(text, (size_t) len, &p->cmdline, &p->n_cmdline);
}

/* Reads the scheduler clock "now": our own thread's se.exec_start, which the
 * kernel updated when it last accounted our (current) run. */
static bool sched_clock_now(uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        return read_full_file("/proc/thread-self/sched", &text) >= 0 &&
               procfs_parse_sched_exec_start(text, ret) == 0;
}

int inspect_snapshot(pid_t pid, const struct leakscan_options *opts,
                     const pid_t *held_tids, size_t n_held, struct process_capture **ret)
{
        return inspect_snapshot_preseized(pid, opts, held_tids, n_held, NULL, 0, ret);
}

int inspect_snapshot_preseized(pid_t pid, const struct leakscan_options *opts, const pid_t *held_tids,
                               size_t n_held, const pid_t *preseized_tids, size_t n_preseized,
                               struct process_capture **ret)
{
        long threads = 1;
        int r = seize_check_process(pid, NULL, &threads);
        if (r < 0)
                return r;

        struct process_capture *cap = process_capture_new(pid);
        if (!cap)
                return -ENOMEM;
        cap->held_tids = held_tids;
        cap->n_held = n_held;
        cap->preseized_tids = preseized_tids;
        cap->n_preseized = n_preseized;
        /* Room for the stack copies, faulted in before the stop (beside
         * the pre-stop reads, capture_threads_prestop): a blocked
         * thread's stack from SP to its top is a few KiB (its frames, struct
         * pthread and TLS); the main thread's runs into argv and environ. */
        cap->reserve_ahead = (size_t) threads * 8192 + opts->stack_window;
        /* an unwinder that reads the live process must see the registers as
         * we found them: seize then re-enters waits only at the release */
        const struct unwinder *live = unwinder_find(opts->unwinder);
        cap->rewind_at_release = live && live->while_stopped;

        r = seize_process(cap, opts->stop_timeout_ms);
        if (r < 0) {
                process_capture_free(cap);
                /* A refusal from a process that is traced now is "busy";
                 * any failure of a process that is gone now is its exit. */
                if (r == -EPERM && seize_check_process(pid, NULL, NULL) == -EBUSY)
                        r = -EBUSY;
                if (r != -ENOMEM && seize_process_gone(pid))
                        r = -EOWNERDEAD;
                return r;
        }
        cap->has_now = sched_clock_now(&cap->now_sched_ns);

        /* ---- the target is held from here ----
         * First what must agree across threads (registers, lock words)
         * while every thread is stopped; then each thread's stack, which
         * only that thread writes, releasing it right after.  The maps
         * were read just before the stop and are read again after it
         * (capture_process_early, capture_process_late). */
        int err = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                int k = capture_thread_state(cap, t);
                if (k == -ESRCH) {
                        t->vanished = true;
                        cap->n_vanished++;
                } else if (k == -EPROTONOSUPPORT) {
                        err = k;
                }
        }
        capture_locks(cap);
        if (capture_process(cap) < 0 && err == 0)
                err = -ESRCH;
        /* an unwinder that reads the live process does it now (unwind.h) */
        const struct unwinder *unwinder = unwinder_find(opts->unwinder);
        if (err == 0 && unwinder && unwinder->while_stopped)
                err = unwinder->while_stopped(cap, opts->stack_window, opts->max_frames);
        /* stacks a batch at a time (one read each), each batch let go as
         * soon as it is copied */
        for (size_t i = 0; i < cap->n_threads; ) {
                size_t k = err == 0 ? capture_stacks(cap, i, opts->stack_window) : cap->n_threads - i;
                for (size_t j = i; j < i + k; j++)
                        seize_release_thread(cap, &cap->threads[j]);
                i += k;
        }
        seize_release(cap);
        /* ---- released ---- */
        capture_fds(cap);
        capture_process_late(cap);

        if (err < 0) {
                process_capture_free(cap);
                return err == -ESRCH && seize_process_gone(pid) ? -EOWNERDEAD : err;
        }
        *ret = cap;
        return 0;
}

/* Threads of one process mostly share a few stacks (a pool's workers wait
 * in the same place), and which test started a thread depends on its
 * stack alone: testname_recognise (regular expressions on every frame) runs
 * once per distinct stack, the others get a copy of its answer. */
struct test_cache {
        size_t *slots;          /* 1 + index into p->threads, 0 empty */
        size_t size;            /* a power of two */
};

/* The frames testname_recognise looks at. */
static const struct leakscan_frame *test_frames(const struct leakscan_thread *t, size_t *ret_n)
{
        bool created = t->has_created_by && t->n_created_by > 0;
        *ret_n = created ? t->n_created_by : t->n_frames;
        return created ? t->created_by : t->frames;
}

static uint64_t frames_hash(const struct leakscan_frame *f, size_t n)
{
        uint64_t h = n;
        for (size_t i = 0; i < n; i++)
                h = (h ^ f[i].pc ^ ((uint64_t) f[i].line << 48)) * 0x9e3779b97f4a7c15ull;
        return h;
}

static bool str_same(const char *a, const char *b)
{
        return a == b || (a && b && streq(a, b));
}

static bool frames_same(const struct leakscan_frame *a, const struct leakscan_frame *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (a[i].pc != b[i].pc || a[i].line != b[i].line || a[i].system != b[i].system ||
                    a[i].inlined != b[i].inlined || !str_same(a[i].function, b[i].function) ||
                    !str_same(a[i].file, b[i].file) || !str_same(a[i].module, b[i].module))
                        return false;
        return true;
}

/* testname_recognise for p->threads[i], through the cache (which may have
 * no slots: then directly).  Returns 0 or -ENOMEM. */
static int recognise_test(struct test_cache *c, struct leakscan_process *p, size_t i)
{
        struct leakscan_thread *lt = &p->threads[i];
        if (!c->slots || lt->test)
                return testname_recognise(lt);
        size_t n;
        const struct leakscan_frame *f = test_frames(lt, &n);
        size_t h = (size_t) (frames_hash(f, n) >> 20) & (c->size - 1);
        for (; c->slots[h]; h = (h + 1) & (c->size - 1)) {
                const struct leakscan_thread *seen = &p->threads[c->slots[h] - 1];
                size_t m;
                const struct leakscan_frame *g = test_frames(seen, &m);
                if (m != n || !frames_same(f, g, n))
                        continue;
                if (!seen->test)
                        return 0;
                struct leakscan_test *test = calloc(1, sizeof *test);
                if (!test)
                        return -ENOMEM;
                *test = (struct leakscan_test) { .framework = seen->test->framework, .line = seen->test->line };
                test->name = seen->test->name ? strdup(seen->test->name) : NULL;
                test->file = seen->test->file ? strdup(seen->test->file) : NULL;
                if ((seen->test->name && !test->name) || (seen->test->file && !test->file)) {
                        free(test->name);
                        free(test->file);
                        free(test);
                        return -ENOMEM;
                }
                lt->test = test;
                return 0;
        }
        int r = testname_recognise(lt);
        if (r == 0)
                c->slots[h] = i + 1;
        return r;
}

/* Unwinds t (a captured thread, or a creator's copy) and appends its
 * symbolized frames to *frames.  Returns 0 or a negative errno; *note gets the
 * unwinder's note. */
static int unwind_and_symbolize(const struct unwinder *unwinder, void *ustate, struct symbolizer *sym,
                                const struct thread_capture *t, unsigned max_frames,
                                struct leakscan_frame **frames, size_t *n, const char **note)
{
        struct unwound_stack st = {0};
        size_t first = *n;
        int r = unwinder->unwind_thread(ustate, t, max_frames, &st);
        for (size_t k = 0; r >= 0 && k < st.n; k++) {
                size_t before = *n;
                r = symbolize_pc(sym, st.frames[k].pc, st.frames[k].activation, frames, n);
                for (size_t i = before; r >= 0 && i < *n; i++)
                        (*frames)[i].sp = st.frames[k].sp;
        }
        free(st.frames);
        /* "system" as the report means it: by module, and by name in a
         * static binary */
        for (size_t k = first; k < *n; k++)
                (*frames)[k].system = classify_frame_is_system(&(*frames)[k]);
        *note = st.note;
        return r;
}

int inspect_analyse(struct process_capture *cap, const struct leakscan_options *opts,
                    const struct creator_lookup *creators, struct leakscan_process *p)
{
        const struct unwinder *unwinder = unwinder_find(opts->unwinder);
        if (!unwinder)
                return -EINVAL;

        struct modules *mods = NULL;
        struct blocked_memory *blocked = NULL;
        struct test_cache tests = {0};
        int r = snapshot_modules_new(cap, &mods);
        if (r < 0)
                return r;
        struct symbolizer *sym = symbolizer_new(mods, opts->system_lines);
        void *ustate = NULL;
        if (!sym) {
                r = -ENOMEM;
                goto out;
        }
        r = unwinder->attach(mods, cap, &ustate);
        if (r < 0)
                goto out;
        blocked = capturer_active() ? NULL : blocked_memory_for(cap);     /* the capturer's (capturer.h) */

        p->threads = calloc(cap->n_threads, sizeof *p->threads);
        if (!p->threads) {
                r = -ENOMEM;
                goto out_detach;
        }
        tests.size = 64;
        while (tests.size < cap->n_threads * 2)
                tests.size *= 2;
        tests.slots = calloc(tests.size, sizeof *tests.slots);       /* none: no cache */
        for (size_t i = 0; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                struct leakscan_thread *lt = &p->threads[p->n_threads++];
                lt->tid = t->tid;
                memcpy(lt->name, t->stat.comm, sizeof lt->name);
                lt->main = t->tid == cap->pid;
                lt->exiting = t->held;
                lt->proc_state = t->stat.state;
                lt->start_time = t->stat.starttime;
                lt->wait_fd = -1;
                lt->syscall_nr = t->syscall_nr;
                lt->syscall = classify_syscall_name(lt->syscall_nr);
                if (t->regs_valid) {
                        arch_regs_syscall_args(&t->regs, lt->syscall_args);
                        lt->tls = arch_regs_tls(&t->regs);
                        r = unwind_and_symbolize(unwinder, ustate, sym, t, opts->max_frames,
                                                 &lt->frames, &lt->n_frames, &lt->unwind_note);
                        if (r < 0)
                                goto out_detach;
                } else if (t->stat.flags & PF_IO_WORKER_FLAG) {
                        lt->unwind_note = "a kernel worker (io_uring): it runs no user code, it has no user stack";
                } else if (!t->stopped && !t->held && !t->proc_only) {
                        lt->unwind_note = "the thread did not stop in time (uninterruptible sleep): no stack";
                }
                const struct thread_capture *creator = creators && t->regs_valid ?
                        creators->find(creators->userdata, cap->pid, t) : NULL;
                if (creator) {
                        const char *note;
                        r = unwind_and_symbolize(unwinder, ustate, sym, creator, opts->max_frames,
                                                 &lt->created_by, &lt->n_created_by, &note);
                        if (r < 0)
                                goto out_detach;
                        lt->has_created_by = true;
                        lt->created_by_top = classify_top_frame(lt->created_by, lt->n_created_by);
                }
                lt->top_frame = classify_top_frame(lt->frames, lt->n_frames);
                /* which test started it: from the creator's stack, else its own */
                r = recognise_test(&tests, p, p->n_threads - 1);
                if (r < 0)
                        goto out_detach;

                struct classify_input in = {
                        .proc_state = t->stat.state,
                        .proc_flags = t->stat.flags,
                        .syscall_nr = lt->syscall_nr,
                        .fd_target = t->fd_target,
                        .frames = lt->frames,
                        .n_frames = lt->n_frames,
                };
                memcpy(in.args, lt->syscall_args, sizeof in.args);
                struct classify_result cr;
                classify_thread(&in, &cr);
                lt->state = cr.state;
                lt->timeout = cr.timeout;
                lt->verdict = cr.verdict;
                lt->has_wait_address = cr.has_wait_address;
                lt->wait_address = cr.wait_address;
                lt->has_futex_value = t->has_futex_word;
                lt->futex_value = t->futex_word;
                int fd_arg = capture_syscall_fd_arg(lt->syscall_nr);
                if (fd_arg >= 0) {
                        lt->wait_fd = (int) lt->syscall_args[fd_arg];
                        lt->fd_target = TAKE_PTR(t->fd_target);
                }
                lt->blocked_ms = lt->verdict == LEAKSCAN_VERDICT_RUNNING ? 0 : snapshot_blocked_ms(cap, blocked, t);
        }
        r = analyse_process(cap, mods, p);
        if (r == 0)
                r = snapshot_record_analysis(cap, mods, p);
        if (capturer_active())
                capturer_blocked_update(p);
        else
                blocked_memory_update(blocked, cap, p);
out_detach:
        unwinder->detach(ustate);
out:
        free(tests.slots);
        blocked_memory_free(blocked);
        symbolizer_free(sym);
        modules_free(mods);
        return r;
}

/* Pid mode, after analyse: whether the objects that blocked threads wait
 * on can still be reached (reach_process), with the registers captured
 * during the stop as roots. */
int inspect_reach(const struct process_capture *cap, uint64_t scan_limit, struct leakscan_process *p)
{
        _cleanup_free_ const uint64_t **regs = calloc(p->n_threads + 1, sizeof *regs);
        if (!regs)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < cap->n_threads && k < p->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                regs[k++] = t->regs_valid ? (const uint64_t *) &t->regs : NULL;
        }
        return reach_process_io(p, cap->maps_text, regs, sizeof(arch_regs) / sizeof(uint64_t), scan_limit, NULL,
                                capturer_reach_io());
}

int inspect_pid(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                struct leakscan_report **ret_report)
{
        return inspect_pid_limited(pid, opts, creators, REACH_DEFAULT_SCAN_LIMIT, ret_report);
}

int inspect_pid_limited(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                        uint64_t scan_limit, struct leakscan_report **ret_report)
{
        struct leakscan_options defaults;
        if (!opts) {
                leakscan_options_init(&defaults);
                opts = &defaults;
        }
        if (!unwinder_find(opts->unwinder))
                return -EINVAL;

        struct process_capture *cap = NULL;
        int r = inspect_snapshot(pid, opts, NULL, 0, &cap);
        if (r < 0)
                return r;
        cap->remember_blocked = true;

        struct leakscan_report *report = report_new("pid", 1);
        if (!report) {
                process_capture_free(cap);
                return -ENOMEM;
        }
        struct leakscan_process *p = &report->processes[0];
        p->pid = pid;
        p->n_vanished = cap->n_vanished;
        p->incomplete = cap->incomplete;
        p->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        inspect_read_identity(p);

        r = inspect_analyse(cap, opts, creators, p);
        if (r == 0)
                r = inspect_reach(cap, scan_limit, p);
        process_capture_free(cap);
        if (r < 0) {
                leakscan_report_free(report);
                /* libdw and /proc fail in their own words when the process
                 * is gone: say what happened */
                return r != -ENOMEM && seize_process_gone(pid) ? -EOWNERDEAD : r;
        }
        *ret_report = report;
        return 0;
}

int leakscan_inspect_pid(pid_t pid, const struct leakscan_options *opts, struct leakscan_report **ret_report)
{
        struct leakscan_report *report = NULL;
        int r = inspect_pid(pid, opts, NULL, &report);
        if (r < 0)
                return r;
        /* judged as plain -p judges: only what is proven */
        struct judge_policy policy = { .mode = JUDGE_PID };
        r = judge_report(report, &policy);
        if (r < 0) {
                leakscan_report_free(report);
                return r;
        }
        *ret_report = report;
        return 0;
}

int inspect_thread_may_finish(pid_t pid, pid_t tid, struct proc_stat *ret_stat)
{
        char path[96];
        _cleanup_free_ char *stat = NULL, *sc = NULL;
        struct proc_stat st;
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        if (read_full_file(path, &stat) < 0 || procfs_parse_stat(stat, &st) < 0 ||
            st.state == 'Z' || st.state == 'X')
                return -ESRCH;
        if (ret_stat)
                *ret_stat = st;
        if (st.state == 'R')
                return 1;
        /* a syscall file that cannot be read or parsed tells nothing: the
         * thread is asleep, as its state says */
        struct proc_syscall psc = {0};
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) pid, (int) tid);
        if (read_full_file(path, &sc) < 0 || procfs_parse_syscall(sc, &psc) < 0)
                return 0;
        if (psc.running)
                return 1;
        struct classify_input in = { .proc_state = st.state, .syscall_nr = psc.nr };
        memcpy(in.args, psc.args, sizeof in.args);
        struct classify_result cr;
        classify_thread(&in, &cr);
        return cr.verdict != LEAKSCAN_VERDICT_BLOCKED;
}

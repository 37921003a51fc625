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
#include "python.h"
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
        case -EWOULDBLOCK:
                snprintf(buf, size, "a thread of process %d kept waking inside a call while leakscan read it, and reading it would have needed a stop, which refuse_visible_stop forbids; try again later", (int) pid);
                break;
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

/* Rounds of looking for threads started by threads that moved. */
#define SETTLE_PASSES 4

/* Copies what a thread taken after the first pass needs: registers (when
 * stopped), lock bytes, stack. */
static void capture_late_thread(struct process_capture *cap, struct thread_capture *t, size_t stack_window)
{
        if (t->vanished)
                return;
        int k = capture_thread_state(cap, t);
        if (k == -ESRCH) {
                t->vanished = true;
                cap->n_vanished++;
                return;
        }
        capture_locks(cap);
        if (t->regs_valid && !t->stack)
                capture_thread_stack(cap, t, stack_window);
}

/* Checks a thread read without a stop, once its copies are taken.  One
 * that moved meanwhile is read again without a stop, as a sample if it
 * runs now (seize_read_unstopped, a bounded number of rounds), then
 * stopped (or, with refuse_visible_stop, when it sleeps then, the
 * snapshot fails: -EWOULDBLOCK).  *moved tells that it ran while we
 * read.  Returns 0 or a negative errno. */
static int settle_thread(struct process_capture *cap, const struct leakscan_options *opts,
                         struct thread_capture *t, bool *moved)
{
        while (t->stopfree && !t->vanished) {
                int r = capture_stopfree_verify(cap->pid, t);
                if (r == 0)
                        return 0;
                capture_thread_forget(t);
                if (r == -ESRCH) {
                        t->vanished = true;
                        cap->n_vanished++;
                        return 0;
                }
                *moved = true;
                cap->n_moved++;
                cap->n_stopfree--;
                if (seize_read_unstopped(cap, t, opts->stop_timeout_ms)) {
                        if (t->vanished)
                                cap->n_vanished++;
                        else if (t->stopfree) {
                                capture_locks(cap);
                                capture_thread_stack(cap, t, opts->stack_window);
                        }
                        continue;       /* a sample or a gone thread ends the loop */
                }
                /* its state now, not before it moved: what the stop finds
                 * is read against it */
                if (capture_thread_prestop(cap->pid, t) < 0) {
                        t->vanished = true;
                        cap->n_vanished++;
                        return 0;
                }
                /* a thread asleep (in a call) is what a stop would show;
                 * one that runs, perf refused or no, has no call to end */
                if (cap->refuse_visible_stop && t->stat.state == 'S')
                        return -EWOULDBLOCK;
                uint64_t held_from = now_usec(CLOCK_MONOTONIC);
                r = seize_stop_thread(cap, t, opts->stop_timeout_ms);
                if (r == -ESRCH) {
                        t->vanished = true;
                        cap->n_vanished++;
                        return 0;
                }
                if (r < 0)
                        return r;
                capture_late_thread(cap, t, opts->stack_window);
                cap->n_stop_needed++;
                /* nothing else is held: let it go at once */
                seize_release_thread(cap, t);
                cap->late_hold_us += now_usec(CLOCK_MONOTONIC) - held_from;
        }
        return 0;
}

/* After the copies: checks every thread read without a stop (settle_thread)
 * and, when one moved (it may have started threads), takes the threads
 * that appeared, until none moves.  Every thread we stopped is still held:
 * none of them can have changed what the others were read waiting on. */
static int settle_stopfree(struct process_capture *cap, const struct leakscan_options *opts)
{
        size_t from = 0;
        for (int pass = 0; ; pass++) {
                bool moved = false;
                for (size_t i = from; i < cap->n_threads; i++) {
                        int r = settle_thread(cap, opts, &cap->threads[i], &moved);
                        if (r < 0)
                                return r;
                }
                if (!moved)
                        return 0;
                if (pass == SETTLE_PASSES) {
                        cap->incomplete = true;
                        return 0;
                }
                from = cap->n_threads;
                uint64_t held_from = now_usec(CLOCK_MONOTONIC);
                int r = seize_more(cap, opts->stop_timeout_ms);
                if (r < 0)
                        return r;
                for (size_t i = from; i < cap->n_threads; i++) {
                        capture_late_thread(cap, &cap->threads[i], opts->stack_window);
                        seize_release_thread(cap, &cap->threads[i]);
                }
                cap->late_hold_us += now_usec(CLOCK_MONOTONIC) - held_from;
        }
}

/* The snapshot, with or without reading sleeping threads stop-free. */
static int snapshot(pid_t pid, const struct leakscan_options *opts, const pid_t *held_tids, size_t n_held,
                    const pid_t *preseized_tids, size_t n_preseized, bool stopfree, struct process_capture **ret);

int inspect_snapshot(pid_t pid, const struct leakscan_options *opts,
                     const pid_t *held_tids, size_t n_held, struct process_capture **ret)
{
        return snapshot(pid, opts, held_tids, n_held, NULL, 0, true, ret);
}

int inspect_snapshot_preseized(pid_t pid, const struct leakscan_options *opts, const pid_t *held_tids,
                               size_t n_held, const pid_t *preseized_tids, size_t n_preseized,
                               struct process_capture **ret)
{
        return snapshot(pid, opts, held_tids, n_held, preseized_tids, n_preseized, false, ret);
}

static int snapshot(pid_t pid, const struct leakscan_options *opts, const pid_t *held_tids, size_t n_held,
                    const pid_t *preseized_tids, size_t n_preseized, bool stopfree, struct process_capture **ret)
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
        /* an unwinder that reads the live process, or that needs the
         * frame pointer, needs every thread stopped: with it, refusing a
         * visible stop refuses the snapshot */
        cap->stopfree = stopfree && !cap->rewind_at_release && !(live && live->needs_all_registers);
        cap->refuse_visible_stop = stopfree && opts->refuse_visible_stop;
        /* a thread running on a CPU is sampled rather than stopped
         * (sample.h): a stopped main thread makes the kernel queue the
         * signals the process ignores; the knob keeps today's stop, for
         * comparing the two */
        cap->sample_running = cap->stopfree && !getenv("LEAKSCAN_TEST_NO_SAMPLE");
        cap->sample_window = opts->stack_window;
        if (cap->refuse_visible_stop && !cap->stopfree) {
                process_capture_free(cap);
                return -EWOULDBLOCK;
        }

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
        uint64_t now_mono_us = now_usec(CLOCK_MONOTONIC);

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
        /* The EINTRs our stops caused are undone for every thread before
         * any is let go (at each stop, or here when a live unwinder had to
         * see the registers as found): a leakscan killed while it releases
         * leaves none behind. */
        for (size_t i = 0; cap->rewind_at_release && i < cap->n_threads; i++)
                if (cap->threads[i].seized && cap->threads[i].stopped && !cap->threads[i].vanished)
                        seize_undo_eintr(pid, &cap->threads[i]);
        bool stopped_any = false;
        for (size_t i = 0; i < cap->n_threads; i++)
                stopped_any |= cap->threads[i].seized && cap->threads[i].stopped;
        /* stacks a batch at a time (one read each), each batch let go as
         * soon as it is copied */
        for (size_t i = 0; i < cap->n_threads; ) {
                size_t k = err == 0 ? capture_stacks(cap, i, opts->stack_window) : cap->n_threads - i;
                for (size_t j = i; j < i + k; j++)
                        seize_release_thread(cap, &cap->threads[j]);
                i += k;
        }
        uint64_t released_us = now_usec(CLOCK_MONOTONIC);
        /* Then each thread read without a stop is checked.  Every reading
         * spans the moment the lock words were read, when the stopped
         * threads were held: a reading that stands shows the thread as it
         * was then, as a stop of everything would.  A thread that a
         * released thread woke fails its check and is read again. */
        if (err == 0 && cap->n_stopfree > 0)
                err = settle_stopfree(cap, opts);
        seize_release(cap);
        /* the window: from the first stop to the release of the batches,
         * plus the hold of each thread stopped after them */
        if (stopped_any || n_held > 0 || n_preseized > 0)
                cap->stop_end_us = released_us + cap->late_hold_us;
        else
                cap->stop_end_us = cap->stop_begin_us + cap->late_hold_us;
        /* ---- released ---- */
        /* the CPUs' clocks are visited once the threads run again: it
         * costs a thread of ours and a migration per CPU */
        (void) capture_align_sched_clocks(cap, now_mono_us);
        capture_fds(cap);
        capture_process_late(cap);
        capture_recover_thread_pointers(cap);

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
        struct testname_registry *registry;     /* Catch2's and doctest's names, or NULL */
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
                return testname_recognise_in(lt, c->registry);
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
        int r = testname_recognise_in(lt, c->registry);
        if (r == 0)
                c->slots[h] = i + 1;
        return r;
}

/* Reads len bytes of code at addr from the module's file. */
static bool read_code(struct modules *mods, uint64_t addr, uint8_t *buf, size_t len)
{
        for (size_t i = 0; i < len; i += 8) {
                uint64_t w;
                if (!modules_read_file_word(mods, addr + i, &w))
                        return false;
                memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
        }
        return true;
}

/* Whether the code at ret is right after a call instruction: 1 for a
 * direct call (call rel32), its target in *target; 2 for an indirect one
 * (call *reg, call *disp8(reg), call *disp32(reg), call *[rip+disp32]),
 * whose target is not known; 0 when ret is no return address.  Read from
 * the module's file. */
static int after_call(struct modules *mods, uint64_t ret, uint64_t *target)
{
        const struct map_entry *m = map_entries_find(mods->maps, mods->n_maps, ret);
        uint64_t w;
        if (!m || m->perms[2] != 'x' || ret < 8 || !modules_read_file_word(mods, ret - 8, &w))
                return 0;
        uint8_t b[8];
        memcpy(b, &w, sizeof b);        /* b[7] is the byte before ret */
        if (b[3] == 0xe8) {
                int32_t rel;
                memcpy(&rel, b + 4, sizeof rel);
                *target = ret + (uint64_t) (int64_t) rel;
                return 1;
        }
        if ((b[6] == 0xff && (b[7] & 0xf8) == 0xd0) || (b[5] == 0xff && (b[6] & 0xf8) == 0x50) ||
            (b[2] == 0xff && (b[3] == 0x15 || (b[3] & 0xf8) == 0x90)))
                return 2;
        /* a signal handler returns to the trampoline the kernel's signal
         * frame names (mov $15,%rax; syscall: rt_sigreturn), called by
         * no one */
        static const uint8_t restorer[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
        uint8_t c[16];
        if (read_code(mods, ret, c, sizeof c) && memcmp(c, restorer, sizeof restorer) == 0)
                return 2;
        return 0;
}

/* The start of the function that holds pc: its symbol, else (stripped
 * code) the start of the unwind rule that holds pc when that rule begins
 * right after a frame-pointer prologue (push %rbp; mov %rsp,%rbp, after an
 * endbr64 or not).  Returns false when neither is known. */
static bool function_start(struct modules *mods, uint64_t pc, uint64_t *ret)
{
        Dwfl_Module *m = dwfl_addrmodule(mods->dwfl, pc);
        if (!m)
                return false;
        GElf_Off off;
        GElf_Sym sym;
        if (dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL, NULL)) {
                *ret = pc - off;
                return true;
        }
        Dwarf_Addr bias;
        Dwarf_CFI *cfi = dwfl_module_eh_cfi(m, &bias);
        Dwarf_Frame *frame = NULL;
        if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0)
                return false;
        Dwarf_Addr start, end;
        bool signalp;
        int k = dwarf_frame_info(frame, &start, &end, &signalp);
        free(frame);
        uint8_t c[8];
        start += bias;
        if (k < 0 || start < 8 || !read_code(mods, start - 8, c, sizeof c) ||
            c[4] != 0x55 || c[5] != 0x48 || c[6] != 0x89 || c[7] != 0xe5)
                return false;
        bool endbr = c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa;
        *ret = start - (endbr ? 8 : 4);
        return true;
}

/* Whether frame f is where stacks begin (the entry of a program or a
 * thread, whose unwind information says there is no caller): an unwind
 * that ends there lost nothing. */
static bool outermost_frame(struct modules *mods, const struct unwound_frame *f)
{
        static const char *const entries[] = { "_start", "clone", "clone3", "__clone", "__clone3",
                                               "__clone_internal", "thread_start" };
        uint64_t pc = f->activation ? f->pc : f->pc - 1;
        Dwfl_Module *m = dwfl_addrmodule(mods->dwfl, pc);
        const char *name = m ? dwfl_module_addrname(m, pc) : NULL;
        if (!name)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
                if (streq(name, entries[i]))
                        return true;
        return false;
}

/* The distance from the stack pointer to the frame pointer in the body of
 * a frame-pointer function starting at start, from its prologue: [endbr64]
 * push %rbp; mov %rsp,%rbp; push of callee-saved registers; sub $n,%rsp.
 * Returns false when the prologue is not of that shape. */
static bool prologue_frame_size(struct modules *mods, uint64_t start, uint64_t *ret)
{
        uint8_t c[32];
        if (!read_code(mods, start, c, sizeof c))
                return false;
        size_t i = 0;
        if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
                i = 4;
        if (c[i] != 0x55 || c[i + 1] != 0x48 || c[i + 2] != 0x89 || c[i + 3] != 0xe5)
                return false;
        i += 4;
        uint64_t size = 0;
        while (i + 2 < sizeof c) {
                if (c[i] >= 0x50 && c[i] <= 0x57) {
                        size += 8;
                        i++;
                } else if (c[i] == 0x41 && c[i + 1] >= 0x50 && c[i + 1] <= 0x57) {
                        size += 8;
                        i += 2;
                } else {
                        break;
                }
        }
        if (i + 7 <= sizeof c && c[i] == 0x48 && c[i + 1] == 0x83 && c[i + 2] == 0xec) {
                size += c[i + 3];
        } else if (i + 7 <= sizeof c && c[i] == 0x48 && c[i + 1] == 0x81 && c[i + 2] == 0xec) {
                uint32_t n;
                memcpy(&n, c + i + 3, sizeof n);
                size += n;
        }
        *ret = size;
        return true;
}

/* How far around the prologue's answer a frame record is looked for
 * (arguments pushed for a call, a stack realigned), and how many places
 * are tried. */
#define FP_SLACK_BELOW 16
#define FP_SLACK_ABOVE 128
#define FP_CANDIDATES 4

/* A thread read from its syscall line has no frame pointer (rbp): a
 * frame-pointer function above a call that saved none (main above pause(),
 * a -O0 function above __lll_lock_wait) cannot be unwound.  Its rbp is at
 * a fixed distance above its stack pointer, which its prologue tells
 * (push %rbp; mov %rsp,%rbp; pushes; sub $n,%rsp), and points at its frame
 * record: the caller's rbp, then a return address right after a call of
 * this function.  Each such place near the prologue's answer is tried as
 * rbp, nearest first; one is kept when the unwind it gives repeats the
 * first and goes further.  *st is replaced then.  Returns 0 or -ENOMEM. */
/* What recover_frame_pointer learns of the pc where a walk ended, kept per
 * pc: libdw's symbol lookups scan a module's whole symbol table, and the
 * threads of a pool end their walks at the same few pcs. */
#define FP_CACHE_SIZE 256
struct fp_cache {
        struct fp_cache_entry {
                uint64_t pc;            /* 0: empty */
                bool recoverable;       /* not outermost, a frame-pointer prologue */
                uint64_t callee, size;  /* its function's start, frame size */
        } e[FP_CACHE_SIZE];
};

static const struct fp_cache_entry *fp_cache_get(struct fp_cache *c, struct modules *mods,
                                                 const struct unwound_frame *last)
{
        struct fp_cache_entry tmp, *e = c ? &c->e[(last->pc * 0x9e3779b97f4a7c15ull) >> 56] : &tmp;
        if (c && e->pc == last->pc)
                return e;
        *e = (struct fp_cache_entry) { .pc = last->pc };
        e->recoverable = !outermost_frame(mods, last) &&
                         function_start(mods, last->activation ? last->pc : last->pc - 1, &e->callee) &&
                         prologue_frame_size(mods, e->callee, &e->size);
        return c ? e : NULL;
}

static int recover_frame_pointer(const struct unwinder *unwinder, void *ustate, struct modules *mods,
                                 struct fp_cache *cache, const struct thread_capture *t, unsigned max_frames,
                                 struct unwound_stack *st)
{
        /* a walk cut by the window, the frame limit or an alternate
         * signal stack ended for a reason of its own */
        if (!t->regs_partial || t->fp_guessed || !t->stack || st->n == 0 ||
            (st->note && st->note != unwind_note_no_cfi))
                return 0;
        const struct unwound_frame *last = &st->frames[st->n - 1];
        const struct fp_cache_entry *e = fp_cache_get(cache, mods, last);
        if (!e || !e->recoverable)
                return 0;
        uint64_t callee = e->callee, size = e->size;
        uint64_t at = last->sp + size, end = t->stack_addr + t->stack_len;
        uint64_t lo = at - FP_SLACK_BELOW > last->sp ? at - FP_SLACK_BELOW : last->sp;
        unsigned tried = 0;
        /* nearest first: at, then alternately above and below */
        for (uint64_t d = 0; d <= FP_SLACK_ABOVE && tried < FP_CANDIDATES; d += 8) {
                for (int side = 0; side < 2 && tried < FP_CANDIDATES; side++) {
                        if (d == 0 && side == 1)
                                continue;
                        uint64_t r = side == 0 ? at + d : at - d;
                        if ((side == 1 && (d > FP_SLACK_BELOW || r < lo)) || r + 16 > end)
                                continue;
                        uint64_t saved, ret, target = 0;
                        if (!unwind_read_stack(t, r, &saved) || !unwind_read_stack(t, r + 8, &ret))
                                continue;
                        /* a direct call must have called this function (a
                         * stale record of an earlier call called another) */
                        int call = after_call(mods, ret, &target);
                        if (call == 0 || (call == 1 && target != callee))
                                continue;
                        tried++;
                        struct thread_capture guess = *t;
                        guess.regs.rbp = r;
                        guess.fp_guessed = true;
                        struct unwound_stack st2 = {0};
                        int k = unwinder->unwind_thread(ustate, &guess, max_frames, &st2);
                        bool better = k == 0 && st2.n > st->n;
                        for (size_t i = 0; better && i < st->n; i++)
                                better = st2.frames[i].pc == st->frames[i].pc && st2.frames[i].sp == st->frames[i].sp;
                        if (better) {
                                free(st->frames);
                                *st = st2;
                                return 0;
                        }
                        free(st2.frames);
                        if (k == -ENOMEM)
                                return k;
                }
        }
        return 0;
}

/* Unwinds t (a captured thread, or a creator's copy) and appends its
 * symbolized frames to *frames.  Returns 0 or a negative errno; *note gets the
 * unwinder's note. */
static int unwind_and_symbolize(const struct unwinder *unwinder, void *ustate, struct modules *mods,
                                struct fp_cache *cache, struct symbolizer *sym,
                                const struct thread_capture *t, unsigned max_frames,
                                struct leakscan_frame **frames, size_t *n, const char **note)
{
        struct unwound_stack st = {0};
        size_t first = *n;
        int r = unwinder->unwind_thread(ustate, t, max_frames, &st);
        if (r >= 0)
                r = recover_frame_pointer(unwinder, ustate, mods, cache, t, max_frames, &st);
        for (size_t k = 0; r >= 0 && k < st.n; k++) {
                size_t before = *n;
                r = symbolize_pc(sym, st.frames[k].pc, st.frames[k].activation, frames, n);
                for (size_t i = before; r >= 0 && i < *n; i++)
                        (*frames)[i].sp = st.frames[k].sp;
        }
        free(st.frames);
        if (r >= 0)
                unwind_end_at_root(*frames, first, n, &st.note);
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
        /* none (out of memory): every lookup is made afresh */
        _cleanup_free_ struct fp_cache *fpc = calloc(1, sizeof *fpc);
        struct python_snapshot *py = NULL;
        const char *py_note = NULL;
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
        /* CPython's frames live on its heap, not on the stacks copied:
         * read now, after the release (python.c says why that is sound) */
        r = python_snapshot_read(mods, &py, &py_note);
        if (r < 0)
                goto out_detach;
        for (size_t i = 0; py && i < cap->n_threads; i++)
                if (!cap->threads[i].vanished && cap->threads[i].regs_valid)
                        python_bind_thread(py, cap->threads[i].tid, arch_regs_tls(&cap->threads[i].regs));

        p->threads = calloc(cap->n_threads, sizeof *p->threads);
        if (!p->threads) {
                r = -ENOMEM;
                goto out_detach;
        }
        tests.size = 64;
        while (tests.size < cap->n_threads * 2)
                tests.size *= 2;
        tests.slots = calloc(tests.size, sizeof *tests.slots);       /* none: no cache */
        /* registries are read from the process after its release (pid
         * mode) or while it is held (--at-exit): written once, when the
         * test binary starts, they do not change under us */
        tests.registry = testname_registry_for(mods);      /* none: tests named by place */
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
                        r = unwind_and_symbolize(unwinder, ustate, mods, fpc, sym, t, opts->max_frames,
                                                 &lt->frames, &lt->n_frames, &lt->unwind_note);
                        if (r == 0 && py && python_in_eval(lt->frames, lt->n_frames))
                                r = python_recover_thread(py, mods->maps, mods->n_maps, lt->tid, lt->tls, t->stack,
                                                          t->stack_len);
                        if (r == 0)
                                r = python_merge(py, lt->tid, &lt->frames, &lt->n_frames);
                        if (py_note && !lt->unwind_note && python_in_eval(lt->frames, lt->n_frames))
                                lt->unwind_note = py_note;
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
                        r = unwind_and_symbolize(unwinder, ustate, mods, fpc, sym, creator, opts->max_frames,
                                                 &lt->created_by, &lt->n_created_by, &note);
                        /* its Python frames, read when it created the thread */
                        if (r == 0)
                                r = python_merge_stack(creators->python ?
                                                       creators->python(creators->userdata, creator) : NULL,
                                                       &lt->created_by, &lt->n_created_by);
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
                lt->has_wait_address = cr.has_wait_address;
                lt->wait_address = cr.wait_address;
                /* CPython's lock: whoever holds it hands it on within its
                 * switch interval; a wait of its own, timed, never a leak */
                if (cr.has_wait_address && python_waits_for_gil(py, cr.wait_address))
                        lt->state = LEAKSCAN_STATE_GIL;
                /* threading.RLock keeps its owner: an edge of the wait-for
                 * graph, as a mutex's owner is */
                if (py && cr.has_wait_address && lt->state == LEAKSCAN_STATE_SEMAPHORE && !lt->timeout)
                        lt->owner_tid = python_rlock_owner(py, mods->maps, mods->n_maps, cr.wait_address, t->stack,
                                                           t->stack_addr, t->stack_len, lt->frames, lt->n_frames);
                lt->has_futex_value = t->has_futex_word;
                lt->futex_value = t->futex_word;
                int fd_arg = capture_syscall_fd_arg(lt->syscall_nr);
                if (fd_arg >= 0) {
                        lt->wait_fd = (int) lt->syscall_args[fd_arg];
                        lt->fd_target = TAKE_PTR(t->fd_target);
                }
                lt->blocked_ms = lt->state == LEAKSCAN_STATE_RUNNING ? 0 : snapshot_blocked_ms(cap, blocked, t);
        }
        r = analyse_process(cap, mods, p);
        for (size_t i = 0; r == 0 && py && i < p->n_threads; i++)
                r = python_describe_wait(&p->threads[i]);
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
        testname_registry_free(tests.registry);
        python_snapshot_free(py);
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

int inspect_capture_pid(pid_t pid, const struct leakscan_options *opts, struct process_capture **ret_cap,
                        struct leakscan_report **ret_report)
{
        struct process_capture *cap = NULL;
        int r = inspect_snapshot(pid, opts, NULL, 0, &cap);
        if (r < 0)
                return r;
        /* ---- the target runs again: what follows only reads ---- */
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
        *ret_cap = cap;
        *ret_report = report;
        return 0;
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
        struct leakscan_report *report = NULL;
        int r = inspect_capture_pid(pid, opts, &cap, &report);
        if (r < 0)
                return r;
        struct leakscan_process *p = &report->processes[0];
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

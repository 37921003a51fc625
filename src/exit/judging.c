/* Judging glue: what the supervisor hands the -p pipeline (snapshot,
 * analyse, judge) for one exiting process, and the report entries, answers
 * and bookkeeping around it.  A failure to judge is the report's, never the
 * program's: it goes into the process's inspect_error. */
#include "analysis/classify.h"
#include "analysis/symbolize.h"
#include "analysis/testname.h"
#include "capturer.h"
#include "exit/exit.h"
#include "model.h"
#include "procwire.h"
#include "sandbox.h"

static unsigned sv_analysers_failed;

unsigned supervise_analysers_failed(void)
{
        return sv_analysers_failed;
}

/* ---- judging ---- */

struct leakscan_process *sv_report_add(struct supervisor *sv)
{
        struct leakscan_report *r = sv->report;
        struct leakscan_process *np = realloc(r->processes, (r->n_processes + 1) * sizeof *np);
        if (!np)
                return NULL;
        r->processes = np;
        struct leakscan_process *p = &np[r->n_processes++];
        *p = (struct leakscan_process) {0};
        return p;
}

/* Whether process pid has ended or is ending (a fatal signal kills its
 * threads one by one): watched for up to 100 ms, since a live process whose
 * exit we hold does not fail an analysis by itself. */
static bool sv_process_ending(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        for (int i = 0; i < 100; i++) {
                _cleanup_free_ char *text = NULL;
                struct proc_stat ps;
                ssize_t n = read_full_file(path, &text);
                /* a failure of ours (out of descriptors) says nothing of it */
                if (n < 0)
                        return n == -ENOENT || n == -ESRCH;
                if (procfs_parse_stat(text, &ps) == 0 && (ps.state == 'Z' || ps.state == 'X'))
                        return true;
                usleep(1000);
        }
        return false;
}

/* One sentence for the report saying why process pid's threads could not be
 * checked, when the snapshot (snapshot true) or the analysis of its copy
 * failed with err.  Returns a new string, or NULL without memory. */
static char *sv_describe_judge_error(pid_t pid, int err, bool snapshot)
{
        char buf[640], path[64];
        struct stat st;
        /* a non-dumpable process's /proc files (not its folder) belong to
         * root; a process that died has none, or is a zombie */
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        if ((snapshot && err == -ESRCH) || sv_process_ending(pid)) {
                snprintf(buf, sizeof buf, "its threads could not be checked: the process ended (it was killed) "
                         "while leakscan held its exit, before %s", snapshot ? "they could be stopped" :
                         "their stacks were unwound");
        } else if (snapshot && err == -EPERM && geteuid() != 0 && stat(path, &st) == 0 && st.st_uid == 0) {
                /* a non-dumpable process's /proc files belong to root */
                snprintf(buf, sizeof buf, "its threads could not be checked: the process made itself non-dumpable "
                         "(prctl PR_SET_DUMPABLE 0), which only a tracer with CAP_SYS_PTRACE may stop; "
                         "run leakscan with that capability to check it");
        } else if (snapshot) {
                char why[512];
                snprintf(buf, sizeof buf, "its threads could not be checked: %s",
                         leakscan_describe_error(err, pid, why, sizeof why));
        } else {
                snprintf(buf, sizeof buf, "its threads were stopped and copied, but the copy could not be "
                         "unwound and analysed (%s%s)", err == -ENOEXEC ? "libdw could not attach: " : "",
                         strerror(-err));
        }
        return strdup(buf);
}

/* The analysis of one exiting process, in its sandboxed analyser. */
struct sv_analysis {
        struct process_capture *cap;
        const struct leakscan_options *opts;
        const struct creator_lookup *creators;
        struct leakscan_process *lp;
        size_t places_since;    /* the places the supervisor kept (symbolize.h) */
};

/* LEAKSCAN_TEST_PLACES (for the tests and the benchmarks): "off" keeps no
 * places; any other value has each analyser say on stderr how many of the
 * places it inherited it used. */
static const char *sv_test_places(void)
{
        return getenv("LEAKSCAN_TEST_PLACES");
}

static int sv_analyse_in_child(void *userdata)
{
        struct sv_analysis *a = userdata;
        symbolize_places_mark();
        int r = inspect_analyse(a->cap, a->opts, a->creators, a->lp);
        sandbox_note_module(NULL);
        if (r < 0) {
                sandbox_note_error(r);
                return 3;
        }
        if (sv_test_places())
                fprintf(stderr, "leakscan: analyser of %d: %zu places inherited, %zu lookups answered by them, "
                        "%zu places looked up\n", (int) a->cap->pid, a->places_since, symbolize_places_hits(),
                        symbolize_places_count() - a->places_since);
        /* the places first, then the answer (procwire.h) */
        return procwire_write_places(stdout, a->places_since) < 0 || procwire_write(stdout, a->lp) < 0 ||
               fflush(stdout) != 0 ? 3 : 0;
}

/* What the supervisor checks an analyser's places against: the files the
 * judged process maps, as the supervisor opens them itself (looked up on
 * the first place offered). */
struct sv_places_check {
        const struct process_capture *cap;
        bool loaded;
        struct module_file_stat *files;
        size_t n_files;
};

/* Keeps place when it lies in a file the judged process maps: an analyser
 * (which parsed what the target controls) can at worst mislabel places of
 * files this process maps for the processes judged after it that map them
 * too (docs/SECURITY.md). */
static void sv_keep_place(const struct symbolize_place *place, void *userdata)
{
        struct sv_places_check *c = userdata;
        if (!c->loaded) {
                c->loaded = true;
                if (modules_mapped_file_stats(c->cap->pid, c->cap->maps_text, &c->files, &c->n_files) < 0)
                        c->n_files = 0;
        }
        for (size_t i = 0; i < c->n_files; i++)
                if (memcmp(&c->files[i], &place->id.main, sizeof place->id.main) == 0) {
                        (void) symbolize_places_add(place);
                        return;
                }
}

static void sv_ignore_place(const struct symbolize_place *place, void *userdata)
{
        (void) place; (void) userdata;
}

/* Runs the test-name patterns once over the frames every glibc process
 * shows at its exit (names, not anything a target wrote): glibc's regexec
 * builds its matcher's states lazily, on the first strings that need them,
 * so states built here are inherited by every analyser's fork instead of
 * being built again in each.  Nothing is kept but those states. */
static void sv_warm_patterns(void)
{
        static const char *const names[] = {
                "_exit", "__GI__exit", "__run_exit_handlers", "exit", "__libc_start_call_main",
                "__libc_start_main_impl", "__libc_start_main", "_start", "main", "start_thread",
                "__GI___clone3", "clone3", "__futex_abstimed_wait_common", "__pthread_clockjoin_ex",
                "pthread_join", "__GI___poll", "g_main_context_iterate", "g_thread_proxy",
                "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)()> > >::_M_run()",
        };
        struct leakscan_frame frames[ARRAY_SIZE(names)];
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                frames[i] = (struct leakscan_frame) { .function = (char *) names[i] };
        struct leakscan_thread t = { .frames = frames, .n_frames = ARRAY_SIZE(frames) };
        (void) testname_recognise(&t);
        if (t.test) {   /* none is expected: these are no test's */
                free(t.test->name);
                free(t.test->file);
                free(t.test);
        }
}

/* inspect_analyse of cap into lp, in a confined analyser (capturer.h)
 * unless LEAKSCAN_ANALYSE_IN_PROCESS: the program's exit is held meanwhile,
 * and the analyser may take no longer than the sandbox's wall-clock limit,
 * nor than --timeout.  Returns 0, the analysis's negative errno, or
 * -ECANCELED when the analyser died, ran out of time or said what does not
 * parse (*why says which, for the report). */
static int sv_analyse(struct supervisor *sv, struct process_capture *cap, const struct creator_lookup *creators,
                      struct leakscan_process *lp, char *why, size_t why_size)
{
        static bool prepared;
        if (!prepared) {
                prepared = true;
                /* once here, not in every analyser */
                (void) testname_prepare();
                sv_warm_patterns();
                const char *t = sv_test_places();
                if (t && streq(t, "off"))
                        symbolize_places_enable(false);
        }
        if (capturer_policy.in_process)
                return inspect_analyse(cap, &sv->opts->inspect, creators, lp);
        struct sv_analysis a = { cap, &sv->opts->inspect, creators, lp, symbolize_places_count() };
        struct sandbox_limits limits = SANDBOX_DEFAULT_LIMITS;
        unsigned wall_ms = limits.wall_ms;
        if (sv->opts->timeout_ms > 0 && (uint64_t) sv->opts->timeout_ms < wall_ms)
                wall_ms = (unsigned) sv->opts->timeout_ms;
        struct capturer_outcome out;
        int r = capturer_analyse(cap, REACH_DEFAULT_SCAN_LIMIT, capturer_policy.hold, NULL, 0, wall_ms,
                                 sv_analyse_in_child, &a, &out);
        /* LEAKSCAN_TEST_ANALYSER_CPU (bench/analyser_cpu.py): what each
         * analyser cost, apart from everything else of a run */
        if (getenv("LEAKSCAN_TEST_ANALYSER_CPU") && out.cpu_us)
                fprintf(stderr, "leakscan: analyser of %d: %" PRIu64 " us of CPU, fork %" PRIu64 " us\n",
                        (int) cap->pid, out.cpu_us, out.fork_ns / 1000);
        if (r == 0 && out.status != 0) {
                snprintf(out.why, sizeof out.why, "the analyser failed (exit status %d)", out.status);
                r = -ECANCELED;
        }
        if (r == 0) {
                /* the places are kept only from an answer that parses whole */
                size_t used = 0;
                r = procwire_read_places((const uint8_t *) out.out, out.len, &used, sv_ignore_place, NULL);
                if (r == 0)
                        r = procwire_read((const uint8_t *) out.out + used, out.len - used, lp);
                if (r == 0) {
                        struct sv_places_check check = { .cap = cap };
                        (void) procwire_read_places((const uint8_t *) out.out, out.len, &used, sv_keep_place,
                                                    &check);
                        free(check.files);
                }
                if (r == -EBADMSG) {
                        snprintf(out.why, sizeof out.why, "the analyser's answer does not parse");
                        r = -ECANCELED;
                }
        }
        free(out.out);
        if (r == -ECANCELED) {
                sv_analysers_failed++;
                snprintf(why, why_size, "%s", out.why);
        }
        return r;
}

static void sv_respond(struct supervisor *sv, uint64_t id, int error)
{
        struct seccomp_notif_resp resp = { .id = id };
        if (error)
                resp.error = -error;
        else
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        /* ENOENT: the thread was killed or interrupted meanwhile */
        (void) ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void sv_respond_continue(struct supervisor *sv, uint64_t id)
{
        sv_respond(sv, id, 0);
}

/* Tells the guardian which notifications may still wait for an answer:
 * received (the one in hand, and the held ones) and not answered. */
void sv_publish_pending(struct supervisor *sv, uint64_t in_hand)
{
        if (!sv->guardian)
                return;
        uint64_t lo = in_hand;
        for (size_t i = 0; i < sv->n_procs; i++)
                for (size_t j = 0; j < sv->procs[i].n_holds; j++) {
                        const struct sv_hold *h = &sv->procs[i].holds[j];
                        if (!h->answered && (int64_t) (h->id - lo) < 0)
                                lo = h->id;
                }
        sv->guardian->lo = lo;
        if (!sv->guardian->known || (int64_t) (in_hand - sv->guardian->hi) > 0)
                sv->guardian->hi = in_hand;
        sv->guardian->known = 1;
}

/* Remembers tid as a tracee of ours that has not stopped yet. */
void sv_add_lingering(struct supervisor *sv, pid_t tid)
{
        if (tid == sv->main_pid)
                return;         /* its stops and its end are supervise_run's */
        pid_t *l = realloc(sv->lingering, (sv->n_lingering + 1) * sizeof *l);
        if (l) {
                sv->lingering = l;
                sv->lingering[sv->n_lingering++] = tid;
        }
}

/* Whether thread t of pid, stopped, has run nothing since the clone that
 * created it: its last kernel entry is that clone (orig_rax) and it returned
 * 0 there (the child's side), it stands just after the syscall instruction,
 * and we saw the clone made (its creator is known).  Its start routine has not begun: the stack
 * above its pc is the new thread's fresh one, not frames. */
static bool sv_in_clone_trampoline(struct supervisor *sv, pid_t pid, const struct thread_capture *t)
{
        if (!t->regs_valid || t->regs_partial)
                return false;
        long nr = arch_regs_syscall_nr(&t->regs);
        if (nr != ARCH_SECCOMP_NATIVE->clone && nr != ARCH_SECCOMP_NATIVE->clone3)
                return false;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (arch_regs_pc(&t->regs) - sizeof insn), sizeof insn };
        return arch_regs_retval(&t->regs) == 0 && sv_find_creator(sv, pid, t) &&
               process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t) sizeof insn &&
               arch_is_syscall_insn(insn);
}

/* What the report says of a thread still in its clone trampoline at the
 * trap (sv_in_clone_trampoline): its one real frame is the clone's, what
 * an unwinder finds above it is the new stack's first words; its creator
 * (created_by) says what it was made for. */
static void sv_note_trampoline(struct leakscan_thread *lt)
{
        for (size_t i = 1; i < lt->n_frames; i++) {
                free(lt->frames[i].function);
                free(lt->frames[i].file);
                free(lt->frames[i].module);
        }
        if (lt->n_frames > 1)
                lt->n_frames = 1;
        lt->top_frame = classify_top_frame(lt->frames, lt->n_frames);
        lt->unwind_note = "it had not started: still in the clone that created it when the exit began, it ran "
                          "none of its start routine (directly, exit_group kills it there); see who created it";
}

/* Seizes the group leader of pid, when the snapshot would seize it (it is
 * neither in held, read from /proc, nor in preseized, stopped by the
 * quarantine), with PTRACE_O_TRACEEXIT, as the quarantine does
 * (sv_q_seize_options): should it never stop for the snapshot, it stays our
 * tracee, and a leader traced as it becomes a zombie is shown to its tracer
 * only while its pidfd polls readable already.  With the option it stops at
 * its exit event, before it is a zombie, and the loop lets it go there
 * (sv_reap_lingering, or supervise_run's wait for the program's main
 * thread).  The snapshot finds it our tracee already and stops and releases
 * it as any other.  Returns whether it was seized here. */
static bool sv_seize_leader(pid_t pid, const pid_t *held, size_t n_held, const pid_t *preseized,
                            size_t n_preseized)
{
        for (size_t i = 0; i < n_held; i++)
                if (held[i] == pid)
                        return false;
        for (size_t i = 0; i < n_preseized; i++)
                if (preseized[i] == pid)
                        return false;
        return ptrace(PTRACE_SEIZE, pid, 0, (void *) (long) PTRACE_O_TRACEEXIT) == 0;
}

/* Snapshots process pid into lp (its identity read already): held threads,
 * and quarantined ones that were never stopped (asleep at the trap, or
 * waiting for our answer), as /proc shows them, without a stop; stopped ones
 * as they stand.  Once the copy is made, resume (if not NULL) is called
 * with sp: the analysis runs on the copy.  A failure is lp's inspect_error.
 * Returns 0, 1 when it failed (said in lp), or -ENOMEM when not even that
 * could be recorded. */
static int sv_snapshot_into(struct supervisor *sv, pid_t pid, const pid_t *held, size_t n_held,
                            struct sv_process *sp, struct leakscan_process *lp,
                            void (*resume)(struct sv_process *sp))
{
        struct sv_quarantine *q = sp && sp->q.active && !sp->q.released ? &sp->q : NULL;
        _cleanup_free_ pid_t *proc_read = NULL, *preseized = NULL;
        size_t n_proc_read = n_held, n_preseized = 0;
        if (q) {
                proc_read = calloc(n_held + q->n + 1, sizeof *proc_read);
                preseized = calloc(q->n + 1, sizeof *preseized);
                if (!proc_read || !preseized)
                        return -ENOMEM;
                if (n_held)
                        memcpy(proc_read, held, n_held * sizeof *held);
                for (size_t i = 0; i < q->n; i++) {
                        const struct sv_qthread *qt = &q->threads[i];
                        if ((qt->state == SVQ_STOPPED || qt->state == SVQ_HELD) && !qt->in_notif)
                                preseized[n_preseized++] = qt->tid;
                        else if (qt->state != SVQ_GONE)
                                proc_read[n_proc_read++] = qt->tid;
                }
                held = proc_read;
                lp->has_exit_stop = q->has_stop_us;
                lp->exit_stop_us = q->stop_us;
        }
        bool leader_seized = sv_seize_leader(pid, held, n_proc_read, preseized, n_preseized);
        struct process_capture *cap = NULL;
        int r = inspect_snapshot_preseized(pid, &sv->opts->inspect, held, n_proc_read, preseized, n_preseized, &cap);
        /* ours until it stops, whatever the snapshot made of it (read from
         * /proc in D, or failed): the loop takes its stop.  One the
         * snapshot stopped and released is no tracee of ours any more
         * (seize_release_thread clears seized then): not lingering */
        const struct thread_capture *leader = leader_seized && r >= 0 ? process_capture_find(cap, pid) : NULL;
        if (leader_seized && (!leader || leader->vanished || (!leader->seized && !leader->was_stopped)))
                sv_add_lingering(sv, pid);
        if (resume)
                resume(sp);
        if (r < 0) {
                lp->not_inspected = true;
                free(lp->inspect_error);
                lp->inspect_error = sv_describe_judge_error(pid, r, true);
                return 1;
        }
        /* a thread stopped at a syscall's entry: described as in that call
         * (a held one's live registers were rewritten: see sv_q_hold) */
        for (size_t i = 0; q && i < q->n; i++) {
                const struct sv_qthread *qt = &q->threads[i];
                struct thread_capture *t = process_capture_find(cap, qt->tid);
                if (!t || t->vanished || !t->regs_valid || qt->in_notif)
                        continue;
                /* our first stop woke it from that wait, and the scheduler's
                 * last-ran time is now ours: how long it had waited before
                 * is unknown, not 0 */
                if (qt->woken)
                        t->has_exec_start = false;
                /* restart_syscall resumes the last call our stops ended:
                 * name that one (its arguments are still in the registers) */
                if (t->syscall_nr == SYS_restart_syscall && qt->last_call >= 0)
                        t->syscall_nr = qt->last_call;
                /* asleep at the trap in a call our stop ended with some
                 * progress (a short write): still in that call */
                long nr = arch_regs_syscall_nr(&t->regs);
                if (qt->asleep && !qt->at_entry && t->syscall_nr < 0 && nr >= 0) {
                        t->syscall_nr = nr;
                        uint64_t args[6];
                        arch_regs_syscall_args(&t->regs, args);
                        int fd_arg = syscalls_fd_arg(nr);
                        if (fd_arg >= 0)
                                t->wait_fd = (int) args[fd_arg];
                } else if (!(qt->at_entry && (qt->state == SVQ_STOPPED || qt->state == SVQ_HELD))) {
                        continue;
                } else {
                        arch_regs_at_syscall_entry(&t->regs, qt->nr, qt->args, qt->entry_pc);
                        t->syscall_nr = qt->nr == SYS_restart_syscall && qt->last_call >= 0 ? qt->last_call : qt->nr;
                        nr = qt->nr;
                }
                uint64_t args[6];
                arch_regs_syscall_args(&t->regs, args);
                /* the file its fd argument names (capture_fds saw no call) */
                int fd_arg = syscalls_fd_arg(nr);
                char path[64], target[512];
                snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) pid, fd_arg >= 0 ? (int) args[fd_arg] : -1);
                ssize_t len = fd_arg >= 0 && !t->fd_target ? readlink(path, target, sizeof target - 1) : -1;
                if (len > 0) {
                        target[len] = 0;
                        t->fd_target = strdup(target);
                }
        }
        /* threads that have not started (their stacks are no frames yet) */
        _cleanup_free_ pid_t *unstarted = NULL;
        size_t n_unstarted = 0;
        for (size_t i = 0; q && i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished || !sv_in_clone_trampoline(sv, pid, t))
                        continue;
                if (!unstarted && !(unstarted = calloc(cap->n_threads, sizeof *unstarted))) {
                        process_capture_free(cap);
                        return -ENOMEM;
                }
                unstarted[n_unstarted++] = t->tid;
        }
        lp->n_vanished = cap->n_vanished;
        lp->incomplete = cap->incomplete;
        lp->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->seized && !t->vanished)
                        sv_add_lingering(sv, t->tid);
        }
        struct creator_lookup creators = { sv_find_creator, sv, sv_creator_python };
        char why[768] = "";
        sv_realtime_pause();    /* the main loop takes it back */
        r = sv_analyse(sv, cap, &creators, lp, why, sizeof why);
        process_capture_free(cap);
        if (r == -ECANCELED) {
                /* no threads to judge: the analyser's, if any, are gone */
                lp->not_inspected = true;
                free(lp->inspect_error);
                char buf[1024];
                snprintf(buf, sizeof buf, "its threads were stopped and copied, but not checked: %s; leakscan "
                         "exits 3 unless the program failed", why);
                lp->inspect_error = strdup(buf);
                return 1;
        }
        for (size_t i = 0; q && r == 0 && i < lp->n_threads; i++) {
                struct leakscan_thread *lt = &lp->threads[i];
                const struct sv_qthread *qt = sv_q_find(q, lt->tid);
                if (!qt)
                        continue;
                /* read from /proc as if held in exit_group: exiting only if
                 * it is in an exit of its own */
                /* interrupted at the trap, not stopped within
                 * --stop-timeout (runnable but never scheduled, or in
                 * an uninterruptible sleep): read from /proc alone, where
                 * a thread on a CPU shows no registers.  Said, never a
                 * silent "running" with no frames */
                for (size_t k = 0; k < n_unstarted; k++)
                        if (unstarted[k] == lt->tid)
                                sv_note_trampoline(lt);
                if (qt->state == SVQ_PENDING && lt->n_frames == 0 && !lt->unwind_note)
                        lt->unwind_note = "it did not stop within --stop-timeout of the exit (it was not "
                                          "scheduled meanwhile): its registers could not be read, no stack";
                lt->exiting = qt->exiting ||
                        (qt->state != SVQ_STOPPED && qt->state != SVQ_HELD &&
                         (lt->syscall_nr == ARCH_SECCOMP_NATIVE->exit || lt->syscall_nr == ARCH_SECCOMP_NATIVE->exit_group));
                if (qt->state == SVQ_HELD && !qt->exiting && !qt->restarted && !qt->held_sig &&
                    !(lt->held_call = sv_q_describe_call(qt)))
                        r = -ENOMEM;
        }
        if (r < 0) {
                /* what was analysed stays listed, judged by nobody */
                judge_nothing_leaked(lp);
                lp->not_inspected = lp->n_threads == 0;
                free(lp->inspect_error);
                lp->inspect_error = sv_describe_judge_error(pid, r, false);
                return 1;
        }
        return 0;
}

static struct judge_policy sv_policy(const struct supervisor *sv, bool everything_leaks)
{
        struct judge_policy policy = sv->opts->judge ? *sv->opts->judge : (struct judge_policy) {0};
        policy.mode = everything_leaks ? JUDGE_TIMEOUT : JUDGE_AT_EXIT;
        return policy;
}

void sv_judge_trap(struct supervisor *sv, struct sv_process *p, void (*resume)(struct sv_process *p))
{
        struct sv_quarantine *q = &p->q;
        q->trap_taken = true;
        struct leakscan_process *lp = calloc(1, sizeof *lp);
        _cleanup_free_ pid_t *held = sv_held_tids(p);
        if (!lp || !held) {
                free(lp);
                if (resume)
                        resume(p);
                q->trap_taken = false;  /* judged at the end instead */
                return;
        }
        lp->pid = p->pid;
        inspect_read_identity(lp);
        int r = sv_snapshot_into(sv, p->pid, held, p->n_holds, p, lp, resume);
        if (r < 0) {
                process_free_contents(lp);
                free(lp);
                q->trap_taken = false;
                return;
        }
        q->trap_failed = r > 0;
        /* which threads could be reported: the grace waits for no other */
        struct judge_policy policy = sv_policy(sv, false);
        if (!q->trap_failed)
                (void) judge_process(lp, &policy);
        q->trap = lp;
}

bool sv_trap_could_report(const struct sv_process *p, pid_t tid)
{
        const struct leakscan_process *lp = p->q.trap;
        if (!lp || p->q.trap_failed)
                return true;
        for (size_t i = 0; i < lp->n_threads; i++)
                if (lp->threads[i].tid == tid)
                        return lp->threads[i].leaked;
        return true;    /* not in the snapshot: unknown */
}

/* The note for a thread held at a signal during the grace, into
 * lt->held_call.  Returns 0 or -ENOMEM. */
static int sv_note_signal(struct leakscan_thread *lt, const struct sv_qthread *qt)
{
        char buf[200];
        const char *name = sigabbrev_np(qt->held_sig);
        bool fault = qt->held_sig_code > 0 && (qt->held_sig == SIGSEGV || qt->held_sig == SIGBUS ||
                                               qt->held_sig == SIGILL || qt->held_sig == SIGFPE ||
                                               qt->held_sig == SIGTRAP);
        if (fault)
                snprintf(buf, sizeof buf, "SIG%s at 0x%" PRIx64 " (address 0x%" PRIx64 "): crashed during the grace, "
                         "after the process began to exit (a use after destruction?); not delivered",
                         name ? name : "?", qt->held_sig_pc, qt->held_sig_addr);
        else
                snprintf(buf, sizeof buf, "SIG%s at 0x%" PRIx64 ": received during the grace, after the process "
                         "began to exit; not delivered", name ? name : "?", qt->held_sig_pc);
        free(lt->held_call);
        lt->held_call = strdup(buf);
        return lt->held_call ? 0 : -ENOMEM;
}

/* The report of process sp from its trap snapshot: threads that ended during
 * the grace finished and are left out; what the others did after the trap
 * is a note (held_call), never their state. */
static int sv_judge_from_trap(struct supervisor *sv, struct sv_process *sp, bool everything_leaks)
{
        struct sv_quarantine *q = &sp->q;
        struct leakscan_process *lp = sv_report_add(sv);
        if (!lp)
                return -ENOMEM;
        *lp = *q->trap;
        free(q->trap);
        q->trap = NULL;
        if (!q->released)
                sv_q_stop_all(sv, sp);
        size_t k = 0;
        int r = 0;
        for (size_t i = 0; i < lp->n_threads; i++) {
                struct leakscan_thread *lt = &lp->threads[i];
                const struct sv_qthread *qt = sv_q_find(q, lt->tid);
                if (qt && qt->ended && !everything_leaks) {
                        thread_free_contents(lt);
                        continue;
                }
                if (qt && qt->state == SVQ_HELD && qt->held_sig && r == 0)
                        r = sv_note_signal(lt, qt);
                else if (qt && qt->state == SVQ_HELD && !qt->exiting && !qt->restarted && !lt->held_call && r == 0 &&
                         !(lt->held_call = sv_q_describe_call(qt)))
                        r = -ENOMEM;
                lp->threads[k++] = *lt;
        }
        lp->n_threads = k;
        if (r < 0 || q->trap_failed)
                return r;
        struct judge_policy policy = sv_policy(sv, everything_leaks);
        return judge_process(lp, &policy);
}

/* Whether tid, held in its exit, is the only thread of pid: none other
 * exists, and none can appear while it is held (only a thread of the
 * process creates one).  Then nothing of the process can be reported.
 * Fills *st from the thread's stat.  False when unsure. */
static bool sv_exit_alone(pid_t pid, pid_t tid, struct proc_stat *st)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        return read_full_file(path, &text) >= 0 && procfs_parse_stat(text, st) == 0 && st->num_threads == 1;
}

/* Process pid's report when its only thread is tid, held in its exit: that
 * thread as /proc shows it, neither copied nor unwound.  Its stack is libc's
 * way out of the program, never a finding, and copying and analysing it is
 * nearly all a judged process costs (docs/PERFORMANCE.md, "A process's only
 * thread"); --all asks for it all the same.  Returns 0 or -ENOMEM. */
static int sv_judge_alone(struct supervisor *sv, pid_t pid, pid_t tid, const struct proc_stat *st,
                          struct leakscan_process *lp)
{
        struct leakscan_thread *lt = calloc(1, sizeof *lt);
        if (!lt)
                return -ENOMEM;
        lt->tid = tid;
        snprintf(lt->name, sizeof lt->name, "%s", st->comm);
        lt->main = tid == pid;
        lt->proc_state = st->state;
        lt->start_time = st->starttime;
        lt->state = LEAKSCAN_STATE_SYSCALL;
        lt->syscall_nr = ARCH_SECCOMP_NATIVE->exit_group;
        lt->syscall = syscalls_name(lt->syscall_nr);
        lt->blocked_ms = -1;
        lt->wait_fd = -1;
        lt->stopped_us = -1;
        lt->exiting = true;
        lt->read = LEAKSCAN_READ_HELD;
        lt->unwind_note = "the process's only thread, in its exit: not unwound (--all unwinds it)";
        lp->threads = lt;
        lp->n_threads = 1;
        struct judge_policy policy = sv_policy(sv, false);
        return judge_process(lp, &policy);
}

/* Judges process pid and adds it to the report: from the snapshot taken at
 * its trap when there is one (sv_judge_trap), else from a snapshot now
 * (held threads as /proc shows them).  everything_leaks: the --timeout
 * report, where every thread counts, the main one included.  A failure is
 * the report's, not ours: it goes into the process's inspect_error, and the
 * program's own status stands.  Returns 0, or -ENOMEM when not even that
 * could be recorded. */
int sv_judge(struct supervisor *sv, pid_t pid, const pid_t *held, size_t n_held, bool everything_leaks)
{
        struct sv_process *sp = sv_find_process(sv, pid);
        int r;
        if (sp && sp->q.trap) {
                r = sv_judge_from_trap(sv, sp, everything_leaks);
        } else {
                struct leakscan_process *lp = sv_report_add(sv);
                if (!lp)
                        return -ENOMEM;
                lp->pid = pid;
                inspect_read_identity(lp);
                if (sp && sp->q.active && !sp->q.released)
                        sv_q_stop_all(sv, sp);
                struct proc_stat st;
                if (!everything_leaks && !sv->opts->unwind_alone && n_held == 1 && !(sp && sp->q.active) &&
                    sv_exit_alone(pid, held[0], &st)) {
                        r = sv_judge_alone(sv, pid, held[0], &st, lp);
                } else {
                        r = sv_snapshot_into(sv, pid, held, n_held, sp, lp, NULL);
                        if (r == 0) {
                                struct judge_policy policy = sv_policy(sv, everything_leaks);
                                r = judge_process(lp, &policy);
                        }
                        r = r > 0 ? 0 : r;
                }
        }
        struct leakscan_report *rep = sv->report;
        struct leakscan_process *lp = rep->n_processes ? &rep->processes[rep->n_processes - 1] : NULL;
        if (r == 0 && lp && lp->pid == pid && sp && sp->q.error && !lp->inspect_error) {
                char buf[320];
                snprintf(buf, sizeof buf, "threads ran on unquarantined after its exit began: leakscan %s",
                         sp->q.error == -EPERM ? "may not trace them (a non-dumpable process needs CAP_SYS_PTRACE)" :
                         sp->q.error == -EBUSY ? "could not trace one, already traced by another process" :
                         "could not trace one");
                lp->inspect_error = strdup(buf);
        }
        return r;
}

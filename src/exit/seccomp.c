/* The seccomp filter that makes --at-exit cost nothing while the program
 * runs: it asks the supervisor (SECCOMP_RET_USER_NOTIF) about exit_group,
 * exit, thread creation and strict mode only, and lets every other call
 * through natively.  Assembled from labelled instructions so that no BPF
 * jump offset is counted by hand.
 *
 * A thread's end is let through without asking when it is made where libc
 * ends a thread: the filter sees only the instruction pointer, so the place
 * is known by its offset in a page (ASLR moves a library by whole pages),
 * learned before the program starts from the libc leakscan runs with
 * (sv_learn_thread_exit).  Every other exit, _exit's fallback above all,
 * is still held. */
#include "exit/exit.h"

#include <linux/futex.h>

/* Where libc ends a thread, learned by sv_learn_thread_exit in the parent
 * before the spawn and read by build_filter in the child it forks. */
static struct {
        bool known;
        uint32_t page_offset;   /* of the address after the syscall instruction */
} thread_exit_site;

/* ---- the seccomp filter ----
 * Written as a list of instructions whose jumps name labels; the assembler
 * below turns labels into the forward offsets classic BPF wants, so that no
 * offset is ever counted by hand. */

#define FILTER_MAX 96
enum { LABEL_NEXT = -1 };       /* a jump's "fall through" */

struct filter_builder {
        struct sock_filter code[FILTER_MAX];
        int jt[FILTER_MAX], jf[FILTER_MAX];     /* labels of jumps */
        int label_at[32];                       /* instruction index, or -1 */
        size_t n;
        int n_labels;
        bool overflow;
};

static int fb_label(struct filter_builder *b)
{
        if (b->n_labels == (int) ARRAY_SIZE(b->label_at)) {
                b->overflow = true;
                return 0;
        }
        b->label_at[b->n_labels] = -1;
        return b->n_labels++;
}

static void fb_place(struct filter_builder *b, int label)
{
        b->label_at[label] = (int) b->n;
}

static void fb_emit(struct filter_builder *b, uint16_t code, uint32_t k, int jt, int jf)
{
        if (b->n == FILTER_MAX) {
                b->overflow = true;
                return;
        }
        b->code[b->n] = (struct sock_filter) BPF_JUMP(code, k, 0, 0);
        b->jt[b->n] = jt;
        b->jf[b->n] = jf;
        b->n++;
}

static void fb_stmt(struct filter_builder *b, uint16_t code, uint32_t k)
{
        fb_emit(b, code, k, LABEL_NEXT, LABEL_NEXT);
}

/* Resolves the labels into offsets.  Returns 0, or -E2BIG for a program that
 * does not fit or a jump that is not forward and short. */
static int fb_assemble(struct filter_builder *b, struct sock_fprog *ret)
{
        if (b->overflow)
                return -E2BIG;
        for (size_t i = 0; i < b->n; i++) {
                if (BPF_CLASS(b->code[i].code) != BPF_JMP)
                        continue;
                int to[2] = { b->jt[i], b->jf[i] };
                uint8_t off[2];
                for (int j = 0; j < 2; j++) {
                        long at = to[j] == LABEL_NEXT ? (long) i + 1 : b->label_at[to[j]];
                        if (at <= (long) i || at - (long) i - 1 > 255)
                                return -E2BIG;
                        off[j] = (uint8_t) (at - (long) i - 1);
                }
                b->code[i].jt = off[0];
                b->code[i].jf = off[1];
        }
        *ret = (struct sock_fprog) { .len = (unsigned short) b->n, .filter = b->code };
        return 0;
}

/* The child's filter: notify exit_group and exit (the fallback of glibc's
 * _exit) on every ABI, but a native exit(0) made at thread_exit_site's page
 * offset (a thread's end, see sv_learn_thread_exit), thread creation (clone with CLONE_THREAD, clone3:
 * its flags are in memory, out of the filter's reach, and the supervisor
 * lets a fork through) on the native one, and an attempt to enter
 * SECCOMP_MODE_STRICT (which no filtered task can: the supervisor refuses
 * the program); allow everything else. */
static int build_filter(struct filter_builder *b, struct sock_fprog *ret)
{
        *b = (struct filter_builder) {0};
        int allow = fb_label(b), notify = fb_label(b);
        int prctl = fb_label(b), seccomp = fb_label(b), thread_exit = fb_label(b);
        int abi_label[ARRAY_SIZE(arch_seccomp_abis)], clone_label[ARRAY_SIZE(arch_seccomp_abis)];
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                abi_label[a] = fb_label(b);
                clone_label[a] = fb_label(b);
        }

        /* load the audit arch */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                /* ABIs sharing an audit arch (x86_64, x32) share a block */
                if (a > 0 && arch_seccomp_abis[a].audit_arch == arch_seccomp_abis[a - 1].audit_arch)
                        continue;
                /* this arch: go to its block */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, arch_seccomp_abis[a].audit_arch, abi_label[a], LABEL_NEXT);
        }
        /* an arch we do not know: nothing to watch */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                const struct arch_seccomp_abi *abi = &arch_seccomp_abis[a];
                bool first = a == 0 || abi->audit_arch != arch_seccomp_abis[a - 1].audit_arch;
                bool last = a + 1 == ARRAY_SIZE(arch_seccomp_abis) ||
                            abi->audit_arch != arch_seccomp_abis[a + 1].audit_arch;
                if (first) {
                        fb_place(b, abi_label[a]);
                        /* load the syscall number */
                        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
                }
                /* exit_group: hold it */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->exit_group, notify, LABEL_NEXT);
                /* exit: glibc's fallback when exit_group returned, or a
                 * thread's end */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->exit,
                        abi == ARCH_SECCOMP_NATIVE && thread_exit_site.known ? thread_exit : notify, LABEL_NEXT);
                /* prctl: check for PR_SET_SECCOMP */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->prctl, prctl, LABEL_NEXT);
                /* seccomp: check for SECCOMP_SET_MODE_STRICT */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->seccomp, seccomp, LABEL_NEXT);
                if (abi->clone3 >= 0)
                        /* clone3: its flags are in memory, ask the supervisor */
                        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->clone3, notify, LABEL_NEXT);
                if (abi->clone >= 0)
                        /* clone: check its flags */
                        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->clone, clone_label[a], LABEL_NEXT);
                if (last)
                        /* any other call of this arch */
                        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        }
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                if (arch_seccomp_abis[a].clone < 0)
                        continue;
                fb_place(b, clone_label[a]);
                /* load clone's flags (low word) */
                fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
                /* a thread: ask the supervisor; a process: allow */
                fb_emit(b, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, notify, allow);
        }
        fb_place(b, thread_exit);
        /* load exit's status (low word) */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        /* 0, as libc ends a thread: look where; any other: hold it */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, 0, LABEL_NEXT, notify);
        /* load the instruction pointer (low word) */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
        /* its offset in the page */
        fb_stmt(b, BPF_ALU | BPF_AND | BPF_K, SV_PAGE_OFFSET_MASK);
        /* where libc ends a thread: let it end; anywhere else: hold it */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, thread_exit_site.page_offset, allow, notify);
        fb_place(b, prctl);
        /* load prctl's option */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        /* PR_SET_SECCOMP: look at the mode; anything else: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, LABEL_NEXT, allow);
        /* load the mode */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
        /* strict: tell the supervisor; a filter of its own: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_MODE_STRICT, notify, allow);
        fb_place(b, seccomp);
        /* load seccomp's operation */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        /* strict: tell the supervisor; anything else: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_SET_MODE_STRICT, notify, allow);
        fb_place(b, allow);
        /* let it run */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        fb_place(b, notify);
        /* wait for the supervisor's answer */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        return fb_assemble(b, ret);
}

/* ---- where libc ends a thread ----
 * glibc ends a thread with exit(0) at one instruction of start_thread, and
 * _exit falls back to exit(status) at another when a signal undid its
 * exit_group; the filter can tell them apart only by the instruction
 * pointer, whose offset in a page is fixed for one build of the library.
 * Rather than read libc's code, threads of ours show where.  A seccomp
 * filter belongs to the thread that installs it and the threads it creates
 * after, so a short-lived thread installs one of its own (exit_group fails
 * with ENOSYS, as an undone one does; exit is sent to us), makes one thread
 * that ends and one that calls _exit, and the calling thread receives their
 * exits.  No child process: a fork of leakscan cost more than the rest of
 * its start together on a machine whose page faults are dear. */

static void *learn_thread_end(void *arg)
{
        return arg;
}

/* Not a pthread: it ends in _exit, never in libc's end of a thread, which
 * would leave libc (and a sanitizer) counting a thread that is gone.  It
 * runs on the filter's thread's thread pointer (that thread waits for its
 * end meanwhile), so it touches only _exit's errno there. */
static SV_HELPER_CODE int learn_exit_fallback(void *arg)
{
        (void) arg;
        _exit(0);               /* under our filter: exit_group fails */
}

/* Runs learn_exit_fallback in a thread of ours and waits for its end. */
static void learn_run_fallback(void)
{
        /* cleared by the kernel, with a futex wake, once the thread is gone */
        _Static_assert(sizeof(pid_t) == sizeof(int), "CLONE_CHILD_CLEARTID clears an int");
        pid_t alive = 1;
        struct sv_helper thread;
        if (sv_helper_clone(learn_exit_fallback, NULL,
                            CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                            CLONE_CHILD_CLEARTID, &alive, &thread) < 0)
                return;
        while (__atomic_load_n(&alive, __ATOMIC_ACQUIRE))
                (void) syscall(SYS_futex, &alive, FUTEX_WAIT, 1, NULL, NULL, 0);
        sv_helper_reaped(&thread);
}

/* The thread that installs the filter.  Creates the thread whose _exit is
 * sent to us only once the filter is in place: without it that _exit would
 * end leakscan. */
static void *learn_main(void *arg)
{
        int report = *(const int *) arg;        /* to the caller */
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_SECCOMP_NATIVE->audit_arch, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) ARCH_SECCOMP_NATIVE->exit_group, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) ARCH_SECCOMP_NATIVE->exit, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
        /* no_new_privs, like a filter, is this thread's and its children's */
        int listener = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
                listener = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        int said[2] = { listener, (int) gettid() };
        bool told = listener >= 0 && write(report, said, sizeof said) == (ssize_t) sizeof said;
        close(report);
        if (!told)
                return NULL;    /* unfiltered, or nobody listens: ends as any */
        pthread_t t;
        if (pthread_create(&t, NULL, learn_thread_end, NULL) == 0) {
                pthread_join(t, NULL);
                learn_run_fallback();
        }
        return NULL;            /* this exit too is sent to the caller */
}

/* Learns where the libc we run with ends a thread, for the filter of the
 * program spawned next (see above).  Nothing is learned (every exit stays
 * held, as before) when our threads cannot show it, when libc ends a thread
 * with a status other than 0, when _exit's fallback lies at the same offset
 * in a page, or when LEAKSCAN_THREAD_EXIT=hold (a diagnostic, and the
 * benchmark's baseline).  It assumes the program loads the same libc: under
 * any other, the offset learned is an arbitrary one, and an exit(0) there is
 * let through (see docs/RELIABILITY.md). */
void sv_learn_thread_exit(void)
{
        thread_exit_site.known = false;
        const char *mode = getenv("LEAKSCAN_THREAD_EXIT");
        if (mode && streq(mode, "hold"))
                return;
        /* the filter's thread tells its listener and its tid, or nothing */
        int report[2];
        if (pipe2(report, O_CLOEXEC) < 0)
                return;
        pthread_t learner;
        if (pthread_create(&learner, NULL, learn_main, &report[1]) != 0) {
                close(report[0]);
                close(report[1]);
                return;
        }
        int said[2];
        ssize_t got;
        do
                got = read(report[0], said, sizeof said);
        while (got < 0 && errno == EINTR);
        close(report[0]);
        /* every exit of the filter's threads, in order: the thread's end,
         * _exit's fallback, then the filter's thread itself.  None waits
         * for a time: each ends once answered, and our answer is all they
         * wait for. */
        uint64_t site[2] = {0}, status = 1;
        size_t n_seen = 0;
        bool learner_ended = got != (ssize_t) sizeof said;
        while (!learner_ended) {
                struct seccomp_notif n;
                memset(&n, 0, sizeof n);
                if (ioctl(said[0], SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
                        if (errno == EINTR || errno == ENOENT)
                                continue;       /* ENOENT: undone by a signal */
                        break;  /* cannot happen while its threads live */
                }
                struct seccomp_notif_resp resp = { .id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
                (void) ioctl(said[0], SECCOMP_IOCTL_NOTIF_SEND, &resp);
                if ((pid_t) n.pid == said[1]) {
                        learner_ended = true;
                        break;
                }
                if (n_seen < 2 && n.data.nr == ARCH_SECCOMP_NATIVE->exit) {
                        if (n_seen == 0)
                                status = n.data.args[0];
                        site[n_seen] = n.data.instruction_pointer;
                }
                n_seen++;
        }
        if (!learner_ended) {
                /* a thread left waiting in its exit sleeps there; with the
                 * listener closed it would retry its exit without end */
                pthread_detach(learner);
                return;
        }
        if (got == (ssize_t) sizeof said)
                close(said[0]);
        pthread_join(learner, NULL);
        if (n_seen != 2 || !site[0] || !site[1] || (uint32_t) status != 0 ||
            ((site[0] ^ site[1]) & SV_PAGE_OFFSET_MASK) == 0)
                return;
        thread_exit_site.known = true;
        thread_exit_site.page_offset = (uint32_t) (site[0] & SV_PAGE_OFFSET_MASK);
}

bool sv_thread_exit_site(uint32_t *ret_page_offset)
{
        if (thread_exit_site.known)
                *ret_page_offset = thread_exit_site.page_offset;
        return thread_exit_site.known;
}

enum sv_call sv_call_of(const struct seccomp_data *d)
{
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                const struct arch_seccomp_abi *abi = &arch_seccomp_abis[a];
                if (d->arch != abi->audit_arch)
                        continue;
                int nr = d->nr;
                if (abi->nr_bit) {
                        if (!((uint32_t) nr & abi->nr_bit))
                                continue;
                        nr = (int) ((uint32_t) nr & ~abi->nr_bit);
                } else if ((uint32_t) nr & ARCH_X32_SYSCALL_BIT && abi->audit_arch == ARCH_SECCOMP_NATIVE->audit_arch) {
                        continue;
                }
                if (nr == abi->exit_group)
                        return SV_CALL_EXIT_GROUP;
                if (nr == abi->exit)
                        return SV_CALL_EXIT;
                if (nr == abi->prctl || nr == abi->seccomp)
                        return SV_CALL_STRICT;  /* the filter lets no other through */
                if (abi == ARCH_SECCOMP_NATIVE && nr == abi->clone)
                        return SV_CALL_CLONE;
                if (abi == ARCH_SECCOMP_NATIVE && nr == abi->clone3)
                        return SV_CALL_CLONE3;
        }
        return SV_CALL_OTHER;
}

/* Installs the filter in the calling process.  With
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) a held exit_group,
 * once received, waits through any signal but a fatal one; without it (an
 * older kernel, or LEAKSCAN_TEST_INTERRUPTIBLE_EXIT set, which the tests use
 * to exercise that path) a signal interrupts it and the exit fallback above
 * keeps the exit held.  Returns the listener, and in *ret_killable whether
 * the wait is killable only, or a negative errno. */
int install_filter(bool *ret_killable)
{
        struct filter_builder b;
        struct sock_fprog prog;
        int r = build_filter(&b, &prog);
        if (r < 0)
                return r;
        unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        if (!getenv("LEAKSCAN_TEST_INTERRUPTIBLE_EXIT"))
                flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#endif
        for (;;) {
                int fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
                if (fd >= 0) {
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                        *ret_killable = flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#else
                        *ret_killable = false;
#endif
                        return fd;
                }
                /* Without CAP_SYS_ADMIN a filter needs no_new_privs (which
                 * then also stops set-user-ID programs from gaining
                 * privileges). */
                if (errno == EACCES && !prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) {
                        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                                return -errno;
                        continue;
                }
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                if (errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
                        flags &= ~(unsigned) SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
                        continue;
                }
#endif
                return -errno;
        }
}

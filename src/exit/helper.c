/* Helper processes that share leakscan's memory: the probe (signals.c) and
 * the guardian (guardian.c).
 *
 * A fork of leakscan copies its page tables; then every page either side
 * writes costs a page fault, and the child's end unmaps them all.  On a
 * virtual machine whose page faults are dear, that was 0.75 ms of CPU per
 * helper, against 0.05 ms for a clone that shares the memory (CLONE_VM
 * without CLONE_THREAD, as posix_spawn does): perf sched counted 1.8 ms a
 * run on each, a fifth of what wrapping a short test cost.
 *
 * The price is discipline.  A helper runs on the thread pointer of the
 * thread that made it: libc's errno, locks and caches there are that
 * thread's, so a helper calls no libc function at all, only
 * arch_raw_syscall, on a stack of its own, in functions marked
 * SV_HELPER_CODE (no stack protector, no sanitizer, whose fake stacks are
 * that thread's too).  It starts with every signal blocked. */
#include "exit/exit.h"

#define SV_HELPER_STACK (64 * 1024)

int sv_helper_clone(int (*body)(void *), void *arg, unsigned long flags, pid_t *child_tid,
                    struct sv_helper *ret)
{
        long page = sysconf(_SC_PAGESIZE);
        size_t size = SV_HELPER_STACK + (size_t) page;
        void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return -errno;
        /* a guard page below it: an overflow faults instead of writing ours */
        (void) mprotect(stack, (size_t) page, PROT_NONE);
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        pid_t pid = clone(body, (char *) stack + size, (int) flags, arg, NULL, NULL, child_tid);
        int r = pid < 0 ? -errno : 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                munmap(stack, size);
                return r;
        }
        *ret = (struct sv_helper) { .pid = pid, .stack = stack, .stack_size = size };
        return 0;
}

int sv_helper_start(int (*body)(void *), void *arg, struct sv_helper *ret)
{
        return sv_helper_clone(body, arg, CLONE_VM | SIGCHLD, NULL, ret);
}

void sv_helper_reaped(struct sv_helper *h)
{
        if (h->stack)
                munmap(h->stack, h->stack_size);
        *h = (struct sv_helper) { .pid = 0 };
}

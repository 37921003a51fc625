/* The guardian: a second holder of the filter's listener that answers
 * "continue" once the supervisor is gone, ended or killed, so that a program
 * whose supervisor died runs on as it would without leakscan. */
#include "exit/exit.h"

/* ---- the guardian ----
 * Without a listener, every call the filter sends to it fails with ENOSYS:
 * a program whose supervisor died could create no thread and never exit.
 * So a second holder of the listener lives from the start: a child of ours
 * that shares our memory (a helper: see helper.c), in a session of its own
 * (no terminal or process-group signal reaches it), with no other fd (a
 * test runner waiting for the end of stdout does not wait for it), and all
 * signals blocked.  It sleeps until the pipe whose other end only the
 * supervisor holds ends, which the kernel does when the supervisor ends or
 * dies, however.  Then it answers "continue" to whatever the supervisor had
 * received and left unanswered (ids from the shared page) and to everything
 * after, until no task uses the filter any more.  It can say nothing else. */

#define GUARDIAN_PROBE_AHEAD 64         /* received but not yet published */
#define GUARDIAN_PROBE_MAX (1u << 20)

static SV_HELPER_CODE void guardian_answer(int listener, uint64_t id)
{
        struct seccomp_notif_resp resp;
        sv_helper_zero(&resp, sizeof resp);
        resp.id = id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        (void) arch_raw_syscall(SYS_ioctl, listener, (long) SECCOMP_IOCTL_NOTIF_SEND, (long) &resp, 0, 0, 0);
}

/* The guardian (a helper: see helper.c); what it needs is in its page,
 * which outlives the supervisor. */
static SV_HELPER_CODE int guardian_main(void *arg)
{
        const struct guardian_page *page = arg;
        int listener = page->listener, life = page->life;
        (void) arch_raw_syscall(SYS_setsid, 0, 0, 0, 0, 0, 0);
        sv_helper_block_signals();
        (void) arch_raw_syscall(SYS_prctl, PR_SET_NAME, (long) "leakscan-guard", 0, 0, 0, 0);
        sv_helper_close_all_but(listener, life);

        /* events 0 on the listener: POLLHUP alone, once no task uses it */
        struct pollfd pfd[2];
        sv_helper_zero(pfd, sizeof pfd);
        pfd[0].fd = life;
        pfd[0].events = POLLIN;
        pfd[1].fd = listener;
        for (;;) {
                long k = arch_raw_syscall(SYS_poll, (long) pfd, 2, -1, 0, 0, 0);
                if (k < 0 && k != -EINTR)
                        sv_helper_exit(1);
                if (pfd[1].revents & (POLLHUP | POLLERR))
                        sv_helper_exit(0);
                if (pfd[0].revents)
                        break;
        }
        if (page->known)
                for (uint64_t id = page->lo, k = 0; id != page->hi + GUARDIAN_PROBE_AHEAD && k < GUARDIAN_PROBE_MAX;
                     id++, k++)
                        guardian_answer(listener, id);
        pfd[1].events = POLLIN;
        for (;;) {
                pfd[1].revents = 0;
                long k = arch_raw_syscall(SYS_poll, (long) &pfd[1], 1, -1, 0, 0, 0);
                if (k == -EINTR)
                        continue;
                if (k < 0 || (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL)))
                        sv_helper_exit(k < 0);
                struct seccomp_notif n;
                sv_helper_zero(&n, sizeof n);
                if (arch_raw_syscall(SYS_ioctl, listener, (long) SECCOMP_IOCTL_NOTIF_RECV, (long) &n, 0, 0, 0) == 0)
                        guardian_answer(listener, n.id);
        }
}

/* Starts the guardian of sv->listener.  Returns 0 or a negative errno. */
static int sv_start_guardian(struct supervisor *sv)
{
        /* never unmapped: the guardian may outlive us, reading it */
        struct guardian_page *page = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                          -1, 0);
        if (page == MAP_FAILED)
                return -errno;
        int life[2];
        if (pipe2(life, O_CLOEXEC) < 0) {
                int r = -errno;
                munmap(page, sizeof *page);
                return r;
        }
        page->listener = sv->listener;
        page->life = life[0];
        int r = sv_helper_start(guardian_main, page, &sv->guardian_helper);
        close(life[0]);
        if (r < 0) {
                close(life[1]);
                munmap(page, sizeof *page);
                return r;
        }
        sv->guardian = page;
        sv->guardian_pipe = life[1];
        return 0;
}

/* The supervisor is done with the listener: the guardian answers from now
 * on (descendants may outlive the program), or, if it could not be started
 * at the beginning, one started now.  When nothing uses the filter any more
 * it ends at once, and is reaped here; otherwise it outlives us. */
void sv_hand_off_listener(struct supervisor *sv)
{
        sv_stop_receiver(sv);
        if (sv->guardian_pipe < 0 && (sv->guardian || sv_start_guardian(sv) < 0))
                return;
        close(sv->guardian_pipe);
        sv->guardian_pipe = -1;
        struct pollfd pfd = { sv->listener, 0, 0 };
        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP)) {
                while (waitpid(sv->guardian_helper.pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                sv_helper_reaped(&sv->guardian_helper);
        }
}

/* The child has installed the filter and waits to exec: the guardian starts
 * now, so that it holds the listener before the program can run, and learns
 * the first notification's id. */
void sv_on_listener(void *userdata, int listener, const struct seccomp_notif *first)
{
        struct supervisor *sv = userdata;
        sv->listener = listener;
        (void) sv_start_guardian(sv);   /* if not now, at the end */
        sv->listener = -1;              /* ours once spawn succeeds */
        if (!first)
                return;
        /* from here the guardian knows the ids to answer if we die, even
         * before we published one more */
        if (sv->guardian) {
                sv->guardian->lo = sv->guardian->hi = first->id;
                sv->guardian->known = 1;
        }
        sv->last_id = first->id;
        sv->have_last_id = true;
}

/* Which signals to pass on: a probe process in our process group tells a
 * signal sent to leakscan alone (pass it on) from one sent to the group
 * (the program got it already), which siginfo cannot. */
#include "exit/exit.h"

/* ---- which signals to pass on ----
 * A signal sent to leakscan alone is meant for the program and must be
 * passed on; one sent to the process group (the terminal's ^C, a test
 * runner's killpg, coreutils timeout's second kill) reached the program
 * already, and passing it on would deliver it twice.  Nothing in siginfo
 * tells the two apart, so a probe does: a child of ours in the same process
 * group, started before the program, that blocks every signal and does
 * nothing.  A group signal reaches it (before us: the kernel signals a
 * group's members in one go, newest first), a signal sent to us does not.  After each batch the probe drains what it
 * got, on our request over a socket (so that its death cannot raise
 * SIGPIPE here). */

/* The probe (a helper: see helper.c). */
static SV_HELPER_CODE int probe_main(void *arg)
{
        const int *args = arg;
        int sock = args[0];
        sv_helper_block_signals();
        (void) arch_raw_syscall(SYS_prctl, PR_SET_NAME, (long) "leakscan-probe", 0, 0, 0, 0);
        (void) arch_raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
        /* we died before it asked: nobody would send the signal */
        if (arch_raw_syscall(SYS_getppid, 0, 0, 0, 0, 0, 0) != args[1])
                sv_helper_exit(0);
        sv_helper_close_all_but(sock, sock);
        uint64_t all = ~(uint64_t) 0;
        struct timespec zero = { 0, 0 };
        char c;
        while (arch_raw_syscall(SYS_read, sock, (long) &c, 1, 0, 0, 0) == 1) {
                while (arch_raw_syscall(SYS_rt_sigtimedwait, (long) &all, 0, (long) &zero, sizeof all, 0, 0) > 0)
                        ;
                if (arch_raw_syscall(SYS_sendto, sock, (long) &c, 1, MSG_NOSIGNAL, 0, 0) != 1)
                        break;
        }
        sv_helper_exit(0);
}

int sv_start_probe(struct supervisor *sv)
{
        int sock[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
                return -errno;
        sv->probe_args[0] = sock[1];
        sv->probe_args[1] = (int) getpid();
        int r = sv_helper_start(probe_main, sv->probe_args, &sv->probe);
        close(sock[1]);
        if (r < 0) {
                close(sock[0]);
                return r;
        }
        sv->probe_sock = sock[0];
        return 0;
}

void sv_stop_probe(struct supervisor *sv)
{
        if (sv->probe_sock < 0)
                return;
        close(sv->probe_sock);
        sv->probe_sock = -1;
        kill(sv->probe.pid, SIGKILL);
        while (waitpid(sv->probe.pid, NULL, 0) < 0 && errno == EINTR)
                ;
        sv_helper_reaped(&sv->probe);
}

/* Whether the probe has signal sig pending: it was sent to the group.
 * Returns 1, 0, or a negative errno. */
static int sv_probe_saw(const struct supervisor *sv, int sig)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/status", (int) sv->probe.pid);
        if (read_full_file(path, &text) < 0)
                return -ESRCH;
        const char *p = strstr(text, "\nShdPnd:");
        if (!p)
                return -EINVAL;
        unsigned long long mask = strtoull(p + strlen("\nShdPnd:"), NULL, 16);
        return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
}

/* Asks the probe to drain its signals and waits for it, briefly: a probe
 * that does not answer (stopped by SIGSTOP, which nobody can block) is
 * dropped, and the simpler rule applies from then on. */
void sv_probe_drain(struct supervisor *sv)
{
        char c = 'd';
        struct pollfd pfd = { sv->probe_sock, POLLIN, 0 };
        if (sv->probe_sock < 0 || send(sv->probe_sock, &c, 1, MSG_NOSIGNAL) != 1 ||
            poll(&pfd, 1, 200) != 1 || recv(sv->probe_sock, &c, 1, MSG_DONTWAIT) != 1)
                sv_stop_probe(sv);
}

/* Whether a signal leakscan received should be passed on to the program. */
bool sv_should_forward(const struct supervisor *sv, const struct signalfd_siginfo *si)
{
        if (si->ssi_signo == SIGCHLD || sv->main_ended)
                return false;
        int saw = sv->probe_sock >= 0 ? sv_probe_saw(sv, (int) si->ssi_signo) : -ESRCH;
        if (saw >= 0)
                return !saw;
        /* without a probe: the terminal signals the whole group */
        return si->ssi_code != SI_KERNEL;
}

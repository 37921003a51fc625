/* Starting the program under the filter: the child installs it, hands its
 * listener back over a socket and execs; a failure comes back on a
 * close-on-exec pipe with the step that failed, so that leakscan's own
 * setup, the filter and execve are never confused with each other or with
 * the program's result. */
#include "exit/exit.h"

/* ---- starting the program ---- */

/* Sends fd with one byte of data. */
static int send_fd(int sock, int fd, char data)
{
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctrl = {0};
        struct iovec iov = { &data, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                              .msg_controllen = sizeof ctrl.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Returns the fd received, with its byte of data in *ret_data, or a
 * negative errno (-EPIPE: none came). */
static int recv_fd(int sock, char *ret_data)
{
        char data;
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctrl;
        struct iovec iov = { &data, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                              .msg_controllen = sizeof ctrl.buf };
        ssize_t n;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return n < 0 ? -errno : -EPIPE;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                return -EPIPE;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        *ret_data = data;
        return fd;
}

/* How the child tells why it could not start: the step and an errno. */
struct spawn_failure {
        int step;               /* enum supervise_step */
        int err;
};

/* Forks the program: the child installs the filter, hands us its listener
 * and execs.  A failure in the child comes back on a close-on-exec pipe; the
 * child then ends with a plain exit, which the supervisor answers like any.
 * The child makes one call the filter reports (clone3 without arguments,
 * which then fails) before it may exec: its notification tells where the
 * ids start.  ready(userdata, listener, that notification or NULL) is
 * called before the child may exec.  Returns 0
 * with the pid, the listener and whether a held call waits killably, or a
 * negative errno and the step that failed in *ret_step. */
int spawn(char **argv, char **envp, const sigset_t *child_mask,
                 void (*ready)(void *userdata, int listener, const struct seccomp_notif *first), void *userdata, pid_t *ret_pid, int *ret_listener, bool *ret_killable, enum supervise_step *ret_step)
{
        int sv[2], err[2];
        *ret_step = SUPERVISE_STEP_START;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]); close(sv[1]); close(err[0]); close(err[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                close(err[0]);
                sigprocmask(SIG_SETMASK, child_mask, NULL);
                struct spawn_failure f = { SUPERVISE_STEP_FILTER, 0 };
                bool killable = false;
                int fd = install_filter(&killable);
                if (fd >= 0) {
                        f.err = send_fd(sv[1], fd, killable ? 'K' : 'I');
                        close(fd);
                        /* a first notification, answered by the parent
                         * before the program runs: where the ids start */
                        if (f.err == 0)
                                (void) syscall(SYS_clone3, NULL, 0);
                        /* go on only once the parent says so: its guardian
                         * must hold the listener before the program runs */
                        char go = 0;
                        if (f.err == 0 && read(sv[1], &go, 1) != 1)
                                f.err = -ECANCELED;
                        close(sv[1]);
                        if (f.err == 0) {
                                f.step = SUPERVISE_STEP_EXEC;
                                if (envp)
                                        execvpe(argv[0], argv, envp);
                                else
                                        execvp(argv[0], argv);
                                f.err = -errno;
                        }
                } else {
                        f.err = fd;
                        close(sv[1]);
                }
                (void) !write(err[1], &f, sizeof f);
                for (;;)        /* the parent kills us */
                        pause();
        }
        close(sv[1]);
        close(err[1]);
        char mode = 0;
        int listener = recv_fd(sv[0], &mode);
        if (listener >= 0) {
                char go = 'g';
                struct seccomp_notif first;
                memset(&first, 0, sizeof first);
                int k;
                do
                        k = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &first);
                while (k < 0 && errno == EINTR);
                ready(userdata, listener, k == 0 ? &first : NULL);
                if (k == 0) {
                        struct seccomp_notif_resp resp = { .id = first.id,
                                                           .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
                        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
                }
                (void) !write(sv[0], &go, 1);
        }
        close(sv[0]);
        struct spawn_failure f = { SUPERVISE_STEP_FILTER, 0 };
        ssize_t n;
        do
                n = read(err[0], &f, sizeof f);
        while (n < 0 && errno == EINTR);
        close(err[0]);
        int r = n == (ssize_t) sizeof f ? f.err : listener < 0 ? listener : 0;
        if (r < 0) {
                /* killed, not left to exit: its exit would wait for a
                 * listener */
                kill(pid, SIGKILL);
                if (listener >= 0)
                        close(listener);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                *ret_step = n == (ssize_t) sizeof f ? (enum supervise_step) f.step : SUPERVISE_STEP_FILTER;
                return r;
        }
        *ret_pid = pid;
        *ret_listener = listener;
        *ret_killable = mode == 'K';
        return 0;
}

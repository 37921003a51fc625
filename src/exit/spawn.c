/* Starting the program under the filter: the child installs it, hands its
 * listener back over a socket and execs; a failure comes back on a
 * close-on-exec pipe with the step that failed, so that leakscan's own
 * setup, the filter and execve are never confused with each other or with
 * the program's result.
 *
 * The child shares our memory until its exec (clone(CLONE_VM), as
 * posix_spawn does) rather than being a fork: a fork copied leakscan's page
 * tables, cost a page fault for every page either side wrote after, and the
 * exec unmapped the copy again, which on a virtual machine was about a
 * fifth of what wrapping a short test cost.  Unlike posix_spawn's, our child
 * must wait for us (the handshake below), so we are not suspended while it
 * runs: it runs on the thread pointer of a thread that lends it and sleeps
 * meanwhile (so libc's errno and caches there are the child's alone), on a
 * stack of its own, with every signal handler reset to the default. */
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

/* A thread that lends its thread pointer to the child (see above) and
 * sleeps until released. */
struct spawn_donor {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        void *tp;
        bool release;
};

static void *donor_main(void *arg)
{
        struct spawn_donor *d = arg;
        pthread_mutex_lock(&d->lock);
        d->tp = arch_thread_pointer();
        pthread_cond_broadcast(&d->cond);
        while (!d->release)
                pthread_cond_wait(&d->cond, &d->lock);
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

static void donor_release(struct spawn_donor *d, pthread_t t)
{
        pthread_mutex_lock(&d->lock);
        d->release = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        pthread_join(t, NULL);
}

struct spawn_child_args {
        char **argv, **envp;
        const sigset_t *child_mask;
        int sock, err;
        int parent_sock, parent_err;    /* ours: closed first */
};

/* The child, until its exec: on the donor's thread pointer and its own
 * stack, in our memory.  Never returns. */
static int spawn_child(void *arg)
{
        const struct spawn_child_args *a = arg;
        /* our ends, in its copy of our files: holding them, it would wait
         * for itself if we died (the listener sent, never received, kept
         * open; its read of our answer never ending) */
        close(a->parent_sock);
        close(a->parent_err);
        /* a handler of ours would run here on our memory and the donor's
         * thread pointer: a signal before the exec takes its default
         * action, as it would an instant later in the program */
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
                        sa.sa_handler = SIG_DFL;
                        sa.sa_flags = 0;
                        (void) sigaction(sig, &sa, NULL);
                }
        }
        sigprocmask(SIG_SETMASK, a->child_mask, NULL);
        struct spawn_failure f = { SUPERVISE_STEP_FILTER, 0 };
        bool killable = false;
        int fd = install_filter(&killable);
        if (fd >= 0) {
                f.err = send_fd(a->sock, fd, killable ? 'K' : 'I');
                close(fd);
                /* a first notification, answered by the parent before the
                 * program runs: where the ids start */
                if (f.err == 0)
                        (void) syscall(SYS_clone3, NULL, 0);
                /* go on only once the parent says so: its guardian must
                 * hold the listener before the program runs */
                char go = 0;
                if (f.err == 0 && read(a->sock, &go, 1) != 1)
                        f.err = -ECANCELED;
                close(a->sock);
                if (f.err == 0) {
                        f.step = SUPERVISE_STEP_EXEC;
                        if (a->envp)
                                execvpe(a->argv[0], a->argv, a->envp);
                        else
                                execvp(a->argv[0], a->argv);
                        f.err = -errno;
                }
        } else {
                f.err = fd;
                close(a->sock);
        }
        (void) !write(a->err, &f, sizeof f);
        /* not its exit, which would wait for a listener (or, ours gone,
         * fail); not raise(), which would signal the donor thread, whose
         * thread pointer this is: the parent reads what was said, reaps */
        (void) arch_raw_syscall(SYS_kill, arch_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), SIGKILL, 0, 0, 0, 0);
        for (;;)
                pause();
        return 0;
}

/* Starts the program (see above): the child installs the filter, hands us
 * its listener and execs.  A failure in the child comes back on a
 * close-on-exec pipe, and the child kills itself (its exit would wait for
 * a listener).  The child makes one call the filter reports (clone3 without
 * arguments, which then fails) before it may exec: its notification tells
 * where the ids start.  ready(userdata, listener, that notification or
 * NULL) is called before the child may exec.  Returns 0 with the pid, the
 * listener and whether a held call waits killably, or a negative errno and
 * the step that failed in *ret_step. */
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
        /* execvp's search and a script's argv are on the child's stack */
        size_t argc = 0;
        while (argv[argc])
                argc++;
        long page = sysconf(_SC_PAGESIZE);
        size_t stack_size = ((size_t) 256 * 1024 + (argc + 3) * sizeof(char *) + (size_t) page - 1) &
                            ~((size_t) page - 1);
        struct spawn_donor donor = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        pthread_t donor_thread;
        void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        int r = stack == MAP_FAILED ? -errno : -pthread_create(&donor_thread, NULL, donor_main, &donor);
        if (r < 0) {
                if (stack != MAP_FAILED)
                        munmap(stack, stack_size);
                close(sv[0]); close(sv[1]); close(err[0]); close(err[1]);
                return r;
        }
        (void) mprotect(stack, (size_t) page, PROT_NONE);       /* a guard page */
        pthread_mutex_lock(&donor.lock);
        while (!donor.tp)
                pthread_cond_wait(&donor.cond, &donor.lock);
        pthread_mutex_unlock(&donor.lock);
        struct spawn_child_args args = { .argv = argv, .envp = envp, .child_mask = child_mask,
                                         .sock = sv[1], .err = err[1], .parent_sock = sv[0],
                                         .parent_err = err[0] };
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        pid_t pid = clone(spawn_child, (char *) stack + stack_size, CLONE_VM | CLONE_SETTLS | SIGCHLD, &args,
                          NULL, donor.tp, NULL);
        r = pid < 0 ? -errno : 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                donor_release(&donor, donor_thread);
                munmap(stack, stack_size);
                close(sv[0]); close(sv[1]); close(err[0]); close(err[1]);
                return r;
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
        r = n == (ssize_t) sizeof f ? f.err : listener < 0 ? listener : 0;
        if (r < 0) {
                /* killed, not left to exit: its exit would wait for a
                 * listener */
                kill(pid, SIGKILL);
                if (listener >= 0)
                        close(listener);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                *ret_step = n == (ssize_t) sizeof f ? (enum supervise_step) f.step : SUPERVISE_STEP_FILTER;
        }
        /* the pipe ended: the child execed (its close-on-exec files close
         * once it has left our memory) or was killed and reaped */
        donor_release(&donor, donor_thread);
        munmap(stack, stack_size);
        if (r < 0)
                return r;
        *ret_pid = pid;
        *ret_listener = listener;
        *ret_killable = mode == 'K';
        return 0;
}

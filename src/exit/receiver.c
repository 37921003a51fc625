/* The receiver thread: takes the filter's notifications the moment they
 * arrive, since a held call is safe from signals only once received, and
 * queues them for the event loop, which may be busy judging.  Until the
 * first notification that is not a thread creation, it answers thread
 * creations itself: a hop to the loop per creation was most of what a
 * program creating threads paid. */
#include "exit/exit.h"

/* ---- the receiver ----
 * A held call is safe from signals only once it was received
 * (WAIT_KILLABLE_RECV); until then any signal undoes it.  So a thread of
 * ours does nothing but receive, at once (at real-time priority where that
 * is allowed, so that a busy machine does not delay it), and queues what it
 * received on a pipe for the event loop, which may be busy judging another
 * process for a while.  It is stopped by SIGURG, which only it unblocks, and
 * ends by itself once no task uses the filter (sv_listener_unused). */

static void receiver_wake(int sig)
{
        (void) sig;
}

/* Whether no task uses the filter of listener any more: then nothing will
 * ever be received from it.  Since Linux 6.11 SECCOMP_IOCTL_NOTIF_RECV
 * returns at once (ENOENT) on such a listener instead of waiting, so a
 * receiver that retried would spin, at real-time priority, starving other
 * receivers (other leakscans) of the CPU until we stopped it. */
static bool sv_listener_unused(int listener)
{
        struct pollfd pfd = { listener, POLLIN, 0 };
        return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* Whether the receiver answered notification n (a thread creation) itself:
 * the creator's stack copied and the clone let go, as the loop would.  It
 * may while nothing but creations has been received: then no process is
 * exiting (sv_q_hold_clone has nothing to hold), no judging reads the
 * creator records, and the loop leaves them, the clone sites and the
 * Python readers alone; from the first other notification, or once the
 * loop turns this off (sv_receiver_clones_off), everything is the loop's
 * again, for good. */
static bool sv_receiver_answers(struct supervisor *sv, const struct seccomp_notif *n)
{
        if (!__atomic_load_n(&sv->receiver_clones, __ATOMIC_ACQUIRE) ||
            pthread_mutex_trylock(&sv->receiver_clone_lock) != 0)
                return false;
        bool answer = __atomic_load_n(&sv->receiver_clones, __ATOMIC_RELAXED);
        if (answer) {
                /* for the guardian: this one, in hand, may still wait */
                if (sv->guardian)
                        sv->guardian->lo = n->id;
                sv_on_clone(sv, n);
                sv_respond_continue(sv, n->id);
                if (sv->guardian)
                        sv->guardian->lo = n->id + 1;
        }
        pthread_mutex_unlock(&sv->receiver_clone_lock);
        return answer;
}

/* The loop takes the creator records back: once this returns, the
 * receiver answers no creation any more and has finished any it began. */
void sv_receiver_clones_off(struct supervisor *sv)
{
        if (sv->receiver_clones_done)
                return;
        __atomic_store_n(&sv->receiver_clones, 0, __ATOMIC_RELEASE);
        pthread_mutex_lock(&sv->receiver_clone_lock);
        pthread_mutex_unlock(&sv->receiver_clone_lock);
        sv->receiver_clones_done = true;
}

static void *receiver_main(void *arg)
{
        struct supervisor *sv = arg;
        sv_realtime(true);
        sigset_t wake;
        sigemptyset(&wake);
        sigaddset(&wake, SIGURG);
        pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
        while (!sv->receiver_stop) {
                struct seccomp_notif n;
                memset(&n, 0, sizeof n);
                if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
                        if (errno == ENOENT && sv_listener_unused(sv->listener))
                                break;
                        if (errno == EINTR || errno == ENOENT)
                                continue;
                        break;
                }
                sv_realtime_budget(&sv->receiver_busy);
                if (sv->guardian && (!sv->guardian->known || (int64_t) (n.id - sv->guardian->hi) > 0)) {
                        if (!sv->guardian->known)
                                sv->guardian->lo = n.id;
                        sv->guardian->hi = n.id;
                        sv->guardian->known = 1;
                }
                /* ids are consecutive: a gap is a call undone before we
                 * received it (an exit_group, say): the loop's to know */
                struct sv_queued q = { .n = n };
                if (sv->have_last_id && n.id - sv->last_id > 1 && n.id - sv->last_id < (1u << 30))
                        q.lost_before = n.id - sv->last_id - 1;
                sv->last_id = n.id;
                sv->have_last_id = true;
                enum sv_call call = sv_call_of(&n.data);
                if (q.lost_before || (call != SV_CALL_CLONE && call != SV_CALL_CLONE3))
                        __atomic_store_n(&sv->receiver_clones, 0, __ATOMIC_RELEASE);
                else if (sv_receiver_answers(sv, &n))
                        continue;
                /* 88 bytes: one atomic pipe write */
                if (write(sv->queue[1], &q, sizeof q) != (ssize_t) sizeof q)
                        sv_respond_continue(sv, n.id);
        }
        return NULL;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* Asks the kernel (6.6+, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) to wake the
 * receiver on the CPU of the thread that notifies, which goes to sleep at
 * once, rather than wherever the receiver slept: a context switch rather
 * than a wake-up across CPUs (for a receiver without real-time priority, one
 * that waits its turn there).  Answers wake the notifying thread on our CPU
 * in the same way.  On older kernels nothing (EINVAL). */
void sv_sync_wake_up(int listener)
{
        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

int sv_start_receiver(struct supervisor *sv)
{
        if (pipe2(sv->queue, O_CLOEXEC) < 0)
                return -errno;
        (void) fcntl(sv->queue[0], F_SETFL, O_NONBLOCK);
        struct sigaction sa = { .sa_handler = receiver_wake };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGURG, &sa, NULL);
        /* LEAKSCAN_CLONE_ANSWER=loop: every creation answered by the loop
         * (a diagnostic, and the benchmark's baseline) */
        const char *answer = getenv("LEAKSCAN_CLONE_ANSWER");
        sv->receiver_clones = !(answer && streq(answer, "loop"));
        sv->receiver_clones_done = !sv->receiver_clones;
        int r = -pthread_create(&sv->receiver, NULL, receiver_main, sv);
        if (r < 0) {
                close(sv->queue[0]);
                close(sv->queue[1]);
                sv->queue[0] = sv->queue[1] = -1;
                sv->receiver_clones = 0;
                sv->receiver_clones_done = true;
                return r;
        }
        sv->receiver_running = true;
        return 0;
}

/* Stops the receiver; what it queued and nobody handled is answered
 * "continue". */
void sv_stop_receiver(struct supervisor *sv)
{
        if (!sv->receiver_running)
                return;
        sv->receiver_stop = 1;
        /* again and again: the signal may come just before it blocks */
        for (;;) {
                pthread_kill(sv->receiver, SIGURG);
                struct timespec deadline;
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_nsec += 10 * 1000 * 1000;
                if (deadline.tv_nsec >= 1000000000) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000;
                }
                if (pthread_timedjoin_np(sv->receiver, NULL, &deadline) == 0)
                        break;
        }
        sv->receiver_running = false;
        /* joined: the creator records and last_id are the loop's now */
        sv->receiver_clones = 0;
        sv->receiver_clones_done = true;
        signal(SIGURG, SIG_DFL);
        struct sv_queued q;
        while (read(sv->queue[0], &q, sizeof q) == (ssize_t) sizeof q)
                sv_respond_continue(sv, q.n.id);
}

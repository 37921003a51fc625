/* The matrix's fd rows (see matrix.h): reads, writes that have moved part
 * of their data when looked at (pipes, unix and TCP streams, sendfile),
 * receives that wait for a low-water mark, socket timeouts, accept,
 * connect, splice, tee and flock.  Each writer hands over more than the
 * buffer holds, so the call is asleep having moved part of it; the reader
 * then drains everything and both counts are recorded. */
#include <netinet/in.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "matrix.h"

static int rd = -1, wr = -1;    /* the waiter's peer end and its own end */
static long total;              /* bytes the writer hands over */
static char *big;

static void set_nonblock(int fd)
{
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void setup_pipe(void)
{
        int p[2];
        if (pipe(p) < 0)
                die("pipe");
        rd = p[0];
        wr = p[1];
}

static void setup_unix(void)
{
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
                die("socketpair");
        rd = s[0];
        wr = s[1];
}

static void setup_tcp(void)
{
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        if (l < 0 || bind(l, (struct sockaddr *) &a, sizeof a) < 0 || listen(l, 1) < 0 ||
            getsockname(l, (struct sockaddr *) &a, &len) < 0)
                die("tcp listen");
        wr = socket(AF_INET, SOCK_STREAM, 0);
        if (wr < 0 || connect(wr, (struct sockaddr *) &a, sizeof a) < 0)
                die("tcp connect");
        rd = accept(l, NULL, NULL);
        if (rd < 0)
                die("accept");
        close(l);
}

/* ---- writers: more than the buffer holds ---- */

static void big_buffer(long n)
{
        total = n;
        big = malloc((size_t) n);
        if (!big)
                die("malloc");
        memset(big, 'x', (size_t) n);
}

static void setup_pipe_writer(void) { setup_pipe(); big_buffer(1 << 20); }
static void setup_unix_writer(void) { setup_unix(); big_buffer(1 << 20); }
static void setup_tcp_writer(void) { setup_tcp(); big_buffer(32L << 20); }

static void setup_unix_sndtimeo(void)
{
        setup_unix_writer();
        struct timeval tv = { .tv_sec = 60 };
        setsockopt(wr, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int memfd = -1;
static void setup_sendfile(void)
{
        setup_unix();
        total = 4L << 20;
        memfd = memfd_create("matrix", 0);
        if (memfd < 0 || ftruncate(memfd, total) < 0)
                die("memfd");
}

/* The writer is asleep having moved part of its data: the reader's side
 * holds some. */
static int pending(void)
{
        int n = 0;
        return ioctl(rd, FIONREAD, &n) == 0 && n > 0;
}

/* Reads everything the writer moved: until it has returned and nothing is
 * left. */
static void drain(void)
{
        static char buf[1 << 16];
        set_nonblock(rd);
        received = 0;
        for (;;) {
                int over = atomic_load(&W[0].done);
                ssize_t n;
                while ((n = read(rd, buf, sizeof buf)) > 0)
                        received += n;
                if (over)
                        break;
                pause_ms(1);
        }
}

#define WRITER(name, call) \
        static void name(struct waiter *w) \
        { \
                long t0 = now_us(); \
                long r = (call); \
                int e = errno; \
                returned(w, t0); \
                /* the reader's count is in by the time main prints */ \
                record(w, r, e, ",\"of\":%ld", total); \
        }

WRITER(do_write, write(wr, big, total))
static struct iovec wiov[2];
WRITER(do_writev, (wiov[0] = (struct iovec) { big, total / 2 },
                   wiov[1] = (struct iovec) { big + total / 2, total - total / 2 }, writev(wr, wiov, 2)))
WRITER(do_pwritev2, (wiov[0] = (struct iovec) { big, total }, pwritev2(wr, wiov, 1, -1, 0)))
WRITER(do_send, send(wr, big, total, 0))
static struct msghdr wmsg;
WRITER(do_sendmsg, (wiov[0] = (struct iovec) { big, total }, wmsg.msg_iov = wiov, wmsg.msg_iovlen = 1,
                    sendmsg(wr, &wmsg, 0)))
static struct mmsghdr wmmsg;
WRITER(do_sendmmsg, (wiov[0] = (struct iovec) { big, total }, wmmsg.msg_hdr.msg_iov = wiov,
                     wmmsg.msg_hdr.msg_iovlen = 1, sendmmsg(wr, &wmmsg, 1, 0) == 1 ? (long) wmmsg.msg_len : -1))
WRITER(do_sendfile, sendfile(wr, memfd, NULL, total))

static void finish_drain(void) { drain(); }

/* ---- readers: nothing (or less than asked) is there yet ---- */

static char rbuf[4096];
static long want = 100;         /* bytes sent after the harness is done */

#define READER(name, call) \
        static void name(struct waiter *w) \
        { \
                long t0 = now_us(); \
                long r = (call); \
                int e = errno; \
                returned(w, t0); \
                record(w, r, e, ""); \
        }

static struct iovec riov[2];
static struct msghdr rmsg;
static struct mmsghdr rmmsg;
READER(do_read, read(wr, rbuf, sizeof rbuf))
READER(do_readv, (riov[0] = (struct iovec) { rbuf, 10 }, riov[1] = (struct iovec) { rbuf + 10, 1000 },
                  readv(wr, riov, 2)))
READER(do_preadv2, (riov[0] = (struct iovec) { rbuf, sizeof rbuf }, preadv2(wr, riov, 1, -1, 0)))
READER(do_recv, recv(wr, rbuf, sizeof rbuf, 0))
READER(do_recv_waitall, recv(wr, rbuf, 1000, MSG_WAITALL))
READER(do_recvmsg_waitall, (riov[0] = (struct iovec) { rbuf, 1000 }, rmsg.msg_iov = riov, rmsg.msg_iovlen = 1,
                            recvmsg(wr, &rmsg, MSG_WAITALL)))
READER(do_recvmmsg, (riov[0] = (struct iovec) { rbuf, sizeof rbuf }, rmmsg.msg_hdr.msg_iov = riov,
                     rmmsg.msg_hdr.msg_iovlen = 1,
                     recvmmsg(wr, &rmmsg, 1, 0, NULL) == 1 ? (long) rmmsg.msg_len : -1))
READER(do_read_lowat, read(wr, rbuf, 1000))

/* the waiter reads from wr; main writes into rd */
static void setup_pipe_reader(void)
{
        setup_pipe();
        int t = rd;
        rd = wr;
        wr = t;
}

static void setup_unix_dgram(void)
{
        int s[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s) < 0)
                die("socketpair");
        rd = s[0];
        wr = s[1];
}

/* 100 bytes are there; the call wants 1000 */
static void setup_unix_100(void)
{
        setup_unix();
        if (write(rd, rbuf, 100) != 100)
                die("write");
        want = 900;
}

static void setup_lowat(void)
{
        setup_unix_100();
        int lowat = 1000;
        if (setsockopt(wr, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) < 0)
                die("SO_RCVLOWAT");
}

static void setup_rcvtimeo(void)
{
        setup_unix();
        struct timeval tv = { .tv_sec = 60 };
        setsockopt(wr, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void finish_send(void)
{
        static char data[1000];
        if (write(rd, data, want) != want)
                die("write");
}

/* ---- accept, connect ---- */

static struct sockaddr_un addr;
static int listener = -1;

static void setup_listener(int backlog)
{
        listener = socket(AF_UNIX, SOCK_STREAM, 0);
        addr.sun_family = AF_UNIX;
        snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "leakscan-matrix-%d", (int) getpid());
        socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
        if (listener < 0 || bind(listener, (struct sockaddr *) &addr, len) < 0 || listen(listener, backlog) < 0)
                die("listen");
}

static socklen_t addr_len(void)
{
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
}

static void setup_accept(void) { setup_listener(4); }
static void setup_accept_rcvtimeo(void)
{
        setup_listener(4);
        struct timeval tv = { .tv_sec = 60 };
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void do_accept(struct waiter *w)
{
        long t0 = now_us();
        int r = accept(listener, NULL, NULL);
        int e = errno;
        returned(w, t0);
        record(w, r < 0 ? -1 : 0, e, ",\"accepted\":%d", r >= 0);
}

static void do_accept4(struct waiter *w)
{
        long t0 = now_us();
        int r = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        int e = errno;
        returned(w, t0);
        record(w, r < 0 ? -1 : 0, e, ",\"accepted\":%d", r >= 0);
}

static void finish_connect(void)
{
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *) &addr, addr_len()) < 0)
                die("connect");
}

/* the listener's queue is full: a connect waits for room */
static int csock = -1;
static void fill_backlog(int timeo)
{
        setup_listener(0);
        for (int i = 0; i < 64; i++) {
                int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (connect(c, (struct sockaddr *) &addr, addr_len()) < 0) {
                        if (errno != EAGAIN)
                                die("connect");
                        close(c);
                        break;
                }
        }
        csock = socket(AF_UNIX, SOCK_STREAM, 0);
        if (timeo) {
                struct timeval tv = { .tv_sec = 60 };
                setsockopt(csock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        }
}
static void setup_connect(void) { fill_backlog(0); }
static void setup_connect_sndtimeo(void) { fill_backlog(1); }

static void do_connect(struct waiter *w)
{
        long t0 = now_us();
        int r = connect(csock, (struct sockaddr *) &addr, addr_len());
        int e = errno;
        returned(w, t0);
        struct sockaddr_un peer;
        socklen_t len = sizeof peer;
        record(w, r, e, ",\"connected\":%d", getpeername(csock, (struct sockaddr *) &peer, &len) == 0);
}

/* accepts until the connect is over, then once more: its connection too */
static void finish_accept_all(void)
{
        set_nonblock(listener);
        while (!atomic_load(&W[0].done)) {
                if (accept(listener, NULL, NULL) < 0)
                        pause_ms(1);
        }
}

/* ---- splice, tee, flock ---- */

static int out[2];
static void setup_splice(void)
{
        setup_pipe_reader();
        if (pipe(out) < 0)
                die("pipe");
}
READER(do_splice, splice(wr, NULL, out[1], NULL, 4096, 0))
READER(do_tee, tee(wr, out[1], 4096, 0))

static int lockfd = -1, lockfd2 = -1;
static void setup_flock(void)
{
        char path[64];
        lockfd = memfd_create("matrix-lock", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", lockfd);
        lockfd2 = open(path, O_RDWR);       /* a second open file description */
        if (lockfd < 0 || lockfd2 < 0 || flock(lockfd, LOCK_EX) < 0)
                die("flock");
}
READER(do_flock, flock(lockfd2, LOCK_EX))
static void finish_unlock(void) { flock(lockfd, LOCK_UN); }

static const struct row rows[] = {
        /* writes that have moved part of their data */
        { "write_pipe", SYS_write, .setup = setup_pipe_writer, .wait = do_write, .armed = pending, .finish = finish_drain },
        { "writev_pipe", SYS_writev, .setup = setup_pipe_writer, .wait = do_writev, .armed = pending, .finish = finish_drain },
        { "pwritev2_pipe", SYS_pwritev2, .setup = setup_pipe_writer, .wait = do_pwritev2, .armed = pending, .finish = finish_drain },
        { "write_unix", SYS_write, .setup = setup_unix_writer, .wait = do_write, .armed = pending, .finish = finish_drain },
        { "send_unix", SYS_sendto, .setup = setup_unix_writer, .wait = do_send, .armed = pending, .finish = finish_drain },
        { "sendmsg_unix", SYS_sendmsg, .setup = setup_unix_writer, .wait = do_sendmsg, .armed = pending, .finish = finish_drain },
        { "sendmmsg_unix", SYS_sendmmsg, .setup = setup_unix_writer, .wait = do_sendmmsg, .armed = pending, .finish = finish_drain },
        { "send_tcp", SYS_sendto, .setup = setup_tcp_writer, .wait = do_send, .armed = pending, .finish = finish_drain },
        { "sendfile_unix", SYS_sendfile, .setup = setup_sendfile, .wait = do_sendfile, .armed = pending, .finish = finish_drain },
        { "send_sndtimeo", SYS_sendto, .setup = setup_unix_sndtimeo, .wait = do_send, .armed = pending, .finish = finish_drain },
        /* reads */
        { "read_pipe", SYS_read, .setup = setup_pipe_reader, .wait = do_read, .finish = finish_send },
        { "readv_pipe", SYS_readv, .setup = setup_pipe_reader, .wait = do_readv, .finish = finish_send },
        { "preadv2_pipe", SYS_preadv2, .setup = setup_pipe_reader, .wait = do_preadv2, .finish = finish_send },
        { "recv_unix", SYS_recvfrom, .setup = setup_unix, .wait = do_recv, .finish = finish_send },
        { "recvmmsg_dgram", SYS_recvmmsg, .setup = setup_unix_dgram, .wait = do_recvmmsg, .finish = finish_send },
        { "recv_waitall", SYS_recvfrom, .setup = setup_unix_100, .wait = do_recv_waitall, .finish = finish_send },
        { "recvmsg_waitall", SYS_recvmsg, .setup = setup_unix_100, .wait = do_recvmsg_waitall, .finish = finish_send },
        { "read_rcvlowat", SYS_read, .setup = setup_lowat, .wait = do_read_lowat, .finish = finish_send },
        { "recv_rcvtimeo", SYS_recvfrom, .setup = setup_rcvtimeo, .wait = do_recv, .finish = finish_send },
        /* accept, connect */
        { "accept", SYS_accept, .setup = setup_accept, .wait = do_accept, .finish = finish_connect },
        { "accept4", SYS_accept4, .setup = setup_accept, .wait = do_accept4, .finish = finish_connect },
        { "accept_rcvtimeo", SYS_accept, .setup = setup_accept_rcvtimeo, .wait = do_accept, .finish = finish_connect },
        { "connect_unix", SYS_connect, .setup = setup_connect, .wait = do_connect, .finish = finish_accept_all },
        { "connect_sndtimeo", SYS_connect, .setup = setup_connect_sndtimeo, .wait = do_connect, .finish = finish_accept_all },
        /* splice, tee, flock */
        { "splice_pipe", SYS_splice, .setup = setup_splice, .wait = do_splice, .finish = finish_send },
        { "tee_pipe", SYS_tee, .setup = setup_splice, .wait = do_tee, .finish = finish_send },
        { "flock", SYS_flock, .setup = setup_flock, .wait = do_flock, .finish = finish_unlock },
        { 0 },
};

int main(int argc, char **argv)
{
        return matrix_main(rows, argc, argv);
}

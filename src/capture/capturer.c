/* leakscan -p split in two; see capturer.h.  The protocol is a request
 * (type, two numbers, a payload of at most CAPTURER_MAX_REQUEST bytes)
 * and an answer (a result, a payload, at most one descriptor) on a stream
 * socket.  The capturer reads a request only when the socket is readable
 * and with a send and receive timeout, so that an analyser that stalls
 * mid-message cannot hold it past its wall-clock limit; any request it
 * cannot check (a thread, a mapping it did not capture, a length out of
 * bounds) ends the analyser. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "analyse.h"
#include "arch.h"
#include "blocked.h"
#include "classify.h"
#include "capturer.h"
#include "inspect.h"
#include "model.h"
#include "modules.h"
#include "procfs.h"
#include "procwire.h"
#include "sandbox.h"
#include "seize.h"
#include "snapshot.h"
#include "unwind.h"
#include "util.h"


#define CAPTURER_MAX_REQUEST (8u << 20)
#define CAPTURER_MAX_ANSWER (1u << 30)
#define CAPTURER_IO_TIMEOUT_S 10


struct wire_pipe {
        int32_t tid;
        int32_t state;
};

static int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        while (len > 0) {
                ssize_t k = read(fd, p, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EPIPE;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

struct capturer_policy capturer_policy;

/* ---- the analyser's side ---- */

static struct {
        int sock;                       /* -1: not an analyser */
        const struct process_capture *cap;
        struct reach_proxy proxy;
        struct reach_io io;
        int64_t *blocked;               /* CAPTURER_REQ_BLOCKED_MS's answer */
        size_t n_blocked;
        bool asked_blocked;
} link_ = { .sock = -1 };

bool capturer_active(void)
{
        return link_.sock >= 0;
}

/* One request and its answer: *ret (NUL-terminated, the caller's) of
 * *ret_len bytes, *ret_fd (or -1).  Returns the capturer's result (0 or a
 * negative errno), or -EPIPE when the capturer is gone. */
static int call(uint32_t type, uint64_t a, uint64_t b, const void *payload, size_t len, char **ret,
                size_t *ret_len, int *ret_fd)
{
        struct capturer_request q = { type, (uint32_t) len, a, b };
        if (ret_fd)
                *ret_fd = -1;
        int r = write_all(link_.sock, &q, sizeof q);
        if (r == 0 && len)
                r = write_all(link_.sock, payload, len);
        if (r < 0)
                return -EPIPE;
        struct capturer_answer ans;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = { &ans, sizeof ans };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof control.buf };
        ssize_t k;
        while ((k = recvmsg(link_.sock, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (k != (ssize_t) sizeof ans || ans.len > CAPTURER_MAX_ANSWER)
                return -EPIPE;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c), sizeof fd);
                        if (ret_fd)
                                *ret_fd = fd;
                        else
                                close(fd);
                }
        char *text = malloc((size_t) ans.len + 1);
        if (!text || read_all(link_.sock, text, ans.len) < 0) {
                free(text);
                return text ? -EPIPE : -ENOMEM;
        }
        text[ans.len] = 0;
        if (ret) {
                *ret = text;
                *ret_len = ans.len;
        } else {
                free(text);
        }
        return ans.r;
}

ssize_t capturer_read_memory(uint64_t addr, void *buf, size_t len)
{
        ssize_t got;
        while ((got = pread(link_.proxy.mem_fd, buf, len, (off_t) addr)) < 0 && errno == EINTR)
                ;
        return got;
}

int analysis_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len)
{
        ssize_t got;
        if (capturer_active()) {
                got = capturer_read_memory(addr, buf, len);
        } else {
                struct iovec local = { buf, len }, remote = { (void *) (uintptr_t) addr, len };
                got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        }
        if (got < 0)
                return -errno;
        return (size_t) got == len ? 0 : -EFAULT;
}

int capturer_open_mapping(uint64_t start, uint64_t end)
{
        int fd = -1;
        return call(CAPTURER_REQ_OPEN_MAPPING, start, end, NULL, 0, NULL, NULL, &fd) == 0 ? fd : -1;
}

int capturer_open_debuginfo(const void *id, size_t len)
{
        int fd = -1;
        return call(CAPTURER_REQ_OPEN_DEBUGINFO, 0, 0, id, len, NULL, NULL, &fd) == 0 ? fd : -1;
}

char *capturer_target_cwd(void)
{
        char *text = NULL;
        size_t len = 0;
        if (call(CAPTURER_REQ_CWD, 0, 0, NULL, 0, &text, &len, NULL) < 0 || len == 0 || strlen(text) != len) {
                free(text);
                return NULL;
        }
        return text;
}

int capturer_open_source(const char *path)
{
        int fd = -1;
        return call(CAPTURER_REQ_OPEN_SOURCE, 0, 0, path, strlen(path), NULL, NULL, &fd) == 0 ? fd : -1;
}

int64_t capturer_blocked_ms(const struct process_capture *cap, const struct thread_capture *t)
{
        if (!link_.asked_blocked) {
                link_.asked_blocked = true;
                char *text = NULL;
                size_t len = 0;
                if (call(CAPTURER_REQ_BLOCKED_MS, 0, 0, NULL, 0, &text, &len, NULL) == 0 &&
                    len == cap->n_threads * sizeof(int64_t)) {
                        link_.blocked = (int64_t *) (void *) text;
                        link_.n_blocked = cap->n_threads;
                } else {
                        free(text);
                }
        }
        size_t i = (size_t) (t - cap->threads);
        return i < link_.n_blocked ? link_.blocked[i] : -1;
}

void capturer_blocked_update(const struct leakscan_process *p)
{
        (void) p;       /* the capturer decides which threads, from its capture */
        (void) call(CAPTURER_REQ_BLOCKED_UPDATE, 0, 0, NULL, 0, NULL, NULL, NULL);
}

int capturer_pipes(struct leakscan_process *p)
{
        _cleanup_free_ struct wire_pipe *w = calloc(p->n_threads + 1, sizeof *w);
        _cleanup_free_ size_t *which = calloc(p->n_threads + 1, sizeof *which);
        if (!w || !which)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (!t->fd_target || (t->state != LEAKSCAN_STATE_PIPE_READ && t->state != LEAKSCAN_STATE_PIPE_WRITE))
                        continue;
                which[n] = i;
                w[n++] = (struct wire_pipe) { t->tid, t->state };
        }
        if (n == 0)
                return 0;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = call(CAPTURER_REQ_PIPES, 0, 0, w, n * sizeof *w, &text, &len, NULL);
        if (r < 0)
                return r == -EPIPE ? 0 : r;
        size_t off = 0;
        for (size_t k = 0; k < n; k++) {
                int32_t pid;
                uint32_t l;
                if (len - off < 8)
                        break;
                memcpy(&pid, text + off, 4);
                memcpy(&l, text + off + 4, 4);
                off += 8;
                if (l > len - off)
                        break;
                if (l) {
                        struct leakscan_thread *t = &p->threads[which[k]];
                        t->peer = strndup(text + off, l);
                        if (!t->peer)
                                return -ENOMEM;
                        t->peer_pid = pid;
                }
                off += l;
        }
        return 0;
}

static int proxy_task_file(void *userdata, pid_t tid, const char *name, char **ret_text)
{
        (void) userdata;
        size_t len;
        return call(CAPTURER_REQ_TASK_FILE, (uint64_t) tid, streq(name, "status"), NULL, 0, ret_text, &len, NULL);
}

/* The kernel's roots on the wire: n_words, the words, n_bytes, the bytes,
 * the budget left (u64s in the host's order: both ends are one machine),
 * then the note, NUL-terminated.  An answer that does not parse is no
 * roots and a note that says so: the scan then decides nothing it could
 * not (the note makes it "unknown" where the roots would matter). */
static int proxy_kernel_roots(void *userdata, struct reach_kernel *ret)
{
        (void) userdata;
        _cleanup_free_ char *text = NULL;
        size_t len = 0, at = 0;
        int r = call(CAPTURER_REQ_KERNEL_ROOTS, 0, 0, NULL, 0, &text, &len, NULL);
        if (r == -ENOMEM)
                return r;
        struct reach_kernel k = { .budget = 1, .blind = reach_kernel_note("?") };
        uint64_t n_words, n_bytes, budget;
        if (r < 0 || len < 8)
                goto bad;
        memcpy(&n_words, text, 8);
        at = 8;
        if (n_words > (len - at) / 8)
                goto bad;
        at += n_words * 8;
        if (len - at < 8)
                goto bad;
        memcpy(&n_bytes, text + at, 8);
        at += 8;
        if (n_bytes > len - at || len - at - n_bytes < 9 || text[len - 1] != 0)
                goto bad;
        memcpy(&budget, text + at + n_bytes, 8);
        k = (struct reach_kernel) {
                .words = malloc(n_words * 8 + 8),
                .n_words = n_words,
                .bytes = malloc(n_bytes + 1),
                .n_bytes = n_bytes,
                .budget = budget ? budget : 1,
                .blind = text[at + n_bytes + 8] ? text + at + n_bytes + 8 : NULL,
        };
        if (!k.words || !k.bytes) {
                reach_kernel_done(&k);
                return -ENOMEM;
        }
        memcpy(k.words, text + 8, n_words * 8);
        memcpy(k.bytes, text + at, n_bytes);
        k.blind = reach_kernel_note(k.blind);   /* static text: text goes */
        *ret = k;
        return 0;
bad:
        *ret = k;
        return 0;
}

const struct reach_io *capturer_reach_io(void)
{
        return capturer_active() ? &link_.io : NULL;
}

/* ---- the capturer's side ---- */

struct capturer_server {
        int sock;
        struct process_capture *cap;
        struct map_entry *maps;
        size_t n_maps;
        bool maps_parsed;
        struct blocked_memory *blocked;
        bool blocked_opened;
        uint64_t scan_limit;    /* the capturer's own: what a request may not raise */
};

static int answer(int sock, int r, const void *payload, size_t len, int fd)
{
        struct capturer_answer ans = { r, (uint32_t) len };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = { &ans, sizeof ans };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                memset(&control, 0, sizeof control);
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof control.buf;
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof fd);
        }
        ssize_t k;
        while ((k = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
                ;
        if (k != (ssize_t) sizeof ans)
                return -EPIPE;
        return len ? write_all(sock, payload, len) : 0;
}

static const struct thread_capture *captured(struct capturer_server *s, int64_t tid)
{
        return tid > 0 && tid <= INT32_MAX ? process_capture_find(s->cap, (pid_t) tid) : NULL;
}

static int serve_task_file(struct capturer_server *s, const struct capturer_request *q)
{
        if (!captured(s, (int64_t) q->a) || q->b > 1)
                return -EPROTO;
        char path[96];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int) s->cap->pid, (int) q->a,
                 q->b ? "status" : "syscall");
        ssize_t n = read_full_file(path, &text);
        if (n < 0)
                return answer(s->sock, (int) n, NULL, 0, -1);
        return answer(s->sock, 0, text, (size_t) n < 65536 ? (size_t) n : 65536, -1);
}

static int serve_kernel_roots(struct capturer_server *s)
{
        struct reach_kernel k = {0};
        int r = reach_kernel_roots(s->cap->pid, s->scan_limit, &k);
        if (r < 0)
                return answer(s->sock, r, NULL, 0, -1);
        size_t bl = k.blind ? strlen(k.blind) : 0;
        size_t len = 8 + k.n_words * 8 + 8 + k.n_bytes + 8 + bl + 1;
        _cleanup_free_ char *buf = len <= CAPTURER_MAX_ANSWER ? malloc(len) : NULL;
        if (!buf) {
                reach_kernel_done(&k);
                return answer(s->sock, -ENOMEM, NULL, 0, -1);
        }
        uint64_t n_words = k.n_words, n_bytes = k.n_bytes;
        size_t at = 0;
        memcpy(buf + at, &n_words, 8);
        at += 8;
        if (n_words)
                memcpy(buf + at, k.words, n_words * 8);
        at += n_words * 8;
        memcpy(buf + at, &n_bytes, 8);
        at += 8;
        if (n_bytes)
                memcpy(buf + at, k.bytes, n_bytes);
        at += n_bytes;
        memcpy(buf + at, &k.budget, 8);
        at += 8;
        memcpy(buf + at, k.blind ? k.blind : "", bl + 1);
        reach_kernel_done(&k);
        return answer(s->sock, 0, buf, len, -1);
}

static int serve_open_mapping(struct capturer_server *s, const struct capturer_request *q)
{
        if (!s->maps_parsed) {
                s->maps_parsed = true;
                if (!s->cap->maps_text || procfs_parse_maps(s->cap->maps_text, &s->maps, &s->n_maps) < 0)
                        s->n_maps = 0;
        }
        const struct map_entry *m = map_entries_find(s->maps, s->n_maps, q->a);
        if (!m || m->start != q->a || m->end != q->b || m->path[0] != '/')
                return -EPROTO;
        _cleanup_free_ char *file = strdup(m->path);
        if (!file)
                return answer(s->sock, -ENOMEM, NULL, 0, -1);
        size_t fl = strlen(file), dl = strlen(" (deleted)");
        bool deleted = fl > dl && streq(file + fl - dl, " (deleted)");
        if (deleted)
                file[fl - dl] = 0;
        _cleanup_close_ int fd = modules_open_mapped(s->cap->pid, m->start, m->end, file, deleted,
                                                     makedev(m->dev_major, m->dev_minor), m->inode);
        return answer(s->sock, fd < 0 ? fd : 0, NULL, 0, fd);
}

static int serve_open_debuginfo(struct capturer_server *s, const uint8_t *id, size_t len)
{
        char path[4096];
        if (modules_build_id_path(id, len, path, sizeof path) < 0)
                return -EPROTO;
        _cleanup_close_ int fd = modules_open_file(AT_FDCWD, path, 0, NULL);
        return answer(s->sock, fd < 0 ? fd : 0, NULL, 0, fd);
}

static int serve_cwd(struct capturer_server *s)
{
        char link[64], cwd[4096];
        snprintf(link, sizeof link, "/proc/%d/cwd", (int) s->cap->pid);
        ssize_t len = readlink(link, cwd, sizeof cwd);
        if (len < 0)
                return answer(s->sock, -errno, NULL, 0, -1);
        return answer(s->sock, 0, cwd, (size_t) len, -1);
}

/* A test's source file, named by the target's DWARF: opened only when a
 * regular file that the target's user (the owner of /proc/PID) could read
 * by its mode, looked at through O_PATH first (never a FIFO or a device
 * opened, nothing of root's alone read for a hostile analyser), and never
 * blocking. */
static int serve_open_source(struct capturer_server *s, const char *path, size_t len)
{
        if (len == 0 || len >= 4096 || memchr(path, 0, len) || path[0] != '/')
                return -EPROTO;
        char name[4096], proc[64];
        memcpy(name, path, len);
        name[len] = 0;
        struct stat owner, st, again;
        snprintf(proc, sizeof proc, "/proc/%d", (int) s->cap->pid);
        if (stat(proc, &owner) < 0)
                return answer(s->sock, -errno, NULL, 0, -1);
        _cleanup_close_ int look = open(name, O_PATH | O_CLOEXEC);
        if (look < 0 || fstat(look, &st) < 0)
                return answer(s->sock, -errno, NULL, 0, -1);
        bool readable = (st.st_mode & S_IROTH) || (st.st_uid == owner.st_uid && (st.st_mode & S_IRUSR)) ||
                        (st.st_gid == owner.st_gid && (st.st_mode & S_IRGRP));
        if (!S_ISREG(st.st_mode) || !readable)
                return answer(s->sock, -EACCES, NULL, 0, -1);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", look);
        _cleanup_close_ int fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)
                return answer(s->sock, fd < 0 ? -errno : -ESTALE, NULL, 0, -1);
        return answer(s->sock, 0, NULL, 0, fd);
}

static void open_blocked(struct capturer_server *s)
{
        if (!s->blocked_opened) {
                s->blocked_opened = true;
                s->blocked = blocked_memory_for(s->cap);
        }
}

static int serve_blocked_ms(struct capturer_server *s)
{
        open_blocked(s);
        _cleanup_free_ int64_t *ms = calloc(s->cap->n_threads + 1, sizeof *ms);
        if (!ms)
                return answer(s->sock, -ENOMEM, NULL, 0, -1);
        for (size_t i = 0; i < s->cap->n_threads; i++)
                ms[i] = blocked_ms(s->blocked, s->cap, &s->cap->threads[i]);
        return answer(s->sock, 0, ms, s->cap->n_threads * sizeof *ms, -1);
}

/* The analyser is done with the threads: remember the blocked ones for the
 * next run.  Which ones is the capturer's own call, from its own capture
 * (the syscall, its arguments and the state /proc showed; classify.h
 * without the frames), never the analyser's word: a hostile analyser
 * cannot choose what the capturer remembers.  The times themselves were
 * always the capturer's (the scheduler's, and the switch counts it reads). */
static int serve_blocked_update(struct capturer_server *s)
{
        const struct process_capture *cap = s->cap;
        open_blocked(s);
        if (!s->blocked)        /* nothing remembered for this run (--at-exit) */
                return answer(s->sock, 0, NULL, 0, -1);
        struct leakscan_process p = { .pid = cap->pid };
        _cleanup_free_ struct leakscan_thread *threads = calloc(cap->n_threads + 1, sizeof *threads);
        if (!threads)
                return answer(s->sock, -ENOMEM, NULL, 0, -1);
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                struct classify_input in = { .proc_state = t->stat.state, .proc_flags = t->stat.flags,
                                             .syscall_nr = t->syscall_nr, .fd_target = t->fd_target };
                if (t->regs_valid)
                        arch_regs_syscall_args(&t->regs, in.args);
                struct classify_result cr;
                classify_thread(&in, &cr);
                threads[p.n_threads++] = (struct leakscan_thread) { .tid = t->tid, .state = cr.state,
                                                                     .timeout = cr.timeout };
        }
        p.threads = threads;
        /* answered first: the analyser goes on while the threads are
         * looked at again and the file is written */
        int r = answer(s->sock, 0, NULL, 0, -1);
        blocked_memory_update(s->blocked, cap, &p);
        return r;
}

static int serve_pipes(struct capturer_server *s, const struct wire_pipe *w, size_t n)
{
        if (n > s->cap->n_threads)
                return -EPROTO;
        struct leakscan_process p = { .pid = s->cap->pid, .n_threads = n };
        p.threads = calloc(n + 1, sizeof *p.threads);
        if (!p.threads)
                return answer(s->sock, -ENOMEM, NULL, 0, -1);
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                const struct thread_capture *t = captured(s, w[i].tid);
                if (!t || (w[i].state != LEAKSCAN_STATE_PIPE_READ && w[i].state != LEAKSCAN_STATE_PIPE_WRITE))
                        r = -EPROTO;
                else {
                        p.threads[i].tid = w[i].tid;
                        p.threads[i].state = (enum leakscan_state) w[i].state;
                        p.threads[i].fd_target = t->fd_target ? strdup(t->fd_target) : NULL;
                }
        }
        size_t len = 0;
        char *buf = NULL;
        if (r == 0)
                r = analyse_pipes(&p);
        if (r == 0) {
                size_t size = 0;
                for (size_t i = 0; i < n; i++)
                        size += 8 + (p.threads[i].peer ? strlen(p.threads[i].peer) : 0);
                buf = malloc(size + 1);
                for (size_t i = 0; buf && i < n; i++) {
                        int32_t pid = p.threads[i].peer_pid;
                        uint32_t l = p.threads[i].peer ? (uint32_t) strlen(p.threads[i].peer) : 0;
                        memcpy(buf + len, &pid, 4);
                        memcpy(buf + len + 4, &l, 4);
                        if (l)
                                memcpy(buf + len + 8, p.threads[i].peer, l);
                        len += 8 + l;
                }
                if (!buf)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                free(p.threads[i].fd_target);
                free(p.threads[i].peer);
        }
        free(p.threads);
        if (r == -EPROTO) {
                free(buf);
                return r;
        }
        int k = answer(s->sock, r, buf, r == 0 ? len : 0, -1);
        free(buf);
        return k;
}

static int serve_one(void *userdata);

struct capturer_server *capturer_server_new(int sock, struct process_capture *cap)
{
        struct capturer_server *s = calloc(1, sizeof *s);
        if (s)
                *s = (struct capturer_server) { .sock = sock, .cap = cap };
        return s;
}

int capturer_server_serve(struct capturer_server *s)
{
        return serve_one(s);
}

static void server_done(struct capturer_server *s)
{
        map_entries_free(s->maps, s->n_maps);
        blocked_memory_free(s->blocked);
}

void capturer_server_free(struct capturer_server *s)
{
        if (!s)
                return;
        server_done(s);
        free(s);
}

/* Reads and answers one request.  Returns 0, 1 when the analyser closed
 * the socket, or a negative errno (-EPROTO: a request the capturer refuses)
 * after which the analyser is to be ended. */
static int serve_one(void *userdata)
{
        struct capturer_server *s = userdata;
        struct capturer_request q;
        ssize_t k;
        while ((k = read(s->sock, &q, sizeof q)) < 0 && errno == EINTR)
                ;
        if (k == 0)
                return 1;
        if (k < 0)
                return -errno;
        if ((size_t) k < sizeof q && read_all(s->sock, (char *) &q + k, sizeof q - (size_t) k) < 0)
                return -EPROTO;
        if (q.len > CAPTURER_MAX_REQUEST)
                return -EPROTO;
        _cleanup_free_ uint8_t *payload = malloc(q.len + 1);
        if (!payload)
                return -ENOMEM;
        if (q.len && read_all(s->sock, payload, q.len) < 0)
                return -EPROTO;
        switch (q.type) {
        case CAPTURER_REQ_TASK_FILE:
                return q.len ? -EPROTO : serve_task_file(s, &q);
        case CAPTURER_REQ_KERNEL_ROOTS:
                return q.len ? -EPROTO : serve_kernel_roots(s);
        case CAPTURER_REQ_OPEN_MAPPING:
                return q.len ? -EPROTO : serve_open_mapping(s, &q);
        case CAPTURER_REQ_OPEN_DEBUGINFO:
                return serve_open_debuginfo(s, payload, q.len);
        case CAPTURER_REQ_BLOCKED_MS:
                return q.len ? -EPROTO : serve_blocked_ms(s);
        case CAPTURER_REQ_BLOCKED_UPDATE:
                return q.len ? -EPROTO : serve_blocked_update(s);
        case CAPTURER_REQ_PIPES:
                if (q.len % sizeof(struct wire_pipe))
                        return -EPROTO;
                return serve_pipes(s, (const struct wire_pipe *) (void *) payload, q.len / sizeof(struct wire_pipe));
        case CAPTURER_REQ_CWD:
                return q.len ? -EPROTO : serve_cwd(s);
        case CAPTURER_REQ_OPEN_SOURCE:
                return serve_open_source(s, (const char *) payload, q.len);
        default:
                return -EPROTO;
        }
}

/* What the pid-mode analyser does once confined (capturer_run_pid). */
struct pid_analysis {
        struct process_capture *cap;
        struct leakscan_report *report;
        const struct leakscan_options *opts;
        uint64_t scan_limit;
        FILE *save;
        capturer_report_fn fn;
        void *userdata;
};

static int analyse_pid_in_child(void *userdata)
{
        struct pid_analysis *a = userdata;
        struct leakscan_process *p = &a->report->processes[0];
        int r;
        if (a->save) {
                r = snapshot_analyse_saving(a->cap, a->opts, a->scan_limit, &link_.proxy, p, a->save);
        } else {
                r = inspect_analyse(a->cap, a->opts, NULL, p);
                sandbox_note_module(NULL);      /* the scan reads no module file */
                if (r == 0)
                        r = inspect_reach(a->cap, a->scan_limit, p);
        }
        sandbox_note_module(NULL);
        if (r < 0) {
                sandbox_note_error(r);  /* the capturer describes it (capturer_run_pid) */
                return 3;
        }
        return a->fn(a->userdata, a->report);
}

/* The analyser, after the fork: it keeps only the descriptors it needs
 * (its output, the socket, the memory, keep), is confined before it reads
 * a byte of what the target controls, runs fn, and never returns. */
static _Noreturn void analyse_in_child(int sock, int mem_fd, int pagemap_fd, const int *keep, size_t n_keep,
                                       const struct process_capture *cap, bool hold, capturer_child_fn fn,
                                       void *userdata)
{
        link_.sock = sock;
        link_.cap = cap;
        link_.proxy = (struct reach_proxy) { mem_fd, pagemap_fd, proxy_task_file, proxy_kernel_roots, NULL };
        link_.io = (struct reach_io) { .proxy = &link_.proxy };
        struct sandbox_limits limits = SANDBOX_DEFAULT_LIMITS;
        const char *why = NULL;
        /* the supervisor's other descriptors (under --at-exit: the
         * program's stdin, its notification listener, pidfds) are none of
         * the analyser's business */
        int keep_fds[3 + CAPTURER_MAX_KEEP] = { sock, mem_fd, pagemap_fd };
        for (size_t i = 0; i < n_keep && i < CAPTURER_MAX_KEEP; i++)
                keep_fds[3 + i] = keep[i];
        int r = sandbox_close_others(keep_fds, 3 + (n_keep < CAPTURER_MAX_KEEP ? n_keep : CAPTURER_MAX_KEEP),
                                     hold && !capturer_policy.hold_path, &why);
        int hold_fd = STDIN_FILENO;
        if (r == 0 && hold && capturer_policy.hold_path &&
            (hold_fd = open(capturer_policy.hold_path, O_RDONLY | O_CLOEXEC)) < 0) {
                why = "opening the hold file";
                r = -errno;
        }
        if (r == 0)
                r = sandbox_drop(&limits, &why);
        sandbox_note_pid(cap->pid);
        if (r == 0)
                r = sandbox_confine(&why);
        if (r < 0) {
                fprintf(stderr, "leakscan: cannot confine the analyser (%s): %s\n", why, strerror(-r));
                _exit(3);
        }
        if (hold)
                while (read(hold_fd, &(char) {0}, 1) > 0)
                        ;       /* the test looks at us meanwhile */
        int status = fn(userdata);
        fflush(NULL);
        _exit(status);
}

/* Appends the report the analyser wrote to report_fd to what it wrote to
 * its pipe (nothing, as a rule).  Returns 0 or a negative errno. */
static int read_report(int report_fd, struct capturer_outcome *ret)
{
        struct stat st;
        if (fstat(report_fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0)
                return 0;
        if ((uint64_t) st.st_size > CAPTURER_MAX_ANSWER)
                return -EFBIG;
        char *out = realloc(ret->out, ret->len + (size_t) st.st_size + 1);
        if (!out)
                return -ENOMEM;
        ret->out = out;
        ssize_t got;
        while ((got = pread(report_fd, out + ret->len, (size_t) st.st_size, 0)) < 0 && errno == EINTR)
                ;
        if (got < 0)
                return -errno;
        ret->len += (size_t) got;
        return 0;
}

int capturer_analyse(const struct process_capture *cap, uint64_t scan_limit, bool hold, const int *keep,
                     size_t n_keep, unsigned wall_ms,
                     capturer_child_fn fn, void *userdata, struct capturer_outcome *ret)
{
        pid_t pid = cap->pid;
        int r;
        char path[64];
        *ret = (struct capturer_outcome) {0};
        snprintf(path, sizeof path, "/proc/%d/mem", (int) pid);
        int mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof path, "/proc/%d/pagemap", (int) pid);
        int pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
        /* the report goes into a file in memory, read once the analyser
         * has ended: no hand-over per 64 KiB as through a pipe */
        int report_fd = memfd_create("leakscan-report", MFD_CLOEXEC);
        int sv[2] = { -1, -1 };
        struct sandbox_child child;
        if (report_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                r = -errno;
        else
                r = sandbox_fork(&child);
        if (r == 1) {
                close(sv[0]);
                if (dup2(report_fd, STDOUT_FILENO) < 0)
                        _exit(3);
                analyse_in_child(sv[1], mem_fd, pagemap_fd, keep, n_keep, cap, hold, fn, userdata);
        }
        if (mem_fd >= 0)
                close(mem_fd);
        if (pagemap_fd >= 0)
                close(pagemap_fd);
        if (sv[1] >= 0)
                close(sv[1]);
        /* the capture is only read: the server's copy of the pointer is
         * not written through */
        struct capturer_server s = { .sock = sv[0], .cap = (struct process_capture *) cap,
                                     .scan_limit = scan_limit };
        if (r == 0) {
                struct timeval tv = { CAPTURER_IO_TIMEOUT_S, 0 };
                if (wall_ms && wall_ms / 1000 < CAPTURER_IO_TIMEOUT_S)
                        tv = (struct timeval) { wall_ms / 1000, (wall_ms % 1000) * 1000 + 1 };
                (void) setsockopt(s.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                (void) setsockopt(s.sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                child.serve = serve_one;
                child.serve_fd = s.sock;
                child.serve_data = &s;
                struct sandbox_limits limits = SANDBOX_DEFAULT_LIMITS;
                if (wall_ms)
                        limits.wall_ms = wall_ms;
                int st = sandbox_wait(&child, &limits, &ret->out, &ret->len, ret->why, sizeof ret->why);
                ret->fork_ns = child.fork_ns;
                ret->cpu_us = child.cpu_us;
                int err = child.shared->error;
                munmap(child.shared, sizeof *child.shared);
                if (st < 0) {
                        r = -ECANCELED;
                } else if (err < 0 && err > -4096) {
                        free(ret->out);
                        ret->out = NULL;
                        ret->len = 0;
                        r = err;
                } else {
                        ret->status = st;
                        r = read_report(report_fd, ret);
                }
        } else if (r < 0) {
                snprintf(ret->why, sizeof ret->why, "cannot start the analyser: %s", strerror(-r));
                r = -ECANCELED;
        }
        if (s.sock >= 0)
                close(s.sock);
        if (report_fd >= 0)
                close(report_fd);
        server_done(&s);
        return r;
}

int capturer_run_pid(pid_t pid, const struct leakscan_options *opts, uint64_t scan_limit, bool hold, FILE *save,
                     const int *keep, size_t n_keep, capturer_report_fn report_fn, void *userdata,
                     struct capturer_outcome *ret)
{
        struct process_capture *cap = NULL;
        struct leakscan_report *report = NULL;
        int r = inspect_capture_pid(pid, opts, &cap, &report);
        if (r < 0)
                return r;
        struct pid_analysis a = { cap, report, opts, scan_limit, save, report_fn, userdata };
        int fds[CAPTURER_MAX_KEEP] = { save ? fileno(save) : -1 };
        size_t n = 1;
        for (size_t i = 0; i < n_keep && n < CAPTURER_MAX_KEEP; i++)
                fds[n++] = keep[i];
        r = capturer_analyse(cap, scan_limit, hold, fds, n, 0, analyse_pid_in_child, &a, ret);
        /* libdw and /proc fail in their own words when the process is
         * gone: say what happened */
        if (r < 0 && r != -ECANCELED && r != -ENOMEM && seize_process_gone(pid))
                r = -EOWNERDEAD;
        leakscan_report_free(report);
        process_capture_free(cap);
        return r;
}

/* What the analyser of capturer_inspect_pid does once confined. */
struct inspect_analysis {
        struct process_capture *cap;
        const struct leakscan_options *opts;
        const struct creator_lookup *creators;
        uint64_t scan_limit;
        struct leakscan_process *p;
};

static int analyse_inspect_in_child(void *userdata)
{
        struct inspect_analysis *a = userdata;
        int r = inspect_analyse(a->cap, a->opts, a->creators, a->p);
        sandbox_note_module(NULL);
        if (r == 0)
                r = inspect_reach(a->cap, a->scan_limit, a->p);
        if (r < 0) {
                sandbox_note_error(r);
                return 3;
        }
        return procwire_write(stdout, a->p) < 0 || fflush(stdout) != 0 ? 3 : 0;
}

int capturer_inspect_pid(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                         uint64_t scan_limit, struct leakscan_report **ret, char *why, size_t why_size)
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
        struct inspect_analysis a = { cap, opts, creators, scan_limit, p };
        struct capturer_outcome out;
        r = capturer_analyse(cap, scan_limit, capturer_policy.hold, NULL, 0, 0, analyse_inspect_in_child, &a, &out);
        if (r == 0 && out.status != 0) {
                snprintf(out.why, sizeof out.why, "the analyser failed (exit status %d)", out.status);
                r = -ECANCELED;
        }
        if (r == 0) {
                r = procwire_read((const uint8_t *) out.out, out.len, p);
                if (r == -EBADMSG) {
                        snprintf(out.why, sizeof out.why, "the analyser's answer does not parse");
                        r = -ECANCELED;
                }
        }
        free(out.out);
        if (r == -ECANCELED)
                snprintf(why, why_size, "%s", out.why);
        /* libdw and /proc fail in their own words when the process is
         * gone: say what happened */
        else if (r < 0 && r != -ENOMEM && seize_process_gone(pid))
                r = -EOWNERDEAD;
        process_capture_free(cap);
        if (r < 0) {
                leakscan_report_free(report);
                return r;
        }
        *ret = report;
        return 0;
}

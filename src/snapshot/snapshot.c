/* leakscan-snapshot/1: writer, reader, and the record/replay hooks; see
 * snapshot.h and docs/snapshot.md.
 *
 * The format is sections of fields (type, length, value), little-endian,
 * every value padded to 8 bytes so that stacks and register words are
 * read in place, aligned, from the file's buffer.  A reader skips the
 * fields and sections it does not know: a field added later (a capture
 * fact another change brings) is one more id, and older readers still
 * read the rest.  The reader trusts nothing: every length is checked
 * against what is left of the file and against the limits below. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocked.h"
#include "inspect.h"
#include "model.h"
#include "sandbox.h"
#include "seize.h"
#include "capturer.h"
#include "snapshot.h"
#include "unwind.h"
#include "util.h"

enum {
        SEC_PROCESS = 1,
        SEC_THREAD = 2,
        SEC_MODULE = 3,
        SEC_REACH = 4,
        SEC_MEMORY = 5,
        SEC_PAGES = 6,
        SEC_END = 7,
};

enum {  /* SEC_PROCESS */
        P_ARCH = 1, P_PID, P_N_VANISHED, P_INCOMPLETE, P_HAS_NOW, P_NOW_SCHED_NS, P_STOP_BEGIN_US,
        P_STOP_END_US, P_MAPS, P_EXE, P_CMDLINE_ARG, P_SCAN_LIMIT,
};

enum {  /* SEC_THREAD */
        T_TID = 1, T_COMM, T_STATE, T_PF_FLAGS, T_STARTTIME, T_NUM_THREADS, T_FLAGS, T_EXEC_START_NS,
        T_PENDING_SIGNAL, T_REGS, T_SYSCALL_NR, T_STACK_ADDR, T_STACK, T_FUTEX_WORD, T_LOCK_ADDR, T_LOCK,
        T_FD_TARGET, T_NVCSW, T_FUTEX_ADDR, T_WAIT_FD,
        T_STOPPED_US = 31,      /* the last of the capture's ids: the first are left to others */
        T_BLOCKED_MS = 32, T_PEER, T_PEER_PID,
};

enum {  /* T_FLAGS bits */
        TF_SEIZED = 1 << 0, TF_STOPPED = 1 << 1, TF_VANISHED = 1 << 2, TF_HELD = 1 << 3,
        TF_GROUP_STOP = 1 << 4, TF_REGS_VALID = 1 << 5, TF_STACK_TRUNCATED = 1 << 6,
        TF_HAS_FUTEX_WORD = 1 << 7, TF_PROC_ONLY = 1 << 8, TF_HAS_NVCSW = 1 << 9, TF_REWOUND = 1 << 10,
        TF_PRESEIZED = 1 << 11, TF_HAS_EXEC_START = 1 << 12, TF_STOPFREE = 1 << 13, TF_REGS_PARTIAL = 1 << 14,
        TF_FP_GUESSED = 1 << 15, TF_WAS_STOPPED = 1 << 16, TF_SAMPLED = 1 << 17,
};

enum {  /* SEC_MODULE */
        M_PATH = 1, M_START, M_END, M_DEV, M_INODE, M_BUILD_ID, M_IMAGE,
};

enum {  /* SEC_REACH */
        R_SCANNED = 1, R_N, R_SP, R_FLAGS, R_EXTRA, R_BLIND, R_EXTRA_BYTES, R_BUDGET,
};

/* Limits of docs/snapshot.md */
#define MAX_THREADS (1u << 22)
#define MAX_MODULES (1u << 16)
#define MAX_MAPS (256u << 20)
#define MAX_STRING (1u << 20)
#define MAX_STACK (1u << 30)
#define MAX_IMAGE (1u << 20)
#define HEADER_LEN 24           /* the magic, padded to 8 bytes */

#if defined(__x86_64__)
#define ARCH_NAME "x86_64"      /* T_REGS is its struct user_regs_struct */
#else
#error "snapshot: name this machine and its register set"
#endif

static size_t pad8(size_t n)
{
        return (n + 7) & ~(size_t) 7;
}

/* ---- writing ---- */

struct wbuf {
        uint8_t *p;
        size_t len, size;
        int err;
};

static void wbuf_put(struct wbuf *b, const void *data, size_t len)
{
        size_t need = pad8(len);
        if (b->err)
                return;
        if (b->len + need > b->size) {
                size_t size = b->size ? b->size : 4096;
                while (size < b->len + need)
                        size *= 2;
                uint8_t *p = realloc(b->p, size);
                if (!p) {
                        b->err = -ENOMEM;
                        return;
                }
                b->p = p;
                b->size = size;
        }
        if (len)
                memcpy(b->p + b->len, data, len);
        memset(b->p + b->len + len, 0, need - len);
        b->len += need;
}

static void put_field(struct wbuf *b, uint32_t id, const void *data, size_t len)
{
        uint32_t hdr[2] = { htole32(id), htole32((uint32_t) len) };
        if (len > UINT32_MAX) {
                b->err = -E2BIG;
                return;
        }
        wbuf_put(b, hdr, sizeof hdr);
        wbuf_put(b, data, len);
}

static void put_u64(struct wbuf *b, uint32_t id, uint64_t v)
{
        v = htole64(v);
        put_field(b, id, &v, sizeof v);
}

static void put_str(struct wbuf *b, uint32_t id, const char *s)
{
        if (s)
                put_field(b, id, s, strlen(s));
}

static void put_u64s(struct wbuf *b, uint32_t id, const uint64_t *v, size_t n)
{
        _cleanup_free_ uint64_t *le = malloc((n + 1) * sizeof *le);
        if (!le) {
                b->err = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n; i++)
                le[i] = htole64(v[i]);
        put_field(b, id, le, n * sizeof *le);
}

static int write_section(FILE *f, uint32_t type, const void *head, size_t head_len, const void *body, size_t len)
{
        uint32_t h[4] = { htole32(type), 0, 0, 0 };
        uint64_t total = htole64(head_len + len);
        memcpy(&h[2], &total, sizeof total);
        static const uint8_t zeros[8];
        size_t pad = pad8(head_len + len) - (head_len + len);
        if (fwrite(h, sizeof h, 1, f) != 1 || (head_len && fwrite(head, head_len, 1, f) != 1) ||
            (len && fwrite(body, len, 1, f) != 1) || (pad && fwrite(zeros, pad, 1, f) != 1))
                return -EIO;
        return 0;
}

static int write_buf(FILE *f, uint32_t type, struct wbuf *b)
{
        int r = b->err ? b->err : write_section(f, type, NULL, 0, b->p, b->len);
        free(b->p);
        *b = (struct wbuf) {0};
        return r;
}

static uint64_t thread_flags(const struct thread_capture *t)
{
        return (t->seized ? TF_SEIZED : 0) | (t->stopped ? TF_STOPPED : 0) | (t->vanished ? TF_VANISHED : 0) |
               (t->held ? TF_HELD : 0) | (t->group_stop ? TF_GROUP_STOP : 0) |
               (t->regs_valid ? TF_REGS_VALID : 0) | (t->stack_truncated ? TF_STACK_TRUNCATED : 0) |
               (t->has_futex_word ? TF_HAS_FUTEX_WORD : 0) | (t->proc_only ? TF_PROC_ONLY : 0) |
               (t->has_nvcsw ? TF_HAS_NVCSW : 0) | (t->rewound ? TF_REWOUND : 0) |
               (t->preseized ? TF_PRESEIZED : 0) | (t->has_exec_start ? TF_HAS_EXEC_START : 0) |
               (t->stopfree ? TF_STOPFREE : 0) | (t->regs_partial ? TF_REGS_PARTIAL : 0) |
               (t->fp_guessed ? TF_FP_GUESSED : 0) | (t->was_stopped ? TF_WAS_STOPPED : 0) |
               (t->sampled ? TF_SAMPLED : 0);
}

static void put_thread(struct wbuf *b, const struct thread_capture *t, const struct snapshot_thread_facts *fa,
                       const char *fd_target)
{
        put_u64(b, T_TID, (uint64_t) t->tid);
        put_field(b, T_COMM, t->stat.comm, strnlen(t->stat.comm, sizeof t->stat.comm - 1));
        put_u64(b, T_STATE, (uint8_t) t->stat.state);
        put_u64(b, T_PF_FLAGS, t->stat.flags);
        put_u64(b, T_STARTTIME, t->stat.starttime);
        put_u64(b, T_NUM_THREADS, (uint64_t) t->stat.num_threads);
        put_u64(b, T_FLAGS, thread_flags(t));
        put_u64(b, T_EXEC_START_NS, t->exec_start_ns);
        put_u64(b, T_PENDING_SIGNAL, (uint64_t) (int64_t) t->pending_signal);
        put_u64s(b, T_REGS, (const uint64_t *) &t->regs, sizeof t->regs / sizeof(uint64_t));
        put_u64(b, T_SYSCALL_NR, (uint64_t) (int64_t) t->syscall_nr);
        put_u64(b, T_STACK_ADDR, t->stack_addr);
        if (t->stack && t->stack_len)
                put_field(b, T_STACK, t->stack, t->stack_len);
        put_u64(b, T_FUTEX_WORD, t->futex_word);
        put_u64(b, T_LOCK_ADDR, t->lock_addr);
        put_field(b, T_LOCK, t->lock, t->lock_len <= sizeof t->lock ? t->lock_len : 0);
        put_str(b, T_FD_TARGET, fd_target);
        put_u64(b, T_NVCSW, t->nvcsw);
        put_u64(b, T_FUTEX_ADDR, t->futex_addr);
        put_u64(b, T_WAIT_FD, (uint64_t) (int64_t) t->wait_fd);
        if (t->has_stopped_us)
                put_u64(b, T_STOPPED_US, t->stopped_us);
        if (fa && fa->has_blocked_ms)
                put_u64(b, T_BLOCKED_MS, (uint64_t) fa->blocked_ms);
        if (fa && fa->peer) {
                put_str(b, T_PEER, fa->peer);
                put_u64(b, T_PEER_PID, (uint64_t) fa->peer_pid);
        }
}

static int cmp_range(const void *a, const void *b)
{
        uint64_t x = ((const struct snapshot_range *) a)->addr, y = ((const struct snapshot_range *) b)->addr;
        return x < y ? -1 : x > y;
}

static int cmp_pages(const void *a, const void *b)
{
        const struct snapshot_pages *x = a, *y = b;
        if (x->addr != y->addr)
                return x->addr < y->addr ? -1 : 1;
        return x->n < y->n ? -1 : x->n > y->n;
}

/* The memory read, sorted and merged into ranges apart from each other:
 * a word read twice is kept once (one of its readings). */
static int write_memory(FILE *f, struct snapshot *s)
{
        if (s->n_ranges == 0)
                return 0;
        qsort(s->ranges, s->n_ranges, sizeof *s->ranges, cmp_range);
        struct wbuf m = {0};
        uint64_t start = s->ranges[0].addr, end = start;
        int r = 0;
        for (size_t i = 0; i <= s->n_ranges && r == 0; i++) {
                const struct snapshot_range *g = i < s->n_ranges ? &s->ranges[i] : NULL;
                if (!g || g->addr > end) {
                        uint64_t a = htole64(start);
                        if (m.err)
                                r = m.err;
                        else if (end > start)
                                r = write_section(f, SEC_MEMORY, &a, sizeof a, m.p, (size_t) (end - start));
                        m.len = 0;
                        if (!g)
                                break;
                        start = end = g->addr;
                }
                if (g->addr + g->len > end) {
                        size_t skip = (size_t) (end - g->addr);
                        /* appended unpadded: the bytes run on */
                        size_t len = g->len - skip;
                        size_t keep = m.len;
                        wbuf_put(&m, g->bytes + skip, len);
                        m.len = keep + len;
                        end = g->addr + g->len;
                }
        }
        free(m.p);
        return r;
}

static int write_pages(FILE *f, struct snapshot *s)
{
        if (s->n_pages == 0)
                return 0;
        qsort(s->pages, s->n_pages, sizeof *s->pages, cmp_pages);
        for (size_t i = 0; i < s->n_pages; i++) {
                const struct snapshot_pages *g = &s->pages[i];
                if (i > 0 && cmp_pages(g, &s->pages[i - 1]) == 0)
                        continue;
                uint64_t head[3] = { htole64(g->addr), htole64(g->n), htole64((uint64_t) (int64_t) g->r) };
                int r = write_section(f, SEC_PAGES, head, sizeof head, g->touched, g->n);
                if (r < 0)
                        return r;
        }
        return 0;
}

int snapshot_create_file(const char *path, FILE **ret)
{
        /* no O_TRUNC before the checks: an existing file is ours to
         * replace only if it is a regular file we own, and it is made
         * ours alone before anything is written */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                                      0600);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
                return -EPERM;
        if (fchmod(fd, 0600) < 0 || ftruncate(fd, 0) < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f)
                return -errno;
        fd = -1;
        *ret = f;
        return 0;
}

int snapshot_write(struct snapshot *s, FILE *f)
{
        const struct process_capture *cap = s->cap;
        uint8_t header[HEADER_LEN] = {0};
        memcpy(header, SNAPSHOT_MAGIC, strlen(SNAPSHOT_MAGIC));
        if (fwrite(header, sizeof header, 1, f) != 1)
                return -EIO;
        struct wbuf b = {0};
        put_str(&b, P_ARCH, ARCH_NAME);
        put_u64(&b, P_PID, (uint64_t) cap->pid);
        put_u64(&b, P_N_VANISHED, cap->n_vanished);
        put_u64(&b, P_INCOMPLETE, cap->incomplete);
        put_u64(&b, P_HAS_NOW, cap->has_now);
        put_u64(&b, P_NOW_SCHED_NS, cap->now_sched_ns);
        put_u64(&b, P_STOP_BEGIN_US, cap->stop_begin_us);
        put_u64(&b, P_STOP_END_US, cap->stop_end_us);
        put_str(&b, P_MAPS, cap->maps_text ? cap->maps_text : "");
        put_str(&b, P_EXE, s->exe);
        for (size_t i = 0; i < s->n_cmdline; i++)
                put_str(&b, P_CMDLINE_ARG, s->cmdline[i]);
        put_u64(&b, P_SCAN_LIMIT, s->scan_limit);
        int r = write_buf(f, SEC_PROCESS, &b);
        for (size_t i = 0; r == 0 && i < cap->n_threads; i++) {
                const struct snapshot_thread_facts *fa = i < s->n_facts ? &s->facts[i] : NULL;
                put_thread(&b, &cap->threads[i], fa, fa && fa->fd_target ? fa->fd_target : cap->threads[i].fd_target);
                r = write_buf(f, SEC_THREAD, &b);
                }
        for (size_t i = 0; r == 0 && i < s->n_modules; i++) {
                const struct module_identity *m = &s->modules[i];
                put_str(&b, M_PATH, m->path);
                put_u64(&b, M_START, m->start);
                put_u64(&b, M_END, m->end);
                put_u64(&b, M_DEV, m->dev);
                put_u64(&b, M_INODE, m->inode);
                if (m->build_id_len)
                        put_field(&b, M_BUILD_ID, m->build_id, m->build_id_len);
                if (m->image)
                        put_field(&b, M_IMAGE, m->image, m->image_len);
                r = write_buf(f, SEC_MODULE, &b);
                }
        if (r == 0) {
                const struct reach_live *l = &s->reach;
                put_u64(&b, R_SCANNED, l->scanned);
                if (l->scanned) {
                        put_u64(&b, R_N, l->n);
                        put_u64s(&b, R_SP, l->sp, l->n);
                        put_field(&b, R_FLAGS, l->flags, l->n);
                        put_u64s(&b, R_EXTRA, l->extra_roots, l->n_extra_roots);
                        put_str(&b, R_BLIND, l->blind);
                        put_field(&b, R_EXTRA_BYTES, l->extra_bytes, l->n_extra_bytes);
                        put_u64(&b, R_BUDGET, l->budget);
                }
                r = write_buf(f, SEC_REACH, &b);
                }
        if (r == 0)
                r = write_memory(f, s);
        if (r == 0)
                r = write_pages(f, s);
        if (r == 0)
                r = write_section(f, SEC_END, NULL, 0, NULL, 0);
        free(b.p);
        if (r == 0 && fflush(f) != 0)
                r = -errno;
        return r;
}

/* ---- reading ---- */

struct field {
        uint32_t id;
        const uint8_t *v;
        size_t len;
};

/* The next field of [*p, end), or false at the end; *bad set when the
 * field does not fit. */
static bool next_field(const uint8_t **p, const uint8_t *end, struct field *f, bool *bad)
{
        if (*p == end)
                return false;
        if ((size_t) (end - *p) < 8) {
                *bad = true;
                return false;
        }
        uint32_t h[2];
        memcpy(h, *p, sizeof h);
        f->id = le32toh(h[0]);
        f->len = le32toh(h[1]);
        f->v = *p + 8;
        if (pad8(f->len) > (size_t) (end - f->v)) {
                *bad = true;
                return false;
        }
        *p = f->v + pad8(f->len);
        return true;
}

static bool get_u64(const struct field *f, uint64_t *ret)
{
        if (f->len != 8)
                return false;
        memcpy(ret, f->v, 8);
        *ret = le64toh(*ret);
        return true;
}

/* A string field: no NUL inside, at most max bytes. */
static bool get_str(const struct field *f, size_t max, char **ret)
{
        if (f->len > max || memchr(f->v, 0, f->len))
                return false;
        char *s = strndup((const char *) f->v, f->len);
        if (!s)
                return false;
        free(*ret);
        *ret = s;
        return true;
}

#define BAD(msg) do { *why = (msg); return -EINVAL; } while (0)

static int parse_process(struct snapshot *s, const uint8_t *p, const uint8_t *end, const char **why)
{
        struct process_capture *cap = s->cap;
        struct field f;
        bool bad = false, has_pid = false;
        uint64_t v;
        while (next_field(&p, end, &f, &bad)) {
                if (f.id == P_ARCH) {
                        if (f.len != strlen(ARCH_NAME) || memcmp(f.v, ARCH_NAME, f.len) != 0) {
                                *why = "the snapshot is of another machine's process";
                                return -EPROTONOSUPPORT;
                        }
                        continue;
                }
                if (f.id == P_MAPS) {
                        if (!get_str(&f, MAX_MAPS, &cap->maps_text))
                                BAD("the maps are not text");
                        continue;
                }
                if (f.id == P_EXE) {
                        if (!get_str(&f, MAX_STRING, &s->exe))
                                BAD("the program's path is not text");
                        continue;
                }
                if (f.id == P_CMDLINE_ARG) {
                        char *arg = NULL;
                        if (s->n_cmdline >= MAX_THREADS || !get_str(&f, MAX_STRING, &arg))
                                BAD("a command-line argument is not text");
                        char **n = realloc(s->cmdline, (s->n_cmdline + 2) * sizeof *n);
                        if (!n) {
                                free(arg);
                                return -ENOMEM;
                        }
                        s->cmdline = n;
                        s->cmdline[s->n_cmdline++] = arg;
                        s->cmdline[s->n_cmdline] = NULL;
                        continue;
                }
                if (f.id < P_ARCH || f.id > P_SCAN_LIMIT)
                        continue;       /* a later version's field */
                if (!get_u64(&f, &v))
                        BAD("a number of the process section is not 8 bytes");
                switch (f.id) {
                case P_PID:
                        if (v == 0 || v > INT32_MAX)
                                BAD("the process id is out of range");
                        cap->pid = (pid_t) v;
                        has_pid = true;
                        break;
                case P_N_VANISHED: cap->n_vanished = (size_t) v; break;
                case P_INCOMPLETE: cap->incomplete = v != 0; break;
                case P_HAS_NOW: cap->has_now = v != 0; break;
                case P_NOW_SCHED_NS: cap->now_sched_ns = v; break;
                case P_STOP_BEGIN_US: cap->stop_begin_us = v; break;
                case P_STOP_END_US: cap->stop_end_us = v; break;
                case P_SCAN_LIMIT: s->scan_limit = v; break;
                }
        }
        if (bad)
                BAD("a field of the process section runs past its end");
        if (!has_pid || !cap->maps_text)
                BAD("the process section has no process id or no maps");
        return 0;
}

static int parse_thread(struct snapshot *s, const uint8_t *p, const uint8_t *end, const char **why)
{
        struct process_capture *cap = s->cap;
        struct thread_capture t = { .syscall_nr = -1, .wait_fd = -1 };
        struct snapshot_thread_facts fa = {0};
        char *fd_target = NULL;
        struct field f;
        bool bad = false, has_tid = false;
        uint64_t v;
        const char *err = NULL;
        int r = 0;
        while (!err && next_field(&p, end, &f, &bad)) {
                switch (f.id) {
                case T_COMM:
                        if (f.len >= sizeof t.stat.comm || memchr(f.v, 0, f.len))
                                err = "a thread name is too long";
                        else
                                memcpy(t.stat.comm, f.v, f.len);
                        continue;
                case T_REGS:
                        if (f.len != sizeof t.regs)
                                err = "a register set is not of this machine";
                        else
                                for (size_t i = 0; i < sizeof t.regs / 8; i++) {
                                        memcpy(&v, f.v + 8 * i, 8);
                                        v = le64toh(v);
                                        memcpy((uint8_t *) &t.regs + 8 * i, &v, 8);
                                }
                        continue;
                case T_STACK:
                        if (f.len > MAX_STACK)
                                err = "a stack copy is too large";
                        t.stack = (uint8_t *) f.v;      /* in the file's buffer: 8-aligned */
                        t.stack_len = f.len;
                        continue;
                case T_LOCK:
                        if (f.len > sizeof t.lock)
                                err = "a lock copy is too large";
                        else
                                memcpy(t.lock, f.v, f.len);
                        t.lock_len = f.len;
                        continue;
                case T_FD_TARGET:
                        if (!get_str(&f, MAX_STRING, &fd_target))
                                err = "a fd target is not text";
                        continue;
                case T_PEER:
                        if (!get_str(&f, MAX_STRING, &fa.peer))
                                err = "a pipe peer is not text";
                        continue;
                }
                if (f.id > T_PEER_PID || (f.id > T_WAIT_FD && f.id < T_STOPPED_US))
                        continue;       /* a later version's field */
                if (!get_u64(&f, &v)) {
                        err = "a number of a thread section is not 8 bytes";
                        continue;
                }
                switch (f.id) {
                case T_TID:
                        if (v == 0 || v > INT32_MAX)
                                err = "a thread id is out of range";
                        t.tid = (pid_t) v;
                        has_tid = true;
                        break;
                case T_STATE: t.stat.state = (char) v; break;
                case T_PF_FLAGS: t.stat.flags = (unsigned) v; break;
                case T_STARTTIME: t.stat.starttime = v; break;
                case T_NUM_THREADS: t.stat.num_threads = (long) v; break;
                case T_FLAGS:
                        t.seized = v & TF_SEIZED;
                        t.stopped = v & TF_STOPPED;
                        t.vanished = v & TF_VANISHED;
                        t.held = v & TF_HELD;
                        t.group_stop = v & TF_GROUP_STOP;
                        t.regs_valid = v & TF_REGS_VALID;
                        t.stack_truncated = v & TF_STACK_TRUNCATED;
                        t.has_futex_word = v & TF_HAS_FUTEX_WORD;
                        t.proc_only = v & TF_PROC_ONLY;
                        t.has_nvcsw = v & TF_HAS_NVCSW;
                        t.rewound = v & TF_REWOUND;
                        t.preseized = v & TF_PRESEIZED;
                        t.has_exec_start = v & TF_HAS_EXEC_START;
                        t.stopfree = v & TF_STOPFREE;
                        t.regs_partial = v & TF_REGS_PARTIAL;
                        t.fp_guessed = v & TF_FP_GUESSED;
                        t.was_stopped = v & TF_WAS_STOPPED;
                        t.sampled = v & TF_SAMPLED;
                        break;
                case T_EXEC_START_NS: t.exec_start_ns = v; break;
                case T_PENDING_SIGNAL: t.pending_signal = (int) (int64_t) v; break;
                case T_SYSCALL_NR: t.syscall_nr = (long) (int64_t) v; break;
                case T_STACK_ADDR: t.stack_addr = v; break;
                case T_FUTEX_WORD: t.futex_word = (uint32_t) v; break;
                case T_LOCK_ADDR: t.lock_addr = v; break;
                case T_NVCSW: t.nvcsw = v; break;
                case T_FUTEX_ADDR: t.futex_addr = v; break;
                case T_WAIT_FD: t.wait_fd = (int) (int64_t) v; break;
                case T_STOPPED_US: t.has_stopped_us = true; t.stopped_us = v; break;
                case T_BLOCKED_MS: fa.has_blocked_ms = true; fa.blocked_ms = (int64_t) v; break;
                case T_PEER_PID: fa.peer_pid = (pid_t) (int64_t) v; break;
                }
        }
        if (!err && bad)
                err = "a field of a thread section runs past its end";
        if (!err && !has_tid)
                err = "a thread section has no thread id";
        if (!err && cap->n_threads >= MAX_THREADS)
                err = "too many threads";
        if (!err && process_capture_find(cap, t.tid))
                err = "a thread is listed twice";
        if (!err) {
                struct snapshot_thread_facts *nf = realloc(s->facts, (s->n_facts + 1) * sizeof *nf);
                if (nf)
                        s->facts = nf;
                struct thread_capture *slot = nf ? process_capture_add(cap, t.tid) : NULL;
                if (!slot) {
                        r = -ENOMEM;
                } else {
                        t.fd_target = fd_target;
                        fd_target = NULL;
                        *slot = t;
                        fa.tid = t.tid;
                        s->facts[s->n_facts++] = fa;
                        fa.peer = NULL;
                }
        }
        free(fd_target);
        free(fa.peer);
        if (err)
                BAD(err);
        return r;
}

static int parse_module(struct snapshot *s, const uint8_t *p, const uint8_t *end, const char **why)
{
        if (s->n_modules >= MAX_MODULES)
                BAD("too many modules");
        struct module_identity *n = realloc(s->modules, (s->n_modules + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        s->modules = n;
        struct module_identity *m = &s->modules[s->n_modules++];
        *m = (struct module_identity) { .fd = -1, .debug_fd = -1 };
        struct field f;
        bool bad = false;
        uint64_t v;
        while (next_field(&p, end, &f, &bad)) {
                switch (f.id) {
                case M_PATH:
                        if (!get_str(&f, MAX_STRING, &m->path))
                                BAD("a module's path is not text");
                        continue;
                case M_BUILD_ID:
                        if (f.len == 0 || f.len > sizeof m->build_id)
                                BAD("a build-id is too long");
                        memcpy(m->build_id, f.v, f.len);
                        m->build_id_len = f.len;
                        continue;
                case M_IMAGE:
                        if (f.len == 0 || f.len > MAX_IMAGE)
                                BAD("a vdso image is too large");
                        free(m->image);
                        m->image = malloc(f.len);
                        if (!m->image)
                                return -ENOMEM;
                        memcpy(m->image, f.v, f.len);
                        m->image_len = f.len;
                        continue;
                }
                if (f.id < M_START || f.id > M_INODE)
                        continue;
                if (!get_u64(&f, &v))
                        BAD("a number of a module section is not 8 bytes");
                switch (f.id) {
                case M_START: m->start = v; break;
                case M_END: m->end = v; break;
                case M_DEV: m->dev = v; break;
                case M_INODE: m->inode = v; break;
                }
        }
        if (bad)
                BAD("a field of a module section runs past its end");
        if (!m->path || m->start >= m->end)
                BAD("a module has no path or an empty range");
        if (m->image && m->image_len != m->end - m->start)
                BAD("a vdso image is not the size of its mapping");
        return 0;
}

static int parse_reach(struct snapshot *s, const uint8_t *p, const uint8_t *end, const char **why)
{
        struct reach_live *l = &s->reach;
        reach_live_done(l);
        struct field f;
        bool bad = false;
        uint64_t v;
        const struct field *sp = NULL, *flags = NULL;
        struct field fsp, fflags;
        while (next_field(&p, end, &f, &bad)) {
                switch (f.id) {
                case R_SCANNED:
                case R_N:
                        if (!get_u64(&f, &v))
                                BAD("a number of the reach section is not 8 bytes");
                        if (f.id == R_SCANNED)
                                l->scanned = v != 0;
                        else if (v > MAX_THREADS)
                                BAD("the reach section has too many threads");
                        else
                                l->n = (size_t) v;
                        break;
                case R_SP: fsp = f; sp = &fsp; break;
                case R_FLAGS: fflags = f; flags = &fflags; break;
                case R_EXTRA:
                        if (f.len % 8)
                                BAD("the kernel's roots are not 8-byte words");
                        free(l->extra_roots);
                        l->extra_roots = malloc(f.len + 8);
                        if (!l->extra_roots)
                                return -ENOMEM;
                        l->n_extra_roots = f.len / 8;
                        for (size_t i = 0; i < l->n_extra_roots; i++) {
                                memcpy(&v, f.v + 8 * i, 8);
                                l->extra_roots[i] = le64toh(v);
                        }
                        break;
                case R_BLIND:
                        if (!get_str(&f, MAX_STRING, &l->blind))
                                BAD("the reach section's note is not text");
                        break;
                case R_EXTRA_BYTES:
                        free(l->extra_bytes);
                        l->extra_bytes = malloc(f.len + 1);
                        if (!l->extra_bytes)
                                return -ENOMEM;
                        if (f.len)
                                memcpy(l->extra_bytes, f.v, f.len);
                        l->n_extra_bytes = f.len;
                        break;
                case R_BUDGET:
                        if (!get_u64(&f, &v))
                                BAD("a number of the reach section is not 8 bytes");
                        l->budget = v;
                        break;
                }
        }
        if (bad)
                BAD("a field of the reach section runs past its end");
        if (!l->scanned)
                return 0;
        if (!sp || !flags || sp->len != l->n * 8 || flags->len != l->n)
                BAD("the reach section's arrays are not one per thread");
        l->sp = malloc(l->n * 8 + 8);
        l->flags = malloc(l->n + 1);
        if (!l->sp || !l->flags)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                memcpy(&v, sp->v + 8 * i, 8);
                l->sp[i] = le64toh(v);
        }
        memcpy(l->flags, flags->v, l->n);
        return 0;
}

static int parse_memory(struct snapshot *s, const uint8_t *p, size_t len, const char **why)
{
        uint64_t addr;
        if (len < 8)
                BAD("a memory section has no address");
        memcpy(&addr, p, 8);
        addr = le64toh(addr);
        len -= 8;
        if (len == 0 || addr + len < addr)
                BAD("a memory section is empty or wraps around");
        if (s->n_ranges) {
                const struct snapshot_range *last = &s->ranges[s->n_ranges - 1];
                if (addr < last->addr + last->len)
                        BAD("memory sections overlap or are out of order");
        }
        struct snapshot_range *n = realloc(s->ranges, (s->n_ranges + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        s->ranges = n;
        s->ranges[s->n_ranges++] = (struct snapshot_range) { addr, len, (uint8_t *) p + 8 };
        s->range_bytes += len;
        return 0;
}

static int parse_pages(struct snapshot *s, const uint8_t *p, size_t len, const char **why)
{
        uint64_t h[3];
        if (len < sizeof h)
                BAD("a pages section is too short");
        memcpy(h, p, sizeof h);
        struct snapshot_pages g = { le64toh(h[0]), (size_t) le64toh(h[1]), (int) (int64_t) le64toh(h[2]),
                                    (uint8_t *) p + sizeof h };
        if (g.n != len - sizeof h)
                BAD("a pages section's count is not its length");
        if ((int64_t) le64toh(h[2]) > 0 || (int64_t) le64toh(h[2]) < -4095)
                BAD("a pages section's result is not an errno");
        if (s->n_pages && cmp_pages(&s->pages[s->n_pages - 1], &g) >= 0)
                BAD("pages sections are out of order");
        struct snapshot_pages *n = realloc(s->pages, (s->n_pages + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        s->pages = n;
        s->pages[s->n_pages++] = g;
        return 0;
}

void snapshot_free(struct snapshot *s)
{
        if (!s)
                return;
        process_capture_free(s->cap);
        free(s->exe);
        strv_free(s->cmdline);
        module_identities_free(s->modules, s->n_modules);
        for (size_t i = 0; i < s->n_facts; i++) {
                free(s->facts[i].peer);
                free(s->facts[i].fd_target);
        }
        free(s->facts);
        reach_live_done(&s->reach);
        if (!s->file)           /* recorded, not read: the ranges own their bytes */
                for (size_t i = 0; i < s->n_ranges; i++)
                        free(s->ranges[i].bytes);
        free(s->ranges);
        if (!s->file)
                for (size_t i = 0; i < s->n_pages; i++)
                        free(s->pages[i].touched);
        free(s->pages);
        free(s->file);
        free(s);
}

int snapshot_parse(uint8_t *buf, size_t len, struct snapshot **ret, const char **why)
{
        const char *dummy;
        if (!why)
                why = &dummy;
        *why = NULL;
        struct snapshot *s = calloc(1, sizeof *s);
        if (!s) {
                free(buf);
                return -ENOMEM;
        }
        s->file = buf;
        s->scan_limit = REACH_DEFAULT_SCAN_LIMIT;
        int r = 0;
        if (len < HEADER_LEN || memcmp(buf, "leakscan-snapshot/", 18) != 0) {
                *why = "not a leakscan snapshot";
                r = -EINVAL;
        } else if (memcmp(buf, SNAPSHOT_MAGIC, strlen(SNAPSHOT_MAGIC)) != 0) {
                *why = "a snapshot of another version of the format";
                r = -EPROTONOSUPPORT;
        } else if (!(s->cap = process_capture_new(0))) {
                r = -ENOMEM;
        }
        size_t off = HEADER_LEN;
        bool ended = false, has_process = false, has_reach = false;
        while (r == 0 && off < len && !ended) {
                if (len - off < 16) {
                        *why = "the file ends inside a section header";
                        r = -EINVAL;
                        break;
                }
                uint32_t type;
                uint64_t plen;
                memcpy(&type, buf + off, 4);
                memcpy(&plen, buf + off + 8, 8);
                type = le32toh(type);
                plen = le64toh(plen);
                const uint8_t *p = buf + off + 16;
                size_t left = len - off - 16;
                if (plen > left || pad8((size_t) plen) > left) {
                        *why = "a section runs past the end of the file";
                        r = -EINVAL;
                        break;
                }
                if (!has_process && type != SEC_PROCESS) {
                        *why = "the first section is not the process";
                        r = -EINVAL;
                        break;
                }
                switch (type) {
                case SEC_PROCESS:
                        if (has_process) {
                                *why = "two process sections";
                                r = -EINVAL;
                        } else {
                                r = parse_process(s, p, p + plen, why);
                                has_process = true;
                        }
                        break;
                case SEC_THREAD: r = parse_thread(s, p, p + plen, why); break;
                case SEC_MODULE: r = parse_module(s, p, p + plen, why); break;
                case SEC_REACH: r = parse_reach(s, p, p + plen, why); has_reach = true; break;
                case SEC_MEMORY: r = parse_memory(s, p, (size_t) plen, why); break;
                case SEC_PAGES: r = parse_pages(s, p, (size_t) plen, why); break;
                case SEC_END: ended = true; break;
                default: break; /* a later version's section */
                }
                off += 16 + pad8((size_t) plen);
                }
        if (r == 0 && (!ended || off != len)) {
                *why = ended ? "bytes follow the end section" : "the file is cut short: no end section";
                r = -EINVAL;
        }
        if (r == 0 && !has_reach) {
                *why = "no reach section";
                r = -EINVAL;
        }
        if (r < 0) {
                snapshot_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int snapshot_read_bytes(const char *path, uint8_t **ret, size_t *ret_len, const char **why)
{
        *why = NULL;
        /* looked at before it is opened: a device node or a FIFO is not
         * opened at all (we may be root) */
        _cleanup_close_ int fd = modules_open_file(AT_FDCWD, path, 0, NULL);
        if (fd == -EBADF) {
                *why = "not a regular file";
                return -EINVAL;
        }
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > SNAPSHOT_MAX_FILE) {
                *why = "larger than a snapshot may be (4 GiB)";
                return -EFBIG;
        }
        size_t len = (size_t) st.st_size;
        uint8_t *buf = malloc(len + 8);
        if (!buf)
                return -ENOMEM;
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;
                        free(buf);
                        return r;
                }
                got += (size_t) n;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int snapshot_read_file(const char *path, struct snapshot **ret, const char **why)
{
        uint8_t *buf;
        size_t len;
        int r = snapshot_read_bytes(path, &buf, &len, why);
        return r < 0 ? r : snapshot_parse(buf, len, ret, why);
}

int snapshot_open_modules(struct snapshot *s)
{
        for (size_t i = 0; i < s->n_modules; i++) {
                struct module_identity *m = &s->modules[i];
                if (m->image || m->path[0] != '/')
                        continue;       /* the vdso: its bytes are in the snapshot */
                if (m->fd < 0)
                        m->fd = modules_open_file(AT_FDCWD, m->path, 0, NULL);
                char path[4096];
                if (m->fd >= 0 && m->debug_fd < 0 &&
                    modules_build_id_path(m->build_id, m->build_id_len, path, sizeof path) == 0)
                        m->debug_fd = modules_open_file(AT_FDCWD, path, 0, NULL);
                if (m->fd < -1)
                        m->fd = -1;
                if (m->debug_fd < -1)
                        m->debug_fd = -1;
        }
        return 0;
}

/* ---- the memory the scan read: recorded live, served offline ---- */

static void tap_read(void *tap, const struct iovec *remote, const struct iovec *local, size_t n, ssize_t got)
{
        struct snapshot *s = tap;
        size_t left = got > 0 ? (size_t) got : 0;
        for (size_t i = 0; i < n && left > 0; i++) {
                size_t len = remote[i].iov_len < left ? remote[i].iov_len : left;
                left -= len;
                if (len == 0)
                        continue;
                uint8_t *copy = malloc(len);
                struct snapshot_range *nr = copy ? realloc(s->ranges, (s->n_ranges + 1) * sizeof *nr) : NULL;
                if (!nr) {
                        free(copy);
                        return;         /* unrecorded: offline, the read fails */
                }
                s->ranges = nr;
                memcpy(copy, local[i].iov_base, len);
                s->ranges[s->n_ranges++] = (struct snapshot_range) { (uint64_t) (uintptr_t) remote[i].iov_base,
                                                                     len, copy };
                s->range_bytes += len;
        }
}

static void tap_touched(void *tap, uint64_t addr, size_t n, const bool *ret, int r)
{
        struct snapshot *s = tap;
        uint8_t *t = malloc(n + 1);
        struct snapshot_pages *np = t ? realloc(s->pages, (s->n_pages + 1) * sizeof *np) : NULL;
        if (!np) {
                free(t);
                return;
        }
        s->pages = np;
        for (size_t i = 0; i < n; i++)
                t[i] = r == 0 && ret[i];
        s->pages[s->n_pages++] = (struct snapshot_pages) { addr, n, r, t };
}

/* The range holding addr, or NULL. */
static const struct snapshot_range *range_at(const struct snapshot *s, uint64_t addr)
{
        size_t lo = 0, hi = s->n_ranges;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->ranges[mid].addr <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0)
                return NULL;
        const struct snapshot_range *g = &s->ranges[lo - 1];
        return addr - g->addr < g->len ? g : NULL;
}

/* process_vm_readv over the recorded ranges: as far as they go. */
static ssize_t replay_read(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        const struct snapshot *s = userdata;
        size_t total = 0;
        bool asked = false;
        for (size_t i = 0; i < n; i++) {
                uint64_t addr = (uint64_t) (uintptr_t) remote[i].iov_base;
                size_t len = remote[i].iov_len < local[i].iov_len ? remote[i].iov_len : local[i].iov_len;
                size_t done = 0;
                asked |= len > 0;
                while (done < len) {
                        const struct snapshot_range *g = range_at(s, addr + done);
                        if (!g)
                                break;
                        size_t off = (size_t) (addr + done - g->addr);
                        size_t k = g->len - off < len - done ? g->len - off : len - done;
                        memcpy((uint8_t *) local[i].iov_base + done, g->bytes + off, k);
                        done += k;
                }
                total += done;
                if (done < len)
                        break;
        }
        return total == 0 && asked ? -EFAULT : (ssize_t) total;
}

static int replay_touched(void *userdata, uint64_t addr, size_t n, bool *ret)
{
        const struct snapshot *s = userdata;
        struct snapshot_pages key = { .addr = addr, .n = n };
        if (s->n_pages == 0)
                return -ENOENT;
        const struct snapshot_pages *g = bsearch(&key, s->pages, s->n_pages, sizeof key, cmp_pages);
        if (!g)
                return -ENOENT;
        if (g->r < 0)
                return g->r;
        for (size_t i = 0; i < n; i++)
                ret[i] = g->touched[i] != 0;
        return 0;
}

/* ---- hooks ---- */

static size_t thread_index(const struct process_capture *cap, const struct thread_capture *t)
{
        return (size_t) (t - cap->threads);
}

int snapshot_modules_new(const struct process_capture *cap, struct modules **ret)
{
        const struct snapshot *s = cap->snapshot_replay;
        if (s)
                return modules_new_offline(cap->maps_text, s->modules, s->n_modules, ret);
        return modules_new(cap->pid, cap->maps_text, ret);
}

int64_t snapshot_blocked_ms(const struct process_capture *cap, const struct blocked_memory *m,
                            const struct thread_capture *t)
{
        size_t i = thread_index(cap, t);
        const struct snapshot *replay = cap->snapshot_replay;
        if (replay)
                return i < replay->n_facts && replay->facts[i].has_blocked_ms ? replay->facts[i].blocked_ms : -1;
        int64_t ms = capturer_active() ? capturer_blocked_ms(cap, t) : blocked_ms(m, cap, t);
        struct snapshot *rec = cap->snapshot_record;
        if (rec && i < rec->n_facts) {
                rec->facts[i].has_blocked_ms = true;
                rec->facts[i].blocked_ms = ms;
        }
        return ms;
}

int snapshot_replay_peers(const struct snapshot *s, struct leakscan_process *p)
{
        for (size_t k = 0; k < p->n_threads; k++) {
                struct leakscan_thread *lt = &p->threads[k];
                const struct thread_capture *t = process_capture_find(s->cap, lt->tid);
                size_t i = t ? thread_index(s->cap, t) : SIZE_MAX;
                if (i >= s->n_facts || !s->facts[i].peer)
                        continue;
                lt->peer = strdup(s->facts[i].peer);
                if (!lt->peer)
                        return -ENOMEM;
                lt->peer_pid = s->facts[i].peer_pid;
        }
        return 0;
}

int snapshot_record_analysis(const struct process_capture *cap, struct modules *mods,
                             const struct leakscan_process *p)
{
        struct snapshot *s = cap->snapshot_record;
        if (!s)
                return 0;
        int r = modules_identities(mods, &s->modules, &s->n_modules);
        if (r < 0)
                return r;
        for (size_t k = 0; k < p->n_threads; k++) {
                const struct leakscan_thread *lt = &p->threads[k];
                const struct thread_capture *t = lt->peer ? process_capture_find((struct process_capture *) cap, lt->tid) : NULL;
                size_t i = t ? thread_index(cap, t) : SIZE_MAX;
                if (i >= s->n_facts)
                        continue;
                s->facts[i].peer = strdup(lt->peer);
                s->facts[i].peer_pid = lt->peer_pid;
                if (!s->facts[i].peer)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- the two runs ---- */

/* The registers of p's threads, in p's order (inspect_reach's roots). */
static const uint64_t **thread_regs(const struct process_capture *cap, const struct leakscan_process *p)
{
        const uint64_t **regs = calloc(p->n_threads + 1, sizeof *regs);
        if (!regs)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < cap->n_threads && k < p->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                regs[k++] = t->regs_valid ? (const uint64_t *) &t->regs : NULL;
        }
        return regs;
}

static int copy_identity(struct snapshot *s, const struct leakscan_process *p)
{
        s->exe = p->exe ? strdup(p->exe) : NULL;
        if (p->exe && !s->exe)
                return -ENOMEM;
        s->cmdline = calloc(p->n_cmdline + 1, sizeof *s->cmdline);
        if (!s->cmdline)
                return -ENOMEM;
        for (; s->n_cmdline < p->n_cmdline; s->n_cmdline++)
                if (!(s->cmdline[s->n_cmdline] = strdup(p->cmdline[s->n_cmdline])))
                        return -ENOMEM;
        return 0;
}

/* A new snapshot of cap (not yet analysed; it does not own cap) with the
 * facts the analysis takes over kept first, and p's identity.  Returns 0
 * or -ENOMEM. */
static int snapshot_start(struct process_capture *cap, const struct leakscan_process *p, uint64_t scan_limit,
                          struct snapshot **ret)
{
        struct snapshot *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->scan_limit = scan_limit;
        s->cap = cap;
        /* the analysis takes the fd targets over: keep a copy first */
        s->facts = calloc(cap->n_threads + 1, sizeof *s->facts);
        int r = s->facts ? 0 : -ENOMEM;
        s->n_facts = s->facts ? cap->n_threads : 0;
        for (size_t i = 0; r == 0 && i < cap->n_threads; i++) {
                s->facts[i].tid = cap->threads[i].tid;
                if (cap->threads[i].fd_target && !(s->facts[i].fd_target = strdup(cap->threads[i].fd_target)))
                        r = -ENOMEM;
        }
        if (r == 0)
                r = copy_identity(s, p);
        if (r < 0) {
                s->cap = NULL;
                snapshot_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* The analysis of cap into p, recording what it reads into s; the live
 * process met through proxy (NULL: directly). */
static int analyse_recording(struct snapshot *s, const struct leakscan_options *opts,
                             const struct reach_proxy *proxy, struct leakscan_process *p)
{
        struct process_capture *cap = s->cap;
        cap->snapshot_record = s;
        int r = inspect_analyse(cap, opts, NULL, p);
        sandbox_note_module(NULL);      /* the scan reads no module file */
        if (r == 0) {
                _cleanup_free_ const uint64_t **regs = thread_regs(cap, p);
                struct reach_io io = { .proxy = proxy, .record = &s->reach, .tap_read = tap_read,
                                       .tap_touched = tap_touched, .tap = s };
                r = regs ? reach_process_io(p, cap->maps_text, regs, sizeof(arch_regs) / sizeof(uint64_t),
                                            s->scan_limit, NULL, &io) : -ENOMEM;
        }
        cap->snapshot_record = NULL;
        return r;
}

int snapshot_inspect_pid(pid_t pid, const struct leakscan_options *opts, uint64_t scan_limit,
                         struct leakscan_report **ret_report, struct snapshot **ret_snap)
{
        const struct unwinder *unwinder = unwinder_find(opts->unwinder);
        if (!unwinder)
                return -EINVAL;
        if (unwinder->while_stopped)
                return -ENOTSUP;
        struct process_capture *cap = NULL;
        struct leakscan_report *report = NULL;
        int r = inspect_capture_pid(pid, opts, &cap, &report);
        if (r < 0)
                return r;
        struct snapshot *s = NULL;
        struct leakscan_process *p = &report->processes[0];
        r = snapshot_start(cap, p, scan_limit, &s);
        if (r < 0) {
                process_capture_free(cap);
                goto fail;
        }
        r = analyse_recording(s, opts, NULL, p);
        if (r < 0)
                goto fail;
        *ret_report = report;
        *ret_snap = s;
        return 0;
fail:
        leakscan_report_free(report);
        snapshot_free(s);
        return r != -ENOMEM && r != -ENOTSUP && seize_process_gone(pid) ? -EOWNERDEAD : r;
}

int snapshot_analyse_saving(struct process_capture *cap, const struct leakscan_options *opts, uint64_t scan_limit,
                            const struct reach_proxy *proxy, struct leakscan_process *p, FILE *f)
{
        struct snapshot *s = NULL;
        int r = snapshot_start(cap, p, scan_limit, &s);
        if (r == 0)
                r = analyse_recording(s, opts, proxy, p);
        if (r == 0)
                r = snapshot_write(s, f);
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (s)
                s->cap = NULL;          /* the caller's */
        snapshot_free(s);
        return r;
}

int snapshot_analyse(struct snapshot *s, const struct leakscan_options *opts, struct leakscan_report **ret_report)
{
        const struct unwinder *unwinder = unwinder_find(opts->unwinder);
        if (!unwinder)
                return -EINVAL;
        if (unwinder->while_stopped)
                return -ENOTSUP;
        struct process_capture *cap = s->cap;
        struct leakscan_report *report = report_new("pid", 1);
        if (!report)
                return -ENOMEM;
        struct leakscan_process *p = &report->processes[0];
        p->pid = cap->pid;
        p->n_vanished = cap->n_vanished;
        p->incomplete = cap->incomplete;
        p->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        int r = 0;
        p->exe = s->exe ? strdup(s->exe) : NULL;
        p->cmdline = calloc(s->n_cmdline + 1, sizeof *p->cmdline);
        if ((s->exe && !p->exe) || !p->cmdline)
                r = -ENOMEM;
        for (; r == 0 && p->n_cmdline < s->n_cmdline; p->n_cmdline++)
                if (!(p->cmdline[p->n_cmdline] = strdup(s->cmdline[p->n_cmdline])))
                        r = -ENOMEM;
        cap->remember_blocked = false;
        cap->snapshot_replay = s;
        if (r == 0)
                r = inspect_analyse(cap, opts, NULL, p);
        if (r == 0) {
                _cleanup_free_ const uint64_t **regs = thread_regs(cap, p);
                struct reach_io io = { .replay = &s->reach, .replay_mem = { replay_read, replay_touched, s } };
                r = regs ? reach_process_io(p, cap->maps_text, regs, sizeof(arch_regs) / sizeof(uint64_t),
                                            s->scan_limit, NULL, &io) : -ENOMEM;
        }
        cap->snapshot_replay = NULL;
        if (r < 0) {
                leakscan_report_free(report);
                return r;
        }
        *ret_report = report;
        return 0;
}

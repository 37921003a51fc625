/* Sample: one perf sample of a running thread instead of a ptrace stop;
 * see sample.h.  The event is a software task clock with a 10 us period
 * (the kernel's floor for hrtimer events), counting only user time: the
 * first tick that finds the thread in user space writes the sample, the
 * ring is never drained, so later ticks find it full and write nothing
 * over the first.  The wait polls the event in short slices and looks at
 * the thread's state between them, so that a thread that went to sleep
 * (it will never be sampled, but can now be read without a stop) is given
 * back at once rather than at the bound. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"
#include "sample.h"
#include "util.h"

/* Data pages of the ring: a power of two holding one whole record (at
 * most 64 KiB) wherever it starts. */
#define SAMPLE_RING_PAGES 32
/* ns of the thread's own user time between ticks */
#define SAMPLE_PERIOD_NS 10000
/* How long one poll waits before the thread's state is looked at again. */
#define SAMPLE_SLICE_MS 2

static int perf_open(pid_t tid, size_t stack_bytes)
{
        struct perf_event_attr attr = {
                .type = PERF_TYPE_SOFTWARE,
                .size = sizeof attr,
                .config = PERF_COUNT_SW_TASK_CLOCK,
                .sample_period = SAMPLE_PERIOD_NS,
                .sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER |
                               (stack_bytes ? PERF_SAMPLE_STACK_USER : 0),
                .sample_regs_user = ARCH_PERF_REGS_MASK,
                .sample_stack_user = (uint32_t) stack_bytes,
                .exclude_kernel = 1,
                .exclude_hv = 1,
                .wakeup_events = 1,
        };
        int fd = (int) syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* What the thread's state letter says: 1 it may still run in user space,
 * 0 it cannot be sampled now (asleep, stopped), -ESRCH gone.  A stat file
 * that cannot be read for another reason (EMFILE, ENOMEM) says nothing:
 * 1, so that the wait goes on to its bound and the thread is then stopped,
 * never dropped from the report as gone. */
static int may_run(pid_t pid, pid_t tid)
{
        char path[64], text[1024];
        struct proc_stat st;
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        ssize_t n = read_small_file(path, text, sizeof text);
        if (n == -ENOENT || n == -ESRCH || n == 0)
                return -ESRCH;  /* a reaped task's file reads empty */
        if (n < 0 || procfs_parse_stat(text, &st) < 0)
                return 1;
        if (st.state == 'Z' || st.state == 'X')
                return -ESRCH;
        return st.state == 'R';
}

/* Copies len bytes at offset off of the ring (data, size a power of two)
 * into out, across its end. */
static void ring_copy(const uint8_t *data, size_t size, uint64_t off, void *out, size_t len)
{
        size_t at = (size_t) (off & (size - 1)), first = size - at < len ? size - at : len;
        memcpy(out, data + at, first);
        memcpy((uint8_t *) out + first, data, len - first);
}

/* Finds the first sample record in the ring and parses it.  Returns 0,
 * -EAGAIN when the ring holds none yet, -EPROTONOSUPPORT for a sample of
 * a 32-bit thread, -EIO for one we cannot read. */
static int ring_first_sample(void *base, size_t page, pid_t pid, pid_t tid, uint8_t *stack_buf, size_t stack_bytes,
                             struct thread_sample *ret)
{
        const struct perf_event_mmap_page *meta = base;
        uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        const uint8_t *data = (const uint8_t *) base + (meta->data_offset ? meta->data_offset : page);
        size_t size = meta->data_size ? (size_t) meta->data_size : SAMPLE_RING_PAGES * page;
        _cleanup_free_ uint8_t *rec = NULL;
        for (uint64_t off = 0; off + sizeof(struct perf_event_header) <= head; ) {
                struct perf_event_header h;
                ring_copy(data, size, off, &h, sizeof h);
                if (h.size < sizeof h || off + h.size > head)
                        return -EIO;
                if (h.type != PERF_RECORD_SAMPLE) {
                        off += h.size;
                        continue;
                }
                rec = malloc(h.size);
                if (!rec)
                        return -ENOMEM;
                ring_copy(data, size, off, rec, h.size);
                const uint8_t *p = rec + sizeof h, *end = rec + h.size;
                uint64_t ip, abi, len = 0, dyn = 0;
                uint32_t ids[2];
                uint64_t values[ARCH_PERF_NREGS];
                if (end - p < (ptrdiff_t) (sizeof ip + sizeof ids + sizeof abi))
                        return -EIO;
                memcpy(&ip, p, sizeof ip), p += sizeof ip;
                memcpy(ids, p, sizeof ids), p += sizeof ids;
                memcpy(&abi, p, sizeof abi), p += sizeof abi;
                if ((pid_t) ids[0] != pid || (pid_t) ids[1] != tid)
                        return -EIO;    /* not our thread: never take it */
                if (abi == PERF_SAMPLE_REGS_ABI_NONE)
                        return -EIO;    /* a kernel thread's tick: no user registers */
                if (abi != ARCH_PERF_ABI_NATIVE)
                        return -EPROTONOSUPPORT;
                if (end - p < (ptrdiff_t) sizeof values)
                        return -EIO;
                memcpy(values, p, sizeof values), p += sizeof values;
                if (stack_bytes) {
                        if (end - p < (ptrdiff_t) sizeof len)
                                return -EIO;
                        memcpy(&len, p, sizeof len), p += sizeof len;
                        if (len > 0) {
                                if ((uint64_t) (end - p) < len + sizeof dyn)
                                        return -EIO;
                                memcpy(&dyn, p + len, sizeof dyn);
                                if (dyn > len)
                                        return -EIO;
                                memcpy(stack_buf, p, (size_t) dyn);
                        }
                }
                struct thread_sample s = { .stack_len = (size_t) dyn, .stack_size = (size_t) len,
                                           .stack_truncated = len > 0 && dyn == len };
                arch_regs_from_perf(&s.regs, values);
                s.stack_addr = arch_regs_sp(&s.regs);
                (void) ip;      /* the same as the pc among the registers */
                *ret = s;
                return 0;
        }
        return -EAGAIN;
}

/* Opens the event and maps its ring for one request.  Returns 0 or what
 * sample_threads gives for it. */
static int probe_open(struct sample_request *q, size_t page)
{
        q->fd = perf_open(q->tid, q->stack_bytes);
        if (q->fd == -ESRCH)
                return -ESRCH;
        if (q->fd < 0)
                return -EOPNOTSUPP;     /* EACCES, EPERM, ENOSYS, ENOENT, EINVAL... */
        q->ring = mmap(NULL, (1 + SAMPLE_RING_PAGES) * page, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
        if (q->ring == MAP_FAILED) {
                q->ring = NULL;
                close(q->fd);
                q->fd = -1;
                return -EOPNOTSUPP;     /* perf_event_mlock_kb used up */
        }
        return -EINPROGRESS;
}

static void probe_close(struct sample_request *q, size_t page)
{
        if (q->ring)
                munmap(q->ring, (1 + SAMPLE_RING_PAGES) * page);
        if (q->fd >= 0)
                close(q->fd);
        q->ring = NULL;
        q->fd = -1;
}

/* Looks at one pending request: its sample if one came, else whether the
 * thread can still give one (asleep: not before patient is over).  Sets
 * q->result unless it stays pending. */
static void probe_look(pid_t pid, struct sample_request *q, size_t page, bool last, bool patient)
{
        int r = ring_first_sample(q->ring, page, pid, q->tid, q->stack_buf, q->stack_bytes, &q->sample);
        if (r == -EAGAIN) {
                int k = may_run(pid, q->tid);
                if (k == 0 && patient && !last)
                        return;
                if (k < 0 || (k == 0 && !last)) {
                        /* asleep or gone: a tick may still have come in
                         * before it left the CPU */
                        r = ring_first_sample(q->ring, page, pid, q->tid, q->stack_buf, q->stack_bytes, &q->sample);
                        if (r == -EAGAIN && k < 0)
                                r = -ESRCH;
                } else if (!last) {
                        return;
                } else if (k > 0) {
                        r = -ETIME;     /* runnable all along: in the kernel */
                }
        }
        q->result = r == -EIO || r == -ENOMEM ? -EAGAIN : r;
}

void sample_threads(pid_t pid, struct sample_request *reqs, size_t n, unsigned timeout_ms)
{
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        size_t pending = 0;
        for (size_t i = 0; i < n; i++) {
                struct sample_request *q = &reqs[i];
                q->fd = -1;
                q->ring = NULL;
                if (q->stack_bytes > SAMPLE_STACK_MAX)
                        q->stack_bytes = SAMPLE_STACK_MAX;
                q->stack_bytes &= ~(size_t) 7;
                q->result = probe_open(q, page);
                if (q->result == -EINPROGRESS)
                        pending++;
        }
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        uint64_t deadline = start + (uint64_t) timeout_ms * 1000u;
        struct pollfd pfds[SAMPLE_BATCH];
        while (pending > 0) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                bool last = now >= deadline;
                size_t k = 0;
                for (size_t i = 0; i < n; i++) {
                        struct sample_request *q = &reqs[i];
                        if (q->result != -EINPROGRESS)
                                continue;
                        probe_look(pid, q, page, last, now < start + (uint64_t) q->patience_ms * 1000u);
                        if (q->result != -EINPROGRESS) {
                                probe_close(q, page);
                                pending--;
                        } else if (k < SAMPLE_BATCH) {
                                pfds[k++] = (struct pollfd) { q->fd, POLLIN, 0 };
                        }
                }
                if (pending > 0)
                        (void) poll(pfds, k, SAMPLE_SLICE_MS);
        }
}

int sample_thread(pid_t pid, pid_t tid, uint8_t *stack_buf, size_t stack_bytes, unsigned timeout_ms,
                  unsigned patience_ms, struct thread_sample *ret)
{
        struct sample_request q = { .tid = tid, .stack_buf = stack_buf, .stack_bytes = stack_bytes,
                                    .patience_ms = patience_ms };
        sample_threads(pid, &q, 1, timeout_ms);
        if (q.result == 0)
                *ret = q.sample;
        return q.result;
}

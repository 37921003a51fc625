/* Sample: the registers and stack of a thread running on a CPU, taken
 * without stopping it, by one perf sample.
 *
 * A ptrace stop of a running thread changes nothing in the thread itself,
 * but a traced main thread makes the kernel queue the signals the process
 * ignores and wake another thread with them (docs/RELIABILITY.md, "The
 * snapshot's release window, and a busy main thread").  A perf software
 * clock event on that one thread (pid = tid, cpu = -1) samples it from the
 * timer interrupt: the user registers and a copy of the stack above SP are
 * taken while the thread is off its user code, so they agree with each
 * other as a stop's copy does.  Kernel-mode ticks are excluded, so every
 * sample is taken in user space (no call in progress: syscall -1).
 *
 * Takes: a thread id, a buffer for the stack copy, a bound on the wait.
 * Gives: the registers (arch.h's mapping), the copy's address and length,
 * and whether the copy was cut at its size.  Nothing is traced, no signal
 * is sent; the event is closed before returning. */
#ifndef LEAKSCAN_SAMPLE_H
#define LEAKSCAN_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"

/* The most stack one sample can carry: perf_event_attr.sample_stack_user
 * is below 65535 and a multiple of 8, and the kernel cuts it further so
 * that the whole record fits in 64 KiB. */
#define SAMPLE_STACK_MAX 65528u

struct thread_sample {
        arch_regs regs;         /* the user registers at the tick (arch_regs_from_perf) */
        uint64_t stack_addr;    /* SP at the tick */
        size_t stack_len;       /* bytes of stack copied into the caller's buffer */
        bool stack_truncated;   /* the copy filled the size the kernel allowed */
        size_t stack_size;      /* that size */
};

/* Threads sampled at once: their waits for a tick overlap. */
#define SAMPLE_BATCH 16

struct sample_request {
        pid_t tid;
        uint8_t *stack_buf;     /* room for stack_bytes */
        size_t stack_bytes;
        unsigned patience_ms;   /* a thread seen asleep is waited for this
                                 * long all the same (sample_thread) */
        int result;             /* what sample_thread returns for it */
        struct thread_sample sample;    /* when result is 0 */
        int fd;                 /* sample.c's own */
        void *ring;
};

/* sample_thread for n threads at once (n at most SAMPLE_BATCH), sharing
 * one bound: sets each request's result and, on success, its sample. */
void sample_threads(pid_t pid, struct sample_request *reqs, size_t n, unsigned timeout_ms);

/* Samples thread tid once: opens a task-clock event on it, waits for the
 * first sample (at most timeout_ms, polling; it ends early when the
 * thread is seen asleep or stopped, since a sleeping thread is never
 * sampled, but not before patience_ms: a thread that naps between short
 * runs is sampled in one of them), copies at most stack_bytes of its
 * stack into stack_buf (stack_bytes 0: none) and closes the event.
 * Returns 0 and fills *ret, -EAGAIN when no sample came and the thread
 * was seen asleep or stopped, -ETIME when none came by timeout_ms while
 * it stayed runnable (running in the kernel all along), -ESRCH when the
 * thread is gone, -EPROTONOSUPPORT for a
 * 32-bit thread, or -EOPNOTSUPP when perf refuses us (perf_event_paranoid,
 * a seccomp filter, a kernel without perf events, no memory to map the
 * ring): the caller then stops the thread instead. */
int sample_thread(pid_t pid, pid_t tid, uint8_t *stack_buf, size_t stack_bytes, unsigned timeout_ms,
                  unsigned patience_ms, struct thread_sample *ret);

#endif

/* Kernel io_uring workers inside the process: an SQPOLL ring (its
 * submission thread "iou-sqp-PID") and a read of an empty pipe punted to
 * io-wq (a worker "iou-wrk-PID" blocked in it).  They are kernel threads
 * with PF_IO_WORKER: never leaks, shown in their own state.
 * tests/integration/test_robustness.py checks their state (their names
 * carry a pid, which the expectations here cannot name).
 * leakscan-expect: leaked=0
 * leakscan-expect-at-exit: leaked=0
 */
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "common.h"

static int setup_ring(unsigned flags, int read_fd, void *buf)
{
        struct io_uring_params p = { .flags = flags, .sq_thread_idle = 1 };
        int ring = (int) syscall(__NR_io_uring_setup, 4, &p);
        if (ring < 0)
                die("io_uring_setup");
        size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
        uint8_t *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                           IORING_OFF_SQ_RING);
        struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
        if (sq == MAP_FAILED || sqes == MAP_FAILED)
                die("mmap ring");
        memset(&sqes[0], 0, sizeof sqes[0]);
        sqes[0].opcode = IORING_OP_READ;
        sqes[0].flags = IOSQE_ASYNC;
        sqes[0].fd = read_fd;
        sqes[0].addr = (uintptr_t) buf;
        sqes[0].len = 64;
        unsigned *array = (unsigned *) (sq + p.sq_off.array);
        array[0] = 0;
        atomic_store_explicit((_Atomic unsigned *) (sq + p.sq_off.tail), 1, memory_order_release);
        if (syscall(__NR_io_uring_enter, ring, 1, 0, (flags & IORING_SETUP_SQPOLL) ? IORING_ENTER_SQ_WAKEUP : 0,
                    NULL, 0) < 0)
                die("io_uring_enter");
        return ring;
}

int main(void)
{
        static char buf[2][64];
        int a[2], b[2];
        if (pipe(a) < 0 || pipe(b) < 0)
                die("pipe");
        setup_ring(0, a[0], buf[0]);
        setup_ring(IORING_SETUP_SQPOLL, b[0], buf[1]);
        usleep(100000);
        ready_and_wait();
}

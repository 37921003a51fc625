/* Creator stacks from every kind of clone site (--at-exit).  The supervisor
 * derives a creating thread's stack pointer from clone3's argument once two
 * creations at one syscall instruction agreed on its distance (see
 * src/capture/clonesite.h), and reads /proc where it cannot:
 *   pool, deep: glibc's pthread_create, six times from one instruction and
 *     two frame depths: derived from the third creation on;
 *   rawnear, rawfar: a clone3 wrapper of our own (raw_clone3, which pushes
 *     nothing, as glibc's does), called from two functions whose clone_args
 *     lie at different distances: the third rawnear is derived, the first
 *     rawfar must fail the check of the derived copy and fall back;
 *   rawheap: the same wrapper with clone_args on the heap: never derived,
 *     and after it the wrapper's site is read from /proc for good (the last
 *     rawnear).
 * Each thread's creator must be the function and line that created it.
 * leakscan-expect-at-exit: leaked=14
 * leakscan-expect: leaked=0
 * leakscan-expect: thread pool count=4 state=pipe-read verdict=idle created=spawn_pool@pool
 * leakscan-expect: thread deep count=2 state=pipe-read verdict=idle created=spawn_deep@deep
 * leakscan-expect: thread rawnear count=4 state=pipe-read verdict=idle created=raw_near@near
 * leakscan-expect: thread rawfar count=2 state=pipe-read verdict=idle created=raw_far@far
 * leakscan-expect: thread rawheap count=2 state=pipe-read verdict=idle created=raw_heap@heap
 */
#include "common.h"

#include <linux/sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int fds[2];

static void *pool_member(void *arg)
{
        name_self(arg);
        char c;
        (void) !read(fds[0], &c, 1);
        return NULL;
}

static NOINLINE void spawn_pool(void)
{
        for (int i = 0; i < 4; i++)
                spawn_thread(pool_member, "pool"); /* @pool */
}

static NOINLINE void spawn_deep(int depth)
{
        volatile char pad[300];
        pad[0] = (char) depth;
        if (depth > 0) {
                spawn_deep(depth - 1);
                return;
        }
        for (int i = 0; i < 2; i++)
                spawn_thread(pool_member, (void *) "deep"); /* @deep */
        (void) pad[0];
}

/* clone3(args, size), then fn(arg) in the child on its new stack, then
 * exit: glibc's wrapper, which a static binary or another libc may not
 * have.  Pushes nothing: the return address is on top at the syscall. */
long raw_clone3(struct clone_args *args, size_t size, void (*fn)(const char *), const char *arg);
__asm__(".text\n"
        ".globl raw_clone3\n"
        ".type raw_clone3, @function\n"
        "raw_clone3:\n"
        "        mov %rcx, %r8\n"
        "        mov $435, %eax\n"
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"
        /* the child's outermost frame: unwinders stop here, as at
         * glibc's clone */
        "1:\n"
        "        .cfi_startproc\n"
        "        .cfi_undefined rip\n"
        "        xor %ebp, %ebp\n"
        "        and $-16, %rsp\n"
        "        mov %r8, %rdi\n"
        "        call *%rdx\n"
        "        mov $60, %eax\n"
        "        xor %edi, %edi\n"
        "        syscall\n"
        "        hlt\n"
        "        .cfi_endproc\n"
        ".size raw_clone3, .-raw_clone3\n");

/* The raw threads run without libc (their TLS is a bare control block):
 * system calls only. */
static long raw_syscall3(long nr, long a, long b, long c)
{
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return r;
}

static __attribute__((no_stack_protector)) void raw_member(const char *name)
{
        char c;
        raw_syscall3(SYS_prctl, PR_SET_NAME, (long) name, 0);
        for (;;)
                raw_syscall3(SYS_read, fds[0], (long) &c, 1);
}

/* What a raw thread needs: a stack, and a thread pointer of its own (the
 * supervisor finds its creator by it) that points to itself, as x86_64's
 * TCB does. */
static void raw_prepare(struct clone_args *args)
{
        size_t stack_size = 64 * 1024;
        void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        uint64_t *tcb = calloc(512, sizeof *tcb);
        if (stack == MAP_FAILED || !tcb)
                die("raw thread");
        tcb[0] = tcb[2] = (uint64_t) (uintptr_t) tcb;
        memset(args, 0, sizeof *args);
        args->flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS;
        args->stack = (uint64_t) (uintptr_t) stack;
        /* room above the first frame, as glibc's threads have (their
         * struct pthread): a frame whose stack pointer is the mapping's very
         * end reads to leakscan as another stack's */
        args->stack_size = stack_size - 256;
        args->tls = (uint64_t) (uintptr_t) tcb;
}

/* The frames of the two callers, laid out as structs so that the distance
 * from the stack pointer to clone_args does not depend on the compiler:
 * marks (the same at every call) and then clone_args, with more between
 * them in raw_far's. */
struct near_frame {
        uint64_t marks[2];
        struct clone_args args;
};

struct far_frame {
        uint64_t marks[2];
        uint64_t more[16];
        struct clone_args args;
};

static NOINLINE void raw_near(void)
{
        struct near_frame f;
        f.marks[0] = f.marks[1] = 0x6e656172;
        raw_prepare(&f.args);
        if (raw_clone3(&f.args, sizeof f.args, raw_member, "rawnear") < 0) die("clone3"); /* @near */
}

static NOINLINE void raw_far(void)
{
        struct far_frame f;
        f.marks[0] = f.marks[1] = 0x666172;
        memset(f.more, 0, sizeof f.more);
        raw_prepare(&f.args);
        if (raw_clone3(&f.args, sizeof f.args, raw_member, "rawfar") < 0) die("clone3"); /* @far */
}

static NOINLINE void raw_heap(void)
{
        struct clone_args *args = malloc(sizeof *args);
        if (!args)
                die("malloc");
        raw_prepare(args);
        if (raw_clone3(args, sizeof *args, raw_member, "rawheap") < 0) die("clone3"); /* @heap */
        free(args);
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        spawn_pool();
        spawn_deep(3);
        for (int i = 0; i < 3; i++)
                raw_near();
        for (int i = 0; i < 2; i++)
                raw_far();
        for (int i = 0; i < 2; i++)
                raw_heap();
        raw_near();
        ready_and_wait();
}

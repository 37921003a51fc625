/* Stacks that are hard to unwind, for comparing the unwinders
 * (tests/integration/test_unwinders.py): a thread blocked inside a signal
 * handler that interrupted user code, the same on an alternate signal stack
 * (sigaltstack), and a thread blocked at the bottom of a recursion deeper
 * than the stack window (the report cuts it, the same way whatever the
 * unwinder).
 * leakscan-expect: leaked=0
 * leakscan-expect: thread in_handler state=pipe-read syscall=read verdict=idle top=wait_in_handler line=@handler
 * leakscan-expect: thread on_altstack state=pipe-read syscall=read verdict=idle top=wait_in_altstack_handler line=@althandler
 * leakscan-expect: thread deep state=pipe-read syscall=read verdict=idle top=wait_at_bottom line=@bottom
 */
#include "common.h"

static int fds[2];
static volatile int spinning_normal, spinning_alt;

static NOINLINE void wait_in_handler(int sig)
{
        (void) sig;
        char c;
        (void) !read(fds[0], &c, 1); /* @handler */
}

static NOINLINE void wait_in_altstack_handler(int sig)
{
        (void) sig;
        char c;
        (void) !read(fds[0], &c, 1); /* @althandler */
}

/* User code the signal interrupts: its frame sits below the signal frame. */
static NOINLINE void spin(volatile int *flag)
{
        for (;;)
                *flag = 1;
}

static void *in_handler(void *arg)
{
        (void) arg;
        name_self("in_handler");
        spin(&spinning_normal);
        return NULL;
}

static void *on_altstack(void *arg)
{
        (void) arg;
        name_self("on_altstack");
        stack_t ss = { .ss_size = 64 * 1024 };
        ss.ss_sp = malloc(ss.ss_size);
        if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0)
                die("sigaltstack");
        spin(&spinning_alt);
        return NULL;
}

static NOINLINE void wait_at_bottom(void)
{
        char c;
        (void) !read(fds[0], &c, 1); /* @bottom */
}

/* About 1 KiB a frame, 200 deep: past the default 64 KiB stack window, well
 * short of the 256-frame limit. */
static NOINLINE int recurse(int depth)
{
        volatile char pad[1000];
        pad[0] = (char) depth;
        if (depth == 0)
                wait_at_bottom();
        else
                pad[1] = (char) recurse(depth - 1);
        return pad[0] + pad[1];
}

static void *deep(void *arg)
{
        (void) arg;
        name_self("deep");
        recurse(200);
        return NULL;
}

static void install(int sig, void (*handler)(int), int flags)
{
        struct sigaction sa = { .sa_handler = handler, .sa_flags = flags };
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) < 0)
                die("sigaction");
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        install(SIGUSR1, wait_in_handler, 0);
        install(SIGUSR2, wait_in_altstack_handler, SA_ONSTACK);
        pthread_t normal = spawn_thread(in_handler, NULL);
        pthread_t alt = spawn_thread(on_altstack, NULL);
        spawn_thread(deep, NULL);
        while (!spinning_normal || !spinning_alt)
                usleep(1000);
        pthread_kill(normal, SIGUSR1);
        pthread_kill(alt, SIGUSR2);
        ready_and_wait();
}

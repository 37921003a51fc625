/* A raw futex wait that is none of the glibc primitives.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread rawfutex state=futex syscall=futex verdict=idle top=wait_on_word line=@futex
 */
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "common.h"

static uint32_t word;

static NOINLINE void wait_on_word(void)
{
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0); /* @futex */
}

static void *rawfutex(void *arg)
{
        (void) arg;
        name_self("rawfutex");
        for (;;)
                wait_on_word();
        return NULL;
}

int main(void)
{
        spawn_thread(rawfutex, NULL);
        ready_and_wait();
}

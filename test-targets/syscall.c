/* A thread blocked in a syscall outside the taxonomy: flock() on a file that
 * main holds locked through another open file description.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread flocker state=syscall syscall=flock verdict=idle top=lock_file line=@flock
 */
#include <fcntl.h>
#include <sys/file.h>

#include "common.h"

static char reopen_path[64];

static NOINLINE void lock_file(void)
{
        /* Opening /proc/self/fd/N makes a new open file description, which
         * flock() treats as another owner. */
        int fd = open(reopen_path, O_RDONLY);
        flock(fd, LOCK_EX); /* @flock */
}

static void *flocker(void *arg)
{
        (void) arg;
        name_self("flocker");
        lock_file();
        return NULL;
}

int main(void)
{
        char path[] = "/tmp/leakscan-flock-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || flock(fd, LOCK_EX) < 0)
                die("flock");
        unlink(path);
        snprintf(reopen_path, sizeof reopen_path, "/proc/self/fd/%d", fd);
        spawn_thread(flocker, NULL);
        ready_and_wait();
}

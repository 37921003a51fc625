/* A hostile target for the text report: every string it controls carries
 * terminal control sequences.  A thread is named "\x1b]0;pwn\a\x1b[2J" (set
 * the terminal's title, clear the screen), another "\xc2\x9b" "2J" (the C1
 * CSI, as UTF-8) and one "\xe2\x80\xae" "gpj.exe" (a right-to-left
 * override); the program is started under a file name holding ESC (its
 * exe and module path); a thread waits on a FIFO whose path holds ESC and
 * BEL.  All of them block forever.  The FIFO's path is argv[1] (the test
 * makes it); the program's own name is whatever the test copied it to.
 * For tests/integration/test_hostile_input.py. */
#include <fcntl.h>

#include "common.h"

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *fifo_path;

static NOINLINE void wait_for_lock(void)
{
        pthread_mutex_lock(&held_lock);
        pthread_mutex_unlock(&held_lock);
}

/* a function each: threads with one stack are reported as one group,
 * whose differing names the headline leaves out */
static NOINLINE void title_and_clear(void)
{
        wait_for_lock();
}

static NOINLINE void c1_csi(void)
{
        wait_for_lock();
}

static NOINLINE void rtl_override(void)
{
        wait_for_lock();
}

static void *named(void *arg)
{
        const char *name = arg;
        name_self(name);
        if (name[0] == '\x1b')
                title_and_clear();
        else if (name[0] == '\xc2')
                c1_csi();
        else
                rtl_override();
        return NULL;
}

static NOINLINE void wait_for_byte(int fd)
{
        char c;
        (void) !read(fd, &c, 1);
}

static void *fifo_reader(void *arg)
{
        int fd = (int) (long) arg;
        name_self("fifo");
        wait_for_byte(fd);
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                die("usage: ctl_names FIFO");
        fifo_path = argv[1];
        /* read and write: the open does not wait for a writer */
        int fd = open(fifo_path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                die("open fifo");
        pthread_mutex_lock(&held_lock);
        spawn_thread(named, "\x1b]0;pwn\a\x1b[2J");
        spawn_thread(named, "\xc2\x9b" "2J");
        spawn_thread(named, "\xe2\x80\xae" "gpj.exe");
        spawn_thread(fifo_reader, (void *) (long) fd);
        while (!others_asleep())
                usleep(1000);
        ready_and_wait();
}

/* Leaks one thread blocked in read() on a pipe nobody writes, created by
 * start_reader at the marked line; run by the exec chain scripts.  main
 * returns once the reader is asleep in its read (/proc shows the call), a
 * condition, not a time: a fixed 20 ms was too short on a loaded machine,
 * and the reader was judged still starting. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fds[2];
static sem_t started;
static pid_t reader_tid;

static void *reader(void *arg)
{
        (void) arg;
        char c;
        reader_tid = (pid_t) syscall(SYS_gettid);
        sem_post(&started);
        (void) !read(fds[0], &c, 1);
        return NULL;
}

static void start_reader(void)
{
        pthread_t t;
        pthread_create(&t, NULL, reader, NULL); /* @reader-spawn */
}

/* Waits until thread tid sleeps in read(): /proc/self/task/TID/syscall
 * names the call of a thread blocked in one ("running" otherwise). */
static void wait_in_read(pid_t tid)
{
        char path[64], buf[128];
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
        for (;;) {
                FILE *f = fopen(path, "r");
                size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
                if (f)
                        fclose(f);
                buf[n] = 0;
                if (strncmp(buf, "0 ", 2) == 0)
                        return;
                sched_yield();
        }
}

int main(void)
{
        if (pipe(fds) < 0)
                return 2;
        sem_init(&started, 0, 0);
        start_reader();
        while (sem_wait(&started) < 0)
                ;
        wait_in_read(reader_tid);
        return 0;
}

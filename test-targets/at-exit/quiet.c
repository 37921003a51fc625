/* Two detached threads: one counts under a mutex and signals a condition
 * variable every 10 ms, then returns through start_thread (munmap,
 * madvise, its own exit) using only quiet calls, within the grace period:
 * no leak.  The other waits for the count to reach 5, and main returns
 * only once it sleeps in that wait: asleep in an indefinite wait when the
 * exit begins, the direct run's exit_group kills it there, so under
 * --at-exit it stays asleep and is reported (issue 16 item 3), however
 * soon the counter would have woken it. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int count;

static void *counter(void *arg)
{
        (void) arg;
        for (int i = 0; i < 5; i++) {
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&lock);
                count++;
                pthread_cond_broadcast(&changed);
                pthread_mutex_unlock(&lock);
        }
        return NULL;
}

static volatile pid_t waiter_tid;

/* Whether thread tid sleeps (state S). */
static int asleep(pid_t tid)
{
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int) tid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] == 'S';
}

static void *waiter(void *arg)
{
        (void) arg;
        waiter_tid = (pid_t) syscall(SYS_gettid);
        pthread_mutex_lock(&lock);
        while (count < 5)
                pthread_cond_wait(&changed, &lock);
        pthread_mutex_unlock(&lock);
        return NULL;
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, waiter, NULL);
        pthread_detach(t);
        while (!waiter_tid || !asleep(waiter_tid))
                sched_yield();
        pthread_create(&t, NULL, counter, NULL);
        pthread_detach(t);
        return 0;
}

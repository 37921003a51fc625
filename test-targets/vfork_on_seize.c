/* A thread that goes into an uninterruptible sleep the moment it is
 * seized, before the tracer's interrupt can stop it: "dodger" polls its
 * own TracerPid and, once traced, vforks; a vfork parent sleeps (D) until
 * its child exits, and a ptrace stop waits for that.  So the tracer can
 * never detach it (PTRACE_DETACH needs a stopped tracee): a library caller
 * that returned with it still traced would leave it frozen at the stop
 * when it wakes.  500 idle threads make the seizing take long enough for
 * the dodger to get there first.
 *
 * The vfork child watches its parent's TracerPid until a byte arrives on
 * stdin, then exits; the dodger then prints "dodged traced" (it was traced
 * while asleep: the case tested) or "dodged untraced".  Prints "dodger
 * TID" first.  For tests/library/test_traced.py. */
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include "common.h"

#define N_IDLE 500

static volatile int seen_traced;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

/* TracerPid of thread tid of this process; -1 when unreadable.  Plain
 * system calls only: the vfork child uses it too. */
static long tracer_of(pid_t pid, pid_t tid)
{
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) tid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        const char *t = strstr(buf, "\nTracerPid:");
        return t ? strtol(t + strlen("\nTracerPid:"), NULL, 10) : -1;
}

static void *dodger(void *arg)
{
        (void) arg;
        name_self("dodger");
        pid_t pid = getpid(), me = gettid();
        while (tracer_of(pid, me) <= 0)
                ;
        pid_t child = vfork();
        if (child == 0) {
                for (;;) {
                        if (tracer_of(pid, me) > 0)
                                seen_traced = 1;
                        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                        if (poll(&p, 1, 1) > 0)
                                _exit(0);
                }
        }
        if (child > 0)
                waitpid(child, NULL, 0);
        printf("dodged %s\n", seen_traced ? "traced" : "untraced");
        fflush(stdout);
        return NULL;
}

static void *idle(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&never);
        return NULL;
}

int main(void)
{
        pthread_mutex_lock(&never);
        /* first: the lowest TID, seized first, the 500 others after it */
        pthread_t d = spawn_thread(dodger, NULL);
        (void) d;
        for (int i = 0; i < N_IDLE; i++) {
                pthread_attr_t a;
                pthread_attr_init(&a);
                pthread_attr_setstacksize(&a, 64 * 1024);
                pthread_t t;
                if (pthread_create(&t, &a, idle, NULL) != 0)
                        die("pthread_create");
                pthread_attr_destroy(&a);
        }
        /* the dodger's TID: the lowest but ours */
        pid_t low = 0;
        DIR *dir = opendir("/proc/self/task");
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                pid_t tid = atoi(de->d_name);
                if (tid > 0 && tid != getpid() && (low == 0 || tid < low))
                        low = tid;
        }
        if (dir)
                closedir(dir);
        printf("dodger %d\n", (int) low);
        ready_and_wait();
}

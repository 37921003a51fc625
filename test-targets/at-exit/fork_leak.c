/* The parent is clean; its forked child leaks a thread and exits.  Only
 * --follow-forks sees the child's leak. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void *child_worker(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&never);
        return NULL;
}

static void start_child_worker(void)
{
        pthread_t t;
        pthread_create(&t, NULL, child_worker, NULL); /* @child-spawn */
}

int main(void)
{
        pthread_mutex_lock(&never);
        pid_t pid = fork();
        if (pid == 0) {
                start_child_worker();
                usleep(20000);
                return 0;
        }
        int status;
        waitpid(pid, &status, 0);
        return 0;
}

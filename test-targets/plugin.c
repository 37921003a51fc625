/* A shared library, loaded with dlopen by dlopen_main.c, whose thread blocks. */
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

NOINLINE void plugin_wait_for_work(void)
{
        pthread_mutex_lock(&lock);
        pthread_cond_wait(&cond, &lock); /* @plugin-wait */
        pthread_mutex_unlock(&lock);
}

static void *plugin_thread(void *arg)
{
        (void) arg;
        name_self("plugin");
        plugin_wait_for_work();
        return NULL;
}

void plugin_start(void)
{
        spawn_thread(plugin_thread, NULL);
}

/* Loads plugin.so with dlopen; the plugin's thread blocks on a condvar.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread plugin state=condvar verdict=idle top=plugin_wait_for_work line=plugin.c@plugin-wait
 */
#include <dlfcn.h>

#include "common.h"

int main(int argc, char **argv)
{
        (void) argc;
        char path[4096];
        snprintf(path, sizeof path, "%s", argv[0]);
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - (size_t) (slash ? slash + 1 - path : 0), "plugin.so");
        void *h = dlopen(path, RTLD_NOW);
        if (!h) {
                fprintf(stderr, "dlopen: %s\n", dlerror());
                return 99;
        }
        void (*start)(void) = (void (*)(void)) dlsym(h, "plugin_start");
        start();
        ready_and_wait();
}

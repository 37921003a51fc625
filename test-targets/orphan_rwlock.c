/* An rwlock held by a reader that left: the writer waits for good, and main
 * (joining the writer) cannot help.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=1
 * leakscan-expect: thread writer state=rwlock verdict=orphaned object=cache_lock value=1 top=update_cache line=@wrlock
 */
#include "common.h"

static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

static void *reader(void *arg)
{
        (void) arg;
        pthread_rwlock_rdlock(&cache_lock);
        return NULL;    /* leaves with the read lock */
}

static NOINLINE void update_cache(void)
{
        pthread_rwlock_wrlock(&cache_lock); /* @wrlock */
}

static void *writer(void *arg)
{
        (void) arg;
        name_self("writer");
        update_cache();
        return NULL;
}

int main(void)
{
        pthread_join(spawn_thread(reader, NULL), NULL);
        ready_and_join(spawn_thread(writer, NULL));
}

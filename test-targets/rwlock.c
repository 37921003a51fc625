/* A writer waits for a read lock that main never releases.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread writer state=rwlock verdict=idle atexit-verdict=orphaned value=1 object=table_lock top=take_write_lock line=@wrlock
 */
#include "common.h"

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;

static NOINLINE void take_write_lock(void)
{
        pthread_rwlock_wrlock(&table_lock); /* @wrlock */
        pthread_rwlock_unlock(&table_lock);
}

static void *writer(void *arg)
{
        (void) arg;
        name_self("writer");
        take_write_lock();
        return NULL;
}

int main(void)
{
        pthread_rwlock_rdlock(&table_lock);
        spawn_thread(writer, NULL);
        ready_and_wait();
}

/* One thread at a barrier sized for two.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread phase state=barrier verdict=idle top=finish_phase line=@barrier
 */
#include "common.h"

static pthread_barrier_t phase_end;

static NOINLINE void finish_phase(void)
{
        pthread_barrier_wait(&phase_end); /* @barrier */
}

static void *phase(void *arg)
{
        (void) arg;
        name_self("phase");
        finish_phase();
        return NULL;
}

int main(void)
{
        pthread_barrier_init(&phase_end, NULL, 2);
        spawn_thread(phase, NULL);
        ready_and_wait();
}

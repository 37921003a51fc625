/* An OpenMP team thread blocked in the user's own code (built with gcc's
 * libgomp, and as openmp_llvm with clang's libomp where clang is there): libgomp started it,
 * but it waits in the user's function, so the built-in OpenMP rule must not
 * ignore it (a rule applies only to a thread idle inside the runtime).  A
 * thread named "ompdriver" runs a parallel region of 3 threads: one blocks
 * for good on a mutex main holds, one finishes and idles in libgomp (ignored
 * by default), and the driver waits at the end of the region, in the user's
 * function.
 * leakscan-expect: leaked=0
 * leakscan-expect: thread ompdriver verdict=idle
 * leakscan-expect: thread ompblocked state=mutex verdict=idle top=wait_for_config line=@wait
 * leakscan-expect: thread ompidle verdict=idle
 * Under plain -p all three are idle (main could still release the mutex);
 * tests/integration/test_rules.py checks the rule with --idle, and at exit,
 * where the harness counts every thread alive as leaked.
 */
#include <omp.h>
#include <stdatomic.h>

#include "common.h"

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
/* team threads that have named themselves: until both have, main's "quiet"
 * could be the driver asleep on its way to the region (a page fault, the
 * runtime's start-up locks) with the team not there yet */
static atomic_int team_named;

NOINLINE static void wait_for_config(void)
{
        pthread_mutex_lock(&held); // @wait
        pthread_mutex_unlock(&held);
}

static void *drive(void *arg)
{
        (void) arg;
        name_self("ompdriver");
#pragma omp parallel num_threads(3)
        {
                if (omp_get_thread_num() == 1) {
                        name_self("ompblocked");
                        team_named++;
                        wait_for_config();
                } else if (omp_get_thread_num() == 2) {
                        name_self("ompidle");
                        team_named++;
                }
        }
        return NULL;
}

int main(void)
{
        pthread_mutex_lock(&held);
        spawn_thread(drive, NULL);
        while (team_named < 2)
                usleep(1000);
        ready_and_wait();
}

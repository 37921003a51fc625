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

#include "common.h"

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

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
                        wait_for_config();
                } else if (omp_get_thread_num() == 2)
                        name_self("ompidle");
        }
        return NULL;
}

int main(void)
{
        pthread_mutex_lock(&held);
        spawn_thread(drive, NULL);
        ready_and_wait();
}

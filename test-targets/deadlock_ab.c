/* A lock-order inversion: alpha takes first_lock then second_lock, beta the
 * other way round; a barrier makes sure each holds its first.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=2
 * leakscan-expect: thread alpha state=mutex verdict=deadlock owner=beta object=second_lock cycle=2 top=alpha_work line=@alpha
 * leakscan-expect: thread beta state=mutex verdict=deadlock owner=alpha object=first_lock cycle=2 top=beta_work line=@beta
 */
#include "common.h"

static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static NOINLINE void alpha_work(void)
{
        pthread_mutex_lock(&first_lock);
        pthread_barrier_wait(&both_hold_one);
        pthread_mutex_lock(&second_lock); /* @alpha */
}

static NOINLINE void beta_work(void)
{
        pthread_mutex_lock(&second_lock);
        pthread_barrier_wait(&both_hold_one);
        pthread_mutex_lock(&first_lock); /* @beta */
}

static void *alpha(void *arg) { (void) arg; name_self("alpha"); alpha_work(); return NULL; }
static void *beta(void *arg) { (void) arg; name_self("beta"); beta_work(); return NULL; }

int main(void)
{
        pthread_barrier_init(&both_hold_one, NULL, 2);
        spawn_thread(alpha, NULL);
        spawn_thread(beta, NULL);
        ready_and_wait();
}

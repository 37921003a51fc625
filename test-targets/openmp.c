/* An OpenMP program: after a parallel region libgomp keeps its worker team
 * alive, blocked, for the next one.  Not a leak by default (the built-in
 * ignore list), a leak with --no-default-ignores.
 * leakscan-expect-at-exit: leaked=0
 * leakscan-expect: leaked=0
 */
#include <omp.h>

#include "common.h"

int main(void)
{
        volatile double sum = 0;
        omp_set_num_threads(3);
#pragma omp parallel for reduction(+:sum)
        for (int i = 0; i < 1000000; i++)
                sum += i * 0.5;
        ready_and_wait();
}

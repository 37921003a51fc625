/* Benchmark program: a compute-bound loop with no threads and few syscalls,
 * the common test binary: --at-exit must cost it nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
        uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000000ull, x = 88172645463325252ull, sum = 0;
        for (uint64_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                sum += x & 0xff;
        }
        printf("%llu\n", (unsigned long long) sum);
        return 0;
}

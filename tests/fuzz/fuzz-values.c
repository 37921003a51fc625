/* Durations, sizes and integers (parse.c), with their promises: a duration
 * accepted is within PARSE_DURATION_MAX_MS, a size fits its unit. */
#include <errno.h>

#include "fuzz.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
        int64_t ms = -1;
        int r = parse_duration_ms(s, &ms);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                FUZZ_ASSERT(ms >= 0 && ms <= PARSE_DURATION_MAX_MS);
        size_t sz;
        r = parse_size(s, &sz);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
        long v;
        r = parse_int(s, -100, 100000, &v);
        if (r == 0)
                FUZZ_ASSERT(v >= -100 && v <= 100000);
        free(s);
        return 0;
}

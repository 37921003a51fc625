/* Command-line value parsers; see parse.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

int parse_duration_ms(const char *s, int64_t *ret_ms)
{
        if (!s || !*s)
                return -EINVAL;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno != 0 || v < 0 || isnan(v))
                return -EINVAL;
        double scale;
        if (!*end || streq(end, "s"))
                scale = 1000.0;
        else if (streq(end, "ms"))
                scale = 1.0;
        else if (streq(end, "us"))
                scale = 0.001;
        else if (streq(end, "m"))
                scale = 60000.0;
        else if (streq(end, "h"))
                scale = 3600000.0;
        else
                return -EINVAL;
        double ms = v * scale;
        if (ms > (double) INT64_MAX / 2)
                return -ERANGE;
        *ret_ms = (int64_t) ms;
        return 0;
}

int parse_size(const char *s, size_t *ret)
{
        if (!s || !*s || *s == '-')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || errno != 0)
                return -EINVAL;
        unsigned shift = 0;
        if (streq(end, "K") || streq(end, "k") || streq(end, "KiB"))
                shift = 10;
        else if (streq(end, "M") || streq(end, "MiB"))
                shift = 20;
        else if (*end)
                return -EINVAL;
        if (v > (SIZE_MAX >> shift))
                return -ERANGE;
        *ret = (size_t) (v << shift);
        return 0;
}

int parse_int(const char *s, long min, long max, long *ret)
{
        if (!s || !*s)
                return -EINVAL;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || *end || errno != 0)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Command-line value parsers; see parse.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

int parse_duration_ms(const char *s, int64_t *ret_ms)
{
        /* strtod would take blanks, a sign, "inf", "nan" and hex: only
         * decimal digits and a point are a duration */
        if (!s || !(isdigit((unsigned char) *s) || (*s == '.' && isdigit((unsigned char) s[1]))))
                return -EINVAL;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end != s + strspn(s, "0123456789.") || errno != 0 || v < 0 || isnan(v))
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
        /* callers turn it into microseconds and add it to a clock: keep
         * both in range (PARSE_DURATION_MAX_MS, some 290,000 years) */
        if (!(ms <= (double) PARSE_DURATION_MAX_MS))
                return -ERANGE;
        *ret_ms = (int64_t) ms;
        return 0;
}

int parse_size(const char *s, size_t *ret)
{
        if (!s || !isdigit((unsigned char) *s))
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
        if (!s || !(isdigit((unsigned char) *s) || (*s == '-' && isdigit((unsigned char) s[1]))))
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

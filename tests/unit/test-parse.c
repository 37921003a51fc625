/* Unit tests of the command-line value parsers. */
#include <errno.h>

#include "check.h"
#include "parse.h"

int main(void)
{
        int64_t ms;
        CHECK_EQ_INT(parse_duration_ms("1s", &ms), 0);
        CHECK_EQ_INT(ms, 1000);
        CHECK_EQ_INT(parse_duration_ms("1.5s", &ms), 0);
        CHECK_EQ_INT(ms, 1500);
        CHECK_EQ_INT(parse_duration_ms("250ms", &ms), 0);
        CHECK_EQ_INT(ms, 250);
        CHECK_EQ_INT(parse_duration_ms("2", &ms), 0);
        CHECK_EQ_INT(ms, 2000);
        CHECK_EQ_INT(parse_duration_ms("0", &ms), 0);
        CHECK_EQ_INT(ms, 0);
        CHECK_EQ_INT(parse_duration_ms("3m", &ms), 0);
        CHECK_EQ_INT(ms, 180000);
        CHECK_EQ_INT(parse_duration_ms("", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("-1s", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("5 parsecs", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("s", &ms), -EINVAL);
        /* issue 12: a duration whose microseconds overflow 64 bits was an
         * instant timeout */
        CHECK_EQ_INT(parse_duration_ms("18446744073709.552", &ms), -ERANGE);
        CHECK_EQ_INT(parse_duration_ms("9223372036854775807ms", &ms), -ERANGE);
        CHECK_EQ_INT(parse_duration_ms("1e400", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("1e3", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("inf", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("nan", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms(" 1s", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("+1s", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms("0x10", &ms), -EINVAL);
        CHECK_EQ_INT(parse_duration_ms(".5s", &ms), 0);
        CHECK_EQ_INT(ms, 500);
        CHECK_EQ_INT(parse_duration_ms("100000h", &ms), 0);
        CHECK_EQ_INT(ms, 360000000000);
        CHECK(parse_duration_ms("2562047788015h", &ms) == -ERANGE);

        size_t sz;
        CHECK_EQ_INT(parse_size("64K", &sz), 0);
        CHECK_EQ_INT(sz, 65536);
        CHECK_EQ_INT(parse_size("1M", &sz), 0);
        CHECK_EQ_INT(sz, 1 << 20);
        CHECK_EQ_INT(parse_size("4096", &sz), 0);
        CHECK_EQ_INT(sz, 4096);
        CHECK_EQ_INT(parse_size("4G", &sz), -EINVAL);
        CHECK_EQ_INT(parse_size("-1", &sz), -EINVAL);
        CHECK_EQ_INT(parse_size(" -1", &sz), -EINVAL);   /* strtoull would wrap it */
        CHECK_EQ_INT(parse_size("+1", &sz), -EINVAL);
        CHECK_EQ_INT(parse_size("18446744073709551615M", &sz), -ERANGE);

        long v;
        CHECK_EQ_INT(parse_int("42", 0, 100, &v), 0);
        CHECK_EQ_INT(v, 42);
        CHECK_EQ_INT(parse_int("101", 0, 100, &v), -ERANGE);
        CHECK_EQ_INT(parse_int("4x", 0, 100, &v), -EINVAL);
        CHECK_EQ_INT(parse_int("", 0, 100, &v), -EINVAL);
        CHECK_EQ_INT(parse_int(" 4", 0, 100, &v), -EINVAL);
        CHECK_EQ_INT(parse_int("-4", -10, 100, &v), 0);
        CHECK_EQ_INT(v, -4);
        return CHECK_DONE();
}

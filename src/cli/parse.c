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

int parse_shell_words(const char *s, char ***ret, size_t *ret_n, const char **ret_error)
{
        size_t len = strlen(s);
        /* every word and its NUL fit in one buffer as long as s */
        _cleanup_free_ char *buf = malloc(len + 1);
        char **words = NULL;
        size_t n = 0, cap = 0, o = 0;
        if (!buf)
                return -ENOMEM;
        const char *p = s;
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                size_t start = o;
                while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
                        if (*p == '\'') {
                                const char *q = strchr(p + 1, '\'');
                                if (!q) {
                                        *ret_error = "a ' is not closed";
                                        goto invalid;
                                }
                                memcpy(buf + o, p + 1, (size_t) (q - p - 1));
                                o += (size_t) (q - p - 1);
                                p = q + 1;
                        } else if (*p == '"') {
                                for (p++; *p != '"'; p++) {
                                        if (!*p) {
                                                *ret_error = "a \" is not closed";
                                                goto invalid;
                                        }
                                        if (*p == '\\' && p[1] == '\n')
                                                p++;
                                        else if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                                                buf[o++] = *++p;
                                        else
                                                buf[o++] = *p;
                                }
                                p++;
                        } else if (*p == '\\') {
                                if (!p[1]) {
                                        *ret_error = "a \\ ends the text";
                                        goto invalid;
                                }
                                if (p[1] != '\n')
                                        buf[o++] = p[1];
                                p += 2;
                        } else
                                buf[o++] = *p++;
                }
                buf[o++] = 0;
                if (grow_array(&words, &cap, n + 2, sizeof *words) < 0)
                        goto oom;
                words[n] = strdup(buf + start);
                if (!words[n])
                        goto oom;
                words[++n] = NULL;
        }
        if (!words) {
                words = calloc(1, sizeof *words);
                if (!words)
                        return -ENOMEM;
        }
        *ret = words;
        *ret_n = n;
        return 0;
invalid:
        strv_free(words);
        return -EINVAL;
oom:
        strv_free(words);
        return -ENOMEM;
}

/* Parsers for command-line values (durations, sizes, integers), apart from
 * main.c so that unit tests cover them. */
#ifndef LEAKSCAN_PARSE_H
#define LEAKSCAN_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration: its microseconds, plus any clock reading, still fit
 * in 64 bits. */
#define PARSE_DURATION_MAX_MS (INT64_MAX / 1000 / 2)

/* "1.5s", "500ms", "2m", "100us", "0"; a bare number is seconds.  Returns 0
 * and milliseconds in *ret_ms, or -EINVAL (not a duration) / -ERANGE (longer
 * than PARSE_DURATION_MAX_MS). */
int parse_duration_ms(const char *s, int64_t *ret_ms);

/* "65536", "64K", "1M" (binary units).  Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, size_t *ret);

/* A decimal integer in [min, max].  Returns 0 or -EINVAL / -ERANGE. */
int parse_int(const char *s, long min, long max, long *ret);

/* Splits s into words as a POSIX shell would, without any expansion:
 * blanks separate words; '...' keeps everything literally; "..." keeps
 * everything but \" \\ \$ \` (and drops \newline); a backslash outside
 * quotes keeps the next character.  No variables, globs or commands: the
 * words are what the user wrote (wordexp would expand "$HOME" and glob
 * "--ignore-top=f*" against the current directory).  Returns 0 and a new
 * NULL-terminated array in *ret (free with strv_free), or -EINVAL with
 * *ret_error (static text), or -ENOMEM. */
int parse_shell_words(const char *s, char ***ret, size_t *ret_n, const char **ret_error);

#endif

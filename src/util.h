/* Small helpers shared by every module: cleanup attributes, file reading and
 * time.  Header-only where short so that each module stays self-contained. */
#ifndef LEAKSCAN_UTIL_H
#define LEAKSCAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **) p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Frees a NULL-terminated array of strings and the strings; NULL is fine. */
static inline void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Reads a whole (small, procfs) file into a new NUL-terminated buffer.
 * Returns the number of bytes read, or a negative errno.  *ret owned by the
 * caller; written only on success. */
ssize_t read_full_file(const char *path, char **ret);

/* The same, relative to a directory fd. */
ssize_t read_full_file_at(int dirfd, const char *path, char **ret);

/* Reads a /proc file that fits in size - 1 bytes with one read into buf,
 * NUL-terminated (procfs files of one record produce all of it at once):
 * an open, a read and a close, where read_full_file needs a second read for
 * the end of file and a malloc.  Returns the length, -EFBIG when it did not
 * fit, or a negative errno. */
ssize_t read_small_file(const char *path, char *buf, size_t size);

/* As read_small_file, from offset 0 of a /proc file kept open: procfs makes
 * the record anew at each read from offset 0. */
ssize_t pread_small_file(int fd, char *buf, size_t size);

/* Writes into buf (of size >= 16) a short excerpt of s fit to quote in an
 * error line: at most max visible characters (then "..."), with control
 * characters, quotes, backslashes and bytes >= 0x7f as \xNN, \", \\.
 * Returns buf. */
char *escape_excerpt(const char *s, size_t max, char *buf, size_t size);

/* Grows *array (of *cap elements of size each) to hold at least n elements,
 * doubling, so that appending one by one stays linear.  Returns 0 or
 * -ENOMEM (the array is then unchanged). */
int grow_array(void *array, size_t *cap, size_t n, size_t size);

#endif

/* Helpers for util.h that are too long to inline. */
#include <errno.h>
#include <fcntl.h>

#include "util.h"

ssize_t read_full_file_at(int dirfd, const char *path, char **ret)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        /* procfs files report size 0: read in growing chunks. */
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (cap - len < 2) {
                        char *n = realloc(buf, cap * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap *= 2;
                }
                ssize_t k = read(fd, buf + len, cap - len - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return (ssize_t) len;
}

ssize_t read_full_file(const char *path, char **ret)
{
        return read_full_file_at(AT_FDCWD, path, ret);
}

char *escape_excerpt(const char *s, size_t max, char *buf, size_t size)
{
        size_t o = 0, shown = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                char tmp[8];
                if (*p < 0x20 || *p >= 0x7f)
                        snprintf(tmp, sizeof tmp, "\\x%02x", *p);
                else if (*p == '"' || *p == '\\')
                        snprintf(tmp, sizeof tmp, "\\%c", *p);
                else
                        snprintf(tmp, sizeof tmp, "%c", *p);
                size_t l = strlen(tmp);
                if (shown == max || o + l + 4 > size) {
                        /* room for "..." and the NUL is kept in reserve */
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                memcpy(buf + o, tmp, l);
                o += l;
                shown++;
        }
        buf[o] = 0;
        return buf;
}

int grow_array(void *array, size_t *cap, size_t n, size_t size)
{
        void **a = array;
        if (n <= *cap)
                return 0;
        size_t ncap = *cap ? *cap : 16;
        while (ncap < n) {
                if (ncap > SIZE_MAX / 2 / size)
                        return -ENOMEM;
                ncap *= 2;
        }
        void *na = realloc(*a, ncap * size);
        if (!na)
                return -ENOMEM;
        *a = na;
        *cap = ncap;
        return 0;
}

ssize_t read_small_file(const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return pread_small_file(fd, buf, size);
}

ssize_t pread_small_file(int fd, char *buf, size_t size)
{
        ssize_t n = pread(fd, buf, size - 1, 0);
        if (n < 0)
                return -errno;
        if ((size_t) n == size - 1)
                return -EFBIG;
        buf[n] = 0;
        return n;
}


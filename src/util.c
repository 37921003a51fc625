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

/* Files replaced whole; see atomicfile.h.  The temporary name starts with a
 * dot: node_exporter's textfile collector reads only *.prom, and a crash
 * between write and rename leaves a file no collector picks up. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "util.h"

int atomic_file_open(const char *path, struct atomic_file *ret)
{
        const char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t) (slash - path + 1) : 0;
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", (int) dirlen, path, path + dirlen) < 0)
                return -ENOMEM;
        _cleanup_free_ char *name = strdup(path);
        if (!name)
                return -ENOMEM;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        mode_t mask = umask(0);
        umask(mask);
        FILE *f = NULL;
        if (fchmod(fd, 0666 & ~mask) < 0 || !(f = fdopen(fd, "w"))) {
                int r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        *ret = (struct atomic_file) { f, TAKE_PTR(name), TAKE_PTR(tmp) };
        return 0;
}

int atomic_file_close(struct atomic_file *af, bool discard)
{
        int r = 0;
        if (fflush(af->f) != 0 || ferror(af->f))
                r = -(errno ? errno : EIO);
        if (r == 0 && !discard && fsync(fileno(af->f)) < 0)
                r = -errno;
        if (fclose(af->f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && !discard && rename(af->tmp, af->path) < 0)
                r = -errno;
        if (r < 0 || discard)
                unlink(af->tmp);
        free(af->path);
        free(af->tmp);
        *af = (struct atomic_file) {0};
        return r;
}

/* Output path templates; see outpath.h.  %n takes O_EXCL creation as the
 * arbiter between parallel runs: checking for existence first and opening
 * afterwards would let two runs pick the same number.
 *
 * leakscan writes reports as root, often into /tmp with a predictable name
 * (-o /tmp/report-%p.json), where anyone may have planted a symlink to
 * /etc/shadow or a file of their own to read the report from.  A new file
 * is created with O_EXCL|O_NOFOLLOW; an existing one is looked at first
 * (O_PATH|O_NOFOLLOW, fstat) and, in a sticky world-writable directory, used
 * only when its owner is us or the directory's owner -- the rule of the
 * kernel's fs.protected_symlinks and protected_regular, which may be off.
 * Elsewhere a symlink is followed as the user asked (-o /dev/stdout), and
 * an existing file truncated, as before.  Renaming a temporary file over
 * the path would not follow a symlink either, but would replace /dev/stdout
 * itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outpath.h"
#include "util.h"

#define OUTPATH_MAX_COUNTER 1000000u

static int expand(const char *template, pid_t pid, unsigned n, char **ret, bool *ret_has_counter)
{
        char *buf = NULL;
        size_t len = 0;
        bool counter = false;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                return -ENOMEM;
        int r = 0;
        for (const char *s = template; *s && r == 0; s++) {
                if (*s != '%') {
                        fputc(*s, m);
                        continue;
                }
                switch (*++s) {
                case 'p': fprintf(m, "%d", (int) pid); break;
                case 'n': fprintf(m, "%u", n); counter = true; break;
                case '%': fputc('%', m); break;
                default: r = -EINVAL;   /* also a lone '%' at the end */
                }
                if (!*s)
                        break;
        }
        if (fclose(m) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_has_counter)
                *ret_has_counter = counter;
        return 0;
}

int outpath_expand(const char *template, pid_t pid, unsigned n, char **ret)
{
        return expand(template, pid, n, ret, NULL);
}

int outpath_check(const char *template)
{
        _cleanup_free_ char *path = NULL;
        return expand(template, 0, 0, &path, NULL);
}

/* The directory path is in, looked up as open() would. */
static int stat_parent(const char *path, struct stat *ret)
{
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        return stat(dir, ret) < 0 ? -errno : 0;
}

/* Opens path for writing, created when it does not exist, truncated when
 * it is a regular file.  Returns the descriptor, or a negative errno:
 * -EACCES for a symlink or file planted in a shared directory by another
 * user. */
static int open_existing_or_new(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
                return fd >= 0 ? fd : -errno;
        _cleanup_close_ int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0)
                return -errno;
        struct stat st, dir;
        if (fstat(pfd, &st) < 0)
                return -errno;
        int r = stat_parent(path, &dir);
        if (r < 0)
                return r;
        bool shared = (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH);
        if (shared && st.st_uid != geteuid() && st.st_uid != dir.st_uid)
                return -EACCES;
        bool link = S_ISLNK(st.st_mode);
        /* a symlink we may follow may point to a file not made yet */
        fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (link ? O_CREAT : O_NOFOLLOW), 0666);
        if (fd < 0)
                return -errno;
        struct stat now;
        if (fstat(fd, &now) < 0 || (!link && (now.st_dev != st.st_dev || now.st_ino != st.st_ino))) {
                /* replaced between the look and the open */
                close(fd);
                return -EAGAIN;
        }
        if (S_ISREG(now.st_mode) && ftruncate(fd, 0) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int outpath_open(const char *template, pid_t pid, FILE **ret_f, char **ret_path)
{
        for (unsigned n = 0; n < OUTPATH_MAX_COUNTER; n++) {
                _cleanup_free_ char *path = NULL;
                bool counter;
                int r = expand(template, pid, n, &path, &counter);
                if (r < 0)
                        return r;
                int fd = counter ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666) :
                                   open_existing_or_new(path);
                if (fd < 0 && counter && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return counter ? -errno : fd;
                FILE *f = fdopen(fd, "w");
                if (!f) {
                        r = -errno;
                        close(fd);
                        return r;
                }
                *ret_f = f;
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        return -EEXIST;
}

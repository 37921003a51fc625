/* Output path templates; see outpath.h.  %n takes O_EXCL creation as the
 * arbiter between parallel runs: checking for existence first and opening
 * afterwards would let two runs pick the same number. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

int outpath_open(const char *template, pid_t pid, FILE **ret_f, char **ret_path)
{
        for (unsigned n = 0; n < OUTPATH_MAX_COUNTER; n++) {
                _cleanup_free_ char *path = NULL;
                bool counter;
                int r = expand(template, pid, n, &path, &counter);
                if (r < 0)
                        return r;
                int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (counter ? O_EXCL : O_TRUNC);
                int fd = open(path, flags, 0666);
                if (fd < 0 && counter && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return -errno;
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

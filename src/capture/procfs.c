/* /proc parsers; see procfs.h.  The formats are the kernel's (fs/proc/array.c,
 * kernel/sched/debug.c, fs/proc/base.c proc_pid_syscall). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "util.h"

int procfs_parse_stat(const char *text, struct proc_stat *ret)
{
        /* "pid (comm) S ppid ...": comm may hold spaces and ')', so it ends at
         * the last ')'. */
        const char *open = strchr(text, '(');
        const char *close = strrchr(text, ')');
        if (!open || !close || close < open || close[1] != ' ')
                return -EINVAL;

        struct proc_stat st = {0};
        size_t n = (size_t) (close - open - 1);
        if (n >= sizeof st.comm)
                n = sizeof st.comm - 1;
        memcpy(st.comm, open + 1, n);
        st.comm[n] = 0;

        const char *p = close + 2;
        st.state = *p;
        if (!st.state)
                return -EINVAL;
        /* fields after comm: 3 state, 4 ppid, ... 9 flags, ... 20 num_threads,
         * ... 22 starttime */
        int field = 3;
        while (*p && field < 22) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
                field++;
                if (field == 9)
                        st.flags = (unsigned) strtoul(p, NULL, 10);
                else if (field == 20)
                        st.num_threads = strtol(p, NULL, 10);
        }
        if (field != 22)
                return -EINVAL;
        st.starttime = strtoull(p, NULL, 10);
        /* ... 39 processor: older kernels may end before it */
        st.processor = -1;
        while (field < 39 && (p = strchr(p, ' ')))
                if (++field == 39) {
                        char *end;
                        errno = 0;
                        long cpu = strtol(++p, &end, 10);
                        if (errno == 0 && end != p && cpu >= 0 && cpu < INT32_MAX)
                                st.processor = (int) cpu;
                } else
                        p++;
        *ret = st;
        return 0;
}

/* The value of "Key:" in /proc/PID/status text: just past the colon, or
 * NULL when no line has that key. */
static const char *status_value(const char *text, const char *key)
{
        size_t klen = strlen(key);
        for (const char *line = text; line && *line; ) {
                if (strncmp(line, key, klen) == 0 && line[klen] == ':')
                        return line + klen + 1;
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return NULL;
}

int procfs_parse_status_field(const char *text, const char *key, long *ret)
{
        const char *v = status_value(text, key);
        if (!v)
                return -ENOENT;
        *ret = strtol(v, NULL, 10);
        return 0;
}

int procfs_parse_status_mask(const char *text, const char *key, uint64_t *ret)
{
        const char *v = status_value(text, key);
        if (!v)
                return -ENOENT;
        char *end;
        errno = 0;
        unsigned long long mask = strtoull(v, &end, 16);
        if (errno != 0 || end == v)
                return -ENOENT;
        *ret = mask;
        return 0;
}

int procfs_parse_sched_field(const char *text, const char *key, uint64_t *ret)
{
        size_t klen = strlen(key);
        for (const char *line = text; line && *line; ) {
                /* "key      :   value": the key is followed by spaces, so a
                 * longer key sharing the prefix does not match */
                if (strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == ':')) {
                        const char *colon = strchr(line + klen, ':');
                        const char *nl = strchr(line, '\n');
                        if (!colon || (nl && colon > nl))
                                return -ENOENT;
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(colon + 1, &end, 10);
                        if (errno != 0 || end == colon + 1)
                                return -ENOENT;
                        *ret = v;
                        return 0;
                }
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -ENOENT;
}

int procfs_parse_sched_exec_start(const char *text, uint64_t *ret_ns)
{
        const char *p = strstr(text, "se.exec_start");
        if (!p)
                return -ENOENT;
        p = strchr(p, ':');
        if (!p)
                return -EINVAL;
        p++;
        while (*p == ' ' || *p == '\t')
                p++;
        /* "milliseconds.nanoseconds-remainder" as printed by SPLIT_NS(). */
        char *end;
        uint64_t ms = strtoull(p, &end, 10);
        if (end == p)
                return -EINVAL;
        uint64_t frac = 0;
        if (*end == '.') {
                const char *f = end + 1;
                int digits = 0;
                while (*f >= '0' && *f <= '9' && digits < 6) {
                        frac = frac * 10 + (uint64_t) (*f - '0');
                        f++;
                        digits++;
                }
                while (digits++ < 6)
                        frac *= 10;
        }
        *ret_ns = ms * 1000000u + frac;
        return 0;
}

int procfs_parse_syscall(const char *text, struct proc_syscall *ret)
{
        struct proc_syscall sc = { .nr = -1 };
        if (startswith(text, "running")) {
                sc.running = true;
                *ret = sc;
                return 0;
        }
        char *end;
        sc.nr = strtol(text, &end, 10);
        if (end == text)
                return -EINVAL;
        uint64_t v[8];
        int n = 0;
        const char *p = end;
        while (n < 8) {
                while (*p == ' ')
                        p++;
                if (!*p || *p == '\n')
                        break;
                v[n] = strtoull(p, &end, 16);
                if (end == p)
                        return -EINVAL;
                p = end;
                n++;
        }
        if (sc.nr < 0) {
                if (n != 2)
                        return -EINVAL;
                sc.sp = v[0];
                sc.pc = v[1];
        } else {
                if (n != 8)
                        return -EINVAL;
                memcpy(sc.args, v, sizeof sc.args);
                sc.sp = v[6];
                sc.pc = v[7];
        }
        *ret = sc;
        return 0;
}

bool procfs_syscall_same(const struct proc_syscall *a, const struct proc_syscall *b)
{
        return a->running == b->running && a->nr == b->nr && a->sp == b->sp && a->pc == b->pc &&
               memcmp(a->args, b->args, sizeof a->args) == 0;
}

int procfs_parse_status_switches(const char *text, uint64_t *ret)
{
        long vol, nonvol;
        if (procfs_parse_status_field(text, "voluntary_ctxt_switches", &vol) < 0 ||
            procfs_parse_status_field(text, "nonvoluntary_ctxt_switches", &nonvol) < 0)
                return -ENOENT;
        *ret = (uint64_t) vol + (uint64_t) nonvol;
        return 0;
}

int procfs_parse_schedstat(const char *text, struct proc_schedstat *ret)
{
        /* "run_ns wait_ns pcount\n" (fs/proc/base.c proc_pid_schedstat) */
        uint64_t v[3];
        const char *p = text;
        for (int i = 0; i < 3; i++) {
                char *end;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end != 0))
                        return -EINVAL;
                p = end;
        }
        /* every thread has been switched in at least once: 0 says the
         * kernel keeps no sched_info (it prints "0 0 0") */
        if (v[2] == 0)
                return -ENOENT;
        *ret = (struct proc_schedstat) { .run_ns = v[0], .switched_in = v[2] };
        return 0;
}

void map_entries_free(struct map_entry *maps, size_t n)
{
        if (!maps)
                return;
        for (size_t i = 0; i < n; i++)
                free(maps[i].path);
        free(maps);
}

/* Reads a number in base 16 (or 10) from [*p, end) up to the next non-digit.
 * Returns false when there is none or it overflows 64 bits. */
static bool parse_number(const char **p, const char *end, unsigned base, uint64_t *ret)
{
        const char *q = *p;
        uint64_t v = 0;
        for (; q < end; q++) {
                unsigned d;
                if (*q >= '0' && *q <= '9')
                        d = (unsigned) (*q - '0');
                else if (base == 16 && *q >= 'a' && *q <= 'f')
                        d = (unsigned) (*q - 'a' + 10);
                else if (base == 16 && *q >= 'A' && *q <= 'F')
                        d = (unsigned) (*q - 'A' + 10);
                else
                        break;
                if (v > (UINT64_MAX - d) / base)
                        return false;
                v = v * base + d;
        }
        if (q == *p)
                return false;
        *p = q;
        *ret = v;
        return true;
}

static bool parse_char(const char **p, const char *end, char c)
{
        if (*p >= end || **p != c)
                return false;
        (*p)++;
        return true;
}

/* One line of maps, [line, end): "start-end perms offset major:minor inode
 * path" (fs/proc/task_mmu.c show_map_vma).  Parsed by hand, within the line:
 * sscanf measures the whole remaining text on every call, which made parsing
 * a process of 10,000 threads (20,000 lines) quadratic. */
static bool parse_maps_line(const char *line, const char *end, struct map_entry *m, const char **ret_path)
{
        const char *p = line;
        uint64_t major, minor;
        if (!parse_number(&p, end, 16, &m->start) || !parse_char(&p, end, '-') ||
            !parse_number(&p, end, 16, &m->end) || !parse_char(&p, end, ' ') || end - p < 5)
                return false;
        memcpy(m->perms, p, 4);
        m->perms[4] = 0;
        p += 4;
        if (!parse_char(&p, end, ' ') || !parse_number(&p, end, 16, &m->offset) || !parse_char(&p, end, ' ') ||
            !parse_number(&p, end, 16, &major) || !parse_char(&p, end, ':') ||
            !parse_number(&p, end, 16, &minor) || !parse_char(&p, end, ' ') ||
            !parse_number(&p, end, 10, &m->inode) || major > UINT32_MAX || minor > UINT32_MAX)
                return false;
        m->dev_major = (unsigned) major;
        m->dev_minor = (unsigned) minor;
        while (p < end && *p == ' ')
                p++;
        *ret_path = p;
        return true;
}

int procfs_parse_maps(const char *text, struct map_entry **ret, size_t *ret_n)
{
        struct map_entry *maps = NULL;
        size_t n = 0, cap = 0;
        const char *line = text;
        while (line && *line) {
                const char *eol = strchr(line, '\n');
                const char *end = eol ? eol : line + strlen(line);
                struct map_entry m = {0};
                const char *path;
                if (!parse_maps_line(line, end, &m, &path)) {
                        map_entries_free(maps, n);
                        return -EINVAL;
                }
                m.path = strndup(path, (size_t) (end - path));
                if (!m.path)
                        goto oom;
                if (grow_array(&maps, &cap, n + 1, sizeof *maps) < 0) {
                        free(m.path);
                        goto oom;
                }
                maps[n++] = m;
                line = eol ? eol + 1 : NULL;
        }
        *ret = maps;
        *ret_n = n;
        return 0;
oom:
        map_entries_free(maps, n);
        return -ENOMEM;
}

const struct map_entry *map_entries_find(const struct map_entry *maps, size_t n, uint64_t addr)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (addr < maps[mid].start)
                        hi = mid;
                else if (addr >= maps[mid].end)
                        lo = mid + 1;
                else
                        return &maps[mid];
        }
        return NULL;
}

int procfs_split_cmdline(const char *buf, size_t len, char ***ret, size_t *ret_n)
{
        /* A process that rewrote its title pads its argv area with NULs: a
         * run of them at the end is padding, as ps reads it (a real trailing
         * empty argument is lost with it). */
        while (len > 1 && buf[len - 1] == 0 && buf[len - 2] == 0)
                len--;
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (buf[i] == 0 || i == len - 1)
                        n++;
        char **argv = calloc(n + 1, sizeof *argv);
        if (!argv)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < len && k < n; ) {
                size_t l = strnlen(buf + i, len - i);
                argv[k] = strndup(buf + i, l);
                if (!argv[k]) {
                        for (size_t j = 0; j < k; j++)
                                free(argv[j]);
                        free(argv);
                        return -ENOMEM;
                }
                k++;
                i += l + 1;
        }
        *ret = argv;
        *ret_n = k;
        return 0;
}

enum fd_kind procfs_fd_kind(const char *target)
{
        if (!target)
                return FD_KIND_OTHER;
        if (startswith(target, "pipe:"))
                return FD_KIND_PIPE;
        if (startswith(target, "socket:"))
                return FD_KIND_SOCKET;
        return FD_KIND_OTHER;
}

int procfs_parse_fdinfo_flags(const char *text, long *ret_flags)
{
        /* "pos:\t0\nflags:\t02000002\nmnt_id:\t15\n..." (fs/proc/fd.c) */
        for (const char *line = text; line && *line; ) {
                if (startswith(line, "flags:")) {
                        const char *p = line + 6;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (*p < '0' || *p > '7')
                                return -EINVAL;
                        char *end;
                        errno = 0;
                        long v = strtol(p, &end, 8);
                        if (errno || (*end && *end != '\n'))
                                return -EINVAL;
                        *ret_flags = v;
                        return 0;
                }
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -ENOENT;
}

int procfs_list_tasks(pid_t pid, pid_t **ret, size_t *ret_n)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;
        size_t n = 0, cap = 64;
        pid_t *tids = malloc(cap * sizeof *tids);
        if (!tids) {
                closedir(d);
                return -ENOMEM;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                if (n == cap) {
                        pid_t *nt = realloc(tids, (cap *= 2) * sizeof *tids);
                        if (!nt) {
                                free(tids);
                                closedir(d);
                                return -ENOMEM;
                        }
                        tids = nt;
                }
                tids[n++] = (pid_t) atoi(de->d_name);
        }
        closedir(d);
        *ret = tids;
        *ret_n = n;
        return 0;
}

/* The in-process check (include/leakscan/verify.h), the library's half:
 * baselines from /proc/self, and leakscan_verify_none, which starts the
 * helper (src/lib/verify-helper.c) that snapshots this process and reads back
 * its answer.
 *
 * The helper is exec'd, not merely forked: a forked child of a
 * multi-threaded process may not call malloc, and the snapshot needs libdw.
 * posix_spawn starts it without running anything of ours in between.
 *
 * The report comes back as text (or JSON when asked), with the count on a
 * first line, rather than as a struct leakscan_report: what a failing test
 * needs is the message (goleak's VerifyNone gives an error string), the
 * helper renders it with the same writer as leakscan itself, and a second
 * decoder of leakscan/1 kept in step with the report's fields would be code
 * that can only drift.  A program that wants the threads as data asks for
 * JSON. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "leakscan/verify.h"
#include "procfs.h"
#include "util.h"

#ifndef LEAKSCAN_VERIFY_HELPER_PATH
#define LEAKSCAN_VERIFY_HELPER_PATH "/usr/libexec/leakscan-verify-helper"
#endif

struct leakscan_baseline {
        struct { pid_t tid; uint64_t start; } *threads;
        size_t n;
};

int leakscan_baseline_take(struct leakscan_baseline **ret)
{
        DIR *d = opendir("/proc/self/task");
        if (!d)
                return -errno;
        struct leakscan_baseline *b = calloc(1, sizeof *b);
        int r = b ? 0 : -ENOMEM;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                int tid = atoi(de->d_name);
                if (tid <= 0)
                        continue;
                char path[64];
                _cleanup_free_ char *text = NULL;
                struct proc_stat st;
                snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
                if (read_full_file(path, &text) < 0 || procfs_parse_stat(text, &st) < 0)
                        continue;       /* it exited meanwhile */
                __typeof__(b->threads) n = realloc(b->threads, (b->n + 1) * sizeof *n);
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                b->threads = n;
                b->threads[b->n].tid = tid;
                b->threads[b->n++].start = st.starttime;
        }
        closedir(d);
        if (r < 0) {
                leakscan_baseline_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

void leakscan_baseline_free(struct leakscan_baseline *b)
{
        if (!b)
                return;
        free(b->threads);
        free(b);
}

/* Copies the caller's options into *o, as far as the caller knows them.
 * Returns 0, or -EOPNOTSUPP when the caller sets fields beyond those this
 * library knows (a newer header). */
static int copy_options(const struct leakscan_verify_options *opts, struct leakscan_verify_options *o)
{
        *o = (struct leakscan_verify_options) { .size = sizeof *o };
        if (!opts)
                return 0;
        if (opts->size < sizeof(size_t))
                return -EINVAL;
        memcpy(o, opts, opts->size < sizeof *o ? opts->size : sizeof *o);
        for (size_t i = sizeof *o; i < opts->size; i++)
                if (((const unsigned char *) opts)[i] != 0)
                        return -EOPNOTSUPP;
        return 0;
}

/* Whether the helper needs this process to name it as its tracer: Yama's
 * ptrace_scope 1 lets a process trace only its descendants (the helper is
 * our child, not an ancestor), unless the tracer has CAP_SYS_PTRACE, which
 * a helper of root's keeps across the exec. */
static bool needs_ptracer(void)
{
        _cleanup_free_ char *text = NULL, *status = NULL;
        if (read_full_file("/proc/sys/kernel/yama/ptrace_scope", &text) < 0 || atoi(text) != 1)
                return false;
        const char *cap = geteuid() == 0 && read_full_file("/proc/self/status", &status) >= 0 ?
                          strstr(status, "\nCapEff:") : NULL;
        return !cap || !(strtoull(cap + strlen("\nCapEff:"), NULL, 16) & (1ull << 19 /* CAP_SYS_PTRACE */));
}

static int send_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                buf += k;
                len -= (size_t) k;
        }
        return 0;
}

/* The request: the threads to ignore and the extra rules, one a line. */
static int send_request(int fd, const struct leakscan_verify_options *o)
{
        char line[128];
        int r = 0;
        if (o->baseline)
                for (size_t i = 0; r == 0 && i < o->baseline->n; i++) {
                        int k = snprintf(line, sizeof line, "thread %d %" PRIu64 "\n",
                                         (int) o->baseline->threads[i].tid, o->baseline->threads[i].start);
                        r = send_all(fd, line, (size_t) k);
                }
        for (const char *s = o->ignore; r == 0 && s && *s;) {
                size_t len = strcspn(s, "\n");
                const char *p = s;
                while (p < s + len && (*p == ' ' || *p == '\t'))
                        p++;
                if (p < s + len && *p != '#') {
                        r = send_all(fd, "rule ", 5);
                        if (r == 0)
                                r = send_all(fd, p, len - (size_t) (p - s));
                        if (r == 0)
                                r = send_all(fd, "\n", 1);
                }
                s += len + (s[len] == '\n');
        }
        return r;
}

/* Reads until EOF into a new NUL-terminated buffer.  Returns 0 or a negative errno. */
static int read_all(int fd, char **ret)
{
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (cap - len < 1024) {
                        char *n = realloc(buf, cap * 2);
                        if (!n) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = n;
                        cap *= 2;
                }
                ssize_t k = read(fd, buf + len, cap - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        buf[len] = 0;
        *ret = buf;
        return 0;
}

/* Starts the helper with one end of a socket pair as its stdin and stdout.
 * Returns 0 with its pid, or the negative errno of posix_spawn (of the exec
 * itself: glibc reports it). */
static int spawn_helper(const char *path, char *const *argv, int fd, pid_t *ret_pid)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int r = posix_spawn_file_actions_init(&fa);
        if (r)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        sigemptyset(&none);
        r = posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
        if (!r)
                r = posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
        /* the test's own descriptors stay out of the helper */
        if (!r)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
        if (!r)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (!r)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        if (!r)
                r = posix_spawn(ret_pid, path, &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

/* Reports an error of the check where the caller asked, and returns it. */
static int complain(const struct leakscan_verify_options *o, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int complain(const struct leakscan_verify_options *o, int err, const char *fmt, ...)
{
        if (o->print_to) {
                va_list ap;
                va_start(ap, fmt);
                vfprintf(o->print_to, fmt, ap);
                va_end(ap);
                fputc('\n', o->print_to);
        }
        return err;
}

int leakscan_verify_none(const struct leakscan_verify_options *opts, char **ret_report)
{
        struct leakscan_verify_options o;
        int r = copy_options(opts, &o);
        if (r < 0)
                return r;

        /* secure_getenv: a set-user-ID test program must not run a helper
         * its caller names */
        const char *helper = secure_getenv("LEAKSCAN_VERIFY_HELPER");
        if (!helper || !*helper)
                helper = LEAKSCAN_VERIFY_HELPER_PATH;
        char pid_arg[32], caller_arg[32], grace_arg[48];
        snprintf(pid_arg, sizeof pid_arg, "--pid=%d", (int) getpid());
        snprintf(caller_arg, sizeof caller_arg, "--caller=%d", (int) gettid());
        /* 0: the helper's default, that of --at-exit */
        snprintf(grace_arg, sizeof grace_arg, "--grace=%" PRId64, o.grace_ms == 0 ? -1 : o.grace_ms < 0 ? 0 : o.grace_ms);
        char *argv[8];
        size_t n = 0;
        argv[n++] = (char *) "leakscan-verify-helper";
        argv[n++] = pid_arg;
        argv[n++] = caller_arg;
        argv[n++] = grace_arg;
        if (o.json)
                argv[n++] = (char *) "--json";
        if (o.no_default_ignores)
                argv[n++] = (char *) "--no-default-ignores";
        argv[n] = NULL;

        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return complain(&o, -errno, "leakscan_verify_none: cannot make a socket pair: %s", strerror(errno));
        pid_t pid;
        r = spawn_helper(helper, argv, sv[1], &pid);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return complain(&o, r, "leakscan_verify_none: cannot run the helper %s: %s; install leakscan, "
                                "or name the helper with LEAKSCAN_VERIFY_HELPER", helper, strerror(-r));
        }
        /* PR_SET_PTRACER only when the helper needs it, and never reset
         * to 0 afterwards: the exception names the helper, and the kernel
         * drops it when the helper exits (Yama forgets a dead tracer).
         * prctl cannot read an exception the program had set itself (a
         * crash handler's): it is replaced while the check runs, and the
         * program sets it again after it (verify.h says so). */
        if (needs_ptracer())
                (void) prctl(PR_SET_PTRACER, (unsigned long) pid, 0, 0, 0);
        /* the helper reads the whole request before it looks at us */
        r = send_request(sv[0], &o);
        shutdown(sv[0], SHUT_WR);
        _cleanup_free_ char *answer = NULL;
        int rr = read_all(sv[0], &answer);
        close(sv[0]);
        int status = 0;
        pid_t w;
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
                ;
        if (rr < 0)
                return complain(&o, rr, "leakscan_verify_none: reading the helper's answer: %s", strerror(-rr));

        /* the answer says how it went; a request the helper refused to read
         * (r < 0: it had already failed) is explained there too */
        unsigned long long count;
        int err, off = 0;
        if (sscanf(answer, "leaked %llu\n%n", &count, &off) == 1 && off > 0) {
                const char *text = answer + off;
                if (count > 0 && o.print_to)
                        fputs(text, o.print_to);
                if (ret_report) {
                        *ret_report = NULL;
                        if (count > 0 && !(*ret_report = strdup(text)))
                                return -ENOMEM;
                }
                return count > INT32_MAX ? INT32_MAX : (int) count;
        }
        if (sscanf(answer, "error %d %n", &err, &off) == 1 && err < 0 && off > 0) {
                answer[strcspn(answer, "\n")] = 0;
                return complain(&o, err, "%s", answer + off);
        }
        if (r < 0)
                return complain(&o, r, "leakscan_verify_none: sending the request to the helper: %s", strerror(-r));
        if (w == pid && WIFSIGNALED(status))
                return complain(&o, -EPROTO, "leakscan_verify_none: the helper %s was killed by signal %d",
                                helper, WTERMSIG(status));
        return complain(&o, -EPROTO, "leakscan_verify_none: the helper %s gave no answer (exit status %d): "
                        "is it the one of this library's version?", helper,
                        w == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The analyser's sandbox; see sandbox.h.  The syscalls allowed were found
 * by running the analysis of every test target under strace: reading and
 * writing descriptors already open, memory (malloc, libelf's mmap of a
 * module), the clock, sysinfo (glibc's qsort asks how much memory there
 * is), a pipe of its own (libunwind's test of an address), and exit; an
 * ioctl (isatty) fails with ENOTTY.  Every open is refused with EACCES, so a
 * lookup the analysis may try (a .dwo beside a compilation unit, a dwz
 * file by name) fails as a missing file would; anything else kills the
 * process. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

static struct sandbox_shared *shared;   /* in the child: the page shared with the supervisor */

int sandbox_fork(struct sandbox_child *ret)
{
        struct sandbox_shared *page = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                           -1, 0);
        if (page == MAP_FAILED)
                return -errno;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                int r = -errno;
                munmap(page, sizeof *page);
                return r;
        }
        fflush(NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                munmap(page, sizeof *page);
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(3);
                close(p[1]);
                shared = page;
                /* it dies with its supervisor */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* ps and the tests tell it from leakscan's other children */
                prctl(PR_SET_NAME, SANDBOX_NAME);
                return 1;
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        close(p[1]);
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        *ret = (struct sandbox_child) { .pid = pid, .pidfd = pidfd, .out = p[0], .shared = page, .serve_fd = -1,
                                        .fork_ns = (uint64_t) ((t1.tv_sec - t0.tv_sec) * 1000000000L +
                                                               (t1.tv_nsec - t0.tv_nsec)) };
        return 0;
}

void sandbox_note_module(const char *path)
{
        if (!shared)
                return;
        snprintf(shared->module, sizeof shared->module, "%s", path ? path : "");
}

void sandbox_note_error(int err)
{
        if (shared)
                shared->error = err;
}

void sandbox_note_pid(pid_t pid)
{
        if (shared)
                shared->pid = pid;
}

static int compare_int(const void *a, const void *b)
{
        int x = *(const int *) a, y = *(const int *) b;
        return (x > y) - (x < y);
}

int sandbox_close_others(const int *keep, size_t n, bool keep_stdin, const char **why)
{
        if (!keep_stdin) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
                        *why = "reading from /dev/null";
                        return -errno;
                }
                close(null);
        }
        int sorted[16];
        size_t k = 0;
        if (n > ARRAY_SIZE(sorted))
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (keep[i] > STDERR_FILENO)
                        sorted[k++] = keep[i];
        qsort(sorted, k, sizeof *sorted, compare_int);
        unsigned lo = STDERR_FILENO + 1;
        for (size_t i = 0; i <= k; i++) {
                unsigned hi = i < k ? (unsigned) sorted[i] : ~0u;
                if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0u) < 0) {
                        if (errno != ENOSYS) {
                                *why = "closing the supervisor's descriptors";
                                return -errno;
                        }
                        /* before Linux 5.9: one by one, up to the limit */
                        long max = sysconf(_SC_OPEN_MAX);
                        for (unsigned fd = lo; fd < hi && fd < (unsigned) (max > 0 ? max : 65536); fd++)
                                close((int) fd);
                }
                if (i < k)
                        lo = (unsigned) sorted[i] + 1;
        }
        return 0;
}

/* Drops to nobody (when root) or keeps the caller's uid, and clears every
 * capability set, ambient ones included. */
static int drop_privileges(const char **why)
{
        if (geteuid() == 0 || getuid() == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(SANDBOX_NOBODY, SANDBOX_NOBODY, SANDBOX_NOBODY) < 0) {
                        *why = "setting the group to nobody";
                        return -errno;
                }
                if (setresuid(SANDBOX_NOBODY, SANDBOX_NOBODY, SANDBOX_NOBODY) < 0) {
                        *why = "setting the user to nobody";
                        return -errno;
                }
        }
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof data);
        if (syscall(SYS_capset, &hdr, data) < 0) {
                *why = "dropping the capabilities";
                return -errno;
        }
        /* check, rather than trust: nothing left, and no way back */
        if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[0].permitted || data[1].effective ||
            data[1].permitted) {
                *why = "checking that no capability is left";
                return -EPERM;
        }
        if ((geteuid() == 0 || getuid() == 0) || setuid(0) == 0) {
                *why = "checking that root cannot be taken back";
                return -EPERM;
        }
        return 0;
}

static int set_limits(const struct sandbox_limits *l, const char **why)
{
        struct rlimit r;
        if (l->address_space) {
                /* on top of what is mapped already (under AddressSanitizer,
                 * terabytes of reserved shadow) */
                uint64_t mapped = 0;
                _cleanup_free_ char *statm = NULL;
                if (read_full_file("/proc/self/statm", &statm) > 0)
                        mapped = strtoull(statm, NULL, 10) * (uint64_t) sysconf(_SC_PAGESIZE);
                uint64_t limit = mapped + l->address_space;
                r = (struct rlimit) { limit, limit };
                if (setrlimit(RLIMIT_AS, &r) < 0) {
                        *why = "limiting the address space";
                        return -errno;
                }
        }
        if (l->cpu_seconds) {
                r = (struct rlimit) { l->cpu_seconds, l->cpu_seconds };
                if (setrlimit(RLIMIT_CPU, &r) < 0) {
                        *why = "limiting the CPU time";
                        return -errno;
                }
        }
        r = (struct rlimit) { 0, 0 };
        (void) setrlimit(RLIMIT_CORE, &r);      /* a core would hold the target's memory */
        return 0;
}

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int install_filter(const char **why)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
#if defined(__x86_64__)
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
#else
#error "sandbox: name this machine's audit arch"
#endif
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
                /* x32's numbers (bit 30) are another ABI: none of them */
                BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
                ALLOW(SYS_read), ALLOW(SYS_pread64), ALLOW(SYS_readv), ALLOW(SYS_write), ALLOW(SYS_writev),
                ALLOW(SYS_lseek), ALLOW(SYS_close), ALLOW(SYS_fstat), ALLOW(SYS_newfstatat),
                ALLOW(SYS_mmap), ALLOW(SYS_munmap), ALLOW(SYS_mprotect), ALLOW(SYS_mremap), ALLOW(SYS_madvise),
                ALLOW(SYS_brk), ALLOW(SYS_futex), ALLOW(SYS_clock_gettime), ALLOW(SYS_gettimeofday),
                ALLOW(SYS_getpid), ALLOW(SYS_gettid), ALLOW(SYS_getrandom), ALLOW(SYS_sysinfo),
                ALLOW(SYS_rt_sigreturn), ALLOW(SYS_rt_sigprocmask), ALLOW(SYS_fcntl),
                /* libunwind checks that an address is mapped by writing it
                 * to a pipe of its own (or with mincore) */
                ALLOW(SYS_pipe2), ALLOW(SYS_pipe), ALLOW(SYS_mincore),
                ALLOW(SYS_exit), ALLOW(SYS_exit_group),
                /* -p: its capturer's answers (descriptors come with them),
                 * and the short waits for threads to settle (reach.c) */
                ALLOW(SYS_recvmsg), ALLOW(SYS_nanosleep), ALLOW(SYS_clock_nanosleep),
                /* SARIF names files relative to the working directory */
                ALLOW(SYS_getcwd),
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__) || defined(LEAKSCAN_SANITIZED)
                /* the sanitizers' runtime: its signal stacks and handlers */
                ALLOW(SYS_sigaltstack), ALLOW(SYS_rt_sigaction), ALLOW(SYS_sched_yield), ALLOW(SYS_prlimit64),
                ALLOW(SYS_getrlimit), ALLOW(SYS_sched_getaffinity),
#endif
                /* isatty(): not a terminal (the supervisor decides colour) */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
                /* opens and looks at paths fail as for a missing file
                 * (libdw's realpath of a module's directory: readlink) */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 9, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 8, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 7, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_readlink, 6, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_readlinkat, 5, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_stat, 4, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_lstat, 3, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_access, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_faccessat, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        };
        struct sock_fprog prog = { .len = (unsigned short) ARRAY_SIZE(code), .filter = code };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
                *why = "installing the seccomp filter";
                return -errno;
        }
        return 0;
}

int sandbox_drop(const struct sandbox_limits *limits, const char **why)
{
        int r = drop_privileges(why);
        if (r < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                *why = "setting no_new_privs";
                return -errno;
        }
        return set_limits(limits, why);
}

int sandbox_confine(const char **why)
{
        return install_filter(why);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int sandbox_wait(struct sandbox_child *child, const struct sandbox_limits *limits, char **ret_out,
                 size_t *ret_len, char *why, size_t why_size)
{
        char *out = NULL;
        size_t len = 0, size = 0;
        uint64_t deadline = limits->wall_ms ? now_ms() + limits->wall_ms : 0;
        bool timed_out = false, oom = false;
        int r = 0, refused = 0;
        /* its output until it closes it (at its end), then its end */
        /* (and its requests, until it closes that socket too) */
        while (child->out >= 0 || child->serve_fd >= 0) {
                int wait = -1;
                if (deadline) {
                        uint64_t now = now_ms();
                        if (now >= deadline) {
                                timed_out = true;
                                break;
                        }
                        wait = (int) (deadline - now);
                }
                struct pollfd p[2] = { { child->out, POLLIN, 0 }, { child->serve_fd, POLLIN, 0 } };
                int k = poll(p, 2, wait);        /* a negative fd is left out */
                if (k < 0 && errno == EINTR)
                        continue;
                if (k == 0)
                        continue;
                if (k < 0)
                        break;
                if (child->serve_fd >= 0 && p[1].revents) {
                        int s = child->serve(child->serve_data);
                        if (s == 1)
                                child->serve_fd = -1;
                        else if (s < 0) {
                                refused = s;
                                break;
                        }
                }
                if (!p[0].revents)
                        continue;
                if (len + 65536 > size) {
                        size_t n = size ? size * 2 : 65536;
                        char *o = realloc(out, n);
                        if (!o) {
                                oom = true;
                                break;
                        }
                        out = o;
                        size = n;
                }
                ssize_t got = read(child->out, out + len, size - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0) {
                        close(child->out);
                        child->out = -1;
                        continue;
                }
                len += (size_t) got;
        }
        if (child->out >= 0) {
                close(child->out);
                child->out = -1;
        }
        /* it has closed its output: its end is near; bounded all the same */
        if (!timed_out && !oom && child->pidfd >= 0 && deadline) {
                uint64_t now = now_ms();
                struct pollfd p = { child->pidfd, POLLIN, 0 };
                if (now >= deadline || poll(&p, 1, (int) (deadline - now)) == 0)
                        timed_out = true;
        }
        if (refused && child->pidfd >= 0) {
                /* a request cut short by the child's death is its death */
                struct pollfd p = { child->pidfd, POLLIN, 0 };
                if (poll(&p, 1, 0) == 1)
                        refused = 0;
        }
        if (timed_out || oom || refused)
                kill(child->pid, SIGKILL);
        int status = 0;
        struct rusage ru = {0};
        while (wait4(child->pid, &status, 0, &ru) < 0 && errno == EINTR)
                ;
        child->cpu_us = (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                        (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
        const char *module = child->shared->module[0] ? child->shared->module : NULL;
        if (timed_out) {
                snprintf(why, why_size, "the analyser ran out of time (%u ms)%s%s", limits->wall_ms,
                         module ? " reading " : "", module ? module : "");
                r = -ETIMEDOUT;
        } else if (refused) {
                snprintf(why, why_size, "the analyser's request was refused (%s)%s%s", strerror(-refused),
                         module ? " reading " : "", module ? module : "");
                r = -ECHILD;
        } else if (oom) {
                snprintf(why, why_size, "out of memory reading the analyser's report");
                r = -ENOMEM;
        } else if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                snprintf(why, why_size, "the analyser was killed by signal %d (%s%s)%s%s", sig, strsignal(sig),
                         sig == SIGSYS ? ": a system call its sandbox refuses" :
                         sig == SIGXCPU ? ": out of CPU time" : "",
                         module ? " reading " : "", module ? module : "");
                r = -ECHILD;
        } else {
                r = WEXITSTATUS(status);
        }
        if (child->pidfd >= 0)
                close(child->pidfd);
        child->pidfd = -1;
        if (r < 0) {
                free(out);
                return r;
        }
        *ret_out = out;
        *ret_len = len;
        return r;
}

/* The analyser's sandbox: a child process that parses what a target
 * controls (a snapshot, module files, DWARF) with no privileges, and the
 * supervision of it by the process that keeps them.
 *
 * Design (issue 17, as OpenSSH's privsep or tcpdump after opening its
 * device): the supervisor opens what the analysis needs first; the child
 * then drops to an unprivileged uid (nobody when root, else the caller's
 * with every capability dropped), sets no_new_privs, limits its address
 * space and CPU time, and installs a seccomp filter that allows reading
 * and writing the descriptors it already holds, memory management and
 * exit, and refuses every open.  The supervisor enforces a wall-clock
 * limit, and when the child dies or runs out of time says so, naming the
 * module the child was reading (a page shared between the two). */
#ifndef LEAKSCAN_SANDBOX_H
#define LEAKSCAN_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox_limits {
        uint64_t address_space;         /* RLIMIT_AS, bytes (0: none) */
        unsigned cpu_seconds;           /* RLIMIT_CPU (0: none) */
        unsigned wall_ms;               /* enforced by the supervisor (0: none) */
};

#define SANDBOX_DEFAULT_LIMITS { .address_space = 4ull << 30, .cpu_seconds = 300, .wall_ms = 600000 }
#define SANDBOX_NOBODY 65534
#define SANDBOX_NAME "ls-analyser"      /* its comm, as ps shows it */

/* What the child tells its supervisor while it runs. */
struct sandbox_shared {
        pid_t pid;                      /* the process reported on, once known */
        char module[512];               /* the module file being read, or "" */
        int error;                      /* the analysis failed with this negative errno */
};

struct sandbox_child {
        pid_t pid;
        int pidfd;
        int out;                        /* the child's output, read by the supervisor */
        struct sandbox_shared *shared;
        /* requests of the child answered while it runs (capturer.h):
         * serve(serve_data) when serve_fd is readable returns 0, 1 when
         * the child closed it, or a negative errno to end the child */
        int serve_fd;
        int (*serve)(void *serve_data);
        void *serve_data;
        /* what the analyser cost (docs/PERFORMANCE.md): the supervisor's
         * CPU time in fork, and the child's own CPU time once reaped */
        uint64_t fork_ns;
        uint64_t cpu_us;
};

/* Forks the analyser.  In the child, returns 1 with its stdout a pipe to
 * the supervisor and still privileged (read what only the privileged may,
 * sandbox_drop, open what the analysis reads, sandbox_confine).  In the supervisor, returns 0 with *ret filled.  Or
 * a negative errno. */
int sandbox_fork(struct sandbox_child *ret);

/* In the child, first: closes every descriptor above stderr but keep[0..n)
 * (negative ones are ignored), and puts /dev/null on stdin unless
 * keep_stdin.  Returns 0 or a negative errno (*why). */
int sandbox_close_others(const int *keep, size_t n, bool keep_stdin, const char **why);

/* In the child: drops every privilege for good (nobody when root, else no
 * capability), sets no_new_privs and the resource limits.  Returns 0, or a
 * negative errno with *why naming the step. */
int sandbox_drop(const struct sandbox_limits *limits, const char **why);

/* In the child, after sandbox_drop and once what it reads is open: the
 * seccomp filter, for good.  Returns 0 or a negative errno (*why). */
int sandbox_confine(const char **why);

/* In the child, for the supervisor's message if it dies: the module file
 * being read now (NULL: none).  Does nothing outside a sandbox. */
void sandbox_note_module(const char *path);

/* In the child: the process reported on. */
void sandbox_note_pid(pid_t pid);

/* In the child: its analysis failed with err (a negative errno), for the
 * supervisor to describe. */
void sandbox_note_error(int err);

/* In the supervisor: reads the child's output into *ret_out (*ret_len
 * bytes, the caller's to free) and waits for it to end, at most
 * limits->wall_ms.  Returns the child's exit status (0-255), or a negative
 * errno with *why saying how it ended (killed by signal N, out of time);
 * the child is reaped in every case. */
int sandbox_wait(struct sandbox_child *child, const struct sandbox_limits *limits, char **ret_out,
                 size_t *ret_len, char *why, size_t why_size);

#endif

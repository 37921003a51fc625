/* Parsers for the /proc files leakscan reads, kept apart from the reading so
 * that unit tests run them on captured fixtures without a live process.
 * Every parser takes the file's text and fills a plain struct; none of them
 * allocate except the maps parser. */
#ifndef LEAKSCAN_PROCFS_H
#define LEAKSCAN_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PF_KTHREAD_FLAG 0x00200000u
#define PF_EXITING_FLAG 0x00000004u   /* in do_exit */
#define PF_IO_WORKER_FLAG 0x00000010u /* a kernel io_uring worker (iou-wrk-*, iou-sqp-*) */

struct proc_stat {
        char comm[16];
        char state;             /* R S D T t Z X I ... */
        unsigned flags;
        uint64_t starttime;     /* clock ticks since boot */
        long num_threads;       /* of its process (field 20) */
        int processor;          /* the CPU it last ran on (field 39), or -1 */
};

/* Parses /proc/PID/stat.  Returns 0 or -EINVAL. */
int procfs_parse_stat(const char *text, struct proc_stat *ret);

/* Reads the integer value of a "Key:\tvalue" line of /proc/PID/status.
 * Returns 0 or -ENOENT when the key is absent. */
int procfs_parse_status_field(const char *text, const char *key, long *ret);

/* Reads a hexadecimal signal mask ("SigPnd", "ShdPnd", "SigBlk", "SigIgn",
 * "SigCgt") of /proc/PID/task/TID/status: bit n-1 is signal n.  Returns 0 or
 * -ENOENT when the key is absent. */
int procfs_parse_status_mask(const char *text, const char *key, uint64_t *ret);

/* se.exec_start of /proc/PID/task/TID/sched, in nanoseconds of the scheduler
 * clock.  Returns 0, or -ENOENT when the kernel does not provide it. */
int procfs_parse_sched_exec_start(const char *text, uint64_t *ret_ns);

/* An integer field ("nr_voluntary_switches") of /proc/PID/task/TID/sched.
 * Returns 0, or -ENOENT when absent. */
int procfs_parse_sched_field(const char *text, const char *key, uint64_t *ret);

struct proc_syscall {
        bool running;           /* "running": on a CPU, nothing to read */
        long nr;                /* -1: blocked outside a syscall */
        uint64_t args[6];
        uint64_t sp, pc;
};

/* Parses /proc/PID/task/TID/syscall.  Returns 0 or -EINVAL. */
int procfs_parse_syscall(const char *text, struct proc_syscall *ret);

/* Whether two readings of /proc/PID/task/TID/syscall name the same call:
 * number, arguments, stack pointer and pc. */
bool procfs_syscall_same(const struct proc_syscall *a, const struct proc_syscall *b);

/* /proc/PID/task/TID/schedstat: the time the thread ran and how many
 * times it was switched in.  Both stay the same while it sleeps; the count
 * grows when it is put on a CPU, before it runs anything. */
struct proc_schedstat {
        uint64_t run_ns;
        uint64_t switched_in;
};

/* Parses it.  Returns 0, -EINVAL, or -ENOENT when the kernel keeps no
 * such counts (CONFIG_SCHED_INFO off: "0 0 0"). */
int procfs_parse_schedstat(const char *text, struct proc_schedstat *ret);

/* voluntary_ctxt_switches + nonvoluntary_ctxt_switches of
 * /proc/PID/task/TID/status: how many times the thread left a CPU.
 * Returns 0 or -ENOENT. */
int procfs_parse_status_switches(const char *text, uint64_t *ret);

struct map_entry {
        uint64_t start, end, offset;
        char perms[5];
        unsigned dev_major, dev_minor;
        uint64_t inode;
        char *path;             /* "" for anonymous mappings; owned */
};

/* Parses /proc/PID/maps.  Returns 0 and a new array in *ret (free with
 * map_entries_free), or -ENOMEM / -EINVAL. */
int procfs_parse_maps(const char *text, struct map_entry **ret, size_t *ret_n);
void map_entries_free(struct map_entry *maps, size_t n);

/* The mapping that contains addr, or NULL.  maps must be sorted (as the kernel
 * prints them). */
const struct map_entry *map_entries_find(const struct map_entry *maps, size_t n, uint64_t addr);

/* Parses the NUL-separated /proc/PID/cmdline into a new argv-like array;
 * trailing NUL padding (a rewritten process title) yields no empty
 * arguments.  Returns 0 or -ENOMEM. */
int procfs_split_cmdline(const char *buf, size_t len, char ***ret, size_t *ret_n);

enum fd_kind { FD_KIND_OTHER, FD_KIND_PIPE, FD_KIND_SOCKET };

/* The "flags:" field of /proc/PID/fdinfo/N (octal open flags).  Returns 0,
 * or -ENOENT when the field is missing, -EINVAL when it is not octal. */
int procfs_parse_fdinfo_flags(const char *text, long *ret_flags);

/* What a /proc/PID/fd/N link target ("pipe:[123]", "socket:[45]") names. */
enum fd_kind procfs_fd_kind(const char *target);

/* The TIDs of process pid, from /proc/PID/task, in a new array (*ret, of
 * *ret_n).  Returns 0, -ESRCH when the process is gone, -ENOMEM or another
 * negative errno. */
int procfs_list_tasks(pid_t pid, pid_t **ret, size_t *ret_n);

#endif

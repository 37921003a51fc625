/* Clone sites: the stack pointer of a thread waiting in clone3, derived from
 * the call's own argument instead of read from /proc.
 *
 * Under --at-exit every thread creation waits while the supervisor copies
 * the creating thread's stack, and the stack pointer for that copy is not
 * in the seccomp notification: /proc/PID/task/TID/syscall has it, but
 * reading it waits until the thread is off its CPU, and is most of what a
 * creation costs.  clone3's argument, though, points to a struct clone_args
 * that a libc keeps in the caller's frame (glibc: pthread_create's), at a
 * fixed distance above the stack pointer for one call path of one build.
 *
 * So per (process, syscall instruction) a site learns that distance from
 * the /proc reads, and which words between the stack pointer and the
 * argument never changed among them (return addresses, saved constants).
 * Once two reads agreed, a creation there takes SP = argument - distance,
 * and the copy made from that SP is kept only if it shows the same words
 * at the same places; otherwise the caller reads /proc as before and the
 * site learns from it.  A site whose reads disagree on the distance twice
 * (several call paths through one instruction: a raw clone3 wrapper called
 * from different frames, arguments on the heap) is never derived again.
 * Nothing here reads another process: the caller does the reads. */
#ifndef LEAKSCAN_CLONESITE_H
#define LEAKSCAN_CLONESITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Words recorded above the stack pointer: glibc 2.36's path (clone3, then
 * __clone_internal's saved registers, then pthread_create's frame) is 19
 * words on x86_64. */
#define CLONE_SITE_WORDS 64
/* The longest distance trusted: a clone_args further from the stack pointer
 * is not in the caller's frame. */
#define CLONE_SITE_MAX_DELTA 4096
/* Reads that must agree before a site is derived from. */
#define CLONE_SITE_MIN_SAMPLES 2
/* Disagreements after which a site is read from /proc for good. */
#define CLONE_SITE_MAX_CONFLICTS 2

struct clone_site {
        pid_t tgid;
        uint64_t ip;            /* where the syscall instruction ends */
        uint64_t delta;         /* argument - stack pointer */
        unsigned samples;       /* reads that agreed on delta since the last
                                 * one that did not */
        unsigned conflicts;     /* reads that did not, or were unusable */
        size_t n_words;         /* recorded: min(delta / 8, CLONE_SITE_WORDS) */
        uint64_t words[CLONE_SITE_WORDS];       /* from the stack pointer up */
        uint64_t stable;        /* bit i: words[i] was the same in every
                                 * agreeing read */
};

struct clone_sites {
        struct clone_site *sites;
        size_t n, cap;
        size_t next_evict;      /* when full: the slot reused next */
};

/* The site of (tgid, ip), added (empty) when new; when the table is full an
 * old site is forgotten.  Returns NULL on -ENOMEM.  Owned by s. */
struct clone_site *clone_sites_get(struct clone_sites *s, pid_t tgid, uint64_t ip);

/* Forgets every site of process tgid (it ended: its pid may be given to
 * another program). */
void clone_sites_forget(struct clone_sites *s, pid_t tgid);

void clone_sites_free(struct clone_sites *s);

/* The stack pointer of a creation at site whose clone3 argument is arg, or
 * false when the site cannot tell it yet (or ever). */
bool clone_site_derive_sp(const struct clone_site *site, uint64_t arg, uint64_t *ret_sp);

/* Whether a copy of len bytes taken from the derived stack pointer shows
 * every word the site found stable, and reaches past the argument's
 * struct (argsize bytes). */
bool clone_site_verify(const struct clone_site *site, const uint8_t *stack, size_t len, size_t argsize);

/* Learns from one /proc read: the thread waited in clone3(arg) with stack
 * pointer sp, and stack holds len bytes copied from sp. */
void clone_site_learn(struct clone_site *site, uint64_t arg, uint64_t sp, const uint8_t *stack, size_t len);

#endif

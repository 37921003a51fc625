/* An analysed process on the wire: how a sandboxed analyser hands the
 * threads and deadlocks it found back to the privileged process that holds
 * the target (--at-exit, where the report is completed after the analysis,
 * with what the hold saw next).
 *
 * Design: the writer is trusted by nobody.  The reader bounds every count by
 * the bytes left, every string by the buffer, refuses enum values out of
 * range, and never takes a pointer from the wire: the static texts of a
 * thread (its syscall's name, the unwinder's and the scan's notes, a frame's
 * language, a wait object's kind, a test framework) are names of the
 * syscall table or interned copies, so that they outlive the report as
 * static text does. */
#ifndef LEAKSCAN_PROCWIRE_H
#define LEAKSCAN_PROCWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

/* Writes p's threads and deadlocks to f.  Returns 0 or a negative errno. */
int procwire_write(FILE *f, const struct leakscan_process *p);

/* Reads what procwire_write wrote (len bytes at buf) into p's threads and
 * deadlocks, which must be empty; p's other fields are left alone.  Returns
 * 0, -EBADMSG when buf does not parse (p unchanged), or -ENOMEM. */
int procwire_read(const uint8_t *buf, size_t len, struct leakscan_process *p);

/* ---- the places an analyser looked up ----
 *
 * A forked analyser symbolizes with the places its supervisor kept
 * (symbolize.h), inherited by fork, and hands back those it looked up
 * itself in a second message, written before its answer, for the
 * supervisor to keep for the analysers it forks next.  The reader takes
 * them as hostile like the rest: counts, string lengths and the whole
 * message bounded (PROCWIRE_PLACES_*), and each place offered to accept,
 * which decides whether to keep it (judging.c keeps only places in files
 * the judged process maps, as the supervisor itself opens them). */

#define PROCWIRE_PLACES_MAX 8192                /* places in one message */
#define PROCWIRE_PLACE_NAMES_MAX 64             /* frames at one place (inlined ones) */
#define PROCWIRE_PLACE_STRING_MAX 4096          /* bytes of a function's or file's name */
#define PROCWIRE_PLACES_BYTES_MAX (16u << 20)   /* the whole message */

struct symbolize_place;

/* Writes the places kept from the since-th on (symbolize_places_get) to
 * f, leaving out any beyond the bounds above, so that the reader takes
 * the message whole.  Returns 0 or a negative errno. */
int procwire_write_places(FILE *f, size_t since);

/* Reads the message procwire_write_places wrote at the start of buf (len
 * bytes) and calls accept(place, userdata) for each place in it, once the
 * whole message parsed (nothing is offered from a message that does not).
 * *ret_used: the message's bytes, where procwire_read's message starts.
 * Returns 0, -EBADMSG when it does not parse, or -ENOMEM. */
int procwire_read_places(const uint8_t *buf, size_t len, size_t *ret_used,
                         void (*accept)(const struct symbolize_place *place, void *userdata), void *userdata);

#endif

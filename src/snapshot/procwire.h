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

#endif

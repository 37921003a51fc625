/* Internal half of the embeddable API (the public half is
 * include/leakscan/leakscan.h): the snapshot step on its own, for the
 * benchmark and for later modes that stop a process their own way. */
#ifndef LEAKSCAN_INSPECT_H
#define LEAKSCAN_INSPECT_H

#include <sys/types.h>

#include "capture.h"
#include "leakscan/leakscan.h"

/* Seizes every thread of pid, captures it and releases it.  Returns 0 and a
 * new capture in *ret (free with process_capture_free), or a negative errno
 * as leakscan_inspect_pid does. */
int inspect_snapshot(pid_t pid, const struct leakscan_options *opts, struct process_capture **ret);

#endif

/* Output path templates for -o: "%p" is the PID of the process judged,
 * "%n" a counter (the first value whose file does not exist yet), "%%" a
 * percent sign, so that tests wrapped in parallel each write their own
 * report instead of overwriting one another's. */
#ifndef LEAKSCAN_OUTPATH_H
#define LEAKSCAN_OUTPATH_H

#include <stdio.h>
#include <sys/types.h>

/* The path for counter value n.  Returns 0 and a new string in *ret (the
 * caller frees it), -EINVAL for a '%' followed by anything but p, n or %,
 * or -ENOMEM. */
int outpath_expand(const char *template, pid_t pid, unsigned n, char **ret);

/* Whether the template has a syntax error: 0, or -EINVAL as above. */
int outpath_check(const char *template);

/* Opens the file the template names for writing.  With %n, the file is
 * created exclusively at the first free counter value (0, 1, 2, ...), so
 * that processes racing for a number never share one; without it, an
 * existing file is truncated.  Neither follows a symlink, nor writes into a
 * file, that another user planted in a sticky world-writable directory
 * (/tmp): -EACCES.  Returns 0 with *ret_f and the path in *ret_path (the
 * caller closes and frees them), or a negative errno. */
int outpath_open(const char *template, pid_t pid, FILE **ret_f, char **ret_path);

#endif

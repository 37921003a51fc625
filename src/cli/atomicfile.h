/* Files replaced whole: written to a temporary file in the same folder,
 * then renamed onto their name, so that a reader (node_exporter's textfile
 * collector, a profiler's agent, a scraper of the exporter's files) sees
 * the old document or the new one, never half of one. */
#ifndef LEAKSCAN_ATOMICFILE_H
#define LEAKSCAN_ATOMICFILE_H

#include <stdbool.h>
#include <stdio.h>

struct atomic_file {
        FILE *f;
        char *path;     /* the name it will have */
        char *tmp;      /* where it is written until then */
};

/* Creates a temporary file beside path (".NAME.XXXXXX", mode 0666 less the
 * umask, as a plain open would give) and opens it in *ret.  Returns 0 or a
 * negative errno. */
int atomic_file_open(const char *path, struct atomic_file *ret);

/* Flushes, syncs and closes the temporary file and renames it onto its
 * name; on any failure, or when discard is set, removes it instead.
 * Releases af in every case.  Returns 0 or a negative errno. */
int atomic_file_close(struct atomic_file *af, bool discard);

#endif

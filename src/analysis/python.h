/* Python frames of CPython threads, read from outside, merged with the
 * native frames of the same thread (as py-spy and pystack do).
 *
 * Takes the target's modules (to find the interpreter: the module that
 * exports _PyRuntime, and its Py_Version or its file's name) and reads the interpreter's
 * thread states and frames from the target's memory; gives, per thread, the
 * Python frames that run inside each _PyEval_EvalFrameDefault native frame. */
#ifndef LEAKSCAN_PYTHON_H
#define LEAKSCAN_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leakscan/leakscan.h"
#include "modules.h"
#include "procfs.h"

struct python_snapshot;

/* Reads every Python thread's frames of the process behind mods.  Returns
 * 0 and *ret (NULL when the process runs no CPython; free with
 * python_snapshot_free), with *ret_note set (static text) when it does but
 * its frames cannot be read (a version whose layout is not known); or
 * -ENOMEM.  Memory is read through process_vm_readv at the time of the
 * call: the caller decides when (see python.c). */
int python_snapshot_read(struct modules *mods, struct python_snapshot **ret, const char **ret_note);
void python_snapshot_free(struct python_snapshot *py);

/* CPython 3.10 keeps no TID, only pthread_self(), the thread pointer:
 * tells py that thread tid's is tls (call it for every thread before
 * python_merge and python_rlock_owner). */
void python_bind_thread(struct python_snapshot *py, pid_t tid, uint64_t tls);

/* Inserts the Python frames of thread tid into its native frames
 * (innermost first, symbolized): each run of Python frames goes before the
 * _PyEval_EvalFrameDefault frame that runs it, and (with or without Python
 * frames) the interpreter's own native frames become system frames.  Returns 0 (also when tid runs no
 * Python) or -ENOMEM. */
int python_merge(const struct python_snapshot *py, pid_t tid, struct leakscan_frame **frames, size_t *n);

/* At exit CPython has finalised: the interpreter no longer lists its
 * threads and their states are freed, but a thread blocked in a call still
 * has its frames, and its state's memory (freed, not yet reused) on its
 * stack.  Finds it there for thread tid not in py: a pointer in the stack
 * copy whose thread state names tid as its native thread id, then its frame
 * chain, checked like any other.  Returns 0 (found or not) or -ENOMEM. */
int python_recover_thread(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, pid_t tid,
                          uint64_t tls, const uint8_t *stack, size_t stack_len);

/* The thread that owns the threading.RLock whose lock is the semaphore at
 * sem, which a thread waits on: the RLock is found among the pointers of
 * that thread's stack copy (at stack_addr) below its innermost eval loop
 * in frames (the acquiring call holds it), checked by its type's name and
 * its lock.  Returns the owner's TID, or 0 (not an RLock, not found, free,
 * or owned by no thread the interpreter lists). */
pid_t python_rlock_owner(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, uint64_t sem,
                         const uint8_t *stack, uint64_t stack_addr, size_t stack_len,
                         const struct leakscan_frame *frames, size_t n_frames);

/* Creator stacks (--at-exit): the Python frames of a thread held while it
 * creates a thread, read at that moment, since the test that made it will
 * have returned by the time the process is judged.  A reader is opened once
 * per process and kept (its code objects cached, each checked again when
 * met again); returns 0 and *ret (NULL when the process runs no CPython
 * whose layout is known; free with python_snapshot_free), or -ENOMEM. */
int python_reader_open(struct modules *mods, struct python_snapshot **ret);

/* python_reader_open for process pid, its modules read from its maps, which
 * are not parsed further when no python module is mapped.  Returns 0 and
 * *ret (NULL: no CPython known, or its maps could not be read), or
 * -ENOMEM. */
int python_reader_open_pid(pid_t pid, struct python_snapshot **ret);

/* A thread's Python frames, copied (names, files and lines). */
struct python_stack;

/* Reads the Python frames of thread tid of py's process (which must not
 * run Python meanwhile: held).  Returns 0 and *ret (NULL when tid runs no
 * Python or its frames cannot be read, as under 3.10, which keeps no TID;
 * free with python_stack_free), or -ENOMEM. */
int python_stack_read(struct python_snapshot *py, pid_t tid, struct python_stack **ret);
void python_stack_free(struct python_stack *s);

/* python_merge, with the frames of s (NULL: none). */
int python_merge_stack(const struct python_stack *s, struct leakscan_frame **frames, size_t *n);

/* Whether a wait on address (a futex word) is a wait for the GIL. */
bool python_waits_for_gil(const struct python_snapshot *py, uint64_t address);

/* Names the wait of thread t (analysed, with its Python frames merged)
 * as its Python caller sees it: a thread in threading.Event.wait waits
 * for "threading.Event" at the line of the user's code that called it.
 * Returns 0 (named or left as it was) or -ENOMEM. */
int python_describe_wait(struct leakscan_thread *t);

/* Whether frames hold an eval loop of CPython's (where Python frames
 * would go). */
bool python_in_eval(const struct leakscan_frame *frames, size_t n);

/* The line of the instruction at byte offset addr of a code object, from
 * its CPython 3.11+ location table (co_linetable) and co_firstlineno, or 0
 * when the table says none or is malformed. */
int python_linetable_line(const uint8_t *table, size_t len, int firstlineno, uint64_t addr);

/* The same from a CPython 3.10 line table (byte pairs). */
int python_linetable_line_pairs(const uint8_t *table, size_t len, int firstlineno, uint64_t addr);

#endif

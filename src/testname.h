/* Test names: which test case of a known framework (GoogleTest, Catch2,
 * doctest, Boost.Test, CppUTest, GLib, Check, cmocka, Criterion, Unity)
 * created a thread, recognised in its symbolized stacks.
 *
 * Takes a symbolized thread (run after symbolize; it reads only the frames'
 * function, file, line and system flag); gives t->test. */
#ifndef LEAKSCAN_TESTNAME_H
#define LEAKSCAN_TESTNAME_H

#include "leakscan/leakscan.h"

/* Looks for a test function in the stack that created t (innermost first)
 * and, when no creator stack is known, in t's own stack; sets t->test (owned
 * by t, freed with it) to the first one found, or leaves it NULL.  Returns 0
 * (found or not) or -ENOMEM. */
int testname_recognise(struct leakscan_thread *t);

#endif

/* Test names: which test case of a known framework (GoogleTest, Catch2,
 * doctest, Boost.Test, CppUTest, GLib, Check, cmocka, Criterion, Unity)
 * created a thread, recognised in its symbolized stacks.
 *
 * Takes a symbolized thread (run after symbolize; it reads only the frames'
 * function, file, line and system flag); gives t->test.  Catch2 and doctest
 * keep a test's name only in their registry: with the target's memory at
 * hand (testname_registry_*), the name is read from there and the test's
 * frame is shown as its source declares it (TEST_CASE("name")); without,
 * such a test is named by its place, file:line.
 *
 * Python tests (pytest's test functions, unittest's TestCase methods) are
 * found in Python frames (python.h): the user's frame that the runner's
 * own (pytest_pyfunc_call in _pytest/python.py, TestCase._callTestMethod
 * in unittest/case.py) calls.  They are named as pytest names them,
 * path::Class::test, the path relative to the process's working directory
 * when beneath it (pytest's rootdir, in a run from the project's top),
 * else absolute; a parametrized test's parameters are not known. */
#ifndef LEAKSCAN_TESTNAME_H
#define LEAKSCAN_TESTNAME_H

#include "leakscan/leakscan.h"
#include "modules.h"
#include "procfs.h"

/* Looks for a test function in the stack that created t (innermost first)
 * and, when no creator stack is known, in t's own stack; sets t->test (owned
 * by t, freed with it) to the first one found, or leaves it NULL.  Returns 0
 * (found or not) or -ENOMEM. */
int testname_recognise(struct leakscan_thread *t);

/* Compiles the frameworks' patterns now (done on first use otherwise): a
 * supervisor does it once before it forks its analysers, which inherit
 * them.  Returns 0 or -ENOMEM. */
int testname_prepare(void);

/* The target's memory, as testname reads registries from it. */
struct testname_memory {
        /* Reads exactly len bytes at addr: 0 or a negative errno. */
        int (*read)(void *userdata, uint64_t addr, void *buf, size_t len);
        /* The entry address of the function that contains pc (with local:
         * of the function so named, demangled, in the same module), and the
         * line it is declared on: 0 or a negative errno. */
        int (*function_entry)(void *userdata, uint64_t pc, const char *local, uint64_t *ret_entry, int *ret_line);
        void *userdata;
        const struct map_entry *maps;   /* where registries may be: the private writable ones */
        size_t n_maps;
        const char *cwd;        /* the process's working directory, or NULL:
                                 * Python tests are named relative to it */
};

/* Names read from registries, cached per test function for one snapshot. */
struct testname_registry;

/* Returns a new registry reader over mem (whose maps must outlive it), or
 * NULL without memory. */
struct testname_registry *testname_registry_new(const struct testname_memory *mem);
/* A reader of the live (or held) process behind mods, which must outlive
 * it: memory through process_vm_readv, functions through mods' Dwfl. */
struct testname_registry *testname_registry_for(struct modules *mods);
void testname_registry_free(struct testname_registry *reg);

/* testname_recognise, reading Catch2's and doctest's names from the
 * registry reg (NULL: none), which may rename the test's frame.  Returns 0
 * or -ENOMEM. */
int testname_recognise_in(struct leakscan_thread *t, struct testname_registry *reg);

#endif

/* Test names; see testname.h.
 *
 * One table, one row per framework.  A row finds the test's frame in one of
 * two ways: the function the framework generates for a test has a shape of
 * its own (GoogleTest's Suite_Name_Test::TestBody, Catch2's
 * CATCH2_INTERNAL_TEST_N), matched by a regular expression; or a plain
 * function is a test because the framework's runner calls it (GLib's
 * g_test_run_suite, Check's srunner_run_all), matched by the runner's name:
 * the test is the nearest frame of the user's inside the runner, past the
 * runner's own frames, which a library without debug info leaves unnamed
 * when they are static (GLib's test_case_run).  Shapes that ordinary code could have too (Boost's test_method)
 * also need a frame of the framework further out.  Names are built as the
 * framework prints them; frameworks that keep the name only in their
 * registry (Catch2, doctest) are named from the registry in the target's
 * memory (its layout checked by an invariant: the entry holds the test
 * function and the line DWARF declares it on), else from the declaring
 * source line, else by file:line.  A pattern matches a function's whole
 * name (a template instantiated with a test's lambda names the test in its
 * arguments, and is no test).  The file and line are those of the frame in
 * the test, i.e. the line of the test that started the thread. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "capturer.h"
#include "symbolize.h"
#include "testname.h"
#include "util.h"

#define SCOPES "(([A-Za-z0-9_]+|\\(anonymous namespace\\))::)*"

/* Where a framework that keeps a test's name only in its registry keeps it
 * (x86_64, libstdc++), found from the test function's address: a pointer to
 * the function sits in a heap object, which a registry entry either is or
 * points at; the entry also keeps the line the test was declared on, which
 * must equal the line of the function's entry: the invariant that rejects a
 * stray word and a layout of another version alike. */
struct registry_layout {
        size_t fn_offset;       /* of the function pointer in the object that holds it */
        bool via_pointer;       /* the entry points at that object (else it is the entry) */
        size_t holder_offset;   /* of that pointer in the entry (via_pointer) */
        size_t line_offset;     /* of the declaration line in the entry */
        size_t line_size;       /* 4 or 8 */
        size_t name_offset;     /* of the name in the entry */
        bool name_std_string;   /* a std::string (pointer, length), else a char * */
};

/* Catch2 2.x: TestCase (a TestCaseInfo: name, className, description, tags,
 * lcaseTags, lineInfo {file, line}, properties; then shared_ptr<ITestInvoker>
 * test), the invoker holding the function pointer after its vptr (a
 * TEST_CASE_METHOD's member pointer likewise). */
static const struct registry_layout registry_catch2 = {
        .fn_offset = 8, .via_pointer = true, .holder_offset = 168,
        .line_offset = 152, .line_size = 8, .name_offset = 0, .name_std_string = true,
};

/* doctest 2.4: TestCase (a TestCaseData: String m_file (24 bytes), unsigned
 * m_line, const char *m_name, ...; then funcType m_test at 80), kept in a
 * std::set. */
static const struct registry_layout registry_doctest = {
        .fn_offset = 80, .via_pointer = false, .line_offset = 24, .line_size = 4,
        .name_offset = 32, .name_std_string = false,
};

struct framework {
        const char *framework;
        const char *pattern;            /* ERE on the test function's demangled name */
        const char *const *callers;     /* or: the user's function these runners call,
                                         * directly or through system frames */
        const char *confirm;            /* a frame further out must contain this, or NULL */
        /* Writes the test's name into *ret (new string) from the function
         * and the pattern's submatches.  Returns 0 or -ENOMEM. */
        int (*name)(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret);
        const struct registry_layout *registry;  /* where the name is kept, or NULL */
};

static char *sub(const char *s, const regmatch_t *m)
{
        return strndup(s + m->rm_so, (size_t) (m->rm_eo - m->rm_so));
}

/* "Suite_Name" as GoogleTest and CppUTest paste it: split at the first '_'
 * (both advise against '_' in names, which would make it ambiguous). */
static int split_pasted(const char *function, const regmatch_t *m, const char *fmt, char **ret)
{
        _cleanup_free_ char *both = sub(function, m);
        if (!both)
                return -ENOMEM;
        char *us = strchr(both, '_');
        if (!us || us == both || !us[1])
                return asprintf(ret, "%s", both) < 0 ? -ENOMEM : 0;
        *us = '\0';
        return asprintf(ret, fmt, both, us + 1) < 0 ? -ENOMEM : 0;
}

static int name_gtest(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        return split_pasted(function, &m[2], "%s.%s", ret);
}

static int name_gtest_typed(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        _cleanup_free_ char *suite = sub(function, &m[3]), *test = sub(function, &m[4]);
        if (!suite || !test)
                return -ENOMEM;
        return asprintf(ret, "%s.%s", suite, test) < 0 ? -ENOMEM : 0;
}

static int name_cpputest(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        return split_pasted(function, &m[2], "TEST(%s, %s)", ret);
}

/* Catch2 and doctest: "tests.cpp:18", or the generated name without line
 * info. */
static int name_by_place(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) m;
        if (!fr->file)
                return asprintf(ret, "%s", function) < 0 ? -ENOMEM : 0;
        const char *base = strrchr(fr->file, '/') ? strrchr(fr->file, '/') + 1 : fr->file;
        return asprintf(ret, "%s:%d", base, fr->line) < 0 ? -ENOMEM : 0;
}

/* Boost.Test: "suite/case", from "suite::case::test_method()". */
static int name_boost(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        _cleanup_free_ char *path = sub(function, &m[1]);
        if (!path)
                return -ENOMEM;
        char *out = malloc(strlen(path) + 1), *o = out;
        if (!out)
                return -ENOMEM;
        static const char anon[] = "(anonymous namespace)::";
        for (const char *s = path; *s; ) {
                if (startswith(s, anon))
                        s += sizeof anon - 1;
                else if (startswith(s, "::")) {
                        *o++ = '/';
                        s += 2;
                } else
                        *o++ = *s++;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

/* The function's own name, without parameters. */
static int name_function(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) m;
        (void) fr;
        *ret = strndup(function, strcspn(function, "("));
        return *ret ? 0 : -ENOMEM;
}

/* Check: START_TEST(name) defines name_fn (since 0.13; name before). */
static int name_check(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        int r = name_function(function, m, fr, ret);
        size_t len = r == 0 ? strlen(*ret) : 0;
        if (len > 3 && streq(*ret + len - 3, "_fn"))
                (*ret)[len - 3] = '\0';
        return r;
}

/* Criterion: Test(suite, name) defines suite_name_impl; printed
 * "suite::name". */
static int name_criterion(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        _cleanup_free_ char *plain = NULL;
        int r = name_function(function, m, fr, &plain);
        if (r < 0)
                return r;
        size_t len = strlen(plain);
        if (len > 5 && streq(plain + len - 5, "_impl"))
                plain[len - 5] = '\0';
        regmatch_t whole = { 0, (regoff_t) strlen(plain) };
        return split_pasted(plain, &whole, "%s::%s", ret);
}

static const char *const glib_callers[] = { "test_case_run", "g_test_run_suite", "g_test_run", NULL };
static const char *const check_callers[] = { "tcase_run_tfun_fork", "tcase_run_tfun_nofork", "srunner_run_all",
                                             "srunner_run", "srunner_run_tagged", NULL };
static const char *const cmocka_callers[] = { "cmocka_run_one_test_or_fixture", "_run_test", "_cmocka_run_group_tests",
                                              "_run_tests", NULL };
static const char *const criterion_callers[] = { "criterion_internal_test_main", NULL };
static const char *const unity_callers[] = { "UnityDefaultTestRun", NULL };

static const struct framework frameworks[] = {
        { "googletest", "^(.*::)?([A-Za-z0-9_]+)_Test::TestBody\\(\\)$", NULL, "testing::", name_gtest, NULL },
        { "googletest", "^(.*::)?gtest_(suite|case)_([A-Za-z0-9_]+)_::([A-Za-z0-9_]+)<.*>::TestBody\\(\\)$",
          NULL, "testing::", name_gtest_typed, NULL },
        { "catch2", "^" SCOPES "(CATCH2_INTERNAL_TEST_|____C_A_T_C_H____T_E_S_T____|C_A_T_C_H_T_E_S_T_)[0-9]+"
          "(::test)?\\(\\)$", NULL, NULL, name_by_place, &registry_catch2 },
        { "doctest", "^" SCOPES "_?DOCTEST_ANON_(FUNC|CLASS|TMP)_[0-9]+(<.*>)?(::f)?\\(\\)$", NULL, NULL, name_by_place,
          &registry_doctest },
        { "boost.test", "^(.*[A-Za-z0-9_])::test_method\\(\\)$", NULL, "boost::", name_boost, NULL },
        { "cpputest", "^(.*::)?TEST_([A-Za-z0-9_]+)_Test::testBody\\(\\)$", NULL, NULL, name_cpputest, NULL },
        { "glib", NULL, glib_callers, NULL, name_function, NULL },
        { "check", NULL, check_callers, NULL, name_check, NULL },
        { "cmocka", NULL, cmocka_callers, NULL, name_function, NULL },
        { "criterion", NULL, criterion_callers, NULL, name_criterion, NULL },
        { "unity", NULL, unity_callers, NULL, name_function, NULL },
};

/* The compiled patterns, by row; compiled once. */
static regex_t compiled[ARRAY_SIZE(frameworks)];
static int compiled_state;      /* 0 not yet, 1 done, <0 -errno */

static int compile_patterns(void)
{
        if (compiled_state)
                return compiled_state < 0 ? compiled_state : 0;
        for (size_t i = 0; i < ARRAY_SIZE(frameworks); i++) {
                if (!frameworks[i].pattern)
                        continue;
                if (regcomp(&compiled[i], frameworks[i].pattern, REG_EXTENDED) != 0) {
                        compiled_state = -ENOMEM;       /* the table is ours: only memory can fail */
                        return compiled_state;
                }
        }
        compiled_state = 1;
        return 0;
}

int testname_prepare(void)
{
        return compile_patterns();
}

/* Whether name (with or without parameters) is one of the callers. */
static bool is_caller(const char *name, const char *const *callers)
{
        size_t len = strcspn(name, "(");
        for (; *callers; callers++)
                if (strlen(*callers) == len && strncmp(name, *callers, len) == 0)
                        return true;
        return false;
}

/* Whether c, a frame inside the runner frame, belongs to the runner: a
 * system frame, another runner function, or an unnamed frame of the
 * runner's library (its static functions, without debug info). */
static bool runner_frame(const struct leakscan_frame *c, const struct leakscan_frame *runner,
                         const char *const *callers)
{
        if (c->system)
                return true;
        if (c->function)
                return is_caller(c->function, callers);
        return c->module && runner->module && streq(c->module, runner->module);
}

static bool confirmed(const struct leakscan_frame *frames, size_t n, size_t from, const char *confirm)
{
        if (!confirm)
                return true;
        for (size_t i = from; i < n; i++)
                if (frames[i].function && strstr(frames[i].function, confirm))
                        return true;
        return false;
}

/* The function a lambda is defined in, from the lambda's demangled name
 * ("T()::{lambda()#1}::operator()() const" -> "T()"): a thread that runs a
 * lambda a test defined was started by that test.  Returns 0 and *ret (new
 * string, NULL when function is no lambda's), or -ENOMEM. */
static int enclosing_function(const char *function, char **ret)
{
        *ret = NULL;
        int depth = 0;
        for (const char *c = function; c && *c; c++) {
                if (*c == '<' || *c == '(')
                        depth++;
                else if ((*c == '>' || *c == ')') && depth > 0)
                        depth--;
                else if (depth == 0 && startswith(c, "::{lambda(")) {
                        *ret = strndup(function, (size_t) (c - function));
                        return *ret ? 0 : -ENOMEM;
                }
        }
        return 0;
}

/* The first test frame of a row in frames, innermost first: 0 and *ret_test
 * set (with the frame's index and the row in *ret_frame, *ret_fw, and in
 * *ret_local, a new string, the test function a lambda there is defined in,
 * or NULL), 0 and NULL when none, or -ENOMEM. */
static int find_in(const struct leakscan_frame *frames, size_t n, struct leakscan_test **ret_test,
                   size_t *ret_frame, const struct framework **ret_fw, char **ret_local)
{
        *ret_test = NULL;
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_frame *fr = &frames[i];
                _cleanup_free_ char *local = NULL;
                int r = enclosing_function(fr->function, &local);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < ARRAY_SIZE(frameworks); k++) {
                        const struct framework *fw = &frameworks[k];
                        const struct leakscan_frame *test_frame = NULL;
                        bool in_local = false;
                        regmatch_t m[6] = {{0}};
                        if (fw->pattern) {
                                if (fr->function && regexec(&compiled[k], fr->function, ARRAY_SIZE(m), m, 0) == 0)
                                        test_frame = fr;
                                else if (local && regexec(&compiled[k], local, ARRAY_SIZE(m), m, 0) == 0) {
                                        test_frame = fr;
                                        in_local = true;
                                }
                        } else if (fr->function && is_caller(fr->function, fw->callers)) {
                                /* the nearest frame of the user's inside it */
                                for (size_t j = i; j-- > 0; ) {
                                        if (runner_frame(&frames[j], fr, fw->callers))
                                                continue;
                                        test_frame = frames[j].function ? &frames[j] : NULL;
                                        break;
                                }
                        }
                        if (!test_frame || !confirmed(frames, n, i + 1, fw->confirm))
                                continue;
                        struct leakscan_test *test = calloc(1, sizeof *test);
                        if (!test)
                                return -ENOMEM;
                        test->framework = fw->framework;
                        r = fw->name(in_local ? local : test_frame->function, m, test_frame, &test->name);
                        if (r == 0 && test_frame->file && !(test->file = strdup(test_frame->file)))
                                r = -ENOMEM;
                        if (r < 0) {
                                free(test->name);
                                free(test);
                                return r;
                        }
                        test->line = test_frame->file ? test_frame->line : 0;
                        *ret_test = test;
                        *ret_frame = (size_t) (test_frame - frames);
                        *ret_fw = fw;
                        *ret_local = in_local ? TAKE_PTR(local) : NULL;
                        return 0;
                }
        }
        return 0;
}

/* ---- Python tests (pytest, unittest) ---- */

/* The runners' own functions that call a test, by the file (its end) they
 * are defined in: a user's function of the same name is no runner. */
static const struct {
        const char *framework;
        const char *file;
        const char *function;   /* qualified name */
} python_runners[] = {
        { "pytest", "/_pytest/python.py", "pytest_pyfunc_call" },
        { "unittest", "/unittest/case.py", "TestCase._callTestMethod" },
};

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

/* The test's name as pytest's node id: file relative to cwd (NULL, or a
 * file elsewhere: as it is), then the qualified name's parts, "::" apart.
 * Returns 0 and *ret (new string) or -ENOMEM. */
static int python_node_id(const char *file, const char *qualname, const char *cwd, char **ret)
{
        size_t cl = cwd ? strlen(cwd) : 0;
        if (cl > 1 && strncmp(file, cwd, cl) == 0 && file[cl] == '/')
                file += cl + 1;
        size_t dots = 0;
        for (const char *c = qualname; *c; c++)
                dots += *c == '.';
        char *out = malloc(strlen(file) + 2 + strlen(qualname) + dots + 1);
        if (!out)
                return -ENOMEM;
        char *o = stpcpy(stpcpy(out, file), "::");
        for (const char *c = qualname; *c; c++) {
                if (*c == '.') {
                        *o++ = ':';
                        *o++ = ':';
                } else {
                        *o++ = *c;
                }
        }
        *o = '\0';
        *ret = out;
        return 0;
}

/* The first Python test in frames (innermost first): the outermost user
 * frame inside the nearest runner frame.  Returns 0 and *ret_test (NULL:
 * none) or -ENOMEM. */
static int find_python(const struct leakscan_frame *frames, size_t n, const char *cwd,
                       struct leakscan_test **ret_test)
{
        *ret_test = NULL;
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_frame *fr = &frames[i];
                if (!fr->language || !fr->function || !fr->file)
                        continue;
                for (size_t k = 0; k < ARRAY_SIZE(python_runners); k++) {
                        if (!streq(fr->function, python_runners[k].function) ||
                            !ends_with(fr->file, python_runners[k].file))
                                continue;
                        /* what it calls: the interpreter's and the library's
                         * frames, then the test */
                        const struct leakscan_frame *test_frame = NULL;
                        for (size_t j = i; j-- > 0; ) {
                                if (frames[j].system || !frames[j].language)
                                        continue;
                                test_frame = &frames[j];
                                break;
                        }
                        if (!test_frame || !test_frame->function || !test_frame->file)
                                return 0;
                        struct leakscan_test *test = calloc(1, sizeof *test);
                        if (!test)
                                return -ENOMEM;
                        test->framework = python_runners[k].framework;
                        test->line = test_frame->line;
                        int r = python_node_id(test_frame->file, test_frame->function, cwd, &test->name);
                        if (r == 0 && !(test->file = strdup(test_frame->file)))
                                r = -ENOMEM;
                        if (r < 0) {
                                free(test->name);
                                free(test);
                                return r;
                        }
                        *ret_test = test;
                        return 0;
                }
        }
        return 0;
}

/* ---- names kept in a registry (Catch2, doctest) ---- */

struct registry_name {
        uint64_t entry;         /* the test function */
        char *name;             /* NULL: looked for, not found */
};

struct testname_registry {
        struct testname_memory mem;
        char *cwd;              /* mem.cwd's copy, or NULL */
        struct registry_name *names;
        size_t n_names;
        uint64_t scanned;       /* bytes read so far, against the budget */
};

/* A registry lives in the heap of a test binary: a few MiB at most.  What
 * is read in all, for every lookup together, is bounded, so that a large
 * server whose stack happens to match a pattern costs little. */
#define REGISTRY_SCAN_BUDGET (64ull << 20)
#define REGISTRY_MAX_HITS 32

struct testname_registry *testname_registry_new(const struct testname_memory *mem)
{
        struct testname_registry *reg = calloc(1, sizeof *reg);
        if (!reg)
                return NULL;
        reg->mem = *mem;
        if (mem->cwd && !(reg->cwd = strdup(mem->cwd))) {
                free(reg);
                return NULL;
        }
        reg->mem.cwd = reg->cwd;
        return reg;
}

void testname_registry_free(struct testname_registry *reg)
{
        if (!reg)
                return;
        for (size_t i = 0; i < reg->n_names; i++)
                free(reg->names[i].name);
        free(reg->names);
        free(reg->cwd);
        free(reg);
}

/* Whether a mapping may hold registry objects: private, writable, anonymous
 * or the heap (not a stack, not a file's data). */
static bool heap_like(const struct map_entry *m)
{
        if (m->perms[0] != 'r' || m->perms[1] != 'w' || m->perms[3] != 'p')
                return false;
        return !m->path || !*m->path || streq(m->path, "[heap]");
}

/* The 8-aligned addresses in heap-like mappings whose word equals value:
 * up to REGISTRY_MAX_HITS into hits, their number in *ret_n.  Returns 0, or
 * -ENOMEM. */
static int scan_words(struct testname_registry *reg, uint64_t value, uint64_t *hits, size_t *ret_n)
{
        enum { CHUNK = 1 << 20 };
        _cleanup_free_ uint64_t *buf = malloc(CHUNK);
        if (!buf)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < reg->mem.n_maps && n < REGISTRY_MAX_HITS; i++) {
                const struct map_entry *m = &reg->mem.maps[i];
                if (!heap_like(m))
                        continue;
                for (uint64_t a = m->start; a < m->end && n < REGISTRY_MAX_HITS; a += CHUNK) {
                        size_t len = m->end - a < CHUNK ? (size_t) (m->end - a) : CHUNK;
                        if (reg->scanned + len > REGISTRY_SCAN_BUDGET)
                                break;
                        reg->scanned += len;
                        if (reg->mem.read(reg->mem.userdata, a, buf, len) < 0)
                                continue;       /* unmapped meanwhile, or guarded */
                        for (size_t k = 0; k < len / 8 && n < REGISTRY_MAX_HITS; k++)
                                if (buf[k] == value)
                                        hits[n++] = a + k * 8;
                }
        }
        *ret_n = n;
        return 0;
}

static int read_word(const struct testname_registry *reg, uint64_t addr, size_t size, uint64_t *ret)
{
        uint64_t w = 0;
        int r = reg->mem.read(reg->mem.userdata, addr, &w, size);
        if (r < 0)
                return r;
        *ret = w;
        return 0;
}

/* A name read from the target: printable, NUL-free, at most 1 KiB. */
static int read_name(const struct testname_registry *reg, uint64_t addr, size_t len, char **ret)
{
        if (len == 0 || len > 1024)
                return -EINVAL;
        _cleanup_free_ char *s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        int r = reg->mem.read(reg->mem.userdata, addr, s, len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return -EINVAL;
        s[len] = '\0';
        *ret = TAKE_PTR(s);
        return 0;
}

/* The name of the entry at e if it is one for a test declared at line.
 * Returns 0 and *ret (new string), -ENOENT when it is not, or -ENOMEM. */
static int entry_name(const struct testname_registry *reg, const struct registry_layout *lay, uint64_t e,
                      int line, char **ret)
{
        uint64_t l, name;
        if (read_word(reg, e + lay->line_offset, lay->line_size, &l) < 0 || l != (uint64_t) line ||
            read_word(reg, e + lay->name_offset, 8, &name) < 0)
                return -ENOENT;
        int r;
        if (lay->name_std_string) {
                uint64_t len;
                if (read_word(reg, e + lay->name_offset + 8, 8, &len) < 0)
                        return -ENOENT;
                r = read_name(reg, name, (size_t) len, ret);
        } else {
                /* a literal: read up to 1 KiB, as much as is mapped */
                char buf[1025];
                size_t len = 0;
                for (size_t want = 1024; want >= 16 && len == 0; want /= 2)
                        if (reg->mem.read(reg->mem.userdata, name, buf, want) == 0)
                                len = strnlen(buf, want);
                r = len > 0 && len < 1024 ? read_name(reg, name, len, ret) : -EINVAL;
        }
        return r == -ENOMEM ? r : r < 0 ? -ENOENT : 0;
}

/* The registered name of the test function at entry, declared at line.
 * Returns 0 and *ret (new string), -ENOENT, or -ENOMEM. */
static int registry_lookup(struct testname_registry *reg, const struct registry_layout *lay, uint64_t entry,
                           int line, char **ret)
{
        uint64_t hits[REGISTRY_MAX_HITS], holders[REGISTRY_MAX_HITS];
        size_t n_hits, n_holders;
        int r = scan_words(reg, entry, hits, &n_hits);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_hits; i++) {
                uint64_t holder = hits[i] - lay->fn_offset;
                if (!lay->via_pointer) {
                        r = entry_name(reg, lay, holder, line, ret);
                        if (r != -ENOENT)
                                return r;
                        continue;
                }
                r = scan_words(reg, holder, holders, &n_holders);
                for (size_t k = 0; r == 0 && k < n_holders; k++) {
                        r = entry_name(reg, lay, holders[k] - lay->holder_offset, line, ret);
                        if (r != -ENOENT)
                                return r;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return -ENOENT;
}

/* The name a Catch2 or doctest macro gives the test declared at line of
 * file: the first string literal on that line, when the line invokes
 * TEST_CASE or SCENARIO (a registry is freed before the process exits, so
 * at exit the source is what is left).  Returns 0 and *ret (new string),
 * -ENOENT, or -ENOMEM. */
static int source_name(const char *file, int line, char **ret)
{
        /* the path comes from the target's DWARF: open only a regular file,
         * never block on a FIFO or open a device */
        struct stat st;
        int fd;
        if (capturer_active()) {
                /* the sandboxed analyser opens nothing: its capturer does */
                fd = file[0] == '/' ? capturer_open_source(file) : -1;
                if (fd < 0 || fstat(fd, &st) < 0)
                        st.st_mode = 0;
        } else {
                if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
                        return -ENOENT;
                fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        }
        struct stat again;
        if (fd >= 0 && (fstat(fd, &again) < 0 || !S_ISREG(again.st_mode) || again.st_ino != st.st_ino)) {
                close(fd);
                fd = -1;
        }
        _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (!f) {
                if (fd >= 0)
                        close(fd);
                return -ENOENT;
        }
        char text[4096];
        int at = 0;
        while (fgets(text, sizeof text, f))
                if (++at == line)
                        break;
        if (at != line)
                return -ENOENT;
        const char *macro = strstr(text, "TEST_CASE");
        bool scenario = false;
        if (!macro && (macro = strstr(text, "SCENARIO")))
                scenario = true;
        const char *q = macro ? strchr(macro, '"') : NULL;
        if (!q || !strchr(macro, '(') || strchr(macro, '(') > q)
                return -ENOENT;
        char out[sizeof text];
        size_t n = 0;
        for (q++; *q && *q != '"'; q++) {
                if (*q == '\\' && q[1])
                        q++;            /* \" and \\ as written */
                out[n++] = *q;
        }
        if (*q != '"' || n == 0)
                return -ENOENT;
        out[n] = '\0';
        return asprintf(ret, "%s%s", scenario ? "Scenario: " : "", out) < 0 ? -ENOMEM : 0;
}

/* The registered name of the test whose frame is fr, through the cache.
 * Returns 0 and *ret (a string the cache owns), -ENOENT, or -ENOMEM. */
static int registry_name(struct testname_registry *reg, const struct registry_layout *lay,
                         const struct leakscan_frame *fr, const char *local, const char **ret)
{
        if (fr->inlined || fr->pc == 0)
                return -ENOENT;
        uint64_t entry;
        int line;
        /* a test frame is never the innermost one: pc is a return address */
        if (reg->mem.function_entry(reg->mem.userdata, fr->pc - 1, local, &entry, &line) < 0)
                return -ENOENT;
        for (size_t i = 0; i < reg->n_names; i++)
                if (reg->names[i].entry == entry) {
                        *ret = reg->names[i].name;
                        return *ret ? 0 : -ENOENT;
                }
        char *name = NULL;
        int r = registry_lookup(reg, lay, entry, line, &name);
        if (r == -ENOENT && fr->file)
                r = source_name(fr->file, line, &name);
        if (r == -ENOMEM)
                return r;
        struct registry_name *more = realloc(reg->names, (reg->n_names + 1) * sizeof *more);
        if (!more) {
                free(name);
                return -ENOMEM;
        }
        reg->names = more;
        reg->names[reg->n_names++] = (struct registry_name) { entry, name };
        *ret = name;
        return name ? 0 : -ENOENT;
}

static int live_read(void *userdata, uint64_t addr, void *buf, size_t len)
{
        const struct modules *mods = userdata;
        return analysis_read_memory(mods->pid, addr, buf, len);
}

/* The line the DWARF of mod declares the function at entry on
 * (DW_AT_decl_line: a framework's macro declares the test function on the
 * line it registers; the entry's own line is that of the opening brace),
 * or 0. */
static int decl_line(Dwfl_Module *mod, uint64_t entry)
{
        Dwarf_Addr bias = 0;
        Dwarf_Die *cu = dwfl_module_addrdie(mod, entry, &bias);
        Dwarf_Die *scopes = NULL;
        int n = cu ? dwarf_getscopes(cu, entry - bias, &scopes) : 0;
        int line = 0;
        for (int i = 0; i < n; i++)
                if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
                        if (dwarf_decl_line(&scopes[i], &line) != 0)
                                line = 0;
                        break;
                }
        free(scopes);
        return line;
}

/* The entry of the function that contains pc, or with local, of the
 * function named local (demangled) in the same module; and its declared
 * line. */
static int dwfl_function_entry(void *userdata, uint64_t pc, const char *local, uint64_t *ret_entry, int *ret_line)
{
        struct modules *mods = userdata;
        Dwfl_Module *mod = dwfl_addrmodule(mods->dwfl, pc);
        if (!mod)
                return -ENOENT;
        uint64_t entry = 0;
        if (!local) {
                GElf_Off off;
                GElf_Sym sym;
                if (!dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL))
                        return -ENOENT;
                entry = pc - off;
        } else {
                /* a test function is local to its file: the symbol table
                 * has it, its mangled name holds its last identifier */
                char ident[256];
                size_t end = strcspn(local, "(<"), begin = end;
                while (begin > 0 && (isalnum((unsigned char) local[begin - 1]) || local[begin - 1] == '_'))
                        begin--;
                if (end == begin || end - begin >= sizeof ident)
                        return -ENOENT;
                memcpy(ident, local + begin, end - begin);
                ident[end - begin] = '\0';
                int n = dwfl_module_getsymtab(mod);
                for (int i = 1; i < n && !entry; i++) {
                        GElf_Sym sym;
                        GElf_Addr addr;
                        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
                        if (!name || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
                            !strstr(name, ident))
                                continue;
                        _cleanup_free_ char *plain = symbolize_demangle(name);
                        if (plain && streq(plain, local))
                                entry = addr;
                }
                if (!entry)
                        return -ENOENT;
        }
        int line = decl_line(mod, entry);
        if (line <= 0)
                return -ENOENT;
        *ret_entry = entry;
        *ret_line = line;
        return 0;
}

struct testname_registry *testname_registry_for(struct modules *mods)
{
        struct testname_memory mem = {
                .read = live_read, .function_entry = dwfl_function_entry, .userdata = mods,
                .maps = mods->maps, .n_maps = mods->n_maps,
        };
        char link[64], cwd[4096];
        _cleanup_free_ char *asked = capturer_active() ? capturer_target_cwd() : NULL;
        snprintf(link, sizeof link, "/proc/%d/cwd", (int) mods->pid);
        ssize_t len = asked ? -1 : readlink(link, cwd, sizeof cwd - 1);
        if (len > 0) {
                cwd[len] = '\0';
                mem.cwd = cwd;
        }
        if (asked)
                mem.cwd = asked;        /* the sandboxed analyser's capturer read it */
        return testname_registry_new(&mem);
}

/* Shows the frames of the test function generated (its demangled name,
 * "C_A_T_C_H_T_E_S_T_2()") and of the lambdas it defines as the source
 * declares the test: TEST_CASE("name"), TEST_CASE("name")::{lambda()#1}...
 * Returns 0 or -ENOMEM. */
static int show_declared(struct leakscan_frame *frames, size_t n, const char *generated, const char *name)
{
        _cleanup_free_ char *copy = strdup(generated);
        if (!copy)
                return -ENOMEM;
        size_t len = strlen(copy);
        for (size_t i = 0; i < n; i++) {
                const char *f = frames[i].function;
                if (!f || strncmp(f, copy, len) != 0 || (f[len] && !startswith(f + len, "::")))
                        continue;
                char *shown;
                if (asprintf(&shown, "TEST_CASE(\"%s\")%s", name, f + len) < 0)
                        return -ENOMEM;
                free(frames[i].function);
                frames[i].function = shown;
        }
        return 0;
}

int testname_recognise_in(struct leakscan_thread *t, struct testname_registry *reg)
{
        int r = compile_patterns();
        if (r < 0 || t->test)
                return r;
        struct leakscan_test *test = NULL;
        bool created = t->has_created_by && t->n_created_by > 0;
        struct leakscan_frame *frames = created ? t->created_by : t->frames;
        size_t n = created ? t->n_created_by : t->n_frames, at = 0;
        const struct framework *fw = NULL;
        _cleanup_free_ char *local = NULL;
        r = find_python(frames, n, reg ? reg->cwd : NULL, &test);
        if (r < 0 || test) {
                t->test = test;
                return r;
        }
        r = find_in(frames, n, &test, &at, &fw, &local);
        if (r < 0 || !test)
                return r;
        const char *name;
        if (reg && fw->registry && (r = registry_name(reg, fw->registry, &frames[at], local, &name)) != -ENOENT) {
                char *copy = r == 0 ? strdup(name) : NULL;
                const char *generated = local ? local : frames[at].function;
                if (r == 0 && copy)
                        r = show_declared(t->frames, t->n_frames, generated, name);
                if (r == 0 && copy && created)
                        r = show_declared(t->created_by, t->n_created_by, generated, name);
                if (r < 0 || !copy) {
                        free(copy);
                        free(test->name);
                        free(test->file);
                        free(test);
                        return -ENOMEM;
                }
                free(test->name);
                test->name = copy;
        }
        t->test = test;
        return 0;
}

int testname_recognise(struct leakscan_thread *t)
{
        return testname_recognise_in(t, NULL);
}

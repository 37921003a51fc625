/* Per-test runs; see pertest.h.
 *
 * The framework is told from a string its binaries contain (the name of
 * its listing flag), so that nothing unknown is ever run with flags it
 * does not understand.  One table, one row per framework: how to list,
 * how to parse the listing, how to run one test.  Each test runs in a
 * forked child of leakscan that supervises it exactly as --at-exit does
 * (supervise_run) and leaves, in a scratch folder, its report in the
 * chosen format (text for JUnit, whose failures hold text), the program's
 * output, and its outcome; the parent keeps at most N such children and
 * assembles the report in listing order, so that it does not depend on
 * which test finished first. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcode.h"
#include "outpath.h"
#include "pertest.h"
#include "report-common.h"
#include "testname.h"
#include "util.h"

/* The module of ours that runs one pytest test (select_pytest), written
 * into the scratch folder's python/ for the runs.  It gives the test its
 * environment back as leakscan found it before any test code runs. */
#define PYTEST_PLUGIN "leakscan_pertest"
#define PYTEST_NODEID_ENV "LEAKSCAN_PYTEST_NODEID"
#define PYTEST_PATH_ENV "LEAKSCAN_PYTEST_PYTHONPATH"     /* PYTHONPATH before ours, if set */
static const char pytest_plugin_source[] =
        "\"\"\"Written by leakscan --per-test, which runs each pytest test in a\n"
        "process of its own: keeps the test named by " PYTEST_NODEID_ENV " and\n"
        "deselects the others, as -k does.\"\"\"\n"
        "import os\n"
        "\n"
        "_want = os.environ.pop(\"" PYTEST_NODEID_ENV "\", None)\n"
        "_path = os.environ.pop(\"" PYTEST_PATH_ENV "\", None)\n"
        "if _path is None:\n"
        "    os.environ.pop(\"PYTHONPATH\", None)\n"
        "else:\n"
        "    os.environ[\"PYTHONPATH\"] = _path\n"
        "\n"
        "\n"
        "def pytest_collection_modifyitems(config, items):\n"
        "    if _want is None:\n"
        "        return\n"
        "    keep = [item for item in items if item.nodeid == _want]\n"
        "    if len(keep) != len(items):\n"
        "        config.hook.pytest_deselected(items=[item for item in items if item.nodeid != _want])\n"
        "        items[:] = keep\n";

struct strv {
        char **v;
        size_t n;
};

static int strv_push(struct strv *s, char *item)
{
        if (!item)
                return -ENOMEM;
        char **v = realloc(s->v, (s->n + 2) * sizeof *v);
        if (!v) {
                free(item);
                return -ENOMEM;
        }
        v[s->n++] = item;
        v[s->n] = NULL;
        s->v = v;
        return 0;
}

static void strv_done(struct strv *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        *s = (struct strv) {0};
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                s[--len] = '\0';
        return s;
}

/* GoogleTest: "Suite.\n  Name\n", with "  # GetParam() = ..." comments. */
static int parse_gtest(char *listing, struct strv *ret)
{
        _cleanup_free_ char *suite = NULL;
        for (char *save = NULL, *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                bool indented = line[0] == ' ';
                char *hash = strstr(line, "  #");
                if (hash)
                        *hash = '\0';
                char *name = trim(line);
                if (!*name)
                        continue;
                if (!indented) {
                        free(suite);
                        suite = strdup(name);
                        if (!suite)
                                return -ENOMEM;
                        continue;
                }
                if (!suite)
                        continue;
                char *full = NULL;
                if (asprintf(&full, "%s%s", suite, name) < 0 || strv_push(ret, full) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* One name a line (Catch2 with --verbosity quiet). */
static int parse_lines(char *listing, struct strv *ret)
{
        for (char *save = NULL, *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = trim(line);
                if (*name && strv_push(ret, strdup(name)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* GLib (TAP): the test paths, among "# comments" and the "1..N" plan. */
static int parse_glib(char *listing, struct strv *ret)
{
        for (char *save = NULL, *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = trim(line);
                if (name[0] == '/' && strv_push(ret, strdup(name)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* doctest: names between "[doctest] ..." lines and rules of '='. */
static int parse_doctest(char *listing, struct strv *ret)
{
        for (char *save = NULL, *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = trim(line);
                if (!*name || startswith(name, "[doctest]") || !name[strspn(name, "=")])   /* a rule */
                        continue;
                if (strv_push(ret, strdup(name)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Boost.Test --list_content: a tree by 4-space indentation, "name*" when
 * enabled; the leaves are the test cases, named by their path. */
static int parse_boost(char *listing, struct strv *ret)
{
        char *path[64] = {0};
        size_t prev_depth = 0;
        bool prev_leaf_pending = false;
        char *lines[4096];
        size_t n = 0;
        for (char *save = NULL, *line = strtok_r(listing, "\n", &save); line && n < ARRAY_SIZE(lines);
             line = strtok_r(NULL, "\n", &save))
                if (*trim(line))
                        lines[n++] = line;
        int r = 0;
        for (size_t i = 0; i <= n && r == 0; i++) {
                size_t depth = 0;
                char *name = NULL;
                if (i < n) {
                        size_t spaces = strspn(lines[i], " ");
                        depth = spaces / 4;
                        if (depth >= ARRAY_SIZE(path))
                                continue;
                        name = trim(lines[i]);
                        name[strcspn(name, "*:")] = '\0';
                        name = trim(name);
                }
                /* the previous line was a leaf when this one is no deeper */
                if (prev_leaf_pending && (i == n || depth <= prev_depth)) {
                        _cleanup_free_ char *joined = NULL;
                        size_t len = 0;
                        FILE *m = open_memstream(&joined, &len);
                        if (!m)
                                return -ENOMEM;
                        for (size_t d = 0; d <= prev_depth; d++)
                                fprintf(m, "%s%s", d ? "/" : "", path[d] ? path[d] : "");
                        if (fclose(m) != 0)
                                return -ENOMEM;
                        r = strv_push(ret, TAKE_PTR(joined));
                }
                if (i == n)
                        break;
                path[depth] = name;
                prev_depth = depth;
                prev_leaf_pending = true;
        }
        return r;
}

/* pytest --collect-only at verbosity -1: one node id a line
 * (path::Class::test[params], the parameters' id holding any character but
 * a newline: spaces, brackets, "::"), then a blank line and the summary
 * ("4 tests collected in 0.01s"), or the warnings summary, whose lines name
 * node ids too: the listing ends at the first blank line after an id.
 * Lines before the first id that name none (a plugin's or a warning's
 * noise) are skipped; every item's node id holds a "::". */
static int parse_pytest(char *listing, struct strv *ret)
{
        for (char *line = listing, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                size_t len = strlen(line);
                if (len && line[len - 1] == '\r')
                        line[--len] = '\0';
                if (!len && ret->n)
                        break;
                if (!strstr(line, "::") || line[0] == ' ' || line[0] == '=')
                        continue;
                if (strv_push(ret, strdup(line)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The argument that selects one test, for each framework. */
static int select_gtest(const char *name, char **ret)
{
        return asprintf(ret, "--gtest_filter=%s", name) < 0 ? -ENOMEM : 0;
}

/* Catch2 test specs treat , [ ] * ~ " \ specially: escaped. */
static int select_catch2(const char *name, char **ret)
{
        char *s = malloc(2 * strlen(name) + 1), *o = s;
        if (!s)
                return -ENOMEM;
        for (const char *p = name; *p; p++) {
                if (strchr(",[]*~\"\\", *p))
                        *o++ = '\\';
                *o++ = *p;
        }
        *o = '\0';
        *ret = s;
        return 0;
}

static int select_doctest(const char *name, char **ret)
{
        _cleanup_free_ char *escaped = malloc(2 * strlen(name) + 1);
        if (!escaped)
                return -ENOMEM;
        char *o = escaped;
        for (const char *p = name; *p; p++) {
                if (*p == ',' || *p == '\\')
                        *o++ = '\\';
                *o++ = *p;
        }
        *o = '\0';
        return asprintf(ret, "--test-case=%s", escaped) < 0 ? -ENOMEM : 0;
}

static int select_glib(const char *name, char **ret)
{
        return asprintf(ret, "-p=%s", name) < 0 ? -ENOMEM : 0;
}

static int select_boost(const char *name, char **ret)
{
        return asprintf(ret, "--run_test=%s", name) < 0 ? -ENOMEM : 0;
}

/* pytest: a node id given as an argument would add to the paths the
 * user's own arguments name (which cannot be told from option values
 * without knowing every plugin's options), so the user's arguments stay as
 * they are and a plugin of ours deselects every other test, as -k does; it
 * is told the node id through the environment (PYTEST_PLUGIN_SOURCE, set
 * by run_child). */
static int select_pytest(const char *name, char **ret)
{
        (void) name;
        return (*ret = strdup("-p" PYTEST_PLUGIN)) ? 0 : -ENOMEM;
}

struct framework_runner {
        const char *framework;
        const char *marker;                     /* in the binary's bytes */
        bool list_status_any;                   /* the listing's exit status means
                                                 * nothing (Catch2 2: the count) */
        const char *const list_args[3];
        int (*parse)(char *listing, struct strv *ret);
        int (*select)(const char *name, char **ret);
        int list_status_empty;                  /* the listing's exit status when
                                                 * there is no test, or 0 */
        bool pytest_plugin;                     /* runs need our plugin (select_pytest) */
};

static const struct framework_runner runners[] = {
        { "googletest", "gtest_list_tests", false, { "--gtest_list_tests" }, parse_gtest, select_gtest, 0, false },
        { "doctest", "list-test-cases", false, { "--list-test-cases", "--no-version" }, parse_doctest,
          select_doctest, 0, false },
        { "boost.test", "list_content", false, { "--list_content" }, parse_boost, select_boost, 0, false },
        /* Catch2 2 has --list-test-names-only; 3 dropped it for a quiet --list-tests */
        { "catch2", "list-test-names-only", true, { "--list-test-names-only" }, parse_lines, select_catch2, 0, false },
        { "catch2", "list-tests", false, { "--list-tests", "--verbosity", "quiet" }, parse_lines, select_catch2, 0, false },
        /* last: a GLib test program calls g_test_init */
        { "glib", "g_test_init", false, { "-l" }, parse_glib, select_glib, 0, false },
        /* told by the command (runs_pytest), not by a marker; --verbosity=-1
         * (which -q sets) after the user's own -q or -v, which would change
         * the listing's shape; 5: no tests collected */
        { "pytest", NULL, false, { "--collect-only", "--verbosity=-1" }, parse_pytest, select_pytest, 5, true },
};

/* The runner whose marker the file at path holds, or NULL. */
static const struct framework_runner *detect(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
                return NULL;
        void *map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
                return NULL;
        const struct framework_runner *found = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(runners) && !found; i++)
                if (runners[i].marker && memmem(map, (size_t) st.st_size, runners[i].marker, strlen(runners[i].marker)))
                        found = &runners[i];
        munmap(map, (size_t) st.st_size);
        return found;
}

/* The module argv runs with python's -m (past the interpreter's own
 * options), or NULL. */
static const char *python_module(char **argv)
{
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        if (!startswith(base, "python"))
                return NULL;
        for (size_t i = 1; argv[i] && argv[i][0] == '-' && !streq(argv[i], "-") && !streq(argv[i], "-c"); i++) {
                if (streq(argv[i], "-m"))
                        return argv[i + 1];
                if (startswith(argv[i], "-m"))
                        return argv[i] + 2;
                if ((streq(argv[i], "-X") || streq(argv[i], "-W")) && argv[i + 1])
                        i++;
        }
        return NULL;
}

/* Whether argv runs pytest: its script (pytest, py.test, pytest-3) or
 * python -m pytest. */
static bool runs_pytest(char **argv)
{
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        const char *module = python_module(argv);
        return streq(base, "pytest") || streq(base, "py.test") || startswith(base, "pytest-") ||
               (module && (streq(module, "pytest") || streq(module, "py.test")));
}

/* The path execvp would run for name, or NULL. */
static char *find_in_path(const char *name)
{
        if (strchr(name, '/'))
                return strdup(name);
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
        for (char *save = NULL, *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
             dir = strtok_r(NULL, ":", &save)) {
                char *full = NULL;
                if (asprintf(&full, "%s/%s", dir, name) < 0)
                        return NULL;
                if (access(full, X_OK) == 0)
                        return full;
                free(full);
        }
        return NULL;
}

/* Runs argv with stdout and stderr into a new string *ret; returns its
 * wait status, or a negative errno. */
static int capture(char **argv, char *const *envp, char **ret)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                dup2(fds[1], STDOUT_FILENO);
                dup2(fds[1], STDERR_FILENO);
                int devnull = open("/dev/null", O_RDONLY);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                execvpe(argv[0], argv, envp ? envp : environ);
                _exit(EXIT_NOT_FOUND);
        }
        close(fds[1]);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        char chunk[4096];
        ssize_t got;
        while ((got = read(fds[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR))
                if (got > 0 && m)
                        fwrite(chunk, 1, (size_t) got, m);
        close(fds[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!m || fclose(m) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return status;
}

/* What a child leaves for the parent, besides the files. */
struct outcome {
        int run_error;          /* supervise_run's negative errno, or 0 */
        bool exited;
        int exit_code;
        int exit_signal;
        bool timed_out;
        size_t leaked;
        int write_error;
};

struct test_run {
        char *name;
        pid_t pid;              /* the child while it runs, else 0 */
        bool done;
        struct outcome outcome;
};

static char *scratch_path(const char *dir, const char *what, size_t i)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s-%zu", dir, what, i) < 0 ? NULL : p;
}

/* envp (NULL: ours) with the variables that tell our pytest plugin, in
 * plugin_dir, which test to keep: a new array (its strings partly
 * envp's), or NULL without memory. */
static char **pytest_env(char *const *envp, const char *plugin_dir, const char *nodeid)
{
        char *const *from = envp ? envp : environ;
        size_t n = 0;
        while (from[n])
                n++;
        char **env = calloc(n + 4, sizeof *env);
        if (!env)
                return NULL;
        const char *old_path = NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (startswith(from[i], "PYTHONPATH="))
                        old_path = from[i] + strlen("PYTHONPATH=");
                else if (!startswith(from[i], PYTEST_NODEID_ENV "=") && !startswith(from[i], PYTEST_PATH_ENV "="))
                        env[k++] = from[i];
        }
        if (asprintf(&env[k++], "PYTHONPATH=%s%s%s", plugin_dir, old_path && *old_path ? ":" : "",
                     old_path ? old_path : "") < 0 ||
            asprintf(&env[k++], PYTEST_NODEID_ENV "=%s", nodeid) < 0 ||
            (old_path && asprintf(&env[k++], PYTEST_PATH_ENV "=%s", old_path) < 0))
                return NULL;    /* in a child about to end */
        return env;
}

/* In a child: runs one test under supervision and leaves its files. */
static _Noreturn void run_child(char **argv, const struct framework_runner *fw, const char *name,
                                const struct pertest_options *opts, const char *dir, size_t i)
{
        struct outcome o = {0};
        _cleanup_free_ char *out_path = scratch_path(dir, "output", i), *report_path = scratch_path(dir, "report", i),
                            *status_path = scratch_path(dir, "status", i);
        if (!out_path || !report_path || !status_path)
                _exit(EXIT_CANNOT_INSPECT);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out >= 0) {
                dup2(out, STDOUT_FILENO);
                dup2(out, STDERR_FILENO);
                close(out);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
                dup2(devnull, STDIN_FILENO);

        struct leakscan_report *report = NULL;
        struct supervise_result res = {0};
        enum supervise_step failed;
        struct supervise_options supervise = *opts->supervise;
        _cleanup_free_ char *plugin_dir = NULL;
        if (fw->pytest_plugin) {
                if (asprintf(&plugin_dir, "%s/python", dir) < 0 ||
                    !(supervise.envp = pytest_env(opts->supervise->envp, plugin_dir, name)))
                        _exit(EXIT_CANNOT_INSPECT);
        }
        o.run_error = supervise_run(argv, &supervise, &report, &res, &failed);
        if (o.run_error == 0) {
                o.exited = res.exited;
                o.exit_code = res.exit_code;
                o.exit_signal = res.exit_signal;
                o.timed_out = res.timed_out;
                int r = 0;
                /* the test is known from the run itself, whatever the stacks say
                 * (they name Catch2's and doctest's by place only); the place
                 * the stack gave is kept */
                for (size_t p = 0; r == 0 && p < report->n_processes; p++)
                        for (size_t k = 0; r == 0 && k < report->processes[p].n_threads; k++) {
                                struct leakscan_thread *t = &report->processes[p].threads[k];
                                if (!t->leaked)
                                        continue;
                                if (!t->test && !(t->test = calloc(1, sizeof *t->test))) {
                                        r = -ENOMEM;
                                        break;
                                }
                                free(t->test->name);
                                t->test->framework = fw->framework;
                                if (!(t->test->name = strdup(name)))
                                        r = -ENOMEM;
                        }
                o.leaked = report_count_leaked(report);
                FILE *f = r == 0 ? fopen(report_path, "we") : NULL;
                const struct report_backend *b = opts->backend == &report_json ? &report_json : &report_text;
                struct report_options ro = opts->report;
                ro.color = false;
                if (!f)
                        r = r < 0 ? r : -errno;
                else {
                        r = b->write(f, report, &ro);
                        if (fclose(f) != 0 && r == 0)
                                r = -errno;
                }
                o.write_error = r;
                leakscan_report_free(report);
        }
        FILE *s = fopen(status_path, "we");
        if (s) {
                fwrite(&o, sizeof o, 1, s);
                fclose(s);
        }
        _exit(0);
}

static char *read_file(const char *dir, const char *what, size_t i)
{
        _cleanup_free_ char *path = scratch_path(dir, what, i);
        char *buf = NULL;
        if (!path || read_full_file(path, &buf) < 0)
                return NULL;
        return buf;
}

static void reap(struct test_run *runs, size_t n, const char *dir, pid_t pid)
{
        for (size_t i = 0; i < n; i++) {
                if (runs[i].pid != pid)
                        continue;
                runs[i].pid = 0;
                runs[i].done = true;
                _cleanup_free_ char *path = scratch_path(dir, "status", i);
                FILE *s = path ? fopen(path, "re") : NULL;
                if (!s || fread(&runs[i].outcome, sizeof runs[i].outcome, 1, s) != 1)
                        runs[i].outcome = (struct outcome) { .run_error = -EIO };
                if (s)
                        fclose(s);
        }
}

static bool program_failed(const struct outcome *o)
{
        return o->run_error == 0 && !o->timed_out && (o->exit_signal || (o->exited && o->exit_code != 0));
}

static void write_outcome_words(FILE *f, const struct outcome *o)
{
        if (o->run_error)
                fprintf(f, "could not be checked (%s)", strerror(-o->run_error));
        else if (o->timed_out)
                fputs("timed out", f);
        else if (o->exit_signal)
                fprintf(f, "killed by signal %d (%s)", o->exit_signal, strsignal(o->exit_signal));
        else if (o->exited && o->exit_code)
                fprintf(f, "failed with status %d", o->exit_code);
        else
                fputs("passed", f);
        if (o->leaked)
                fprintf(f, ", leaked %zu thread%s", o->leaked, o->leaked == 1 ? "" : "s");
}

/* write_outcome_words into a new string, or NULL on -ENOMEM. */
static char *outcome_words(const struct outcome *o)
{
        char *words = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&words, &len);
        if (!m)
                return NULL;
        write_outcome_words(m, o);
        fclose(m);
        return words;
}

static void write_text(FILE *f, const struct test_run *runs, size_t n, const char *dir, const struct pertest_options *opts,
                       const char *prog)
{
        size_t leaking = 0, failed = 0;
        for (size_t i = 0; i < n; i++) {
                const struct outcome *o = &runs[i].outcome;
                leaking += o->leaked > 0;
                failed += program_failed(o) || o->run_error;
                if (!o->leaked && !o->run_error && !opts->report.all)
                        continue;
                fputs("leakscan: test ", f);
                text_string(f, runs[i].name);   /* the binary's own listing: escaped */
                fputc(' ', f);
                write_outcome_words(f, o);
                fputc('\n', f);
                _cleanup_free_ char *text = read_file(dir, "report", i);
                if (text && *text)
                        fputs(text, f);
        }
        if (!leaking && !failed && !opts->report.all)
                return;         /* as at exit: a clean run prints nothing */
        if (leaking)
                fprintf(f, "leakscan: %zu of %zu test%s of %s, each run alone, leaked threads:", leaking, n,
                        n == 1 ? "" : "s", prog);
        else
                fprintf(f, "leakscan: none of %zu test%s of %s, each run alone, leaked a thread", n,
                        n == 1 ? "" : "s", prog);
        for (size_t i = 0, k = 0; i < n; i++)
                if (runs[i].outcome.leaked) {
                        fputs(k++ ? ", " : " ", f);
                        text_string(f, runs[i].name);
                }
        if (failed)
                fprintf(f, ", %zu failed", failed);
        fputc('\n', f);
}

static void write_json(FILE *f, const struct test_run *runs, size_t n, const char *dir, const char *framework,
                       char **argv)
{
        size_t leaking = 0;
        fputs("{\"schema\": \"" LEAKSCAN_SCHEMA "\", \"mode\": \"per-test\", \"framework\": ", f);
        json_string(f, framework);
        fputs(", \"program\": [", f);
        for (size_t i = 0; argv[i]; i++) {
                fputs(i ? ", " : "", f);
                json_string(f, argv[i]);
        }
        fputs("],\n  \"tests\": [", f);
        for (size_t i = 0; i < n; i++) {
                const struct outcome *o = &runs[i].outcome;
                leaking += o->leaked > 0;
                fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
                json_string(f, runs[i].name);
                fputs(", \"exit\": ", f);
                if (o->run_error || o->timed_out || (!o->exited && !o->exit_signal))
                        fputs("null", f);
                else if (o->exit_signal)
                        fprintf(f, "{\"signal\": %d}", o->exit_signal);
                else
                        fprintf(f, "{\"code\": %d}", o->exit_code);
                fprintf(f, ", \"timed_out\": %s, \"leaked\": %zu, \"error\": ", o->timed_out ? "true" : "false",
                        o->leaked);
                json_string(f, o->run_error ? strerror(-o->run_error) : o->write_error ? strerror(-o->write_error) : NULL);
                fputs(",\n     \"report\": ", f);
                _cleanup_free_ char *doc = o->run_error ? NULL : read_file(dir, "report", i);
                if (doc && *doc) {
                        size_t len = strlen(doc);
                        while (len && doc[len - 1] == '\n')
                                doc[--len] = '\0';
                        fputs(doc, f);          /* our own leakscan/1 document */
                } else {
                        fputs("null", f);
                }
                fputs("}", f);
        }
        fprintf(f, "],\n  \"summary\": {\"tests\": %zu, \"leaking\": %zu}}\n", n, leaking);
}

static void write_junit(FILE *f, const struct test_run *runs, size_t n, const char *dir, const char *framework,
                        const char *prog)
{
        size_t failures = 0, errors = 0;
        for (size_t i = 0; i < n; i++) {
                failures += runs[i].outcome.leaked > 0 || program_failed(&runs[i].outcome);
                errors += runs[i].outcome.run_error != 0 || runs[i].outcome.timed_out;
        }
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<testsuites name=\"leakscan\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n"
                "  <testsuite name=\"leakscan --per-test: ", n, failures, errors);
        xml_text(f, prog);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\">\n", n, failures, errors);
        for (size_t i = 0; i < n; i++) {
                const struct outcome *o = &runs[i].outcome;
                fputs("    <testcase classname=\"", f);
                xml_text(f, framework);
                fputs("\" name=\"", f);
                xml_text(f, runs[i].name);
                fputs("\">\n", f);
                if (o->run_error || o->timed_out) {
                        fputs("      <error type=\"", f);
                        fputs(o->timed_out ? "timeout" : "not-checked", f);
                        fputs("\" message=\"", f);
                        _cleanup_free_ char *words = outcome_words(o);
                        xml_text(f, words);
                        fputs("\"/>\n", f);
                } else if (o->leaked || program_failed(o)) {
                        _cleanup_free_ char *text = read_file(dir, "report", i);
                        fprintf(f, "      <failure type=\"%s\" message=\"", o->leaked ? "leaked-thread" : "test-failed");
                        _cleanup_free_ char *words = outcome_words(o);
                        xml_text(f, words);
                        fputs("\">", f);
                        xml_text(f, text);
                        fputs("</failure>\n", f);
                }
                if (program_failed(o) || o->run_error) {
                        _cleanup_free_ char *output = read_file(dir, "output", i);
                        if (output && *output) {
                                fputs("      <system-out>", f);
                                xml_text(f, output);
                                fputs("</system-out>\n", f);
                        }
                }
                fputs("    </testcase>\n", f);
        }
        fputs("  </testsuite>\n</testsuites>\n", f);
}

int pertest_parse_listing(const char *framework, char *listing, char ***ret_names, size_t *ret_n)
{
        for (size_t i = 0; i < ARRAY_SIZE(runners); i++) {
                if (!streq(runners[i].framework, framework))
                        continue;
                struct strv names = {0};
                int r = runners[i].parse(listing, &names);
                if (r < 0) {
                        strv_done(&names);
                        return r;
                }
                if (!names.v && !(names.v = calloc(1, sizeof *names.v)))
                        return -ENOMEM;
                *ret_names = names.v;
                *ret_n = names.n;
                return 0;
        }
        return -EINVAL;
}

bool pertest_format_supported(const struct report_backend *backend)
{
        return backend == &report_text || backend == &report_json || backend == &report_junit;
}

/* Writes our pytest plugin into dir/python.  Returns 0 or a negative errno. */
static int write_pytest_plugin(const char *dir)
{
        _cleanup_free_ char *sub = NULL, *file = NULL;
        if (asprintf(&sub, "%s/python", dir) < 0 || asprintf(&file, "%s/" PYTEST_PLUGIN ".py", sub) < 0)
                return -ENOMEM;
        if (mkdir(sub, 0700) < 0)
                return -errno;
        _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = sizeof pytest_plugin_source - 1;
        ssize_t wrote = write(fd, pytest_plugin_source, len);
        return wrote < 0 ? -errno : (size_t) wrote != len ? -EIO : 0;
}

/* Empties and removes the folder path, whose files are ours (Python's
 * bytecode cache of our plugin among them) with its subfolders. */
static void remove_folder(const char *path)
{
        DIR *d = opendir(path);
        for (struct dirent *de; d && (de = readdir(d)); ) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR) {
                        _cleanup_free_ char *inner = NULL;
                        if (asprintf(&inner, "%s/%s", path, de->d_name) >= 0)
                                remove_folder(inner);
                }
        }
        if (d)
                closedir(d);
        rmdir(path);
}

static void remove_scratch(const char *dir, size_t n)
{
        static const char *const whats[] = { "output", "report", "status" };
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ARRAY_SIZE(whats); k++) {
                        _cleanup_free_ char *p = scratch_path(dir, whats[k], i);
                        if (p)
                                unlink(p);
                }
        _cleanup_free_ char *python = NULL;
        if (asprintf(&python, "%s/python", dir) >= 0)
                remove_folder(python);
        rmdir(dir);
}

int pertest_run(char **argv, const struct pertest_options *opts)
{
        _cleanup_free_ char *path = find_in_path(argv[0]);
        if (!path || access(path, X_OK) < 0) {
                fprintf(stderr, "leakscan: cannot run %s: %s\n", argv[0], strerror(path ? errno : ENOENT));
                return path && errno != ENOENT ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND;
        }
        const char *module = python_module(argv);
        if (module && streq(module, "unittest")) {
                /* unittest has no listing of its own to select from; pytest
                 * collects and runs the same TestCase classes */
                fprintf(stderr, "leakscan: --per-test cannot list the tests of python -m unittest, which has no "
                        "listing; run the suite with pytest, which runs unittest's TestCase classes too: "
                        "leakscan --per-test -- %s -m pytest DIR\n", argv[0]);
                return EXIT_CANNOT_INSPECT;
        }
        const struct framework_runner *fw = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(runners) && !fw && runs_pytest(argv); i++)
                if (runners[i].pytest_plugin)
                        fw = &runners[i];
        if (!fw)
                fw = detect(path);
        if (!fw) {
                fprintf(stderr, "leakscan: --per-test cannot tell how to list the tests of %s: it knows GoogleTest, "
                        "Catch2, doctest, Boost.Test and GLib binaries and pytest; run other test programs with "
                        "--at-exit\n", argv[0]);
                return EXIT_CANNOT_INSPECT;
        }

        /* the listing: the program with its own arguments and the list flag */
        struct strv cmd = {0}, names = {0};
        int r = 0;
        for (size_t i = 0; argv[i] && r == 0; i++)
                r = strv_push(&cmd, strdup(argv[i]));
        for (size_t i = 0; i < ARRAY_SIZE(fw->list_args) && fw->list_args[i] && r == 0; i++)
                r = strv_push(&cmd, strdup(fw->list_args[i]));
        _cleanup_free_ char *listing = NULL;
        int status = r < 0 ? r : capture(cmd.v, opts->supervise->envp, &listing);
        strv_done(&cmd);
        bool empty = status >= 0 && fw->list_status_empty && WIFEXITED(status) &&
                     WEXITSTATUS(status) == fw->list_status_empty;
        if (status < 0 || !WIFEXITED(status) || (WEXITSTATUS(status) != 0 && !fw->list_status_any && !empty)) {
                fprintf(stderr, "leakscan: listing the %s tests of %s with %s failed (%s)%s%s\n", fw->framework,
                        argv[0], fw->list_args[0], status < 0 ? strerror(-status) : "it exited with an error",
                        listing && *listing ? ": " : "", listing ? trim(listing) : "");
                return EXIT_CANNOT_INSPECT;
        }
        r = empty ? 0 : fw->parse(listing, &names);
        if (r < 0) {
                fputs("leakscan: out of memory\n", stderr);
                strv_done(&names);
                return EXIT_CANNOT_INSPECT;
        }

        char dir[] = "/tmp/leakscan-per-test-XXXXXX";
        if (!mkdtemp(dir)) {
                fprintf(stderr, "leakscan: cannot make a scratch folder in /tmp: %s\n", strerror(errno));
                strv_done(&names);
                return EXIT_CANNOT_INSPECT;
        }
        size_t n = names.n;
        struct test_run *runs = calloc(n ? n : 1, sizeof *runs);
        if (runs && fw->pytest_plugin && (r = write_pytest_plugin(dir)) < 0) {
                fprintf(stderr, "leakscan: cannot write the pytest plugin of --per-test into %s: %s\n", dir,
                        strerror(-r));
                free(runs);
                strv_done(&names);
                remove_scratch(dir, 0);
                return EXIT_CANNOT_INSPECT;
        }
        if (!runs) {
                fputs("leakscan: out of memory\n", stderr);
                strv_done(&names);
                rmdir(dir);
                return EXIT_CANNOT_INSPECT;
        }
        for (size_t i = 0; i < n; i++)
                runs[i].name = names.v[i];
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned jobs = opts->jobs ? opts->jobs : cpus > 0 ? (unsigned) cpus : 1;

        size_t next = 0, running = 0;
        while (next < n || running > 0) {
                while (next < n && running < jobs) {
                        struct strv run = {0};
                        char *select = NULL;
                        r = 0;
                        for (size_t i = 0; argv[i] && r == 0; i++)
                                r = strv_push(&run, strdup(argv[i]));
                        if (r == 0)
                                r = fw->select(runs[next].name, &select);
                        if (r == 0)
                                r = strv_push(&run, select);
                        pid_t pid = r < 0 ? -1 : fork();
                        if (pid == 0)
                                run_child(run.v, fw, runs[next].name, opts, dir, next);
                        strv_done(&run);
                        if (pid < 0) {
                                runs[next].done = true;
                                runs[next].outcome.run_error = r < 0 ? r : -errno;
                        } else {
                                runs[next].pid = pid;
                                running++;
                        }
                        next++;
                }
                if (running == 0)
                        continue;
                int ws;
                pid_t pid = waitpid(-1, &ws, 0);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break;          /* ECHILD: none left that we know of */
                }
                for (size_t i = 0; i < n; i++)
                        if (runs[i].pid == pid) {
                                reap(runs, n, dir, pid);
                                running--;
                                break;
                        }
        }

        /* the report, in listing order */
        FILE *out = stderr;
        bool write_failed = false;
        if (opts->output) {
                _cleanup_free_ char *out_path = NULL;
                r = outpath_open(opts->output, getpid(), &out, &out_path);
                if (r < 0) {
                        fprintf(stderr, "leakscan: cannot write the report to %s: %s; choose a writable path for -o\n",
                                opts->output, strerror(-r));
                        out = NULL;
                }
        }
        if (out) {
                if (opts->backend == &report_json)
                        write_json(out, runs, n, dir, fw->framework, argv);
                else if (opts->backend == &report_junit)
                        write_junit(out, runs, n, dir, fw->framework, argv[0]);
                else
                        write_text(out, runs, n, dir, opts, argv[0]);
                bool failed = fflush(out) != 0 || ferror(out);
                if (out != stderr && fclose(out) != 0)
                        failed = true;
                if (failed)
                        fprintf(stderr, "leakscan: writing the report failed: %s\n", strerror(errno));
                write_failed = failed;
        }
        /* the output of the tests that failed, as ctest --output-on-failure */
        for (size_t i = 0; i < n; i++)
                if (program_failed(&runs[i].outcome)) {
                        _cleanup_free_ char *output = read_file(dir, "output", i);
                        if (output && *output)
                                fprintf(stderr, "leakscan: output of test %s:\n%s", runs[i].name, output);
                }

        /* the exit status, by the rules of --at-exit over every test */
        int exit_status = out && !write_failed ? 0 : EXIT_CANNOT_INSPECT;
        bool timed_out = false, leaked = false, unchecked = false;
        for (size_t i = 0; i < n && exit_status == 0; i++) {
                const struct outcome *o = &runs[i].outcome;
                if (o->exit_signal && !o->timed_out)
                        exit_status = EXIT_SIGNALED_BASE + o->exit_signal;
                else if (program_failed(o))
                        exit_status = o->exit_code;
                timed_out |= o->timed_out;
                leaked |= o->leaked > 0;
                unchecked |= o->run_error != 0 || o->write_error != 0;
        }
        if (exit_status == 0)
                exit_status = timed_out ? EXIT_TIMEOUT : unchecked ? EXIT_CANNOT_INSPECT :
                              leaked ? opts->error_exitcode : 0;
        remove_scratch(dir, n);
        free(runs);
        strv_done(&names);
        return exit_status;
}

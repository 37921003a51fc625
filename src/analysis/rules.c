/* Ignore rules; see rules.h.  The built-in list documents, per runtime, its
 * libraries and symbols, the entry functions of its threads and why they
 * outlive their work. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "rules.h"
#include "util.h"

static const char *const kind_names[_RULE_KIND_MAX] = {
        [RULE_TOP] = "top",
        [RULE_ANY] = "any",
        [RULE_CREATED_BY] = "created-by",
        [RULE_NAME] = "name",
        [RULE_MODULE] = "module",
        [RULE_ENTRY] = "entry",
        [RULE_RUNTIME] = "runtime",
};

const char *rule_kind_to_string(enum rule_kind kind)
{
        return (unsigned) kind < _RULE_KIND_MAX ? kind_names[kind] : "?";
}

#define MAX_GLOBS 10

/* A runtime whose own threads wait for work for the life of the process. */
struct runtime {
        const char *id;                         /* "runtime:ID" */
        const char *title;
        const char *modules[MAX_GLOBS];         /* its libraries (file name globs) */
        const char *symbols[MAX_GLOBS];         /* its functions, for a statically
                                                 * linked copy */
        const char *entries[MAX_GLOBS];         /* the entry functions of its
                                                 * threads; "*": any function in
                                                 * its libraries (a nameless entry
                                                 * frame in them counts: stripped
                                                 * libraries hide static entries) */
        const char *user_apis[MAX_GLOBS];       /* how user code makes threads it
                                                 * owns through the runtime */
        const char *shared_idle[MAX_GLOBS];     /* waits where an idle thread is in
                                                 * the runtime's common keeping,
                                                 * whoever made it */
        const char *stack_roots[MAX_GLOBS];     /* its functions where a thread's
                                                 * stack begins or switches to
                                                 * another (no start_thread below):
                                                 * the unwind ends there, or past
                                                 * them shows another stack's
                                                 * frames, so they stand for the
                                                 * entry */
        /* CPython: the library's Python files whose frames are the
         * runtime's, the one a thread of its own runs (NULL: none), and
         * where its innermost Python frame must be for it to be idle (a
         * call the user submitted, blocked in threading, is no idle
         * worker; NULL: in any of its files) */
        const char *python_files[MAX_GLOBS];
        const char *python_worker;
        const char *python_idle_in;
        const char *why;
};

static const struct runtime runtimes[] = {
        { .id = "libgomp", .title = "OpenMP (libgomp)",
          .modules = { "libgomp.so*" }, .symbols = { "gomp_*", "GOMP_*", "omp_*" },
          .entries = { "gomp_thread_start" },
          .why = "the worker team is kept for the next parallel region" },
        { .id = "libomp", .title = "OpenMP (LLVM libomp, Intel libiomp5)",
          .modules = { "libomp.so*", "libomp5.so*", "libiomp5.so*" },
          .symbols = { "__kmp*", "__kmpc*", "__ompt*", "kmp_*", "omp_*" },
          .entries = { "__kmp_launch_worker*", "__kmp_launch_monitor*" },
          .why = "the worker team (and its monitor) is kept for the next parallel region" },
        { .id = "openblas", .title = "OpenBLAS",
          .modules = { "libopenblas*.so*", "libblas.so*" }, .symbols = { "blas_thread_server", "exec_blas*", "blas_*" },
          .entries = { "blas_thread_server" },
          .why = "BLAS worker threads wait for the next call" },
        { .id = "glib", .title = "GLib",
          /* and the extension modules GIO loads by itself from its modules
           * directory (dconf's GSettings backend, gvfs, glib-networking):
           * the program never links or calls them */
          .modules = { "libglib-2.0.so*", "libgio-2.0.so*", "libgobject-2.0.so*", "*/gio/modules/*.so" },
          .symbols = { "g_*", "_g_*", "glib_*", "gdbus_*" },
          .entries = { "g_thread_proxy" },
          .user_apis = { "g_thread_new", "g_thread_try_new", "g_thread_create*", "g_thread_pool_new*",
                         "g_thread_pool_push" },
          /* the pool code waits with the locked queue calls only for the
           * threads it keeps for any pool and for its spawner; a pool's own
           * queue is waited on with the _unlocked ones */
          .shared_idle = { "g_async_queue_pop", "g_async_queue_timeout_pop", "g_thread_pool_wait_for_new_pool",
                           "g_thread_pool_spawn_thread" },
          .why = "its worker context, the D-Bus thread, GTask's pool, the threads kept for any pool and "
                 "those of GIO's modules (dconf's worker) wait for work; a thread or a GThreadPool the user made "
                 "is the user's" },
        { .id = "libuv", .title = "libuv",
          .modules = { "libuv.so*" }, .symbols = { "uv_*", "uv__*" }, .entries = { "worker", "uv__*" },
          .user_apis = { "uv_thread_create*" },
          .why = "the threadpool serves uv_queue_work and file system requests" },
        { .id = "jemalloc", .title = "jemalloc",
          .modules = { "libjemalloc.so*" }, .symbols = { "je_*", "background_thread_*", "jemalloc_*" },
          .entries = { "background_thread_entry" },
          .why = "\"jemalloc_bg_thd\" purges dirty pages in the background" },
        { .id = "glibc", .title = "glibc",
          .modules = { "libc.so*", "librt.so*", "libanl.so*" },
          .symbols = { "timer_helper_thread", "handle_fildes_io", "handle_requests" },
          /* named: a thread still starting up sits in a libc function that
           * start_thread called before the start routine (sigprocmask,
           * rseq), which is no helper (a stripped libc's nameless entry
           * counts, as for every runtime) */
          .entries = { "timer_helper_thread", "handle_fildes_io", "handle_requests", "helper_thread" },
          .user_apis = { "pthread_create*" },
          .why = "its own helper threads: SIGEV_THREAD timers (timer_helper_thread), POSIX AIO "
                 "(handle_fildes_io), getaddrinfo_a (handle_requests)" },
        { .id = "grpc", .title = "gRPC",
          .modules = { "libgrpc*.so*", "libgpr.so*", "libabsl_*.so*" },
          .symbols = { "grpc_*", "gpr_*", "grpc_core::*", "grpc_event_engine::*", "absl::*", "timer_thread*" },
          .entries = { "grpc_core::*", "grpc_event_engine::*" },
          .why = "the timer manager, the executors and EventEngine's pool wait for work" },
        { .id = "tbb", .title = "oneTBB",
          .modules = { "libtbb.so*", "libtbbmalloc.so*" }, .symbols = { "tbb::*", "rml::*" },
          .entries = { "tbb::*", "rml::*" },
          .why = "the worker pool waits in its market for the next parallel algorithm" },
        /* HotSpot's own threads (GC, compiler, VM thread) wait in libjvm;
         * a Java thread runs interpreted or compiled code from memory no
         * module backs, which is never the runtime's, so it is judged.
         * (No such rule for interpreters whose user code runs in the
         * library's own frames, CPython's for one: nothing there tells a
         * user's thread from the runtime's.) */
        { .id = "jvm", .title = "the JVM (HotSpot)",
          .modules = { "libjvm.so*" }, .entries = { "thread_native_entry*", "java_start*", "*" },
          .why = "its garbage collector, compiler and service threads live as long as the VM" },
        /* Go's scheduler keeps its OS threads (Ms) for the life of the
         * process and never ends them; goroutines are not threads, and one
         * holds an M only while it blocks in a system call or C code (its
         * user frames are on the stack, so it is judged).  An idle M sleeps
         * on its scheduler stack (g0), switched to by runtime.mcall or
         * started by runtime.mstart from a raw clone: no start_thread.
         * Go's symbols hold a dot and a package path, no C name does. */
        { .id = "go", .title = "the Go runtime",
          .symbols = { "runtime.*", "runtime/*", "internal/runtime/*", "os/signal.signal_recv*",
                       "os/signal.loop*" },
          .stack_roots = { "runtime.mcall*", "runtime.mstart*", "runtime.systemstack*", "runtime.morestack*",
                           "runtime.goexit*", "runtime.rt0_go*", "runtime.clone*" },
          .why = "the scheduler's threads (Ms) idle for the next goroutine, the template thread, and the "
                 "signal loop of os/signal live as long as the process" },
        /* Rust's runtimes are linked into the program: known by their
         * paths.  A thread idles in them only when every frame between its
         * wait and the runtime's loop is the runtime's or the standard
         * library's: a worker running the user's job or task has the user's
         * frames there, and is judged.  No entry: Rust threads all start in
         * std's thread_start; the loop stands for it. */
        { .id = "rayon", .title = "Rayon (rayon-core)",
          .symbols = { "rayon_core::*", "<rayon_core::*", "crossbeam_deque::*", "<crossbeam_deque::*",
                       "crossbeam_epoch::*", "crossbeam_utils::*", "<crossbeam_utils::*" },
          .stack_roots = { "rayon_core::registry::main_loop*", "rayon_core::registry::ThreadBuilder::run*" },
          .why = "the pool's workers sleep until the next parallel job" },
        { .id = "tokio", .title = "Tokio",
          .symbols = { "tokio::*", "<tokio::*", "mio::*", "<mio::*", "parking_lot::*", "parking_lot_core::*",
                       "<parking_lot::*" },
          .stack_roots = { "tokio::runtime::blocking::pool::Inner::run*",
                           "<tokio::runtime::blocking::pool::Inner>::run*" },
          .why = "the runtime's workers and its blocking pool wait for tasks (a task of the user's shows its "
                 "frames and is judged)" },
        /* CPython's standard library keeps some threads of its own: only
         * while their Python frames are all the library's (no user
         * callable running in them) are they idle service threads */
        { .id = "python-executor", .title = "concurrent.futures' ThreadPoolExecutor (CPython)",
          .modules = { "python3*", "libpython3*.so*", "*/python3*/lib-dynload/*.so" }, .entries = { "*" },
          .python_files = { "*/concurrent/futures/thread.py", "*/threading.py", "*/queue.py" },
          .python_worker = "*/concurrent/futures/thread.py", .python_idle_in = "*/concurrent/futures/thread.py",
          .why = "an executor's idle workers wait in _worker for the next call until it is shut down" },
        { .id = "python-manager", .title = "multiprocessing's Manager server (CPython)",
          .modules = { "python3*", "libpython3*.so*", "*/python3*/lib-dynload/*.so" }, .entries = { "*" },
          /* its handlers also format tracebacks (linecache, tokenize...)
           * as the server exits: any standard library code */
          .python_files = { "*/lib/python3.*/*.py", "<frozen *>" },
          .python_worker = "*/multiprocessing/managers.py",
          .why = "a Manager's server process accepts and serves connections until it ends, and ends with "
                 "those threads alive by design" },
        { .id = "cuda", .title = "CUDA",
          .modules = { "libcuda.so*" }, .entries = { "*" },
          .why = "the driver's own threads (cuda-EvtHandlr, in poll for the life of the context)" },
};

/* The C library and the C++ runtime: a runtime waits through them. */
static const char *const base_modules[] = {
        "libc.so*", "libc-*.so", "libpthread.so*", "libpthread-*.so", "ld-linux*.so*", "ld-*.so",
        "libstdc++.so*", "libc++.so*", "libc++abi.so*", "libgcc_s.so*", "linux-vdso.so*", "[vdso]",
};

void rule_set_done(struct rule_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->rules[i].pattern);
                free(set->rules[i].module);
                free(set->rules[i].origin);
        }
        free(set->rules);
        *set = (struct rule_set) {0};
}

static int rule_append(struct rule_set *set, enum rule_kind kind, const char *pattern, size_t pattern_len,
                       const char *module, const char *origin, const struct runtime *rt)
{
        if (grow_array(&set->rules, &set->cap, set->n + 1, sizeof *set->rules) < 0)
                return -ENOMEM;
        struct rule r = {
                .kind = kind,
                .pattern = strndup(pattern, pattern_len),
                .module = module ? strdup(module) : NULL,
                .origin = strdup(origin),
                .runtime = rt,
        };
        if (!r.pattern || !r.origin || (module && !r.module)) {
                free(r.pattern);
                free(r.module);
                free(r.origin);
                return -ENOMEM;
        }
        set->rules[set->n++] = r;
        return 0;
}

static const struct runtime *runtime_find(const char *id)
{
        for (size_t i = 0; i < ARRAY_SIZE(runtimes); i++)
                if (streq(runtimes[i].id, id))
                        return &runtimes[i];
        return NULL;
}

int rules_add(struct rule_set *set, enum rule_kind kind, const char *pattern, const char *module,
              const char *origin)
{
        const struct runtime *rt = NULL;
        if (kind == RULE_RUNTIME && !(rt = runtime_find(pattern)))
                return -EINVAL;
        return rule_append(set, kind, pattern, strlen(pattern), module, origin, rt);
}

int rules_parse(const char *text, enum rule_kind *ret_kind, const char **ret_pattern, const char **ret_error)
{
        const char *colon = strchr(text, ':');
        if (!colon) {
                *ret_error = "expected KIND:PATTERN (top, any, created-by, name, module, entry or runtime)";
                return -EINVAL;
        }
        size_t len = (size_t) (colon - text);
        for (int k = 0; k < _RULE_KIND_MAX; k++) {
                if (strlen(kind_names[k]) != len || strncmp(text, kind_names[k], len) != 0)
                        continue;
                if (!colon[1]) {
                        *ret_error = "empty pattern after the colon";
                        return -EINVAL;
                }
                *ret_kind = (enum rule_kind) k;
                *ret_pattern = colon + 1;
                return 0;
        }
        *ret_error = "unknown kind: use top, any, created-by, name, module, entry or runtime";
        return -EINVAL;
}

/* Where " in " separates the pattern from a module: the last one not
 * escaped ("\ in "), or NULL. */
static const char *find_in(const char *pattern)
{
        const char *found = NULL;
        for (const char *p = strstr(pattern, " in "); p; p = strstr(p + 1, " in "))
                if (p == pattern || p[-1] != '\\')
                        found = p;
        return found;
}

int rules_add_line(struct rule_set *set, const char *line, const char *origin, const char **ret_error)
{
        enum rule_kind kind;
        const char *pattern;
        if (rules_parse(line, &kind, &pattern, ret_error) < 0)
                return -EINVAL;
        const char *in = kind == RULE_RUNTIME ? NULL : find_in(pattern);
        size_t plen = in ? (size_t) (in - pattern) : strlen(pattern);
        const char *module = in ? in + 4 : NULL;
        if (module) {
                while (*module == ' ' || *module == '\t')
                        module++;
                if (!*module || plen == 0) {
                        *ret_error = "expected KIND:PATTERN in MODULE";
                        return -EINVAL;
                }
                if (kind == RULE_MODULE) {
                        *ret_error = "module: takes no \"in MODULE\"";
                        return -EINVAL;
                }
        }
        const struct runtime *rt = NULL;
        if (kind == RULE_RUNTIME && !(rt = runtime_find(pattern))) {
                *ret_error = "unknown runtime (see leakscan --list-default-ignores)";
                return -EINVAL;
        }
        int r = rule_append(set, kind, pattern, plen, module, origin, rt);
        if (r < 0)
                *ret_error = "out of memory";
        return r;
}

/* Cuts a comment off line: a '#' at its start or after a blank. */
static void strip_comment(char *line)
{
        for (char *p = line; *p; p++)
                if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
                        *p = 0;
                        return;
                }
}

int rules_load_text(struct rule_set *set, const char *name, const char *text, size_t len, char **ret_error)
{
        _cleanup_free_ char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, len);
        copy[len] = 0;
        unsigned lineno = 0;
        for (char *line = copy, *next; line; line = next) {
                char *eol = memchr(line, '\n', (size_t) (copy + len - line));
                lineno++;
                size_t linelen = eol ? (size_t) (eol - line) : (size_t) (copy + len - line);
                if (memchr(line, 0, linelen)) {
                        if (asprintf(ret_error, "%s:%u: a NUL byte: not a text file", name, lineno) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                line[linelen] = 0;
                next = eol ? eol + 1 : NULL;
                strip_comment(line);
                while (*line == ' ' || *line == '\t')
                        line++;
                size_t l = strlen(line);
                /* a blank escaped with a backslash stays */
                while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r') &&
                       !(l >= 2 && line[l - 2] == '\\'))
                        line[--l] = 0;
                if (!*line)
                        continue;
                char origin[512], quoted[128];
                const char *why;
                snprintf(origin, sizeof origin, "%s:%u", name, lineno);
                int r = rules_add_line(set, line, origin, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (asprintf(ret_error, "%s:%u: %s: \"%s\"", name, lineno, why,
                                     escape_excerpt(line, 60, quoted, sizeof quoted)) < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        return 0;
}

int rules_load_file(struct rule_set *set, const char *path, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        ssize_t r = read_full_file(path, &text);
        if (r < 0) {
                if (asprintf(ret_error, "cannot read suppressions file %s: %s", path, strerror((int) -r)) < 0)
                        *ret_error = NULL;
                return (int) r;
        }
        return rules_load_text(set, path, text, (size_t) r, ret_error);
}

int rules_load_env(struct rule_set *set, char **ret_error)
{
        /* secure_getenv: rules decide what is reported, and this runs in
         * libleakscan too, maybe in a set-user-ID program */
        const char *env = secure_getenv("LEAKSCAN_SUPPRESSIONS");
        if (!env || !*env)
                return 0;
        _cleanup_free_ char *paths = strdup(env);
        if (!paths)
                return -ENOMEM;
        for (char *save = NULL, *path = strtok_r(paths, ":", &save); path; path = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *why = NULL;
                int r = rules_load_file(set, path, &why);
                if (r < 0) {
                        if (why && asprintf(ret_error, "%s (from LEAKSCAN_SUPPRESSIONS)", why) < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        return 0;
}

int rules_add_defaults(struct rule_set *set)
{
        for (size_t i = 0; i < ARRAY_SIZE(runtimes); i++) {
                char origin[128];
                snprintf(origin, sizeof origin, "default: %s", runtimes[i].title);
                if (rule_append(set, RULE_RUNTIME, runtimes[i].id, strlen(runtimes[i].id), NULL, origin,
                                &runtimes[i]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void print_globs(FILE *f, const char *const *globs)
{
        for (size_t i = 0; i < MAX_GLOBS && globs[i]; i++)
                fprintf(f, "%s%s", i ? "," : "", globs[i]);
}

void rules_print_defaults(FILE *f)
{
        for (size_t i = 0; i < ARRAY_SIZE(runtimes); i++) {
                const struct runtime *rt = &runtimes[i];
                fprintf(f, "runtime:%s\t# %s: threads entered at ", rt->id, rt->title);
                print_globs(f, rt->entries[0] ? rt->entries : rt->stack_roots);
                fputs(" and idle in ", f);
                print_globs(f, rt->modules[0] ? rt->modules : rt->symbols);
                if (rt->modules[0] && rt->symbols[0]) {
                        fputs(" or ", f);
                        print_globs(f, rt->symbols);
                }
                if (rt->user_apis[0]) {
                        fputs(", not made by the user through ", f);
                        print_globs(f, rt->user_apis);
                        if (rt->shared_idle[0]) {
                                fputs(" unless waiting in ", f);
                                print_globs(f, rt->shared_idle);
                        }
                }
                fprintf(f, "; %s\n", rt->why);
        }
}

static bool glob(const char *pattern, const char *s)
{
        return pattern && s && fnmatch(pattern, s, 0) == 0;
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* A module glob matches the file name, or the whole path. */
static bool module_glob(const char *pattern, const char *path)
{
        return path && (glob(pattern, base_name(path)) || glob(pattern, path));
}

static bool any_glob(const char *const *globs, const char *s, bool skip_star)
{
        for (size_t i = 0; i < MAX_GLOBS && globs[i]; i++)
                if (!(skip_star && streq(globs[i], "*")) && glob(globs[i], s))
                        return true;
        return false;
}

static bool any_module_glob(const char *const *globs, size_t n, const char *path)
{
        for (size_t i = 0; i < n && globs[i]; i++)
                if (module_glob(globs[i], path))
                        return true;
        return false;
}

/* A frame of the runtime: in one of its libraries, or one of its
 * functions (a statically linked copy). */
static bool in_runtime(const struct runtime *rt, const struct leakscan_frame *f)
{
        if (f->language)        /* an interpreter's frame: by its source file, not installed packages' */
                return f->file && !strstr(f->file, "-packages/") && any_glob(rt->python_files, f->file, false);
        return any_module_glob(rt->modules, MAX_GLOBS, f->module) || any_glob(rt->symbols, f->function, false);
}

/* The C library, the C++ runtime, or a language's standard library linked
 * into the program (Rust's std, core and alloc, told by path). */
static bool in_base(const struct leakscan_frame *f)
{
        return any_module_glob(base_modules, ARRAY_SIZE(base_modules), f->module) ||
               (f->function && classify_function_is_rust_std(f->function));
}

/* The index of the thread's entry frame: the one below glibc's
 * start_thread (its outermost frame if inlined ones precede it), or -1. */
static ssize_t entry_frame(const struct leakscan_thread *t)
{
        for (size_t i = 1; i < t->n_frames; i++)
                if (t->frames[i].function && streq(t->frames[i].function, "start_thread"))
                        return (ssize_t) i - 1;
        return -1;
}

static bool runtime_entry(const struct runtime *rt, const struct leakscan_frame *e)
{
        if (any_module_glob(rt->modules, MAX_GLOBS, e->module))
                return !e->function || any_glob(rt->entries, e->function, false);
        /* a static copy: named as the runtime names its entries */
        return any_glob(rt->entries, e->function, true);
}

/* Whether user code made the thread through the runtime's API for threads
 * the caller owns: in the creator stack (innermost first), the runtime
 * function that the first user frame called is one of them. */
static bool made_by_user(const struct runtime *rt, const struct leakscan_thread *t)
{
        const struct leakscan_frame *last_rt = NULL;
        for (size_t i = 0; i < t->n_created_by; i++) {
                const struct leakscan_frame *f = &t->created_by[i];
                if (in_runtime(rt, f))
                        last_rt = f;
                else if (!in_base(f))
                        return last_rt && any_glob(rt->user_apis, last_rt->function, false);
        }
        return false;   /* no user frame: the runtime's own thread made it */
}

/* Frame i of frames is the runtime's: in its library or named as its
 * functions; a function inlined into one of the runtime's is its code too
 * (a static copy's internal helpers, e.g. libgomp's futex_wait). */
static bool frame_in_runtime(const struct runtime *rt, const struct leakscan_frame *frames, size_t n, size_t i)
{
        size_t j = i;
        while (j + 1 < n && frames[j].inlined)
                j++;
        return in_runtime(rt, &frames[i]) || (j != i && in_runtime(rt, &frames[j]));
}

/* The innermost frame that is one of the runtime's stack roots, or -1. */
static ssize_t root_frame(const struct runtime *rt, const struct leakscan_thread *t)
{
        for (size_t i = 0; rt->stack_roots[0] && i < t->n_frames; i++)
                if (any_glob(rt->stack_roots, t->frames[i].function, false))
                        return (ssize_t) i;
        return -1;
}

static bool runtime_idle(const struct runtime *rt, const struct leakscan_thread *t)
{
        ssize_t e = entry_frame(t), root = root_frame(rt, t);
        if (root >= 0 && (e < 0 || root < e))
                e = root;       /* the frames past it are another stack's */
        else if (e < 0 || !runtime_entry(rt, &t->frames[e]))
                return false;
        /* a static copy's entry ("worker") is known by its name only: some
         * other frame must show the runtime too */
        bool seen = any_module_glob(rt->modules, MAX_GLOBS, t->frames[e].module), shared = false;
        /* a root that is the runtime's by name shows it (Go's template
         * thread stopped in runtime.clone before its mstart: one frame) */
        seen |= root == e && in_runtime(rt, &t->frames[e]);
        for (ssize_t i = 0; i < e; i++) {
                bool mine = frame_in_runtime(rt, t->frames, (size_t) e + 1, (size_t) i);
                if (!mine && !in_base(&t->frames[i]))
                        return false;   /* a user frame between the wait and the entry */
                seen |= mine;
                shared |= mine && any_glob(rt->shared_idle, t->frames[i].function, false);
        }
        if (!seen)
                return false;
        if (rt->python_worker) {
                /* the library's own thread: one of its frames runs the
                 * worker, and the innermost waits in the library's code */
                bool worker = false;
                ssize_t innermost = -1;
                for (ssize_t i = 0; i < e; i++) {
                        if (!t->frames[i].language || !t->frames[i].file)
                                continue;
                        if (innermost < 0)
                                innermost = i;
                        worker |= glob(rt->python_worker, t->frames[i].file);
                }
                if (!worker || (rt->python_idle_in && !glob(rt->python_idle_in, t->frames[innermost].file)))
                        return false;
        }
        return shared || !(t->has_created_by && made_by_user(rt, t));
}

static bool frame_matches(const struct leakscan_frame *f, const char *pattern, const char *module)
{
        return (!pattern || glob(pattern, f->function)) && (!module || module_glob(module, f->module));
}

static bool frames_match(const struct leakscan_frame *frames, size_t n, const char *pattern, const char *module)
{
        for (size_t i = 0; i < n; i++)
                if (frame_matches(&frames[i], pattern, module))
                        return true;
        return false;
}

static bool rule_matches(const struct rule *r, const struct leakscan_thread *t)
{
        switch (r->kind) {
        case RULE_TOP:
                return t->top_frame < t->n_frames && frame_matches(&t->frames[t->top_frame], r->pattern, r->module);
        case RULE_ANY:
                return frames_match(t->frames, t->n_frames, r->pattern, r->module);
        case RULE_CREATED_BY:
                return frames_match(t->created_by, t->n_created_by, r->pattern, r->module);
        case RULE_NAME:
                return glob(r->pattern, t->name) &&
                       (!r->module || frames_match(t->frames, t->n_frames, NULL, r->module));
        case RULE_MODULE:
                return frames_match(t->frames, t->n_frames, NULL, r->pattern);
        case RULE_ENTRY: {
                ssize_t e = entry_frame(t);
                if (e < 0)
                        return false;
                const struct leakscan_frame *f = &t->frames[e];
                /* a nameless entry matches "*" in its module only */
                if (!f->function)
                        return r->module && streq(r->pattern, "*") && module_glob(r->module, f->module);
                return frame_matches(f, r->pattern, r->module);
        }
        case RULE_RUNTIME:
                return r->runtime && runtime_idle(r->runtime, t);
        default:
                return false;
        }
}

const struct rule *rules_match(const struct rule_set *set, const struct leakscan_thread *t)
{
        for (size_t i = 0; i < set->n; i++)
                if (rule_matches(&set->rules[i], t))
                        return &set->rules[i];
        return NULL;
}

char *rules_describe(const struct rule *r)
{
        char *s = NULL;
        if (asprintf(&s, "%s:%s%s%s (%s)", kind_names[r->kind], r->pattern, r->module ? " in " : "",
                     r->module ? r->module : "", r->origin) < 0)
                return NULL;
        return s;
}

/* Appends to s (of room for 2 * strlen(name) + 1) name as a glob that
 * matches exactly it, readable back from a suppressions line. */
static void escape_glob(char *s, const char *name)
{
        size_t o = 0;
        for (const char *p = name; *p; p++) {
                unsigned char c = (unsigned char) *p;
                bool blank_before = p > name && (p[-1] == ' ' || p[-1] == '\t');
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        s[o++] = '?';   /* a line break cannot be escaped: any one character */
                else if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || (c == '#' && blank_before) ||
                         ((c == ' ' || c == '\t') && (!p[1] || startswith(p + 1, "in ") || p == name))) {
                        s[o++] = '\\';
                        s[o++] = (char) c;
                } else
                        s[o++] = (char) c;
        }
        s[o] = 0;
}

char *rules_suggest(const struct leakscan_thread *t)
{
        const struct leakscan_frame *top = t->top_frame < t->n_frames ? &t->frames[t->top_frame] : NULL;
        const char *kind, *name;
        if (top && top->function)
                kind = "top", name = top->function;
        else if (top && top->module)
                kind = "module", name = base_name(top->module);
        else if (t->name[0])
                kind = "name", name = t->name;
        else
                return NULL;
        size_t klen = strlen(kind);
        char *s = malloc(klen + 1 + 2 * strlen(name) + 1);
        if (!s)
                return NULL;
        memcpy(s, kind, klen);
        s[klen] = ':';
        escape_glob(s + klen + 1, name);
        return s;
}

/* Ignore rules; see rules.h.  The built-in list documents, per entry, the
 * runtime and why its threads outlive their work. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"

static const char *const kind_names[_RULE_KIND_MAX] = {
        [RULE_TOP] = "top",
        [RULE_ANY] = "any",
        [RULE_CREATED_BY] = "created-by",
        [RULE_NAME] = "name",
        [RULE_MODULE] = "module",
        [RULE_ENTRY] = "entry",
};

const char *rule_kind_to_string(enum rule_kind kind)
{
        return (unsigned) kind < _RULE_KIND_MAX ? kind_names[kind] : "?";
}

/* Long-lived pool threads of common runtimes: idle, blocked for good by
 * design, joined (if ever) at library unload.  Entry rules match a thread
 * whose entry function (the frame below glibc's start_thread) lies in the
 * runtime's library: a user's thread cannot start there, so a stripped
 * library's nameless entry matches too, unless the library also starts the
 * user's threads (libuv, GLib), where the function must be named.  Name
 * rules match the name the runtime gives its threads, with a frame in its
 * library. */
static const struct default_rule {
        enum rule_kind kind;
        const char *pattern, *module;
        bool need_function;
        const char *runtime, *why;
} default_rules[] = {
        { RULE_ENTRY, "gomp_thread_start", "libgomp.so*", false, "OpenMP (libgomp)",
          "the worker team is kept for the next parallel region" },
        { RULE_ENTRY, "blas_thread_server", "libopenblas*.so*", false, "OpenBLAS",
          "BLAS worker threads wait for the next call" },
        { RULE_NAME, "gmain", "libglib-2.0.so*", false, "GLib",
          "the worker main context runs for the life of the process" },
        { RULE_NAME, "pool-*", "libglib-2.0.so*", false, "GLib",
          "GThreadPool workers (and pool-spawner) wait for work" },
        { RULE_NAME, "gdbus", "libgio-2.0.so*", false, "GLib (GIO)",
          "the D-Bus worker serves every connection" },
        { RULE_ENTRY, "worker", "libuv.so*", true, "libuv",
          "the threadpool serves uv_queue_work and file system requests" },
        { RULE_NAME, "libuv-worker", "libuv.so*", false, "libuv (1.50 and later)",
          "the threadpool serves uv_queue_work and file system requests" },
        { RULE_ENTRY, "background_thread_entry", "libjemalloc.so*", false, "jemalloc",
          "\"jemalloc_bg_thd\" purges dirty pages in the background" },
        { RULE_ENTRY, "*", "libc.so*", false, "glibc",
          "its own helper threads: SIGEV_THREAD timers (timer_helper_thread), POSIX AIO "
          "(handle_fildes_io), getaddrinfo_a (handle_requests)" },
        { RULE_ENTRY, "*", "librt.so*", false, "glibc before 2.34 (librt)",
          "SIGEV_THREAD timers and POSIX AIO helper threads" },
        { RULE_ENTRY, "*", "libanl.so*", false, "glibc before 2.34 (libanl)",
          "the getaddrinfo_a helper thread" },
        { RULE_NAME, "grpc_global_tim", "libgrpc*.so*", false, "gRPC", "the global timer thread" },
        { RULE_NAME, "default-executo", "libgrpc*.so*", false, "gRPC", "the default executor's threads" },
        { RULE_NAME, "resolver-execut", "libgrpc*.so*", false, "gRPC", "the resolver executor's threads" },
        { RULE_NAME, "event_engine", "libgrpc*.so*", false, "gRPC", "EventEngine's thread pool" },
        { RULE_ENTRY, "*", "libcuda.so*", false, "CUDA",
          "the driver's own threads (cuda-EvtHandlr, in poll for the life of the context)" },
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

int rules_add(struct rule_set *set, enum rule_kind kind, const char *pattern, const char *module,
              const char *origin)
{
        struct rule *nr = realloc(set->rules, (set->n + 1) * sizeof *nr);
        if (!nr)
                return -ENOMEM;
        set->rules = nr;
        struct rule r = {
                .kind = kind,
                .pattern = strdup(pattern),
                .module = module ? strdup(module) : NULL,
                .origin = strdup(origin),
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

int rules_parse(const char *text, enum rule_kind *ret_kind, const char **ret_pattern, const char **ret_error)
{
        const char *colon = strchr(text, ':');
        if (!colon) {
                *ret_error = "expected KIND:PATTERN (top, any, created-by, name or module)";
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
        *ret_error = "unknown kind: use top, any, created-by, name or module";
        return -EINVAL;
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
        unsigned lineno = 0;
        for (char *line = text, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                lineno++;
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = 0;
                /* trim */
                while (*line == ' ' || *line == '\t')
                        line++;
                size_t len = strlen(line);
                while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
                        line[--len] = 0;
                if (!*line)
                        continue;
                enum rule_kind kind;
                const char *pattern, *why;
                if (rules_parse(line, &kind, &pattern, &why) < 0) {
                        if (asprintf(ret_error, "%s:%u: %s: \"%s\"", path, lineno, why, line) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                char origin[512];
                snprintf(origin, sizeof origin, "%s:%u", path, lineno);
                if (rules_add(set, kind, pattern, NULL, origin) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int rules_add_defaults(struct rule_set *set)
{
        for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++) {
                const struct default_rule *d = &default_rules[i];
                char origin[128];
                snprintf(origin, sizeof origin, "default: %s", d->runtime);
                if (rules_add(set, d->kind, d->pattern, d->module, origin) < 0)
                        return -ENOMEM;
                set->rules[set->n - 1].need_function = d->need_function;
        }
        return 0;
}

void rules_print_defaults(FILE *f)
{
        for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++) {
                const struct default_rule *d = &default_rules[i];
                fprintf(f, "%s:%s in %s\t# %s: %s\n", kind_names[d->kind], d->pattern, d->module, d->runtime, d->why);
        }
}

static bool glob(const char *pattern, const char *s)
{
        return s && fnmatch(pattern, s, 0) == 0;
}

/* A module glob matches the file name, or the whole path. */
static bool module_glob(const char *pattern, const char *path)
{
        if (!path)
                return false;
        const char *base = strrchr(path, '/');
        return glob(pattern, base ? base + 1 : path) || glob(pattern, path);
}

static bool frames_match(const struct leakscan_frame *frames, size_t n, const char *pattern, const char *module)
{
        for (size_t i = 0; i < n; i++)
                if ((!pattern || glob(pattern, frames[i].function)) && (!module || module_glob(module, frames[i].module)))
                        return true;
        return false;
}

static bool rule_matches(const struct rule *r, const struct leakscan_thread *t)
{
        switch (r->kind) {
        case RULE_TOP:
                return t->top_frame < t->n_frames && glob(r->pattern, t->frames[t->top_frame].function);
        case RULE_ANY:
                return frames_match(t->frames, t->n_frames, r->pattern, r->module);
        case RULE_CREATED_BY:
                return frames_match(t->created_by, t->n_created_by, r->pattern, r->module);
        case RULE_NAME:
                return glob(r->pattern, t->name) &&
                       (!r->module || frames_match(t->frames, t->n_frames, NULL, r->module));
        case RULE_MODULE:
                return frames_match(t->frames, t->n_frames, NULL, r->pattern);
        case RULE_ENTRY:
                /* the frame below glibc's start_thread: the thread's start
                 * routine (its outermost frame if inlined ones precede it) */
                for (size_t i = 1; i < t->n_frames; i++) {
                        if (!t->frames[i].function || !streq(t->frames[i].function, "start_thread"))
                                continue;
                        const struct leakscan_frame *e = &t->frames[i - 1];
                        if (!module_glob(r->module, e->module))
                                return false;
                        return e->function ? glob(r->pattern, e->function) : !r->need_function;
                }
                return false;
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

char *rules_suggest(const struct leakscan_thread *t)
{
        char *s = NULL;
        const struct leakscan_frame *top = t->top_frame < t->n_frames ? &t->frames[t->top_frame] : NULL;
        int r;
        if (top && top->function)
                r = asprintf(&s, "top:%s", top->function);
        else if (top && top->module)
                r = asprintf(&s, "module:%s", strrchr(top->module, '/') ? strrchr(top->module, '/') + 1 : top->module);
        else if (t->name[0])
                r = asprintf(&s, "name:%s", t->name);
        else
                return NULL;
        return r < 0 ? NULL : s;
}

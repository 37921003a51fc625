/* Symbolizer; see symbolize.h.  Inlined frames are expanded the way eu-stack
 * -i does: the DWARF scopes at the PC, innermost first, each inlined
 * subroutine's call site giving the location in the function around it. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "demangle-rust.h"
#include "gopclntab.h"
#include "symbolize.h"
#include "util.h"

/* libstdc++'s demangler (linked in for C++ targets' names). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct symbol_entry {
        uint64_t key;           /* pc << 1 | activation; 0 = empty slot */
        struct leakscan_frame *frames;
        size_t n;
};

struct symbolizer {
        struct modules *mods;
        bool system_lines;
        struct symbol_entry *table;
        size_t size, used;      /* open addressing, size a power of two */
};

/* ---- places known across processes ----
 *
 * Under --at-exit --follow-forks one run judges every process of a test
 * suite, and most map the same libc, libglib, test binary: looking a place
 * up anew in each (libdw searches a symbol table linearly, and opens
 * libc6-dbg's 4 MiB file for its table) cost half of leakscan's time per
 * process.  What a lookup yields depends only on the bytes it reads: the
 * module's file, the separate debug info by build-id, and where in the
 * module the address lies.  So the frames of a place are kept, for the
 * life of the process, keyed by those (modules_file_id: device, inode,
 * size and times of each file, and the build-id), never by a path or an
 * address alone: another build of a library at the same path, or the file
 * rewritten in place, is another key.  What is the process's own (the pc,
 * the module's name as this process maps it, the offset) is filled in per
 * process.  A module whose DWARF is read (not a system library's) is kept
 * only when it has no separate debug info nor a DWARF alt link, whose file
 * the identity does not cover.  Bounded: when full, places are looked up
 * as before. */

static int frame_append(struct leakscan_frame **frames, size_t *n, const struct leakscan_frame *f);

struct place_key {
        struct module_file_id id;
        uint64_t rel;           /* the looked-up address minus the module's start */
        uint32_t want_dwarf;
        uint32_t unused;
};

struct place {
        bool used;
        struct place_key key;
        struct symbolize_place_name *frames;    /* strings owned (freed through a cast) */
        size_t n;
        size_t seq;             /* its index in the order kept */
};

#define PLACES_SIZE 16384u      /* slots, a power of two */
#define PLACES_MAX (PLACES_SIZE / 2)
/* The names kept, in bytes: places handed back by analysers (which parsed
 * what the targets control) may not grow the supervisor without bound, a
 * place's names being up to 64 pairs of 4 KiB strings */
#define PLACES_MAX_BYTES (32u << 20)

static struct {
        pthread_mutex_t lock;
        bool disabled;
        struct place *slots;    /* PLACES_SIZE of them, allocated on first use */
        uint32_t *order;        /* the slots in the order kept (PLACES_MAX) */
        size_t used;
        size_t bytes;           /* of the names kept (PLACES_MAX_BYTES) */
        size_t mark;            /* symbolize_places_mark: places kept before it */
        size_t hits;            /* lookups answered by those */
} places = { .lock = PTHREAD_MUTEX_INITIALIZER };

void symbolize_places_enable(bool enable)
{
        __atomic_store_n(&places.disabled, !enable, __ATOMIC_RELAXED);
}

size_t symbolize_places_count(void)
{
        pthread_mutex_lock(&places.lock);
        size_t n = places.used;
        pthread_mutex_unlock(&places.lock);
        return n;
}

void symbolize_places_mark(void)
{
        pthread_mutex_lock(&places.lock);
        places.mark = places.used;
        places.hits = 0;
        pthread_mutex_unlock(&places.lock);
}

size_t symbolize_places_hits(void)
{
        pthread_mutex_lock(&places.lock);
        size_t n = places.hits;
        pthread_mutex_unlock(&places.lock);
        return n;
}

int symbolize_places_get(size_t i, struct symbolize_place *ret)
{
        pthread_mutex_lock(&places.lock);
        int r = -ENOENT;
        if (i < places.used) {
                const struct place *p = &places.slots[places.order[i]];
                *ret = (struct symbolize_place) { .id = p->key.id, .rel = p->key.rel,
                                                  .want_dwarf = p->key.want_dwarf, .names = p->frames, .n = p->n };
                r = 0;
        }
        pthread_mutex_unlock(&places.lock);
        return r;
}

static uint64_t place_hash(const struct place_key *k)
{
        /* FNV-1a over the key's bytes */
        const unsigned char *b = (const unsigned char *) k;
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < sizeof *k; i++)
                h = (h ^ b[i]) * 0x100000001b3ull;
        return h;
}

/* The slot of key (empty if unknown), or NULL when there is no table.
 * Called with the lock held. */
static struct place *place_slot(const struct place_key *key)
{
        if (!places.slots)
                return NULL;
        for (uint64_t h = place_hash(key); ; h++) {
                struct place *p = &places.slots[h & (PLACES_SIZE - 1)];
                if (!p->used || memcmp(&p->key, key, sizeof *key) == 0)
                        return p;
        }
}

/* Appends to *frames the frames known for key, each a copy of base (the
 * process's own fields) with the place's names.  Returns 1 when the place
 * is known, 0 when not, or -ENOMEM. */
static int places_find(const struct place_key *key, const struct leakscan_frame *base,
                       struct leakscan_frame **frames, size_t *n)
{
        pthread_mutex_lock(&places.lock);
        const struct place *p = __atomic_load_n(&places.disabled, __ATOMIC_RELAXED) ? NULL : place_slot(key);
        int r = p && p->used;
        places.hits += r > 0 && p->seq < places.mark;
        for (size_t i = 0; r > 0 && i < p->n; i++) {
                struct leakscan_frame f = *base;
                f.module = base->module ? strdup(base->module) : NULL;
                f.function = p->frames[i].function ? strdup(p->frames[i].function) : NULL;
                f.file = p->frames[i].file ? strdup(p->frames[i].file) : NULL;
                f.line = p->frames[i].line;
                f.inlined = p->frames[i].inlined;
                if ((base->module && !f.module) || (p->frames[i].function && !f.function) ||
                    (p->frames[i].file && !f.file) || frame_append(frames, n, &f) < 0) {
                        free(f.module); free(f.function); free(f.file);
                        r = -ENOMEM;
                }
        }
        pthread_mutex_unlock(&places.lock);
        return r;
}

static void place_frames_free(struct symbolize_place_name *pf, size_t n)
{
        for (size_t i = 0; pf && i < n; i++) {
                free((char *) pf[i].function);
                free((char *) pf[i].file);
        }
        free(pf);
}

/* Remembers copies of names[0..n) for key.  Returns 1 when kept, 0 when
 * the place was known, there is no room or the table is off, or -ENOMEM. */
static int places_add_names(const struct place_key *key, const struct symbolize_place_name *names, size_t n)
{
        struct symbolize_place_name *pf = calloc(n + 1, sizeof *pf);
        if (!pf)
                return -ENOMEM;
        size_t bytes = (n + 1) * sizeof *pf;
        for (size_t i = 0; i < n; i++) {
                bytes += (names[i].function ? strlen(names[i].function) + 1 : 0) +
                         (names[i].file ? strlen(names[i].file) + 1 : 0);
                pf[i].function = names[i].function ? strdup(names[i].function) : NULL;
                pf[i].file = names[i].file ? strdup(names[i].file) : NULL;
                pf[i].line = names[i].line;
                pf[i].inlined = names[i].inlined;
                if ((names[i].function && !pf[i].function) || (names[i].file && !pf[i].file)) {
                        place_frames_free(pf, n);
                        return -ENOMEM;
                }
        }
        pthread_mutex_lock(&places.lock);
        bool disabled = __atomic_load_n(&places.disabled, __ATOMIC_RELAXED);
        if (!places.slots && !disabled) {
                places.slots = calloc(PLACES_SIZE, sizeof *places.slots);
                places.order = places.slots ? calloc(PLACES_MAX, sizeof *places.order) : NULL;
                if (!places.order) {
                        free(places.slots);
                        places.slots = NULL;
                }
        }
        struct place *p = disabled || places.used >= PLACES_MAX || bytes > PLACES_MAX_BYTES - places.bytes
                                  ? NULL : place_slot(key);
        int r = 0;
        if (p && !p->used) {
                *p = (struct place) { .used = true, .key = *key, .frames = pf, .n = n, .seq = places.used };
                places.order[places.used++] = (uint32_t) (p - places.slots);
                places.bytes += bytes;
                pf = NULL;
                r = 1;
        }
        pthread_mutex_unlock(&places.lock);
        place_frames_free(pf, n);
        return r;
}

/* Remembers the names of frames[0..n) for key; without memory or room,
 * nothing is remembered. */
static void places_add(const struct place_key *key, const struct leakscan_frame *frames, size_t n)
{
        struct symbolize_place_name stack[8] = { { 0 } };
        struct symbolize_place_name *names = n <= ARRAY_SIZE(stack) ? stack : calloc(n, sizeof *names);
        if (!names)
                return;
        for (size_t i = 0; i < n; i++)
                names[i] = (struct symbolize_place_name) { frames[i].function, frames[i].file, frames[i].line,
                                                           frames[i].inlined };
        (void) places_add_names(key, names, n);
        if (names != stack)
                free(names);
}

int symbolize_places_add(const struct symbolize_place *p)
{
        if (p->n == 0)
                return 0;
        struct place_key key;
        memset(&key, 0, sizeof key);    /* compared whole */
        key.id = p->id;
        key.rel = p->rel;
        key.want_dwarf = p->want_dwarf;
        return places_add_names(&key, p->names, p->n);
}

struct symbolizer *symbolizer_new(struct modules *mods, bool system_lines)
{
        struct symbolizer *s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->mods = mods;
        s->system_lines = system_lines;
        s->size = 256;
        s->table = calloc(s->size, sizeof *s->table);
        if (!s->table) {
                free(s);
                return NULL;
        }
        return s;
}

void symbolizer_free(struct symbolizer *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->size; i++)
                if (s->table[i].key)
                        frames_free(s->table[i].frames, s->table[i].n);
        free(s->table);
        free(s);
}

char *symbolize_demangle(const char *name)
{
        if (!name)
                return NULL;
        /* .symtab names carry their symbol version ("pthread_mutex_lock@GLIBC_2.2.5",
         * "__libc_start_main@@GLIBC_2.34"): not part of the function's name. */
        if (startswith(name, "__GI_"))
                name += 5;      /* glibc's hidden internal alias of the same function */
        _cleanup_free_ char *plain = strndup(name, strcspn(name, "@"));
        if (!plain)
                return NULL;
        /* Rust's names before C++'s: libstdc++ reads a legacy Rust name as
         * a C++ one and leaves its hash and "$LT$" escapes in */
        char *rust = NULL;
        if (demangle_rust(plain, &rust) == 0)
                return rust;
        if (startswith(plain, "_Z")) {
                int status = -1;
                char *d = __cxa_demangle(plain, NULL, NULL, &status);
                if (d && status == 0)
                        return d;
                free(d);
        }
        return TAKE_PTR(plain);
}

static const char *die_function_name(Dwarf_Die *die)
{
        Dwarf_Attribute attr;
        const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
        if (!name)
                name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
        if (!name)
                name = dwarf_diename(die);
        if (!name) {
                Dwarf_Die origin;
                if (dwarf_formref_die(dwarf_attr(die, DW_AT_abstract_origin, &attr), &origin))
                        name = dwarf_diename(&origin);
        }
        return name;
}

char *symbolize_source_path(const char *file, const char *comp_dir)
{
        if (!file)
                return NULL;
        char *joined = NULL;
        if (file[0] == '/' || !comp_dir || comp_dir[0] != '/')
                joined = strdup(file);
        else if (asprintf(&joined, "%s/%s", comp_dir, file) < 0)
                joined = NULL;
        if (!joined || joined[0] != '/')
                return joined;
        /* lexical normalization of "." and ".." components, in place */
        char *out = joined;
        size_t len = 0;
        for (const char *p = joined; *p; ) {
                while (*p == '/')
                        p++;
                const char *end = strchrnul(p, '/');
                size_t n = (size_t) (end - p);
                if (n == 0 || (n == 1 && p[0] == '.')) {
                        /* skip */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                } else {
                        out[len++] = '/';
                        memmove(out + len, p, n);
                        len += n;
                }
                p = end;
        }
        if (len == 0)
                out[len++] = '/';
        out[len] = 0;
        return joined;
}

static int frame_append(struct leakscan_frame **frames, size_t *n, const struct leakscan_frame *f)
{
        struct leakscan_frame *nf = realloc(*frames, (*n + 1) * sizeof *nf);
        if (!nf)
                return -ENOMEM;
        *frames = nf;
        nf[*n] = *f;
        (*n)++;
        return 0;
}

/* The compile unit that covers addr (module-relative to the DWARF: addr -
 * *ret_bias), or NULL.  libdw finds it through .debug_aranges; clang 14 and
 * later emit DWARF 5 without them, and elfutils 0.188 then finds no unit
 * although the unit's own DW_AT_ranges or low_pc/high_pc cover the address:
 * so walk the units and ask each. */
static Dwarf_Die *module_cu_for_pc(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *ret_bias)
{
        Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, ret_bias);
        if (cu)
                return cu;
        Dwarf_Addr bias = 0;
        while ((cu = dwfl_module_nextcu(mod, cu, &bias)))
                if (dwarf_haspc(cu, addr - bias) > 0) {
                        *ret_bias = bias;
                        return cu;
                }
        return NULL;
}

/* Fills the uncached frames for one pc. */
static int symbolize_lookup(struct symbolizer *s, uint64_t pc, bool activation,
                            struct leakscan_frame **ret, size_t *ret_n)
{
        struct leakscan_frame *frames = NULL;
        size_t n = 0;
        uint64_t lookup = activation || pc == 0 ? pc : pc - 1;
        Dwfl_Module *mod = dwfl_addrmodule(s->mods->dwfl, lookup);

        struct leakscan_frame base = { .pc = pc };
        const char *symname = NULL;
        /* A system library's DWARF (libc6-dbg's is compressed, 6 MiB of
         * .debug_info) costs more to load than the whole rest of a snapshot,
         * and its lines and inlined helpers say little to the user: its
         * symbol table names the function, which is what classification
         * needs.  Lines there only on request. */
        bool want_dwarf = false;
        struct place_key key;
        bool keyed = false;
        if (mod) {
                Dwarf_Addr start;
                const char *modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
                base.module = modname ? strdup(modname) : NULL;
                if (modname && !base.module)
                        return -ENOMEM;
                base.offset = pc - start;
                base.system = modules_path_is_system(modname);
                want_dwarf = s->system_lines || !base.system;
                memset(&key, 0, sizeof key);
                keyed = !__atomic_load_n(&places.disabled, __ATOMIC_RELAXED) && modules_file_id(mod, &key.id) == 0 &&
                        (!want_dwarf || (!key.id.has_debug && !key.id.alt_link));
                if (keyed) {
                        key.rel = lookup - start;
                        key.want_dwarf = want_dwarf;
                        int r = places_find(&key, &base, &frames, &n);
                        if (r != 0) {
                                free(base.module);
                                if (r < 0) {
                                        frames_free(frames, n);
                                        return -ENOMEM;
                                }
                                *ret = frames;
                                *ret_n = n;
                                return 0;
                        }
                }
                GElf_Off off;
                GElf_Sym sym;
                symname = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
        }

        /* Line table for the innermost location. */
        const char *file = NULL;
        int line = 0;
        Dwfl_Line *dl = want_dwarf ? dwfl_module_getsrc(mod, lookup) : NULL;
        if (dl)
                file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

        Dwarf_Addr bias = 0;
        Dwarf_Die *cudie = want_dwarf ? module_cu_for_pc(mod, lookup, &bias) : NULL;
        Dwarf_Line *cu_line = !dl && cudie ? dwarf_getsrc_die(cudie, lookup - bias) : NULL;
        if (cu_line) {
                file = dwarf_linesrc(cu_line, NULL, NULL);
                (void) dwarf_lineno(cu_line, &line);
        }
        /* dwarf_getscopes follows an inlined subroutine into its abstract
         * definition; the DIE-tree parents of the innermost scope
         * (dwarf_getscopes_die) lead instead through the functions it was
         * inlined into, which is the call chain we want. */
        Dwarf_Die *scopes = NULL;
        int nscopes = cudie ? dwarf_getscopes(cudie, lookup - bias, &scopes) : 0;
        if (nscopes > 0) {
                Dwarf_Die innermost = scopes[0];
                free(scopes);
                scopes = NULL;
                nscopes = dwarf_getscopes_die(&innermost, &scopes);
        }
        Dwarf_Files *files = NULL;
        const char *comp_dir = NULL;
        if (cudie) {
                Dwarf_Attribute attr;
                (void) dwarf_getsrcfiles(cudie, &files, NULL);
                comp_dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
        }

        for (int i = 0; i < nscopes; i++) {
                int tag = dwarf_tag(&scopes[i]);
                if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
                        continue;
                struct leakscan_frame f = base;
                f.module = base.module ? strdup(base.module) : NULL;
                /* The outermost function's ELF symbol is the surest name. */
                const char *name = tag == DW_TAG_subprogram && symname ? symname : die_function_name(&scopes[i]);
                f.function = symbolize_demangle(name);
                f.file = symbolize_source_path(file, comp_dir);
                f.line = line;
                f.inlined = tag == DW_TAG_inlined_subroutine;
                if (frame_append(&frames, &n, &f) < 0) {
                        free(f.module); free(f.function); free(f.file);
                        goto oom;
                }
                if (tag == DW_TAG_subprogram)
                        break;
                /* The caller's location is this inline's call site. */
                Dwarf_Attribute attr;
                Dwarf_Word call_file = 0, call_line = 0;
                file = NULL;
                line = 0;
                if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &call_file) == 0 && files)
                        file = dwarf_filesrc(files, call_file, NULL, NULL);
                if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &call_line) == 0)
                        line = (int) call_line;
        }
        free(scopes);
        scopes = NULL;          /* the oom path below frees it too */

        if (n == 0) {
                struct leakscan_frame f = base;
                f.module = TAKE_PTR(base.module);
                f.function = symname ? symbolize_demangle(symname) : NULL;
                f.file = symbolize_source_path(file, comp_dir);
                f.line = line;
                /* a stripped Go binary: the runtime's own table names it */
                if (!symname && !file && mod &&
                    gopclntab_symbolize(mod, lookup, &f.function, &f.file, &f.line) == -ENOMEM) {
                        free(f.module);
                        goto oom;
                }
                if (frame_append(&frames, &n, &f) < 0) {
                        free(f.module); free(f.function); free(f.file);
                        goto oom;
                }
        }
        free(base.module);
        if (keyed)
                places_add(&key, frames, n);
        *ret = frames;
        *ret_n = n;
        return 0;
oom:
        free(scopes);
        free(base.module);
        frames_free(frames, n);
        return -ENOMEM;
}

static int table_grow(struct symbolizer *s)
{
        size_t size = s->size * 2;
        struct symbol_entry *t = calloc(size, sizeof *t);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < s->size; i++) {
                if (!s->table[i].key)
                        continue;
                size_t h = (s->table[i].key * 0x9e3779b97f4a7c15ull) >> 20;
                while (t[h & (size - 1)].key)
                        h++;
                t[h & (size - 1)] = s->table[i];
        }
        free(s->table);
        s->table = t;
        s->size = size;
        return 0;
}

static char *strdup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

int symbolize_pc(struct symbolizer *s, uint64_t pc, bool activation,
                 struct leakscan_frame **frames, size_t *n)
{
        uint64_t key = pc << 1 | (activation ? 1 : 0);
        if (key == 0)
                key = 2;        /* pc 0, not activation: never an empty slot */
        if (s->used * 2 >= s->size && table_grow(s) < 0)
                return -ENOMEM;
        size_t h = (key * 0x9e3779b97f4a7c15ull) >> 20;
        struct symbol_entry *e;
        for (;; h++) {
                e = &s->table[h & (s->size - 1)];
                if (!e->key || e->key == key)
                        break;
        }
        if (!e->key) {
                int r = symbolize_lookup(s, pc, activation, &e->frames, &e->n);
                if (r < 0)
                        return r;
                e->key = key;
                s->used++;
        }
        for (size_t i = 0; i < e->n; i++) {
                struct leakscan_frame f = e->frames[i];
                f.function = strdup_or_null(e->frames[i].function);
                f.file = strdup_or_null(e->frames[i].file);
                f.module = strdup_or_null(e->frames[i].module);
                if (frame_append(frames, n, &f) < 0) {
                        free(f.function); free(f.file); free(f.module);
                        return -ENOMEM;
                }
        }
        return 0;
}

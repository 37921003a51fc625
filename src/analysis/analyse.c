/* Wait-for analysis; see analyse.h and docs/wait-for.md. */
#include <dirent.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse.h"
#include "capturer.h"
#include "snapshot.h"
#include "classify.h"
#include "symbolize.h"
#include "syscalls.h"
#include "util.h"

#define MUTEX_KIND_ROBUST 16
#define MUTEX_KIND_PI 32
#define FUTEX_TID_MASK 0x3fffffffu
#define RWLOCK_READER_SHIFT 3
#define STRUCT_PTHREAD_SPAN 4096        /* struct pthread is ~2.3 KiB at the thread pointer */

/* ---- lock words ---- */

static bool lock_read32(const struct thread_capture *t, uint64_t addr, uint32_t *ret)
{
        if (addr < t->lock_addr || addr + 4 > t->lock_addr + t->lock_len)
                return false;
        memcpy(ret, t->lock + (addr - t->lock_addr), 4);
        return true;
}

/* ---- looking threads up: sorted indexes, so that every step stays
 * linear (up to a log) in the number of threads ---- */

static int cmp_by_tid(const void *a, const void *b, void *threads)
{
        const struct leakscan_thread *t = threads;
        pid_t x = t[*(const size_t *) a].tid, y = t[*(const size_t *) b].tid;
        return (x > y) - (x < y);
}

static int cmp_by_tls(const void *a, const void *b, void *threads)
{
        const struct leakscan_thread *t = threads;
        uint64_t x = t[*(const size_t *) a].tls, y = t[*(const size_t *) b].tls;
        return (x > y) - (x < y);
}

int thread_index_init(struct thread_index *ix, const struct leakscan_thread *threads, size_t n)
{
        *ix = (struct thread_index) { .threads = threads, .n = n };
        ix->by_tid = malloc((n ? n : 1) * sizeof *ix->by_tid);
        ix->by_tls = malloc((n ? n : 1) * sizeof *ix->by_tls);
        if (!ix->by_tid || !ix->by_tls) {
                thread_index_done(ix);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                ix->by_tid[i] = i;
                if (threads[i].tls)
                        ix->by_tls[ix->n_tls++] = i;
        }
        qsort_r(ix->by_tid, n, sizeof *ix->by_tid, cmp_by_tid, (void *) threads);
        qsort_r(ix->by_tls, ix->n_tls, sizeof *ix->by_tls, cmp_by_tls, (void *) threads);
        return 0;
}

void thread_index_done(struct thread_index *ix)
{
        free(ix->by_tid);
        free(ix->by_tls);
        ix->by_tid = ix->by_tls = NULL;
}

long thread_index_by_tid(const struct thread_index *ix, pid_t tid)
{
        size_t lo = 0, hi = ix->n;
        while (tid > 0 && lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                pid_t t = ix->threads[ix->by_tid[mid]].tid;
                if (t == tid)
                        return (long) ix->by_tid[mid];
                if (t < tid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

/* The thread whose struct pthread (at its thread pointer) holds addr, or -1. */
static long thread_index_by_pthread(const struct thread_index *ix, uint64_t addr)
{
        size_t lo = 0, hi = ix->n_tls;      /* the first tls above addr */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ix->threads[ix->by_tls[mid]].tls <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0)
                return -1;
        size_t i = ix->by_tls[lo - 1];
        return addr < ix->threads[i].tls + STRUCT_PTHREAD_SPAN ? (long) i : -1;
}

/* glibc's rwlock (x86_64): __readers 0, __writers 4, __wrphase_futex 8,
 * __writers_futex 12, __pad3 16, __pad4 20, __cur_writer 24, __shared 28,
 * __rwelision 32, __pad1[7] 33, __pad2 40, __flags 48.  A waiter sleeps on
 * __writers_futex (12) while another writer holds the lock (then __readers
 * has WRLOCKED and __cur_writer names the writer), on __wrphase_futex (8)
 * while readers hold it or a phase changes (then __readers is not 0), or on
 * __readers itself.  Each candidate base must also have zero padding and
 * legal __shared and __flags. */
#define RWLOCK_WRLOCKED 2u
static bool rwlock_base(const struct thread_capture *t, uint64_t uaddr, uint64_t *ret)
{
        static const unsigned offsets[] = { 12, 8, 0 };
        for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
                uint64_t base = uaddr - offsets[i];
                uint32_t readers, pad3, pad4, writer, shared, pad2a, pad2b, flags;
                if (!lock_read32(t, base, &readers) || !lock_read32(t, base + 16, &pad3) ||
                    !lock_read32(t, base + 20, &pad4) || !lock_read32(t, base + 24, &writer) ||
                    !lock_read32(t, base + 28, &shared) || !lock_read32(t, base + 40, &pad2a) ||
                    !lock_read32(t, base + 44, &pad2b) || !lock_read32(t, base + 48, &flags))
                        continue;
                if (pad3 || pad4 || pad2a || pad2b || flags > 2 || shared > 1)
                        continue;
                if (offsets[i] == 12 && !(writer != 0 && (readers & RWLOCK_WRLOCKED)))
                        continue;
                if (offsets[i] == 8 && readers == 0)
                        continue;
                *ret = base;
                return true;
        }
        return false;
}

void analyse_lock_state(const struct thread_capture *t, struct leakscan_thread *lt, const struct thread_index *ix)
{
        if (!lt->has_wait_address)
                return;
        uint64_t uaddr = lt->wait_address;
        uint32_t w, kind, owner;
        lt->object.address = uaddr;
        /* Rust's std primitives (and others on raw futexes) keep no owner:
         * reading glibc's layout there would invent one from their data */
        if (classify_wait_is_ownerless(lt->frames, lt->n_frames))
                return;
        switch (lt->state) {
        case LEAKSCAN_STATE_MUTEX:
                /* __lock 0, __count 4, __owner 8, __nusers 12, __kind 16 */
                if (!lock_read32(t, uaddr, &w) || !lock_read32(t, uaddr + 8, &owner) ||
                    !lock_read32(t, uaddr + 16, &kind))
                        break;
                if (kind & (MUTEX_KIND_ROBUST | MUTEX_KIND_PI))
                        owner = w & FUTEX_TID_MASK;     /* the kernel's view */
                if (owner > 0 && w != 0)
                        lt->owner_tid = (pid_t) owner;
                break;
        case LEAKSCAN_STATE_RWLOCK: {
                uint64_t base;
                uint32_t readers, writer;
                if (!rwlock_base(t, uaddr, &base) || !lock_read32(t, base, &readers) ||
                    !lock_read32(t, base + 24, &writer))
                        break;
                lt->object.address = base;
                lt->owner_tid = (pid_t) writer;
                lt->has_count = true;
                lt->count = readers >> RWLOCK_READER_SHIFT;
                break;
        }
        case LEAKSCAN_STATE_JOIN: {
                /* up to glibc 2.42 the joiner sleeps on the joined thread's
                 * tid word, whose value is that TID; later on a join word;
                 * both live in the joined thread's struct pthread */
                long x = lt->has_futex_value ? thread_index_by_tid(ix, (pid_t) lt->futex_value) : -1;
                if (x < 0)
                        x = thread_index_by_pthread(ix, uaddr);
                if (x >= 0 && ix->threads[x].tid != lt->tid)
                        lt->joined_tid = ix->threads[x].tid;
                break;
        }
        case LEAKSCAN_STATE_SEMAPHORE:
                /* sem_t: 64-bit data, the value in its low half */
                if (lock_read32(t, uaddr, &w)) {
                        lt->has_count = true;
                        lt->count = w;
                }
                break;
        default:
                break;
        }
}

/* ---- naming the object ---- */

/* The address a variable's location expression starts with: DW_OP_addr,
 * or in DWARF 5 (clang's default) an index into .debug_addr. */
static bool location_address(Dwarf_Attribute *attr, Dwarf_Op *op, uint64_t *ret)
{
        if (op->atom == DW_OP_addr) {
                *ret = op->number;
                return true;
        }
        if (op->atom != DW_OP_addrx && op->atom != DW_OP_GNU_addr_index)
                return false;
        Dwarf_Attribute result;
        Dwarf_Addr a;
        if (dwarf_getlocation_attr(attr, op, &result) != 0 || dwarf_formaddr(&result, &a) != 0)
                return false;
        *ret = a;
        return true;
}

/* The file a DIE was declared in.  Not dwarf_decl_file: DWARF 5 numbers
 * files from 0, and elfutils 0.188 takes a DW_AT_decl_file of 0 for none. */
static const char *die_decl_file(Dwarf_Die *cu, Dwarf_Die *die)
{
        Dwarf_Attribute attr;
        Dwarf_Word index;
        Dwarf_Files *files;
        size_t n;
        if (dwarf_formudata(dwarf_attr(die, DW_AT_decl_file, &attr), &index) != 0 ||
            dwarf_getsrcfiles(cu, &files, &n) != 0 || index >= n)
                return NULL;
        return dwarf_filesrc(files, index, NULL, NULL);
}

/* Where global variable name (at address addr of module mod) is defined,
 * from the top-level variables of the module's CUs. */
static void variable_definition(Dwfl_Module *mod, const char *name, uint64_t addr,
                                char **ret_file, int *ret_line)
{
        Dwarf_Addr bias;
        Dwarf_Die *cu = NULL;
        while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
                Dwarf_Die die;
                if (dwarf_child(cu, &die) != 0)
                        continue;
                do {
                        if (dwarf_tag(&die) != DW_TAG_variable)
                                continue;
                        const char *n = dwarf_diename(&die);
                        if (!n || !streq(n, name))
                                continue;
                        Dwarf_Attribute attr;
                        Dwarf_Op *expr;
                        size_t len;
                        uint64_t at;
                        if (!dwarf_attr(&die, DW_AT_location, &attr) ||
                            dwarf_getlocation(&attr, &expr, &len) != 0 || len < 1 ||
                            !location_address(&attr, &expr[0], &at) || at + bias != addr)
                                continue;
                        const char *file = die_decl_file(cu, &die);
                        int line = 0;
                        if (file && dwarf_decl_line(&die, &line) == 0) {
                                Dwarf_Attribute ca;
                                *ret_file = symbolize_source_path(
                                        file, dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &ca)));
                                *ret_line = line;
                        }
                        return;
                } while (dwarf_siblingof(&die, &die) == 0);
        }
}

/* Which thread's stack each stack mapping is: built once per process, so
 * that naming an object on a stack costs a lookup, not a pass over every
 * thread. */
struct stack_owner {
        const struct map_entry *map;
        size_t thread;
};

static int cmp_stack_owner(const void *a, const void *b)
{
        const struct map_entry *x = ((const struct stack_owner *) a)->map, *y = ((const struct stack_owner *) b)->map;
        return (x > y) - (x < y);
}

struct naming {
        struct modules *mods;
        const struct leakscan_process *p;
        struct stack_owner *owners;     /* by mapping */
        size_t n_owners;
        size_t *named;                  /* hash of objects named so far: thread index + 1, or 0 */
        size_t n_named;                 /* slots, a power of two */
};

static int naming_init(struct naming *nm, struct modules *mods, const struct leakscan_process *p)
{
        *nm = (struct naming) { .mods = mods, .p = p, .n_named = 16 };
        while (nm->n_named < 2 * p->n_threads)
                nm->n_named *= 2;
        nm->owners = malloc((p->n_threads ? p->n_threads : 1) * sizeof *nm->owners);
        nm->named = calloc(nm->n_named, sizeof *nm->named);
        if (!nm->owners || !nm->named)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *x = &p->threads[i];
                const struct map_entry *m = x->n_frames ?
                        map_entries_find(mods->maps, mods->n_maps, x->frames[0].sp) : NULL;
                if (m)
                        nm->owners[nm->n_owners++] = (struct stack_owner) { m, i };
        }
        qsort(nm->owners, nm->n_owners, sizeof *nm->owners, cmp_stack_owner);
        return 0;
}

static void naming_done(struct naming *nm)
{
        free(nm->owners);
        free(nm->named);
}

/* Whether addr lies in the frames unwound on x's stack: from below its
 * stack pointer (the red zone) up to the outermost frame of the run whose
 * stack pointers ascend (past a stack switch lie another stack's). */
static bool in_live_frames(const struct leakscan_thread *x, uint64_t addr)
{
        uint64_t lo = x->frames[0].sp, hi = lo;
        for (size_t k = 1; k < x->n_frames && x->frames[k].sp >= hi; k++)
                hi = x->frames[k].sp;
        return addr + 128 >= lo && addr < hi;
}

/* The thread whose stack holds addr, in mapping m, or NULL.  A mapping
 * holding one thread's stack pointer is that thread's stack (glibc maps
 * each stack on its own, the main thread's is [stack]).  One that holds
 * several, or the process heap, is a region that stacks were carved from
 * (Go's heap arenas, coroutine stacks): only their live frames count. */
static const struct leakscan_thread *naming_stack_owner(const struct naming *nm, const struct map_entry *m,
                                                        uint64_t addr)
{
        struct stack_owner key = { m, 0 };
        const struct stack_owner *o = bsearch(&key, nm->owners, nm->n_owners, sizeof key, cmp_stack_owner);
        if (!o)
                return NULL;
        const struct stack_owner *first = o, *end = o + 1, *stop = nm->owners + nm->n_owners;
        while (first > nm->owners && first[-1].map == m)
                first--;
        while (end < stop && end->map == m)
                end++;
        if (end - first == 1 && !streq(m->path, "[heap]"))
                return &nm->p->threads[o->thread];
        for (o = first; o < end; o++)
                if (in_live_frames(&nm->p->threads[o->thread], addr))
                        return &nm->p->threads[o->thread];
        return NULL;
}

static int analyse_object(const struct naming *nm, struct leakscan_thread *lt)
{
        struct leakscan_wait_object *o = &lt->object;
        uint64_t addr = o->address;
        o->kind = leakscan_state_to_string(lt->state);
        lt->has_object = true;

        Dwfl_Module *mod = dwfl_addrmodule(nm->mods->dwfl, addr);
        GElf_Sym sym;
        GElf_Word shndx;
        const char *name = mod ? dwfl_module_addrsym(mod, addr, &sym, &shndx) : NULL;
        if (name && GELF_ST_TYPE(sym.st_info) == STT_OBJECT) {
                _cleanup_free_ char *plain = symbolize_demangle(name);
                GElf_Addr bias = 0;
                (void) dwfl_module_getelf(mod, &bias);
                uint64_t start = sym.st_value;
                o->region = LEAKSCAN_REGION_GLOBAL;
                /* a lock whose futex word lies inside it (a condvar's at 40)
                 * is the whole variable; in an array or a larger struct the
                 * offset tells which one */
                if (addr > start && sym.st_size <= 64)
                        o->address = addr = start;
                if (addr > start) {
                        if (asprintf(&o->symbol, "%s+%" PRIu64, plain ? plain : name, addr - start) < 0)
                                return -ENOMEM;
                } else {
                        o->symbol = TAKE_PTR(plain);
                }
                const char *modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                if (!modules_path_is_system(modname))
                        variable_definition(mod, name, start, &o->file, &o->line);
                return 0;
        }
        if (mod) {
                o->region = LEAKSCAN_REGION_GLOBAL;
                return 0;
        }

        /* on a thread's stack: the mapping of some thread's stack pointer */
        const struct map_entry *m = map_entries_find(nm->mods->maps, nm->mods->n_maps, addr);
        const struct leakscan_thread *x = m ? naming_stack_owner(nm, m, addr) : NULL;
        if (x) {
                o->region = LEAKSCAN_REGION_STACK;
                o->stack_tid = x->tid;
                /* the frame whose locals hold it: the outermost one whose
                 * stack pointer is at or below the address while its
                 * caller's is above (past the outermost frame lies the
                 * thread's descriptor, glibc's struct pthread, no frame's) */
                const struct leakscan_frame *in = NULL;
                for (size_t k = 0; k + 1 < x->n_frames; k++)
                        if (x->frames[k].sp && x->frames[k].sp <= addr && x->frames[k + 1].sp > addr)
                                in = &x->frames[k];
                if (in && in->function && !(o->stack_function = strdup(in->function)))
                        return -ENOMEM;
                return 0;
        }
        o->region = LEAKSCAN_REGION_HEAP;
        return 0;
}

static int object_copy(struct leakscan_wait_object *to, const struct leakscan_wait_object *from)
{
        struct leakscan_wait_object o = *from;
        o.symbol = from->symbol ? strdup(from->symbol) : NULL;
        o.file = from->file ? strdup(from->file) : NULL;
        o.stack_function = from->stack_function ? strdup(from->stack_function) : NULL;
        if ((from->symbol && !o.symbol) || (from->file && !o.file) || (from->stack_function && !o.stack_function)) {
                free(o.symbol);
                free(o.file);
                free(o.stack_function);
                return -ENOMEM;
        }
        *to = o;
        return 0;
}

/* Threads waiting on one futex word in one state share the object's name:
 * looked up once, then found in a hash of (futex word, state). */
static int analyse_object_cached(struct naming *nm, size_t i)
{
        const struct leakscan_thread *threads = nm->p->threads;
        struct leakscan_thread *lt = (struct leakscan_thread *) &threads[i];
        uint64_t h = (lt->wait_address * 0x9e3779b97f4a7c15u) ^ (uint64_t) lt->state;
        size_t mask = nm->n_named - 1, slot = (size_t) (h >> 20) & mask;
        for (; nm->named[slot]; slot = (slot + 1) & mask) {
                const struct leakscan_thread *x = &threads[nm->named[slot] - 1];
                if (x->state == lt->state && x->wait_address == lt->wait_address) {
                        lt->has_object = true;
                        return object_copy(&lt->object, &x->object);
                }
        }
        nm->named[slot] = i + 1;
        return analyse_object(nm, lt);
}

/* ---- pipes ---- */

/* What the system holds of one pipe a thread waits on: its ends open in
 * this process and the first other process holding each end.  Found for
 * every pipe at once, in one pass over every process's fds. */
struct pipe_ends {
        const char *target;     /* "pipe:[N]", a thread's fd_target */
        unsigned here[2];       /* ends open in this process: [0] read, [1] write */
        pid_t other[2];         /* another process holding that end, or 0 */
};

static int cmp_pipe_target(const void *a, const void *b)
{
        return strcmp(((const struct pipe_ends *) a)->target, ((const struct pipe_ends *) b)->target);
}

static bool pipe_fd_writable(const char *fd_dir, const char *fd)
{
        char path[400];         /* a fd directory (64) and a d_name (256) */
        _cleanup_free_ char *text = NULL;
        long flags = 0;
        snprintf(path, sizeof path, "%sinfo/%s", fd_dir, fd);  /* ".../fd" -> ".../fdinfo/N" */
        if (read_full_file(path, &text) < 0 || procfs_parse_fdinfo_flags(text, &flags) < 0)
                return false;
        return (flags & O_ACCMODE) != O_RDONLY;
}

/* Adds the ends of the wanted pipes that process q holds to ends. */
static void pipe_ends_scan(pid_t self, pid_t q, struct pipe_ends *ends, size_t n)
{
        char dir[64], link[64];
        snprintf(dir, sizeof dir, "/proc/%d/fd", (int) q);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char fdpath[320];
                snprintf(fdpath, sizeof fdpath, "%s/%s", dir, de->d_name);
                ssize_t k = readlink(fdpath, link, sizeof link - 1);
                if (k <= 0 || !startswith(link, "pipe:"))
                        continue;
                link[k] = 0;
                struct pipe_ends key = { .target = link };
                struct pipe_ends *e = bsearch(&key, ends, n, sizeof key, cmp_pipe_target);
                if (!e)
                        continue;
                int end = pipe_fd_writable(dir, de->d_name);
                if (q == self)
                        e->here[end]++;
                else if (!e->other[end])
                        e->other[end] = q;
        }
        if (d)
                closedir(d);
}

/* Who holds the other end of each pipe p's threads wait on, as t->peer: this
 * process only, or (where /proc lets us see) another process too. */
int analyse_pipes(struct leakscan_process *p)
{
        size_t n = 0;
        _cleanup_free_ struct pipe_ends *ends = malloc((p->n_threads ? p->n_threads : 1) * sizeof *ends);
        if (!ends)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (t->fd_target && procfs_fd_kind(t->fd_target) == FD_KIND_PIPE &&
                    (t->state == LEAKSCAN_STATE_PIPE_READ || t->state == LEAKSCAN_STATE_PIPE_WRITE))
                        ends[n++] = (struct pipe_ends) { .target = t->fd_target };
        }
        if (n == 0)
                return 0;
        qsort(ends, n, sizeof *ends, cmp_pipe_target);
        size_t distinct = 0;
        for (size_t i = 0; i < n; i++)
                if (distinct == 0 || !streq(ends[distinct - 1].target, ends[i].target))
                        ends[distinct++] = ends[i];

        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                pid_t q = (pid_t) atoi(de->d_name);
                if (q > 0)
                        pipe_ends_scan(p->pid, q, ends, distinct);
        }
        if (d)
                closedir(d);

        for (size_t i = 0; i < p->n_threads; i++) {
                struct leakscan_thread *t = &p->threads[i];
                if (!t->fd_target || (t->state != LEAKSCAN_STATE_PIPE_READ && t->state != LEAKSCAN_STATE_PIPE_WRITE))
                        continue;
                struct pipe_ends key = { .target = t->fd_target };
                const struct pipe_ends *e = bsearch(&key, ends, distinct, sizeof key, cmp_pipe_target);
                if (!e)
                        continue;
                int want = t->state == LEAKSCAN_STATE_PIPE_READ;      /* a reader wants a writer */
                const char *other = want ? "writer" : "reader";
                int r;
                if (e->other[want]) {
                        char path[64], comm[32] = "?";
                        _cleanup_free_ char *text = NULL;
                        snprintf(path, sizeof path, "/proc/%d/comm", (int) e->other[want]);
                        if (read_full_file(path, &text) > 0)
                                snprintf(comm, sizeof comm, "%.*s", (int) strcspn(text, "\n"), text);
                        t->peer_pid = e->other[want];
                        r = asprintf(&t->peer, "%s end held by pid %d (%s)", other, (int) e->other[want], comm);
                } else if (e->here[want]) {
                        r = asprintf(&t->peer, "no %s other than this process", other);
                } else {
                        r = asprintf(&t->peer, "no %s end open", other);
                }
                if (r < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- the graph ---- */

static bool is_stuck(const struct leakscan_thread *t)
{
        return t->proposed == LEAKSCAN_VERDICT_DEADLOCK || t->proposed == LEAKSCAN_VERDICT_ORPHANED;
}

/* The thread t waits for, as an index into the threads, or -1. */
static long edge_of(const struct thread_index *ix, const struct leakscan_thread *t)
{
        pid_t to = t->owner_tid ? t->owner_tid : t->joined_tid;
        if (!to || t->proposed != LEAKSCAN_VERDICT_BLOCKED)
                return -1;
        return thread_index_by_tid(ix, to);
}

static int add_cycle(struct leakscan_process *p, const long *path, size_t from, size_t to)
{
        struct leakscan_cycle c = { .n = to - from };
        c.tids = malloc(c.n * sizeof *c.tids);
        struct leakscan_cycle *nc = realloc(p->deadlocks, (p->n_deadlocks + 1) * sizeof *nc);
        if (!c.tids || !nc) {
                free(c.tids);
                if (nc)
                        p->deadlocks = nc;
                return -ENOMEM;
        }
        p->deadlocks = nc;
        /* start at the smallest TID, so that a cycle reads the same each time */
        size_t start = from;
        for (size_t i = from; i < to; i++)
                if (p->threads[path[i]].tid < p->threads[path[start]].tid)
                        start = i;
        for (size_t i = 0; i < c.n; i++)
                c.tids[i] = p->threads[path[from + (start - from + i) % c.n]].tid;
        p->deadlocks[p->n_deadlocks++] = c;
        return 0;
}

/* Whether thread x can do nothing for t any more: it is stuck for good, it
 * is the one calling exit, it waits on the very object t waits on, or its
 * chain of waits leads back to t. */
static bool cannot_help(const struct leakscan_process *p, const long *edge, const struct leakscan_thread *x,
                        const struct leakscan_thread *t)
{
        if (is_stuck(x) || x->exiting)
                return true;
        if (x->has_object && t->has_object && x->state == t->state && x->object.address == t->object.address)
                return true;
        long i = x - p->threads;
        for (size_t steps = 0; steps < p->n_threads && edge[i] >= 0; steps++) {
                i = edge[i];
                if (&p->threads[i] == t)
                        return true;
        }
        return false;
}

static bool nobody_else_can_help(const struct leakscan_process *p, const long *edge, const struct leakscan_thread *t)
{
        for (size_t k = 0; k < p->n_threads; k++)
                if (&p->threads[k] != t && !cannot_help(p, edge, &p->threads[k], t))
                        return false;
        return true;
}

/* Marks what leads to the orphans and deadlocks found so far. */
static void propagate(struct leakscan_process *p, const long *edge)
{
        for (bool changed = true; changed; ) {
                changed = false;
                for (size_t i = 0; i < p->n_threads; i++) {
                        struct leakscan_thread *t = &p->threads[i];
                        if (edge[i] >= 0 && !is_stuck(t) && is_stuck(&p->threads[edge[i]])) {
                                t->proposed = p->threads[edge[i]].proposed;
                                changed = true;
                        }
                }
        }
}

int analyse_graph(struct leakscan_process *p)
{
        size_t n = p->n_threads;
        if (n == 0)
                return 0;
        long *edge = malloc(n * sizeof *edge), *path = malloc(n * sizeof *path);
        unsigned char *state = calloc(n, 1);    /* 0 new, 1 on the walk, 2 done */
        struct thread_index ix = {0};
        int r = 0;
        if (!edge || !path || !state || thread_index_init(&ix, p->threads, n) < 0) {
                r = -ENOMEM;
                goto out;
        }
        /* the proposal starts from the wait alone, and becomes DEADLOCK or
         * ORPHANED where the graph proves it */
        for (size_t i = 0; i < n; i++)
                p->threads[i].proposed = classify_wait_verdict(p->threads[i].state, p->threads[i].timeout);
        for (size_t i = 0; i < n; i++) {
                struct leakscan_thread *t = &p->threads[i];
                edge[i] = edge_of(&ix, t);
                /* an owner that is no thread of ours any more can release nothing */
                if (t->owner_tid && edge[i] < 0 && t->proposed == LEAKSCAN_VERDICT_BLOCKED) {
                        t->owner_gone = true;
                        t->proposed = LEAKSCAN_VERDICT_ORPHANED;
                }
        }

        /* Each thread waits for at most one other: the graph is a function,
         * and a walk from any thread ends in a cycle, at an orphan, or at a
         * thread that could still run. */
        for (size_t s = 0; s < n && r == 0; s++) {
                size_t len = 0, tail = 0;
                long i = (long) s;
                while (i >= 0 && state[i] == 0) {
                        state[i] = 1;
                        path[len++] = i;
                        i = edge[i];
                }
                tail = len;
                if (i >= 0 && state[i] == 1) {
                        size_t from = 0;
                        while (path[from] != i)
                                from++;
                        for (size_t k = from; k < len; k++)
                                p->threads[path[k]].proposed = LEAKSCAN_VERDICT_DEADLOCK;
                        r = add_cycle(p, path, from, len);
                        tail = from;
                }
                /* the threads before the cycle or the end inherit what they
                 * lead to: waiting for a deadlocked or orphaned thread */
                enum leakscan_verdict end = i >= 0 && is_stuck(&p->threads[i]) ? p->threads[i].proposed :
                                            LEAKSCAN_VERDICT_BLOCKED;
                for (size_t k = tail; k-- > 0; ) {
                        struct leakscan_thread *t = &p->threads[path[k]];
                        if (is_stuck(t))
                                end = t->proposed;
                        else if (end != LEAKSCAN_VERDICT_BLOCKED)
                                t->proposed = end;
                }
                for (size_t k = 0; k < len; k++)
                        state[path[k]] = 2;
        }

        /* Waits with no owner to point at: a rwlock held by readers
         * (glibc does not record which) and a pipe no other process can
         * write to are orphaned when no other thread can release them. */
        for (size_t i = 0; i < n; i++) {
                struct leakscan_thread *t = &p->threads[i];
                if (t->proposed != LEAKSCAN_VERDICT_BLOCKED)
                        continue;
                bool readers_only = t->state == LEAKSCAN_STATE_RWLOCK && t->has_count && t->count > 0 && !t->owner_tid;
                bool pipe_no_writer = t->state == LEAKSCAN_STATE_PIPE_READ && t->peer && !t->peer_pid;
                if ((readers_only || pipe_no_writer) && nobody_else_can_help(p, edge, t)) {
                        t->proposed = LEAKSCAN_VERDICT_ORPHANED;
                        propagate(p, edge);
                }
        }
out:
        thread_index_done(&ix);
        free(edge);
        free(path);
        free(state);
        return r;
}

void analyse_read_mark(const struct thread_capture *t, struct leakscan_thread *lt)
{
        lt->stopped_us = -1;
        lt->stop_effect = NULL;
        if (t->held || t->preseized) {
                lt->read = LEAKSCAN_READ_HELD;
                return;
        }
        if (t->sampled && !t->was_stopped) {
                lt->read = LEAKSCAN_READ_SAMPLED;
                return;
        }
        /* a snapshot of a leakscan before was_stopped says it no other way:
         * whole registers (a ptrace stop's) of a thread nobody else held */
        bool stopped = t->was_stopped ||
                (t->regs_valid && !t->regs_partial && !t->stopfree && !t->proc_only);
        if (!stopped) {
                lt->read = t->stopfree ? LEAKSCAN_READ_STOP_FREE : LEAKSCAN_READ_PROC_ONLY;
                return;
        }
        lt->read = LEAKSCAN_READ_STOPPED;
        if (t->has_stopped_us)
                lt->stopped_us = (int64_t) t->stopped_us;
        /* a job-control stop had already ended its call as ours would:
         * not our doing; a stop that ended no call changes nothing */
        if (t->group_stop || !t->regs_valid)
                return;
        /* a thread found running may have been inside a call all the same
         * (runnable in the middle of a bulk write, say): the registers of
         * its stop name that call (x86_64: orig_rax is -1 when it was
         * stopped from user space) */
        long nr = t->syscall_nr >= 0 ? t->syscall_nr : arch_regs_syscall_nr(&t->regs);
        if (nr < 0)
                return;
        uint64_t args[6];
        arch_regs_syscall_args(&t->regs, args);
        /* the fd's file: the capture's, or the thread's once it took it over */
        lt->stop_effect = syscalls_stop_effect(nr, args, t->fd_target ? t->fd_target : lt->fd_target);
}

int analyse_process(const struct process_capture *cap, struct modules *mods, struct leakscan_process *p)
{
        struct thread_index ix;
        int r = thread_index_init(&ix, p->threads, p->n_threads);
        if (r < 0)
                return r;
        size_t k = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                analyse_read_mark(t, &p->threads[k]);
                analyse_lock_state(t, &p->threads[k++], &ix);
        }
        thread_index_done(&ix);

        struct naming nm;
        r = naming_init(&nm, mods, p);
        for (size_t i = 0; r == 0 && i < p->n_threads; i++)
                if (p->threads[i].has_wait_address && p->threads[i].state != LEAKSCAN_STATE_RUNNING)
                        r = analyse_object_cached(&nm, i);
        naming_done(&nm);
        if (r == 0)
                r = cap->snapshot_replay ? snapshot_replay_peers(cap->snapshot_replay, p) :
                    capturer_active() ? capturer_pipes(p) : analyse_pipes(p);
        return r < 0 ? r : analyse_graph(p);
}

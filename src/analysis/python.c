/* Python frames of CPython threads; see python.h.
 *
 * The interpreter is found by its exported _PyRuntime and its version by
 * the exported Py_Version (3.11 and later), read from the module's file.
 * The layouts of the interpreter's private structures come from a table,
 * one row per minor version (offsets taken with offsetof from that
 * version's own headers), and are checked against invariants of the live
 * objects before any frame is believed: a code object's type must be named
 * "code", its names' type "str".  A version without a row, or whose
 * objects break an invariant, gets a note and no Python frame: never a
 * wrong one.
 *
 * When to read: a thread's Python frames are not on its stack but in the
 * interpreter's per-thread data stack on the heap, so the stack copy the
 * capture made does not hold them.  They are read with process_vm_readv
 * after the capture: in --at-exit mode while the process is held, so they
 * are exact; in pid mode after the release, which is racy for a running
 * thread (a frame may be pushed or popped under us, giving a stack from a
 * moment later, or a broken chain that ends the walk) but exact for the
 * threads that matter here: a thread blocked in a wait does not move, and
 * its frames do not change while it waits.  Every pointer read is
 * bounded, and a chain longer than MAX_FRAMES or looping ends the walk.
 *
 * At exit (Py_FinalizeEx has run) the interpreter lists no thread and the
 * daemon threads' states are freed, but not their data stacks, and a
 * thread blocked in a call still points at its state from its stack:
 * python_recover_thread finds it there, by the TID the state keeps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <gelf.h>

#include "capturer.h"
#include "python.h"
#include "util.h"

#define MAX_FRAMES 1024
#define MAX_THREADS 65536

struct python_layout {
        unsigned major, minor;
        size_t runtime_interp_head;     /* _PyRuntimeState.interpreters.head */
        size_t interp_next, interp_threads_head;
        size_t tstate_next, tstate_native_tid, tstate_cframe, tstate_ident;
        size_t cframe_current;          /* _PyCFrame.current_frame */
        size_t frame_code, frame_previous, frame_prev_instr, frame_is_entry, frame_owner;
        size_t code_filename, code_qualname, code_linetable, code_firstlineno, code_adaptive;
        size_t runtime_gil, gil_size;   /* _PyRuntimeState.ceval.gil, sizeof struct _gil_runtime_state */
};

/* CPython 3.11 (x86_64), offsetof from its Include/internal headers. */
static const struct python_layout layouts[] = {
        { .major = 3, .minor = 11,
          .runtime_interp_head = 40, .interp_next = 0, .interp_threads_head = 16,
          .tstate_next = 8, .tstate_native_tid = 160, .tstate_cframe = 56, .tstate_ident = 152,
          .cframe_current = 8,
          .frame_code = 32, .frame_previous = 48, .frame_prev_instr = 56, .frame_is_entry = 68, .frame_owner = 69,
          .code_filename = 112, .code_qualname = 128, .code_linetable = 136, .code_firstlineno = 72,
          .code_adaptive = 184, .runtime_gil = 360, .gil_size = 208 },
};

#define PAGE 4096
#define CACHED_PAGES 16

struct reader {
        pid_t pid;
        uint64_t page[CACHED_PAGES];    /* page address + 1, 0 empty */
        uint8_t *data;                  /* CACHED_PAGES * PAGE bytes, or NULL: no cache */
        unsigned next;                  /* the slot to fill next (round robin) */
};

struct py_frame {
        char *function, *file;
        int line;
        uint64_t address;       /* the instruction it runs (its code object's bytecode) */
        bool is_entry;          /* the first frame a _PyEval_EvalFrameDefault ran */
};

struct py_thread {
        pid_t tid;
        uint64_t ident;         /* threading.get_ident(): pthread_self() */
        struct py_frame *frames;        /* innermost first */
        size_t n;
};

struct code_info {
        uint64_t address;
        uint64_t qualname_obj, filename_obj;    /* what it pointed at: a cache kept
                                                 * across reads is checked by them */
        char *qualname, *filename;
        uint8_t *linetable;
        size_t linetable_len;
        int firstlineno;
};

struct python_snapshot {
        pid_t pid;
        struct reader rd;
        const struct python_layout *lay;
        struct py_thread *threads;
        size_t n_threads;
        uint64_t runtime;               /* _PyRuntime */
        struct code_info *codes;        /* cache, by address */
        size_t n_codes;
        bool persistent;                /* kept across reads: python_reader_open */
};

/* The target's memory, read a page at a time: a thread's frames lie next
 * to each other in its data stack, and the objects they name are often on
 * the same pages, so one call serves several reads.  Pages are kept for
 * one snapshot only. */
static int read_direct(pid_t pid, uint64_t addr, void *buf, size_t len)
{
        return analysis_read_memory(pid, addr, buf, len);
}

static int mem_read(struct reader *rd, uint64_t addr, void *buf, size_t len)
{
        uint64_t page = addr & ~(uint64_t) (PAGE - 1);
        if (!rd->data || len == 0 || addr - page + len > PAGE)
                return read_direct(rd->pid, addr, buf, len);
        for (unsigned i = 0; i < CACHED_PAGES; i++)
                if (rd->page[i] == page + 1) {
                        memcpy(buf, rd->data + (size_t) i * PAGE + (addr - page), len);
                        return 0;
                }
        unsigned slot = rd->next;
        if (read_direct(rd->pid, page, rd->data + (size_t) slot * PAGE, PAGE) < 0)
                return read_direct(rd->pid, addr, buf, len);
        rd->page[slot] = page + 1;
        rd->next = (slot + 1) % CACHED_PAGES;
        memcpy(buf, rd->data + (size_t) slot * PAGE + (addr - page), len);
        return 0;
}

static int read_ptr(struct reader *rd, uint64_t addr, uint64_t *ret)
{
        return addr ? mem_read(rd, addr, ret, 8) : -EFAULT;
}

/* The name of obj's type ("code", "str"), in buf. */
static int type_name(struct reader *rd, uint64_t obj, char *buf, size_t size)
{
        uint64_t type, name;
        int r = read_ptr(rd, obj + 8, &type);
        if (r == 0)
                r = read_ptr(rd, type + 24, &name);
        if (r == 0)
                r = mem_read(rd, name, buf, size - 1);
        if (r < 0)
                return r;
        buf[size - 1] = '\0';
        return 0;
}

/* A str object's text (3.11 compact ASCII or Latin-1, as UTF-8), new
 * string, checked to be a str. */
static int read_str(struct reader *rd, uint64_t obj, char **ret)
{
        char tn[8];
        int r = type_name(rd, obj, tn, sizeof tn);
        if (r < 0)
                return r;
        if (!streq(tn, "str"))
                return -EPROTO;
        uint64_t length;
        uint32_t state;
        if ((r = mem_read(rd, obj + 16, &length, 8)) < 0 || (r = mem_read(rd, obj + 32, &state, 4)) < 0)
                return r;
        unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
        if (!compact || kind != 1 || length > 4096)
                return asprintf(ret, "?") < 0 ? -ENOMEM : 0;
        _cleanup_free_ unsigned char *raw = malloc(length + 1);
        if (!raw)
                return -ENOMEM;
        if ((r = mem_read(rd, obj + (ascii ? 48 : 72), raw, length)) < 0)
                return r;
        char *out = malloc(length * 2 + 1), *o = out;
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < length; i++) {
                unsigned c = raw[i];
                if (c < 0x80) {
                        *o++ = c < 0x20 ? '?' : (char) c;
                } else {
                        *o++ = (char) (0xc0 | (c >> 6));
                        *o++ = (char) (0x80 | (c & 0x3f));
                }
        }
        *o = '\0';
        *ret = out;
        return 0;
}

static void code_info_done(struct code_info *c)
{
        free(c->qualname);
        free(c->filename);
        free(c->linetable);
}

/* The code object at addr, read once per snapshot.  Returns 0 and *ret
 * (owned by py), -EPROTO when it is not one, another negative errno. */
static int code_at(struct python_snapshot *py, uint64_t addr, const struct code_info **ret)
{
        const struct python_layout *lay = py->lay;
        char tn[8];
        for (size_t i = 0; i < py->n_codes; i++) {
                struct code_info *c = &py->codes[i];
                if (c->address != addr)
                        continue;
                /* a reader kept across reads (creator stacks) may meet
                 * another code object at a freed one's address */
                uint64_t q, f;
                if (!py->persistent || (read_ptr(&py->rd, addr + lay->code_qualname, &q) == 0 &&
                                        read_ptr(&py->rd, addr + lay->code_filename, &f) == 0 &&
                                        q == c->qualname_obj && f == c->filename_obj &&
                                        type_name(&py->rd, addr, tn, sizeof tn) == 0 && streq(tn, "code"))) {
                        *ret = c;
                        return 0;
                }
                code_info_done(c);
                *c = py->codes[--py->n_codes];
                break;
        }
        int r = type_name(&py->rd, addr, tn, sizeof tn);
        if (r < 0)
                return r;
        if (!streq(tn, "code"))
                return -EPROTO;
        struct code_info c = { .address = addr };
        uint64_t qualname, filename, linetable, len;
        int32_t first;
        if ((r = read_ptr(&py->rd, addr + lay->code_qualname, &qualname)) < 0 ||
            (r = read_ptr(&py->rd, addr + lay->code_filename, &filename)) < 0 ||
            (r = read_ptr(&py->rd, addr + lay->code_linetable, &linetable)) < 0 ||
            (r = mem_read(&py->rd, addr + lay->code_firstlineno, &first, 4)) < 0 ||
            (r = read_str(&py->rd, qualname, &c.qualname)) < 0 ||
            (r = read_str(&py->rd, filename, &c.filename)) < 0)
                goto fail;
        c.firstlineno = first;
        c.qualname_obj = qualname;
        c.filename_obj = filename;
        /* the line table, a bytes object: ob_size at 16, data at 32 */
        if (mem_read(&py->rd, linetable + 16, &len, 8) == 0 && len > 0 && len <= 1 << 20 &&
            type_name(&py->rd, linetable, tn, sizeof tn) == 0 && streq(tn, "bytes")) {
                c.linetable = malloc(len);
                if (!c.linetable) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (mem_read(&py->rd, linetable + 32, c.linetable, len) == 0)
                        c.linetable_len = len;
        }
        struct code_info *more = realloc(py->codes, (py->n_codes + 1) * sizeof *more);
        if (!more) {
                r = -ENOMEM;
                goto fail;
        }
        py->codes = more;
        py->codes[py->n_codes] = c;
        *ret = &py->codes[py->n_codes++];
        return 0;
fail:
        code_info_done(&c);
        return r;
}

static bool read_varint6(const struct code_info *c, size_t *at, unsigned *ret)
{
        unsigned v = 0;
        for (unsigned shift = 0; shift < 30; shift += 6) {
                if (*at >= c->linetable_len)
                        return false;
                unsigned b = c->linetable[(*at)++];
                v |= (b & 63) << shift;
                if (!(b & 64)) {
                        *ret = v;
                        return true;
                }
        }
        return false;
}

/* The line of the instruction at byte offset addr, from the 3.11 location
 * table (Objects/locations.md), or 0. */
int python_linetable_line(const uint8_t *table, size_t len, int firstlineno, uint64_t addr)
{
        struct code_info c = { .linetable = (uint8_t *) table, .linetable_len = len };
        int line = firstlineno;
        uint64_t at_addr = 0;
        size_t at = 0;
        while (at < len) {
                unsigned first = table[at++];
                if (!(first & 0x80))
                        return 0;
                unsigned code = (first >> 3) & 15, units = (first & 7) + 1, v;
                int delta = 0;
                bool none = false;
                switch (code) {
                case 15:
                        none = true;
                        break;
                case 14:        /* long form: line delta, end line, column, end column */
                case 13:        /* no column */
                        if (!read_varint6(&c, &at, &v))
                                return 0;
                        delta = (v & 1) ? -(int) (v >> 1) : (int) (v >> 1);
                        for (int k = 0; code == 14 && k < 3; k++)
                                if (!read_varint6(&c, &at, &v))
                                        return 0;
                        break;
                case 10: case 11: case 12:      /* one-line forms: two column bytes */
                        delta = (int) code - 10;
                        at += 2;
                        break;
                default:        /* short forms: one column byte */
                        at += 1;
                        break;
                }
                line += delta;
                uint64_t end = at_addr + units * 2;
                if (addr < end)
                        return none ? 0 : line;
                at_addr = end;
        }
        return 0;
}

/* The frames of the thread state at ts, appended to t.  Returns 0 (a
 * chain that breaks ends the walk), -EPROTO when an object is not what the
 * layout says, or -ENOMEM. */
static int walk_thread(struct python_snapshot *py, uint64_t ts, struct py_thread *t)
{
        const struct python_layout *lay = py->lay;
        uint64_t cframe, frame;
        if (read_ptr(&py->rd, ts + lay->tstate_cframe, &cframe) < 0 ||
            read_ptr(&py->rd, cframe + lay->cframe_current, &frame) < 0)
                return 0;
        for (size_t depth = 0; frame && depth < MAX_FRAMES; depth++) {
                /* the frame's head in one read */
                uint8_t head[128];
                size_t head_len = lay->frame_owner + 1;
                uint64_t code, previous, prev_instr;
                if (head_len > sizeof head || mem_read(&py->rd, frame, head, head_len) < 0)
                        return 0;
                memcpy(&code, head + lay->frame_code, 8);
                memcpy(&previous, head + lay->frame_previous, 8);
                memcpy(&prev_instr, head + lay->frame_prev_instr, 8);
                const uint8_t *flags = head + lay->frame_is_entry;
                const struct code_info *c;
                int r = code_at(py, code, &c);
                if (r == -ENOMEM || r == -EPROTO)
                        return r;
                if (r < 0)
                        return 0;
                uint64_t start = code + lay->code_adaptive;
                int line = prev_instr >= start && prev_instr - start < (1u << 28) ?
                        python_linetable_line(c->linetable, c->linetable_len, c->firstlineno, prev_instr - start) : 0;
                /* the instruction's address stands for the frame: the same
                 * code at the same place in two threads is the same frame
                 * (so their stacks group, and caches keyed on pcs hit) */
                struct py_frame f = { .line = line, .address = prev_instr ? prev_instr : code, .is_entry = flags[0] != 0 };
                f.function = strdup(c->qualname);
                f.file = strdup(c->filename);
                struct py_frame *more = f.function && f.file ? realloc(t->frames, (t->n + 1) * sizeof *more) : NULL;
                if (!more) {
                        free(f.function);
                        free(f.file);
                        return -ENOMEM;
                }
                t->frames = more;
                t->frames[t->n++] = f;
                if (previous == frame)
                        break;
                frame = previous;
        }
        return 0;
}

void python_snapshot_free(struct python_snapshot *py)
{
        if (!py)
                return;
        for (size_t i = 0; i < py->n_threads; i++) {
                for (size_t k = 0; k < py->threads[i].n; k++) {
                        free(py->threads[i].frames[k].function);
                        free(py->threads[i].frames[k].file);
                }
                free(py->threads[i].frames);
        }
        free(py->threads);
        for (size_t i = 0; i < py->n_codes; i++)
                code_info_done(&py->codes[i]);
        free(py->codes);
        free(py->rd.data);
        free(py);
}

struct finder {
        uint64_t runtime, version_addr;
        Dwfl_Module *mod;
};

/* The interpreter: a module (the python executable, or libpython) that
 * exports _PyRuntime. */
static int find_runtime(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
        (void) userdata;
        (void) start;
        struct finder *fd = arg;
        const char *base = name ? strrchr(name, '/') : NULL;
        base = base ? base + 1 : name;
        if (!base || (!startswith(base, "python") && !startswith(base, "libpython")))
                return DWARF_CB_OK;
        int n = dwfl_module_getsymtab(mod);
        uint64_t runtime = 0, version = 0;
        for (int i = 1; i < n; i++) {
                GElf_Sym sym;
                GElf_Addr addr;
                const char *s = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
                if (!s || sym.st_shndx == SHN_UNDEF)
                        continue;
                if (streq(s, "_PyRuntime"))
                        runtime = addr;
                else if (streq(s, "Py_Version"))
                        version = addr;
        }
        if (!runtime)
                return DWARF_CB_OK;
        fd->runtime = runtime;
        fd->version_addr = version;
        fd->mod = mod;
        return DWARF_CB_ABORT;
}

/* An empty snapshot of the interpreter of the process behind mods: its
 * layout and _PyRuntime found.  Returns 0 and *ret (NULL when the process
 * runs no CPython, or *ret_note says why its frames cannot be read), or
 * -ENOMEM. */
static int python_open(struct modules *mods, struct python_snapshot **ret, const char **ret_note)
{
        *ret = NULL;
        *ret_note = NULL;
        struct finder fd = {0};
        if (!mods->dwfl)
                return 0;
        (void) dwfl_getmodules(mods->dwfl, find_runtime, &fd, 0);
        if (!fd.runtime)
                return 0;
        uint64_t version = 0;
        if (!fd.version_addr || !modules_read_file_word(mods, fd.version_addr, &version)) {
                *ret_note = "CPython before 3.11 (no Py_Version): its Python frames are not read";
                return 0;
        }
        unsigned major = (unsigned) (version >> 24) & 0xff, minor = (unsigned) (version >> 16) & 0xff;
        const struct python_layout *lay = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
                if (layouts[i].major == major && layouts[i].minor == minor)
                        lay = &layouts[i];
        if (!lay) {
                *ret_note = "a CPython version whose layout leakscan does not know (it reads 3.11): "
                            "its Python frames are not read";
                return 0;
        }
        struct python_snapshot *py = calloc(1, sizeof *py);
        if (!py)
                return -ENOMEM;
        py->pid = mods->pid;
        py->rd = (struct reader) { .pid = mods->pid, .data = malloc(CACHED_PAGES * PAGE) };     /* none: uncached */
        py->lay = lay;
        py->runtime = fd.runtime;
        *ret = py;
        return 0;
}

int python_snapshot_read(struct modules *mods, struct python_snapshot **ret, const char **ret_note)
{
        struct python_snapshot *py;
        int r = python_open(mods, &py, ret_note);
        if (r < 0 || !py)
                return r;
        const struct python_layout *lay = py->lay;
        struct finder fd = { .runtime = py->runtime };
        uint64_t interp;
        if (read_ptr(&py->rd, fd.runtime + lay->runtime_interp_head, &interp) < 0)
                interp = 0;     /* not initialised yet, or finalised */
        for (size_t ni = 0; interp && ni < 64 && r == 0; ni++) {
                uint64_t ts;
                if (read_ptr(&py->rd, interp + lay->interp_threads_head, &ts) < 0)
                        ts = 0;
                for (size_t nt = 0; ts && nt < MAX_THREADS && r == 0; nt++) {
                        uint64_t tid = 0;
                        struct py_thread *more = realloc(py->threads, (py->n_threads + 1) * sizeof *more);
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        py->threads = more;
                        struct py_thread *t = &py->threads[py->n_threads++];
                        *t = (struct py_thread) {0};
                        if (mem_read(&py->rd, ts + lay->tstate_native_tid, &tid, 8) == 0)
                                t->tid = (pid_t) tid;
                        (void) mem_read(&py->rd, ts + lay->tstate_ident, &t->ident, 8);
                        r = walk_thread(py, ts, t);
                        if (read_ptr(&py->rd, ts + lay->tstate_next, &ts) < 0)
                                ts = 0;
                }
                if (read_ptr(&py->rd, interp + lay->interp_next, &interp) < 0)
                        interp = 0;
        }
        if (r == -EPROTO) {
                python_snapshot_free(py);
                *ret_note = "CPython's objects do not match the layout of its version: its Python frames are not read";
                return 0;
        }
        if (r < 0) {
                python_snapshot_free(py);
                return r;
        }
        *ret = py;
        return 0;
}

struct python_stack {
        struct py_thread t;
};

int python_reader_open(struct modules *mods, struct python_snapshot **ret)
{
        const char *note;
        int r = python_open(mods, ret, &note);
        if (r == 0 && *ret)
                (*ret)->persistent = true;
        return r;
}

void python_stack_free(struct python_stack *s)
{
        if (!s)
                return;
        for (size_t k = 0; k < s->t.n; k++) {
                free(s->t.frames[k].function);
                free(s->t.frames[k].file);
        }
        free(s->t.frames);
        free(s);
}

int python_stack_read(struct python_snapshot *py, pid_t tid, struct python_stack **ret)
{
        *ret = NULL;
        const struct python_layout *lay = py->lay;
        /* the process ran on since the last read: no page is current */
        memset(py->rd.page, 0, sizeof py->rd.page);
        uint64_t interp;
        if (read_ptr(&py->rd, py->runtime + lay->runtime_interp_head, &interp) < 0)
                return 0;
        for (size_t ni = 0; interp && ni < 64; ni++) {
                uint64_t ts;
                if (read_ptr(&py->rd, interp + lay->interp_threads_head, &ts) < 0)
                        ts = 0;
                for (size_t nt = 0; ts && nt < MAX_THREADS; nt++) {
                        uint64_t native = 0;
                        if (mem_read(&py->rd, ts + lay->tstate_native_tid, &native, 8) == 0 &&
                            (pid_t) native == tid) {
                                struct python_stack *s = calloc(1, sizeof *s);
                                if (!s)
                                        return -ENOMEM;
                                s->t.tid = tid;
                                int r = walk_thread(py, ts, &s->t);
                                if (r == 0 && s->t.n > 0) {
                                        *ret = s;
                                        return 0;
                                }
                                python_stack_free(s);
                                if (r == -ENOMEM)
                                        return r;
                                /* the state Thread.start made for the new
                                 * thread before its clone also names the
                                 * creator (it is made there), and runs
                                 * nothing yet: on to the next */
                        }
                        if (read_ptr(&py->rd, ts + lay->tstate_next, &ts) < 0)
                                ts = 0;
                }
                if (read_ptr(&py->rd, interp + lay->interp_next, &interp) < 0)
                        interp = 0;
        }
        return 0;
}

int python_recover_thread(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, pid_t tid,
                          const uint8_t *stack, size_t stack_len)
{
        if (!py || !stack)
                return 0;
        for (size_t i = 0; i < py->n_threads; i++)
                if (py->threads[i].tid == tid)
                        return 0;
        const struct python_layout *lay = py->lay;
        /* distinct words of the stack that point into the heap */
        size_t tried = 0;
        for (size_t off = 0; off + 8 <= stack_len && tried < 4096; off += 8) {
                uint64_t cand;
                memcpy(&cand, stack + off, 8);
                if (cand & 7)
                        continue;
                const struct map_entry *m = map_entries_find(maps, n_maps, cand);
                if (!m || m->perms[0] != 'r' || m->perms[1] != 'w' || (m->path && *m->path && !streq(m->path, "[heap]")))
                        continue;
                bool seen = false;
                for (size_t back = 8; back <= off && back <= 512 && !seen; back += 8) {
                        uint64_t earlier;
                        memcpy(&earlier, stack + off - back, 8);
                        seen = earlier == cand;
                }
                if (seen)
                        continue;
                tried++;
                uint64_t native_tid;
                if (mem_read(&py->rd, cand + lay->tstate_native_tid, &native_tid, 8) < 0 || native_tid != (uint64_t) tid)
                        continue;
                struct py_thread t = { .tid = tid };
                int r = walk_thread(py, cand, &t);
                if (r == 0 && t.n) {
                        struct py_thread *more = realloc(py->threads, (py->n_threads + 1) * sizeof *more);
                        if (more) {
                                py->threads = more;
                                py->threads[py->n_threads++] = t;
                                return 0;
                        }
                        r = -ENOMEM;
                }
                for (size_t k = 0; k < t.n; k++) {
                        free(t.frames[k].function);
                        free(t.frames[k].file);
                }
                free(t.frames);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

/* threading.RLock (CPython's _thread.RLock): PyObject_HEAD, then the lock
 * (a PyThread_type_lock: a pointer to a sem_t), the owner's thread ident
 * and the count; stable across 3.x. */
#define RLOCK_LOCK 16
#define RLOCK_OWNER 24

pid_t python_rlock_owner(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, uint64_t sem,
                         const uint8_t *stack, size_t stack_len)
{
        if (!py || !stack)
                return 0;
        /* the heap pointers of the stack, each once per batch of them */
        enum { BATCH = 512 };
        uint64_t cands[BATCH];
        size_t off = 0;
        while (off + 8 <= stack_len) {
                size_t n = 0;
                for (; off + 8 <= stack_len && n < BATCH; off += 8) {
                        uint64_t cand;
                        memcpy(&cand, stack + off, 8);
                        if (cand & 7)
                                continue;
                        const struct map_entry *m = map_entries_find(maps, n_maps, cand + RLOCK_OWNER);
                        if (!m || m->perms[0] != 'r' || m->perms[1] != 'w' || cand < m->start ||
                            (m->path && *m->path && !streq(m->path, "[heap]")))
                                continue;
                        bool dup = false;
                        for (size_t k = 0; k < n && !dup; k++)
                                dup = cands[k] == cand;
                        if (dup)
                                continue;
                        cands[n++] = cand;
                }
                for (size_t k = 0; k < n; k++) {
                        uint64_t lock, owner;
                        char tn[16];
                        if (analysis_read_memory(py->pid, cands[k] + RLOCK_LOCK, &lock, 8) < 0 || lock != sem ||
                            type_name(&py->rd, cands[k], tn, sizeof tn) < 0 ||
                            !streq(tn, "_thread.RLock") || mem_read(&py->rd, cands[k] + RLOCK_OWNER, &owner, 8) < 0)
                                continue;
                        for (size_t i = 0; owner && i < py->n_threads; i++)
                                if (py->threads[i].ident == owner)
                                        return py->threads[i].tid;
                        return 0;
                }
        }
        return 0;
}

static bool is_eval_frame(const struct leakscan_frame *f)
{
        return f->function && !f->language && streq(f->function, "_PyEval_EvalFrameDefault");
}

/* Whether a Python file is the library's (the standard library, installed
 * packages, frozen modules) rather than the user's. */
static bool python_file_is_system(const char *file)
{
        return startswith(file, "<frozen ") || strstr(file, "/lib/python3") || strstr(file, "/lib64/python3");
}

bool python_waits_for_gil(const struct python_snapshot *py, uint64_t address)
{
        /* the lock's mutex and condition variables sit in _PyRuntime */
        return py && address >= py->runtime + py->lay->runtime_gil &&
               address < py->runtime + py->lay->runtime_gil + py->lay->gil_size;
}

/* Python's waits, by the library function that makes them. */
static const struct {
        const char *file;       /* the library file's name */
        const char *function;   /* qualified name */
        const char *kind;       /* what a Python user calls it */
} python_waits[] = {
        { "threading.py", "Event.wait", "threading.Event" },
        { "threading.py", "Condition.wait", "threading.Condition" },
        { "threading.py", "Condition.wait_for", "threading.Condition" },
        { "threading.py", "Semaphore.acquire", "threading.Semaphore" },
        { "threading.py", "Barrier.wait", "threading.Barrier" },
        { "threading.py", "Thread.join", "threading.Thread.join" },
        { "queue.py", "Queue.get", "queue.Queue.get" },
        { "queue.py", "Queue.put", "queue.Queue.put" },
        { "_base.py", "Future.result", "concurrent.futures.Future" },
};

int python_describe_wait(struct leakscan_thread *t)
{
        if (!t->has_object)
                return 0;
        /* the library frames right above the innermost Python frames, and
         * the first user frame that called them */
        const char *kind = NULL;
        size_t i = 0;
        while (i < t->n_frames && !t->frames[i].language)
                i++;
        for (; i < t->n_frames && t->frames[i].language && t->frames[i].system; i++) {
                const struct leakscan_frame *f = &t->frames[i];
                const char *base = f->file && strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;
                for (size_t k = 0; base && f->function && k < ARRAY_SIZE(python_waits); k++)
                        if (streq(base, python_waits[k].file) && streq(f->function, python_waits[k].function))
                                kind = python_waits[k].kind;
        }
        /* an RLock's acquire is C code: known by the owner found for it
         * (a semaphore has no owner otherwise) */
        if (!kind && t->state == LEAKSCAN_STATE_SEMAPHORE && t->owner_tid)
                kind = "threading.RLock";
        if (!kind || i >= t->n_frames || !t->frames[i].language || !t->frames[i].file)
                return 0;
        char *file = strdup(t->frames[i].file);
        if (!file)
                return -ENOMEM;
        free(t->object.symbol);
        free(t->object.file);
        t->object.symbol = NULL;
        t->object.kind = kind;
        t->object.file = file;
        t->object.line = t->frames[i].line;
        return 0;
}

bool python_in_eval(const struct leakscan_frame *frames, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (is_eval_frame(&frames[i]))
                        return true;
        return false;
}

/* The interpreter's own frames, and its standard library's extension
 * modules', are not the user's. */
static void mark_interpreter(struct leakscan_frame *nf)
{
        if (!nf->module || nf->language)
                return;
        const char *base = strrchr(nf->module, '/') ? strrchr(nf->module, '/') + 1 : nf->module;
        if (startswith(base, "python3") || startswith(base, "libpython3") ||
            (strstr(nf->module, "/lib-dynload/") && strstr(nf->module, "/python3")))
                nf->system = true;
}

/* Inserts the Python frames of t (NULL: none) into frames; see
 * python_merge. */
static int merge_thread(const struct py_thread *t, struct leakscan_frame **frames, size_t *n)
{
        size_t evals = 0;
        for (size_t i = 0; i < *n; i++)
                evals += is_eval_frame(&(*frames)[i]);
        if (evals == 0)
                return 0;
        for (size_t i = 0; i < *n; i++)
                mark_interpreter(&(*frames)[i]);
        if (!t)
                return 0;
        struct leakscan_frame *out = calloc(*n + t->n, sizeof *out);
        if (!out)
                return -ENOMEM;
        size_t o = 0, p = 0;
        for (size_t i = 0; i < *n; i++) {
                struct leakscan_frame *nf = &(*frames)[i];
                if (is_eval_frame(nf)) {
                        /* the Python frames this eval loop runs: up to and
                         * including the one it was entered with */
                        while (p < t->n) {
                                const struct py_frame *pf = &t->frames[p++];
                                struct leakscan_frame f = {
                                        .pc = pf->address, .line = pf->line, .language = "python",
                                        .function = strdup(pf->function), .file = strdup(pf->file),
                                        .sp = nf->sp,
                                };
                                f.system = python_file_is_system(pf->file);
                                if (!f.function || !f.file) {
                                        free(f.function);
                                        free(f.file);
                                        for (size_t k = 0; k < o; k++)
                                                if (out[k].language) {
                                                        free(out[k].function);
                                                        free(out[k].file);
                                                }
                                        free(out);
                                        return -ENOMEM;
                                }
                                out[o++] = f;
                                if (pf->is_entry)
                                        break;
                        }
                }
                out[o++] = *nf;
        }
        free(*frames);
        *frames = out;
        *n = o;
        return 0;
}

int python_merge(const struct python_snapshot *py, pid_t tid, struct leakscan_frame **frames, size_t *n)
{
        const struct py_thread *t = NULL;
        for (size_t i = 0; py && i < py->n_threads && !t; i++)
                if (py->threads[i].tid == tid && py->threads[i].n)
                        t = &py->threads[i];
        return merge_thread(t, frames, n);
}

int python_merge_stack(const struct python_stack *s, struct leakscan_frame **frames, size_t *n)
{
        return merge_thread(s ? &s->t : NULL, frames, n);
}

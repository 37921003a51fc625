/* Python frames of CPython threads; see python.h.
 *
 * The interpreter is found by its exported _PyRuntime and its version by
 * the exported Py_Version (3.11 and later; 3.10's by its file's name),
 * read from the module's file.  The layouts of the interpreter's private
 * structures come from a table, one row per minor version, 3.10 to 3.13
 * (offsets taken with offsetof from that version's own headers: they are
 * not installed everywhere, so not at build time), and 3.13's from the
 * _Py_DebugOffsets the interpreter itself writes, checked; all are checked
 * against invariants of the live objects before any frame is believed: a
 * code object's type must be named "code", its names' type "str".  A
 * version without a row, or whose objects break an invariant, gets a note
 * and no Python frame: never a wrong one.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <gelf.h>

#include "capturer.h"
#include "modules.h"
#include "python.h"
#include "util.h"

#define MAX_FRAMES 1024
#define MAX_THREADS 65536

/* How a version keeps its frames. */
enum frame_model {
        FRAMES_OBJECTS,         /* 3.10: PyFrameObject chains (f_back), one eval
                                 * loop per frame, f_lasti in code units */
        FRAMES_INTERP,          /* 3.11 and later: _PyInterpreterFrame chains
                                 * (previous), a pointer to the instruction */
};

/* How a version encodes a code object's lines. */
enum line_table {
        LINES_PAIRS,            /* 3.10: (bytecode delta, line delta) byte pairs */
        LINES_LOCATIONS,        /* 3.11 and later: Objects/locations.md */
};

#define NONE SIZE_MAX           /* a field the version does not have */

struct python_layout {
        unsigned major, minor;
        enum frame_model frames;
        enum line_table lines;
        size_t runtime_interp_head;     /* _PyRuntimeState.interpreters.head */
        size_t interp_next, interp_threads_head;
        size_t tstate_next, tstate_native_tid, tstate_ident;
        size_t tstate_cframe;           /* NONE: the frame is in the thread state */
        size_t tstate_frame;            /* in the thread state's cframe (3.11, 3.12) or itself */
        size_t tstate_datastack;        /* datastack_chunk, a _PyStackChunk (size at 8); NONE: 3.10 */
        size_t frame_code, frame_previous;
        size_t frame_instr;             /* prev_instr, instr_ptr (3.13) or f_lasti (3.10) */
        size_t frame_is_entry;          /* 3.11; NONE: entries are marked by a shim
                                         * frame owned by the C stack (3.12, 3.13) or
                                         * every frame is one (3.10) */
        size_t frame_owner;             /* NONE: 3.10 */
        size_t code_filename, code_linetable, code_firstlineno;
        size_t code_name;               /* co_qualname; co_name in 3.10, which has none */
        size_t code_argcount, code_varnames, frame_locals;     /* 3.10: a method's class
                                                                 * comes from its self */
        size_t code_adaptive;           /* the bytecode, in the code object (3.11 and later) */
        size_t code_code;               /* a bytes object of bytecode (3.10) */
        size_t str_ascii_data, str_compact_data;        /* sizeof PyASCIIObject, PyCompactUnicodeObject */
        size_t runtime_gil;             /* _PyRuntimeState.ceval.gil, or NONE */
        size_t interp_gil;              /* PyInterpreterState._gil (3.12 and later), or NONE */
        size_t gil_size;                /* sizeof struct _gil_runtime_state */
        bool debug_offsets;             /* _PyRuntime begins with _Py_DebugOffsets, which
                                         * overrides the offsets it has (3.13) */
};

/* The owner of 3.12's and 3.13's shim frame: FRAME_OWNED_BY_CSTACK. */
#define OWNED_BY_CSTACK 3

/* CPython on x86_64, one row per minor version: offsetof and sizeof from
 * that version's own Include/ and Include/internal headers (3.10.13,
 * 3.11.7, 3.12.1, 3.13.0 and Debian's 3.11; private structures keep their
 * layout within a minor version).  3.13's runtime and frame offsets come
 * from the target's own _Py_DebugOffsets; its row holds what they lack, and
 * the rest is only checked against them. */
static const struct python_layout layouts[] = {
        { .major = 3, .minor = 10, .frames = FRAMES_OBJECTS, .lines = LINES_PAIRS,
          .runtime_interp_head = 32, .interp_next = 0, .interp_threads_head = 8,
          .tstate_next = 8, .tstate_native_tid = NONE, .tstate_ident = 176,
          .tstate_cframe = NONE, .tstate_frame = 24, .tstate_datastack = NONE,
          .frame_code = 32, .frame_previous = 24, .frame_instr = 96, .frame_is_entry = NONE, .frame_owner = NONE,
          .code_filename = 104, .code_name = 112, .code_linetable = 120, .code_firstlineno = 40,
          .code_adaptive = NONE, .code_code = 48, .str_ascii_data = 48, .str_compact_data = 72,
          .code_argcount = 16, .code_varnames = 72, .frame_locals = 352,
          .runtime_gil = 352, .interp_gil = NONE, .gil_size = 208 },
        { .major = 3, .minor = 11, .frames = FRAMES_INTERP, .lines = LINES_LOCATIONS,
          .runtime_interp_head = 40, .interp_next = 0, .interp_threads_head = 16,
          .tstate_next = 8, .tstate_native_tid = 160, .tstate_ident = 152,
          .tstate_cframe = 56, .tstate_frame = 8, .tstate_datastack = 296,
          .frame_code = 32, .frame_previous = 48, .frame_instr = 56, .frame_is_entry = 68, .frame_owner = 69,
          .code_filename = 112, .code_name = 128, .code_linetable = 136, .code_firstlineno = 72,
          .code_adaptive = 184, .code_code = NONE, .str_ascii_data = 48, .str_compact_data = 72,
          .runtime_gil = 360, .interp_gil = NONE, .gil_size = 208 },
        { .major = 3, .minor = 12, .frames = FRAMES_INTERP, .lines = LINES_LOCATIONS,
          .runtime_interp_head = 40, .interp_next = 0, .interp_threads_head = 72,
          .tstate_next = 8, .tstate_native_tid = 144, .tstate_ident = 136,
          .tstate_cframe = 56, .tstate_frame = 0, .tstate_datastack = 232,
          .frame_code = 0, .frame_previous = 8, .frame_instr = 56, .frame_is_entry = NONE, .frame_owner = 70,
          .code_filename = 112, .code_name = 128, .code_linetable = 136, .code_firstlineno = 68,
          .code_adaptive = 192, .code_code = NONE, .str_ascii_data = 40, .str_compact_data = 56,
          .runtime_gil = NONE, .interp_gil = 1040, .gil_size = 208 },
        { .major = 3, .minor = 13, .frames = FRAMES_INTERP, .lines = LINES_LOCATIONS,
          .runtime_interp_head = 632, .interp_next = 7264, .interp_threads_head = 7344,
          .tstate_next = 8, .tstate_native_tid = 160, .tstate_ident = 152,
          .tstate_cframe = NONE, .tstate_frame = 72, .tstate_datastack = 232,
          .frame_code = 0, .frame_previous = 8, .frame_instr = 56, .frame_is_entry = NONE, .frame_owner = 70,
          .code_filename = 112, .code_name = 128, .code_linetable = 136, .code_firstlineno = 68,
          .code_adaptive = 200, .code_code = NONE, .str_ascii_data = 40, .str_compact_data = 56,
          .runtime_gil = NONE, .interp_gil = 7752, .gil_size = 208, .debug_offsets = true },
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
        uint64_t tstate;        /* its PyThreadState */
        uint64_t chunk_start, chunk_end;        /* its data stack's current chunk (frames only) */
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
        uint64_t bytecode;              /* where its instructions start */
        bool method;                    /* its first argument is self (3.10) */
};

#define MAX_GILS 8

struct python_snapshot {
        pid_t pid;
        struct reader rd;
        const struct python_layout *lay;        /* &layout */
        struct python_layout layout;    /* its version's row, with its debug offsets */
        struct py_thread *threads;
        size_t n_threads;
        uint64_t runtime;               /* _PyRuntime */
        struct code_info *codes;        /* cache, by address */
        size_t n_codes;
        bool persistent;                /* kept across reads: python_reader_open */
        uint64_t gils[MAX_GILS];        /* each interpreter's GIL (struct _gil_runtime_state) */
        size_t n_gils;
        /* python_rlock_owner's, for one snapshot: the lock word of each
         * candidate read (threads share many of them) */
        uint64_t *memo_keys, *memo_words;       /* LOCK_MEMO slots, key 0 empty; NULL: none */
};

#define LOCK_MEMO 4096

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

/* A str object's text (compact ASCII or Latin-1, as UTF-8; "?" for other
 * kinds), new string, checked to be a str.  The state bits (kind, compact,
 * ascii) sit alike in 3.10 to 3.13; the data follows the object's head,
 * whose size the layout says (3.12 dropped wstr). */
static int read_str(struct reader *rd, const struct python_layout *lay, uint64_t obj, char **ret)
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
        if ((r = mem_read(rd, obj + (ascii ? lay->str_ascii_data : lay->str_compact_data), raw, length)) < 0)
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
                if (!py->persistent || (read_ptr(&py->rd, addr + lay->code_name, &q) == 0 &&
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
        if ((r = read_ptr(&py->rd, addr + lay->code_name, &qualname)) < 0 ||
            (r = read_ptr(&py->rd, addr + lay->code_filename, &filename)) < 0 ||
            (r = read_ptr(&py->rd, addr + lay->code_linetable, &linetable)) < 0 ||
            (r = mem_read(&py->rd, addr + lay->code_firstlineno, &first, 4)) < 0 ||
            (r = read_str(&py->rd, lay, qualname, &c.qualname)) < 0 ||
            (r = read_str(&py->rd, lay, filename, &c.filename)) < 0)
                goto fail;
        c.firstlineno = first;
        c.qualname_obj = qualname;
        if (lay->frame_locals != NONE) {
                int32_t argc;
                uint64_t names, first_name;
                _cleanup_free_ char *name = NULL;
                c.method = mem_read(&py->rd, addr + lay->code_argcount, &argc, 4) == 0 && argc > 0 &&
                           read_ptr(&py->rd, addr + lay->code_varnames, &names) == 0 &&
                           read_ptr(&py->rd, names + 24, &first_name) == 0 &&  /* a tuple's first item */
                           read_str(&py->rd, lay, first_name, &name) == 0 && streq(name, "self");
        }
        if (lay->code_adaptive != NONE) {
                c.bytecode = addr + lay->code_adaptive;
        } else {
                uint64_t bytes;
                if ((r = read_ptr(&py->rd, addr + lay->code_code, &bytes)) < 0)
                        goto fail;
                c.bytecode = bytes + 32;        /* a bytes object's data */
        }
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

/* The line of the instruction at byte offset addr, from 3.10's line
 * table (Objects/lnotab_notes.txt): byte pairs, an unsigned bytecode
 * delta that ends a range and a signed line delta for it, -128 for a range
 * without a line.  0 when it has none. */
int python_linetable_line_pairs(const uint8_t *table, size_t len, int firstlineno, uint64_t addr)
{
        int line = firstlineno;
        uint64_t end = 0;
        for (size_t at = 0; at + 1 < len; at += 2) {
                int delta = (int8_t) table[at + 1];
                bool none = delta == -128;
                end += table[at];
                if (!none)
                        line += delta;
                if (addr < end)
                        return none ? 0 : line;
        }
        return 0;
}

static int code_line(const struct python_layout *lay, const struct code_info *c, uint64_t addr)
{
        if (lay->lines == LINES_PAIRS)
                return python_linetable_line_pairs(c->linetable, c->linetable_len, c->firstlineno, addr);
        return python_linetable_line(c->linetable, c->linetable_len, c->firstlineno, addr);
}

/* The frames of the thread state at ts, appended to t.  Returns 0 (a
 * chain that breaks ends the walk), -EPROTO when an object is not what the
 * layout says, or -ENOMEM. */
/* 3.10's code objects have no qualified name: a method's is its self's
 * class's name and its own, as 3.11's co_qualname says for a method
 * defined in the class itself ("Event.wait").  New string. */
static char *method_name(struct python_snapshot *py, uint64_t self_slot, const char *name)
{
        uint64_t self;
        char tn[48];
        if (read_ptr(&py->rd, self_slot, &self) < 0 || type_name(&py->rd, self, tn, sizeof tn) < 0)
                return strdup(name);
        /* a C type's name has its module before it */
        const char *cls = strrchr(tn, '.') ? strrchr(tn, '.') + 1 : tn;
        for (const char *p = cls; *p; p++)
                if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
                        return strdup(name);
        char *out;
        return *cls && asprintf(&out, "%s.%s", cls, name) >= 0 ? out : NULL;
}

static size_t max_z(size_t a, size_t b)
{
        return a > b ? a : b;
}

static int walk_thread(struct python_snapshot *py, uint64_t ts, struct py_thread *t)
{
        const struct python_layout *lay = py->lay;
        uint64_t frame, holder = ts;
        if (lay->tstate_cframe != NONE && read_ptr(&py->rd, ts + lay->tstate_cframe, &holder) < 0)
                return 0;
        if (read_ptr(&py->rd, holder + lay->tstate_frame, &frame) < 0)
                return 0;
        uint64_t chunk, chunk_size;
        if (lay->tstate_datastack != NONE && read_ptr(&py->rd, ts + lay->tstate_datastack, &chunk) == 0 &&
            mem_read(&py->rd, chunk + 8, &chunk_size, 8) == 0 && chunk_size < (1u << 30)) {
                t->chunk_start = chunk;
                t->chunk_end = chunk + chunk_size;
        }
        /* the frame's head, up to its last field read, in one read */
        size_t head_len = max_z(max_z(lay->frame_code, lay->frame_previous), lay->frame_instr) + 8;
        if (lay->frame_owner != NONE)
                head_len = max_z(head_len, lay->frame_owner + 1);
        if (lay->frame_is_entry != NONE)
                head_len = max_z(head_len, lay->frame_is_entry + 1);
        for (size_t depth = 0; frame && depth < MAX_FRAMES; depth++) {
                uint8_t head[128];
                uint64_t code, previous, instr = 0;
                if (head_len > sizeof head || mem_read(&py->rd, frame, head, head_len) < 0)
                        return 0;
                memcpy(&code, head + lay->frame_code, 8);
                memcpy(&previous, head + lay->frame_previous, 8);
                if (previous == frame)
                        break;
                /* 3.12's and 3.13's eval loop starts with a shim frame of
                 * its own: the frame above it is the one it was entered with */
                if (lay->frame_owner != NONE && head[lay->frame_owner] == OWNED_BY_CSTACK) {
                        if (t->n)
                                t->frames[t->n - 1].is_entry = true;
                        frame = previous;
                        continue;
                }
                const struct code_info *c;
                int r = code_at(py, code, &c);
                if (r == -ENOMEM || r == -EPROTO)
                        return r;
                if (r < 0)
                        return 0;
                int line;
                if (lay->frames == FRAMES_OBJECTS) {
                        /* f_lasti counts code units, -1 before the first */
                        int32_t lasti;
                        memcpy(&lasti, head + lay->frame_instr, 4);
                        line = lasti < 0 ? c->firstlineno : code_line(lay, c, (uint64_t) lasti * 2);
                        instr = c->bytecode + (uint64_t) (lasti > 0 ? lasti : 0) * 2;
                } else {
                        memcpy(&instr, head + lay->frame_instr, 8);
                        line = instr >= c->bytecode && instr - c->bytecode < (1u << 28) ?
                                code_line(lay, c, instr - c->bytecode) : 0;
                }
                /* the instruction's address stands for the frame: the same
                 * code at the same place in two threads is the same frame
                 * (so their stacks group, and caches keyed on pcs hit) */
                struct py_frame f = {
                        .line = line, .address = instr ? instr : code,
                        /* 3.10 runs each frame in an eval loop of its own */
                        .is_entry = lay->frames == FRAMES_OBJECTS ||
                                    (lay->frame_is_entry != NONE && head[lay->frame_is_entry] != 0),
                };
                f.function = lay->frame_locals != NONE && c->method ?
                        method_name(py, frame + lay->frame_locals, c->qualname) : strdup(c->qualname);
                f.file = strdup(c->filename);
                struct py_frame *more = f.function && f.file ? realloc(t->frames, (t->n + 1) * sizeof *more) : NULL;
                if (!more) {
                        free(f.function);
                        free(f.file);
                        return -ENOMEM;
                }
                t->frames = more;
                t->frames[t->n++] = f;
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
        free(py->memo_keys);
        free(py->memo_words);
        free(py->rd.data);
        free(py);
}

struct finder {
        uint64_t runtime, version_addr;
        Dwfl_Module *mod;
        unsigned name_minor;    /* the 3.N its file's name says (python3.10,
                                 * libpython3.10.so.1.0), 0 none */
        bool old;               /* a python3.N module without _PyRuntime (3.6 and before) */
};

/* The minor version in a file name "python3.N..." or "libpython3.N...". */
static unsigned name_minor(const char *base)
{
        const char *p = startswith(base, "lib") ? base + 3 : base;
        if (!startswith(p, "python3."))
                return 0;
        p += strlen("python3.");
        unsigned minor = 0;
        for (; *p >= '0' && *p <= '9' && minor < 1000; p++)
                minor = minor * 10 + (unsigned) (*p - '0');
        return minor;
}

/* The ELF hash of the GNU hash table (dl_new_hash). */
static uint32_t gnu_hash(const char *name)
{
        uint32_t h = 5381;
        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                h = h * 33 + *c;
        return h;
}

/* The value of the defined dynamic symbol name of elf, found through its
 * .gnu.hash section (every table bounded by its section's size).  Returns
 * whether it was found. */
static bool gnu_hash_lookup(Elf *elf, const char *name, uint64_t *ret)
{
        Elf_Scn *scn = NULL;
        GElf_Shdr sh;
        while ((scn = elf_nextscn(elf, scn)))
                if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_HASH)
                        break;
        if (!scn)
                return false;
        Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
        GElf_Shdr symsh;
        Elf_Data *hd = elf_getdata(scn, NULL), *sd = symscn ? elf_getdata(symscn, NULL) : NULL;
        if (!hd || !sd || !gelf_getshdr(symscn, &symsh) || hd->d_size < 16)
                return false;
        const uint32_t *w = hd->d_buf;
        uint32_t nbuckets = w[0], symoffset = w[1], bloom_words = w[2];
        size_t n_words = hd->d_size / 4, head = 4 + (size_t) bloom_words * 2;     /* 64-bit bloom words */
        if (nbuckets == 0 || head + nbuckets > n_words)
                return false;
        const uint32_t *buckets = w + head, *chain = buckets + nbuckets;
        size_t n_chain = n_words - head - nbuckets;
        uint32_t h = gnu_hash(name);
        for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i - symoffset < n_chain; i++) {
                uint32_t c = chain[i - symoffset];
                GElf_Sym sym;
                const char *s;
                if ((c | 1) == (h | 1) && gelf_getsym(sd, (int) i, &sym) &&
                    (s = elf_strptr(elf, symsh.sh_link, sym.st_name)) && streq(s, name) &&
                    sym.st_shndx != SHN_UNDEF) {
                        *ret = sym.st_value;
                        return true;
                }
                if (c & 1)
                        break;
        }
        return false;
}

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
        uint64_t runtime = 0, version = 0;
        /* both are exported: the dynamic symbols' hash table finds them
         * without a walk of the whole symbol table */
        Dwarf_Addr bias;
        Elf *elf = dwfl_module_getelf(mod, &bias);
        if (elf && gnu_hash_lookup(elf, "_PyRuntime", &runtime)) {
                runtime += bias;
                if (gnu_hash_lookup(elf, "Py_Version", &version))
                        version += bias;
                else
                        version = 0;
        }
        int n = runtime ? 0 : dwfl_module_getsymtab(mod);
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
        if (!runtime) {
                fd->old |= name_minor(base) > 0;
                return DWARF_CB_OK;
        }
        fd->runtime = runtime;
        fd->version_addr = version;
        fd->mod = mod;
        fd->name_minor = name_minor(base);
        return DWARF_CB_ABORT;
}

/* 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h), at the
 * start of _PyRuntime: what an outside reader needs, written by the
 * interpreter itself.  Its own layout is fixed within 3.13 only (3.14
 * adds to it), so it is believed for 3.13 alone, with its cookie. */
struct debug_offsets_313 {
        char cookie[8];
        uint64_t version, free_threaded;
        struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
        struct {
                uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins, ceval_gil,
                         gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked,
                         gil_runtime_state_holder;
        } interpreter_state;
        struct {
                uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id, datastack_chunk,
                         status;
        } thread_state;
        struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
        struct {
                uint64_t size, filename, name, qualname, linetable, firstlineno, argcount, localsplusnames,
                         localspluskinds, co_code_adaptive;
        } code_object;
        struct { uint64_t size, ob_type; } pyobject;
        struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
        struct { uint64_t size, ob_item, ob_size; } tuple_object, list_object;
        struct { uint64_t size, ma_keys, ma_values; } dict_object;
        struct { uint64_t size, ob_fval; } float_object;
        struct { uint64_t size, lv_tag, ob_digit; } long_object;
        struct { uint64_t size, ob_size, ob_sval; } bytes_object;
        struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
};

static bool within(uint64_t off, size_t len, uint64_t size)
{
        return size < (1u << 24) && off < size && off + len <= size;
}

/* Overrides lay's offsets with the target's _Py_DebugOffsets, read from
 * runtime.  Returns 0, or -EPROTO with *ret_note when they are missing,
 * for another version, or out of their structures' bounds; another
 * negative errno when they cannot be read. */
static int apply_debug_offsets(pid_t pid, uint64_t runtime, uint64_t version, struct python_layout *lay,
                               const char **ret_note)
{
        struct debug_offsets_313 d;
        int r = analysis_read_memory(pid, runtime, &d, sizeof d);
        if (r < 0)
                return r;
        if (memcmp(d.cookie, "xdebugpy", 8) != 0 || (d.version >> 16) != (version >> 16)) {
                *ret_note = "CPython's _Py_DebugOffsets are missing or name another version: "
                            "its Python frames are not read";
                return -EPROTO;
        }
        if (d.free_threaded) {
                *ret_note = "a free-threaded CPython (its objects' layout differs): its Python frames are not read";
                return -EPROTO;
        }
        if (!within(d.runtime_state.interpreters_head, 8, d.runtime_state.size) ||
            !within(d.interpreter_state.next, 8, d.interpreter_state.size) ||
            !within(d.interpreter_state.threads_head, 8, d.interpreter_state.size) ||
            !within(d.interpreter_state.gil_runtime_state, lay->gil_size, d.interpreter_state.size) ||
            !within(d.thread_state.next, 8, d.thread_state.size) ||
            !within(d.thread_state.current_frame, 8, d.thread_state.size) ||
            !within(d.thread_state.thread_id, 8, d.thread_state.size) ||
            !within(d.thread_state.native_thread_id, 8, d.thread_state.size) ||
            !within(d.thread_state.datastack_chunk, 8, d.thread_state.size) ||
            !within(d.interpreter_frame.previous, 8, 128) || !within(d.interpreter_frame.executable, 8, 128) ||
            !within(d.interpreter_frame.instr_ptr, 8, 128) || !within(d.interpreter_frame.owner, 1, 128) ||
            !within(d.code_object.filename, 8, d.code_object.size) ||
            !within(d.code_object.qualname, 8, d.code_object.size) ||
            !within(d.code_object.linetable, 8, d.code_object.size) ||
            !within(d.code_object.firstlineno, 4, d.code_object.size) ||
            !within(d.code_object.co_code_adaptive, 2, d.code_object.size) ||
            d.pyobject.ob_type != 8 || d.type_object.tp_name != 24 || d.bytes_object.ob_size != 16 ||
            d.bytes_object.ob_sval != 32 || d.unicode_object.length != 16 || d.unicode_object.state != 32 ||
            d.unicode_object.asciiobject_size > 256) {
                *ret_note = "CPython's _Py_DebugOffsets do not fit its structures: its Python frames are not read";
                return -EPROTO;
        }
        lay->runtime_interp_head = d.runtime_state.interpreters_head;
        lay->interp_next = d.interpreter_state.next;
        lay->interp_threads_head = d.interpreter_state.threads_head;
        lay->interp_gil = d.interpreter_state.gil_runtime_state;
        lay->tstate_next = d.thread_state.next;
        lay->tstate_frame = d.thread_state.current_frame;
        lay->tstate_ident = d.thread_state.thread_id;
        lay->tstate_native_tid = d.thread_state.native_thread_id;
        lay->tstate_datastack = d.thread_state.datastack_chunk;
        lay->frame_previous = d.interpreter_frame.previous;
        lay->frame_code = d.interpreter_frame.executable;
        lay->frame_instr = d.interpreter_frame.instr_ptr;
        lay->frame_owner = d.interpreter_frame.owner;
        lay->code_filename = d.code_object.filename;
        lay->code_name = d.code_object.qualname;
        lay->code_linetable = d.code_object.linetable;
        lay->code_firstlineno = d.code_object.firstlineno;
        lay->code_adaptive = d.code_object.co_code_adaptive;
        lay->str_ascii_data = d.unicode_object.asciiobject_size;
        lay->str_compact_data = d.unicode_object.asciiobject_size + 16;        /* utf8_length, utf8 */
        return 0;
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
        if (!fd.runtime) {
                if (fd.old)
                        *ret_note = "a CPython before 3.10: its Python frames are not read";
                return 0;
        }
        /* Py_Version (3.11 and later) says it; before it, the file's name */
        uint64_t version = 0;
        if (fd.version_addr && modules_read_file_word(mods, fd.version_addr, &version)) {
                version &= 0xffffffff;
        } else if (fd.name_minor == 10) {
                version = 0x030a0000;
        } else {
                *ret_note = "a CPython before 3.10, or one whose version cannot be told (no Py_Version): "
                            "its Python frames are not read";
                return 0;
        }
        unsigned major = (unsigned) (version >> 24) & 0xff, minor = (unsigned) (version >> 16) & 0xff;
        const struct python_layout *lay = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
                if (layouts[i].major == major && layouts[i].minor == minor)
                        lay = &layouts[i];
        if (!lay) {
                *ret_note = "a CPython version whose layout leakscan does not know (it reads 3.10 to 3.13): "
                            "its Python frames are not read";
                return 0;
        }
        struct python_snapshot *py = calloc(1, sizeof *py);
        if (!py)
                return -ENOMEM;
        py->pid = mods->pid;
        py->rd = (struct reader) { .pid = mods->pid, .data = malloc(CACHED_PAGES * PAGE) };     /* none: uncached */
        py->layout = *lay;
        py->lay = &py->layout;
        py->runtime = fd.runtime;
        if (lay->debug_offsets) {
                int r = apply_debug_offsets(mods->pid, fd.runtime, version, &py->layout, ret_note);
                if (r < 0) {
                        python_snapshot_free(py);
                        if (r != -EPROTO)
                                *ret_note = "CPython's _Py_DebugOffsets cannot be read: its Python frames are not read";
                        return r == -ENOMEM ? r : 0;
                }
        }
        if (lay->runtime_gil != NONE)
                py->gils[py->n_gils++] = fd.runtime + lay->runtime_gil;
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
                if (lay->interp_gil != NONE && py->n_gils < MAX_GILS)
                        py->gils[py->n_gils++] = interp + lay->interp_gil;
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
                        /* 3.10 keeps no TID: its threads are told by their
                                 * pthread_self(), the thread pointer (python_merge) */
                        if (lay->tstate_native_tid != NONE && mem_read(&py->rd, ts + lay->tstate_native_tid, &tid, 8) == 0)
                                t->tid = (pid_t) tid;
                        (void) mem_read(&py->rd, ts + lay->tstate_ident, &t->ident, 8);
                        t->tstate = ts;
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

int python_reader_open_pid(pid_t pid, struct python_snapshot **ret)
{
        char path[64];
        _cleanup_free_ char *maps = NULL;
        snprintf(path, sizeof path, "/proc/%d/maps", (int) pid);
        struct modules *mods = NULL;
        int r = read_full_file(path, &maps) < 0 || (!strstr(maps, "/python3") && !strstr(maps, "/libpython3")) ?
                -ENOENT : modules_new(pid, maps, &mods);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                *ret = NULL;
                return 0;
        }
        r = python_reader_open(mods, ret);
        modules_free(mods);
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
        if (lay->tstate_native_tid == NONE)
                return 0;       /* 3.10: no TID to find the thread by */
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

/* The thread of py that is tid, whose thread pointer is tls (3.10 knows
 * its threads by that alone), or NULL. */
static struct py_thread *thread_of(struct python_snapshot *py, pid_t tid, uint64_t tls)
{
        for (size_t i = 0; py && i < py->n_threads; i++) {
                struct py_thread *t = &py->threads[i];
                if ((tid && t->tid == tid) || (py->lay->tstate_native_tid == NONE && tls && t->ident == tls))
                        return t;
        }
        return NULL;
}

int python_recover_thread(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, pid_t tid,
                          uint64_t tls, const uint8_t *stack, size_t stack_len)
{
        if (!py || !stack || thread_of(py, tid, tls))
                return 0;
        const struct python_layout *lay = py->lay;
        bool by_tid = lay->tstate_native_tid != NONE;
        if (!by_tid && !tls)
                return 0;
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
                uint64_t id;
                if (mem_read(&py->rd, cand + (by_tid ? lay->tstate_native_tid : lay->tstate_ident), &id, 8) < 0 ||
                    id != (by_tid ? (uint64_t) tid : tls))
                        continue;
                struct py_thread t = { .tid = tid, .ident = by_tid ? 0 : tls };
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

static bool is_eval_frame(const struct leakscan_frame *f);

/* The word at obj + RLOCK_LOCK, read once per snapshot. */
static int lock_word(struct python_snapshot *py, uint64_t obj, uint64_t *ret)
{
        if (!py->memo_keys) {
                py->memo_keys = calloc(LOCK_MEMO, sizeof *py->memo_keys);
                py->memo_words = calloc(LOCK_MEMO, sizeof *py->memo_words);
        }
        size_t slot = (size_t) ((obj >> 3) * 0x9e3779b97f4a7c15ull >> 52) % LOCK_MEMO;
        for (size_t k = 0; py->memo_keys && py->memo_words && k < 8; k++, slot = (slot + 1) % LOCK_MEMO) {
                if (py->memo_keys[slot] == obj) {
                        *ret = py->memo_words[slot];
                        return 0;
                }
                if (py->memo_keys[slot] == 0) {
                        int r = analysis_read_memory(py->pid, obj + RLOCK_LOCK, ret, 8);
                        if (r < 0)
                                return r;
                        py->memo_keys[slot] = obj;
                        py->memo_words[slot] = *ret;
                        return 0;
                }
        }
        return analysis_read_memory(py->pid, obj + RLOCK_LOCK, ret, 8);
}

pid_t python_rlock_owner(struct python_snapshot *py, const struct map_entry *maps, size_t n_maps, uint64_t sem,
                         const uint8_t *stack, uint64_t stack_addr, size_t stack_len,
                         const struct leakscan_frame *frames, size_t n_frames)
{
        if (!py || !stack)
                return 0;
        /* the acquiring call's own frames: those below the eval loop that
         * made it (its Python value stack is on the heap); each candidate
         * costs a read of the target */
        for (size_t i = 0; i < n_frames; i++)
                if (is_eval_frame(&frames[i])) {
                        if (frames[i].sp > stack_addr && frames[i].sp - stack_addr < stack_len)
                                stack_len = frames[i].sp - stack_addr;
                        break;
                }
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
                        /* the semaphore itself, a thread state, data
                         * stack (frames only) or code object the walk
                         * met: no RLock */
                        bool dup = cand == sem;
                        for (size_t k = 0; k < n && !dup; k++)
                                dup = cands[k] == cand;
                        for (size_t k = 0; k < py->n_threads && !dup; k++)
                                dup = py->threads[k].tstate == cand ||
                                      (cand >= py->threads[k].chunk_start && cand < py->threads[k].chunk_end);
                        for (size_t k = 0; k < py->n_codes && !dup; k++)
                                dup = py->codes[k].address == cand;
                        if (dup)
                                continue;
                        cands[n++] = cand;
                }
                for (size_t k = 0; k < n; k++) {
                        uint64_t lock, owner;
                        char tn[16];
                        if (lock_word(py, cands[k], &lock) < 0 || lock != sem ||
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
        /* the lock's mutex and condition variables sit in _PyRuntime (3.10,
         * 3.11) or in each interpreter (3.12 and later) */
        for (size_t i = 0; py && i < py->n_gils; i++)
                if (address >= py->gils[i] && address < py->gils[i] + py->lay->gil_size)
                        return true;
        return false;
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

/* The C functions of _thread's locks (Modules/_threadmodule.c, 3.10 to
 * 3.13), innermost first. */
static const struct {
        const char *function;
        const char *kind;
} python_native_waits[] = {
        { "lock_PyThread_acquire_lock", "threading.Lock" },
        { "rlock_acquire", "threading.RLock" },
};

int python_describe_wait(struct leakscan_thread *t)
{
        if (!t->has_object)
                return 0;
        /* the library frames right above the innermost Python frames, and
         * the first user frame that called them; native frames between
         * them are the eval loops that run them (3.10 runs each Python
         * frame in one of its own) */
        const char *kind = NULL;
        size_t i = 0;
        for (; i < t->n_frames; i++) {
                const struct leakscan_frame *f = &t->frames[i];
                if (!f->language) {
                        /* a lock's acquire is C code: known by its name
                         * where the interpreter has its symbols, before
                         * any Python frame */
                        for (size_t k = 0; !kind && f->function && k < ARRAY_SIZE(python_native_waits); k++)
                                if (streq(f->function, python_native_waits[k].function))
                                        kind = python_native_waits[k].kind;
                        continue;
                }
                if (!f->system)
                        break;
                const char *base = f->file && strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;
                for (size_t k = 0; base && f->function && k < ARRAY_SIZE(python_waits); k++)
                        if (streq(base, python_waits[k].file) && streq(f->function, python_waits[k].function))
                                kind = python_waits[k].kind;
        }
        /* an RLock's acquire is C code: known by the owner found for it
         * (a semaphore has no owner otherwise) */
        if (t->state == LEAKSCAN_STATE_SEMAPHORE && t->owner_tid &&
            (!kind || streq(kind, "threading.Lock")))
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

void python_bind_thread(struct python_snapshot *py, pid_t tid, uint64_t tls)
{
        struct py_thread *t = py && tls && py->lay->tstate_native_tid == NONE ? thread_of(py, 0, tls) : NULL;
        if (t)
                t->tid = tid;
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

/* The "libunwind" unwinder: libunwind's remote API over the snapshot, with
 * accessors of our own, offline like the libdw backend.
 *
 * Never the _UPT_* accessors here: those reread /proc/PID/maps, reopen ELF
 * files and read memory one word per ptrace call.  Instead, as perf's
 * libunwind support does, find_proc_info hands libunwind the binary-search
 * table of the module's .eh_frame_hdr (UNW_INFO_FORMAT_REMOTE_TABLE) and
 * lets dwarf_search_unwind_table read it, and the FDEs, through access_mem;
 * access_mem serves the thread's stack from the copied window and
 * everything else from the read-only PT_LOAD segments of the ELF files libdw
 * already opened for the modules (src/analysis/modules.c), never from the process.
 *
 * A module without .eh_frame_hdr (static executables) gets the same table,
 * built here from its .eh_frame and served at an address no process maps.
 * Modules are looked up lazily, the first time an address falls in one, so a
 * snapshot costs only the libraries its stacks touch.  .debug_frame is not
 * read: Debian's libunwind is built without it, and x86_64 code carries
 * .eh_frame (the -fno-asynchronous-unwind-tables corner is where libdw,
 * which reads both, does better). */
#include <errno.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "unwind-libunwind.h"
#include "util.h"

/* libunwind exports this for remote unwinders but keeps it out of its
 * public headers (perf declares it the same way). */
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)
extern int dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                     unw_proc_info_t *pi, int need_unwind_info, void *arg);

#define DW_EH_PE_absptr  0x00
#define DW_EH_PE_udata4  0x03
#define DW_EH_PE_sdata4  0x0b
#define DW_EH_PE_udata8  0x04
#define DW_EH_PE_sdata8  0x0c
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_omit    0xff

struct lu_segment {
        uint64_t start;         /* run-time address */
        uint64_t filesz, memsz;
        const uint8_t *bytes;   /* the file's bytes for [start, start + filesz) */
};

/* A module as this backend needs it: where its read-only bytes are and
 * where its .eh_frame_hdr search table lies. */
struct lu_module {
        uint64_t low, high;
        struct lu_segment segs[8];
        size_t n_segs;
        bool has_table;
        uint64_t hdr;           /* run-time address of .eh_frame_hdr */
        uint64_t table;         /* of its search table */
        uint64_t fde_count;
        int32_t *index;         /* built from .eh_frame when the module has
                                 * no .eh_frame_hdr: (pc, fde) pairs, owned */
};

/* Where the indexes built here are served to libunwind: addresses in the
 * kernel's half, which no user-space mapping (so no stack or file) uses,
 * 4 GiB per module. */
#define LU_INDEX_BASE 0xffffc00000000000ull

struct libunwind_state {
        struct modules *mods;
        struct process_capture *cap;
        const struct thread_capture *current;
        bool window_miss;               /* a read above the stack window failed */
        uint64_t dwarf_regs[ARCH_DWARF_NREGS];
        unw_addr_space_t as;
        struct lu_module *modules;      /* the ones touched so far */
        size_t n_modules, cap_modules;
        size_t last;                    /* index of the last hit */
};

/* Reads a pointer encoded as enc at p (the field's run-time address is
 * addr).  Returns its size, or 0 for an encoding not used for code
 * addresses on x86_64. */
static size_t read_encoded(uint8_t enc, const uint8_t *p, const uint8_t *end, uint64_t addr, uint64_t *ret)
{
        uint64_t v;
        size_t n;
        switch (enc & 0x0f) {
        case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8:
                n = 8;
                if (end - p < 8)
                        return 0;
                memcpy(&v, p, 8);
                break;
        case DW_EH_PE_udata4: case DW_EH_PE_sdata4: {
                if (end - p < 4)
                        return 0;
                uint32_t u;
                memcpy(&u, p, 4);
                v = (enc & 0x0f) == DW_EH_PE_sdata4 ? (uint64_t) (int64_t) (int32_t) u : u;
                n = 4;
                break;
        }
        default:
                return 0;
        }
        switch (enc & 0x70) {
        case 0x00: break;                       /* absolute */
        case 0x10: v += addr; break;            /* pcrel */
        default: return 0;
        }
        *ret = v;
        return n;
}

static int cmp_index_entry(const void *a, const void *b)
{
        int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
        return (x > y) - (x < y);
}

/* A module without .eh_frame_hdr (a static executable: gcc links those
 * without --eh-frame-hdr) has only .eh_frame, which libunwind's remote API
 * cannot search.  Builds the table the linker would have written: sorted
 * (initial location, FDE) pairs relative to .eh_frame's address, which then
 * stands in for the header's address as segbase. */
static void lu_index_eh_frame(Elf *elf, uint64_t bias, struct lu_module *m)
{
        size_t shstrndx;
        Elf_Scn *scn = NULL;
        GElf_Shdr shdr;
        if (elf_getshdrstrndx(elf, &shstrndx) != 0)
                return;
        while ((scn = elf_nextscn(elf, scn))) {
                const char *name;
                if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_PROGBITS &&
                    (name = elf_strptr(elf, shstrndx, shdr.sh_name)) && streq(name, ".eh_frame"))
                        break;
        }
        Elf_Data *data = scn ? elf_rawdata(scn, NULL) : NULL;
        const unsigned char *ident = (const unsigned char *) elf_getident(elf, NULL);
        if (!data || !data->d_buf || !ident)
                return;
        const uint8_t *base = data->d_buf, *end = base + data->d_size;
        uint64_t section = shdr.sh_addr + bias;
        /* the FDE pointer encoding of each CIE seen, by offset (a linker
         * merges equal CIEs: there are few) */
        struct cie_encoding { Dwarf_Off offset; uint8_t enc; } *cies = NULL;
        size_t n_cies = 0, cap_cies = 0, n = 0, cap = 0;
        int32_t *index = NULL;
        Dwarf_Off off = 0, next;
        Dwarf_CFI_Entry e;
        while (dwarf_next_cfi(ident, data, true, off, &next, &e) == 0) {
                if (dwarf_cfi_cie_p(&e)) {
                        uint8_t enc = DW_EH_PE_absptr;
                        const uint8_t *a = e.cie.augmentation_data;
                        const uint8_t *a_end = a ? a + e.cie.augmentation_data_size : NULL;
                        for (const char *c = e.cie.augmentation; a && *c && a < a_end; c++) {
                                if (*c == 'R')
                                        enc = *a++;
                                else if (*c == 'L')
                                        a++;
                                else if (*c == 'P') {
                                        uint64_t ignored;
                                        size_t k = read_encoded(a[0] & 0x0f, a + 1, a_end, 0, &ignored);
                                        if (k == 0)
                                                break;
                                        a += 1 + k;
                                }
                        }
                        if (n_cies == cap_cies) {
                                size_t c = cap_cies ? cap_cies * 2 : 16;
                                struct cie_encoding *x = realloc(cies, c * sizeof *x);
                                if (!x)
                                        break;
                                cies = x;
                                cap_cies = c;
                        }
                        cies[n_cies++] = (struct cie_encoding) { off, enc };
                } else {
                        uint8_t enc = 0xff;
                        for (size_t i = 0; i < n_cies; i++)
                                if (cies[i].offset == e.fde.CIE_pointer)
                                        enc = cies[i].enc;
                        uint64_t pc;
                        const uint8_t *field = e.fde.start;
                        if (enc != 0xff && field >= base && field < end &&
                            read_encoded(enc, field, end, section + (uint64_t) (field - base), &pc) &&
                            pc - section + 0x80000000ull <= 0xffffffffull) {
                                if (n == cap) {
                                        size_t c = cap ? cap * 2 : 256;
                                        int32_t *x = realloc(index, c * 2 * sizeof *x);
                                        if (!x)
                                                break;
                                        index = x;
                                        cap = c;
                                }
                                index[2 * n] = (int32_t) (pc - section);
                                index[2 * n + 1] = (int32_t) off;
                                n++;
                        }
                }
                off = next;
        }
        free(cies);
        if (n == 0) {
                free(index);
                return;
        }
        qsort(index, n, 2 * sizeof *index, cmp_index_entry);
        m->index = index;
        m->hdr = section;
        m->fde_count = n;
        m->has_table = true;
}

/* Fills m from the ELF that libdw opened for mod.  Returns false when the
 * module has no ELF we can read. */
static bool lu_module_load(Dwfl_Module *mod, struct lu_module *m)
{
        Dwarf_Addr low, high, bias;
        *m = (struct lu_module) {0};
        if (!dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL))
                return false;
        m->low = low;
        m->high = high;
        Elf *elf = dwfl_module_getelf(mod, &bias);
        if (!elf)
                return true;    /* known, but nothing to read: no info */
        size_t size = 0, nphdr = 0;
        const uint8_t *raw = (const uint8_t *) elf_rawfile(elf, &size);
        if (!raw || elf_getphdrnum(elf, &nphdr) != 0)
                return true;
        uint64_t hdr_vaddr = 0;
        bool has_hdr = false;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr mem, *ph = gelf_getphdr(elf, (int) i, &mem);
                if (!ph)
                        continue;
                if (ph->p_type == PT_GNU_EH_FRAME) {
                        hdr_vaddr = ph->p_vaddr;
                        has_hdr = true;
                }
                /* Writable segments too: libunwind dereferences an FDE's
                 * indirect personality pointer, a GOT slot in writable data
                 * that the loader fills, and fails the whole FDE if it cannot.
                 * The unwind never uses that value, so the file's bytes do;
                 * nothing else of writable data is read for unwinding. */
                if (ph->p_type != PT_LOAD || m->n_segs == ARRAY_SIZE(m->segs))
                        continue;
                if (ph->p_offset > size || size - ph->p_offset < ph->p_filesz)
                        continue;
                m->segs[m->n_segs++] = (struct lu_segment) {
                        .start = ph->p_vaddr + bias,
                        .filesz = ph->p_filesz,
                        .memsz = ph->p_memsz,
                        .bytes = raw + ph->p_offset,
                };
        }
        if (!has_hdr) {
                lu_index_eh_frame(elf, bias, m);
                return true;
        }

        /* .eh_frame_hdr: version 1, three encodings, the encoded .eh_frame
         * pointer and FDE count, then the table libunwind can search only
         * when it is datarel sdata4 pairs (what every linker writes). */
        m->hdr = hdr_vaddr + bias;
        const uint8_t *h = NULL;
        for (size_t i = 0; i < m->n_segs; i++) {
                const struct lu_segment *s = &m->segs[i];
                if (m->hdr >= s->start && m->hdr - s->start + 4 + 16 <= s->filesz)
                        h = s->bytes + (m->hdr - s->start);
        }
        if (!h || h[0] != 1 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
                return true;
        size_t off = 4;
        switch (h[1] & 0x0f) {
        case DW_EH_PE_udata4: case DW_EH_PE_sdata4: off += 4; break;
        case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8: off += 8; break;
        default: return true;
        }
        uint64_t count;
        switch (h[2] & 0x0f) {
        case DW_EH_PE_udata4: case DW_EH_PE_sdata4: {
                uint32_t c;
                memcpy(&c, h + off, 4);
                count = c;
                off += 4;
                break;
        }
        case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8:
                memcpy(&count, h + off, 8);
                off += 8;
                break;
        default:
                return true;
        }
        if (h[2] == DW_EH_PE_omit || count == 0)
                return true;
        m->table = m->hdr + off;
        m->fde_count = count;
        m->has_table = true;
        return true;
}

/* The module that holds addr, loaded on first use, or NULL. */
static struct lu_module *lu_module_at(struct libunwind_state *s, uint64_t addr)
{
        if (s->last < s->n_modules && addr >= s->modules[s->last].low && addr < s->modules[s->last].high)
                return &s->modules[s->last];
        for (size_t i = 0; i < s->n_modules; i++)
                if (addr >= s->modules[i].low && addr < s->modules[i].high) {
                        s->last = i;
                        return &s->modules[i];
                }
        Dwfl_Module *mod = dwfl_addrmodule(s->mods->dwfl, addr);
        if (!mod)
                return NULL;
        if (grow_array(&s->modules, &s->cap_modules, s->n_modules + 1, sizeof *s->modules) < 0)
                return NULL;
        struct lu_module *m = &s->modules[s->n_modules];
        if (!lu_module_load(mod, m) || addr < m->low || addr >= m->high) {
                free(m->index);
                return NULL;
        }
        if (m->index)
                m->table = LU_INDEX_BASE + ((uint64_t) s->n_modules << 32);
        s->last = s->n_modules++;
        return m;
}

/* Reads 8 bytes at addr from the module files; bytes of the last page past
 * the file's end read as 0, as in the process.  Returns true on success. */
static bool lu_read_file(struct libunwind_state *s, uint64_t addr, uint64_t *ret)
{
        struct lu_module *m = lu_module_at(s, addr);
        if (!m)
                return false;
        for (size_t i = 0; i < m->n_segs; i++) {
                const struct lu_segment *seg = &m->segs[i];
                if (addr < seg->start || addr - seg->start >= seg->memsz)
                        continue;
                uint64_t off = addr - seg->start;
                uint8_t buf[8] = {0};
                if (off < seg->filesz)
                        memcpy(buf, seg->bytes + off, seg->filesz - off < 8 ? seg->filesz - off : 8);
                memcpy(ret, buf, 8);
                return true;
        }
        return false;
}

static int lu_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
                             int need_unwind_info, void *arg)
{
        struct libunwind_state *s = arg;
        struct lu_module *m = lu_module_at(s, ip);
        if (!m || !m->has_table)
                return -UNW_ENOINFO;
        unw_dyn_info_t di = {
                .format = UNW_INFO_FORMAT_REMOTE_TABLE,
                .start_ip = m->low,
                .end_ip = m->high,
                .u.rti = {
                        .segbase = m->hdr,
                        .table_data = m->table,
                        /* in words: one entry is two 4-byte offsets */
                        .table_len = m->fde_count * 8 / sizeof(unw_word_t),
                },
        };
        return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
        /* libunwind frees what dwarf_search_unwind_table gave (format
         * UNW_INFO_FORMAT_TABLE) itself; this is called only for dynamic
         * (JIT-registered) info, which get_dyn_info_list_addr never yields. */
        (void) as; (void) pi; (void) arg;
}

static int lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
        (void) as; (void) dilap; (void) arg;
        return -UNW_ENOINFO;
}

static int lu_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write, void *arg)
{
        (void) as;
        struct libunwind_state *s = arg;
        uint64_t w;
        if (write)
                return -UNW_EINVAL;     /* the copy is read-only */
        if (addr >= LU_INDEX_BASE) {
                size_t i = (size_t) ((addr - LU_INDEX_BASE) >> 32);
                uint64_t off = addr & 0xffffffffull;
                uint64_t len = i < s->n_modules && s->modules[i].index ? s->modules[i].fde_count * 8 : 0;
                if (off >= len)
                        return -UNW_EINVAL;
                uint8_t buf[8] = {0};
                memcpy(buf, (const uint8_t *) s->modules[i].index + off, len - off < 8 ? len - off : 8);
                memcpy(valp, buf, 8);
                return 0;
        }
        if (s->current && unwind_read_stack(s->current, addr, &w)) {
                *valp = w;
                return 0;
        }
        if (s->current && unwind_is_above_window(s->mods, s->current, addr))
                s->window_miss = true;
        if (lu_read_file(s, addr, &w)) {
                *valp = w;
                return 0;
        }
        return -UNW_EINVAL;
}

static int lu_access_reg(unw_addr_space_t as, unw_regnum_t regnum, unw_word_t *valp, int write, void *arg)
{
        (void) as;
        struct libunwind_state *s = arg;
        /* libunwind's x86_64 register numbers are the DWARF ones, rip = 16 */
        if (write || regnum < 0 || regnum >= ARCH_DWARF_NREGS)
                return -UNW_EBADREG;
        *valp = s->dwarf_regs[regnum];
        return 0;
}

static int lu_access_fpreg(unw_addr_space_t as, unw_regnum_t regnum, unw_fpreg_t *fpvalp, int write, void *arg)
{
        (void) as; (void) regnum; (void) fpvalp; (void) write; (void) arg;
        return -UNW_EBADREG;
}

static int lu_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
        (void) as; (void) c; (void) arg;
        return -UNW_EINVAL;
}

static int lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *offp,
                            void *arg)
{
        /* names come from the symbolizer (libdw), whatever the unwinder */
        (void) as; (void) addr; (void) buf; (void) len; (void) offp; (void) arg;
        return -UNW_ENOINFO;
}

static unw_accessors_t lu_accessors = {
        .find_proc_info = lu_find_proc_info,
        .put_unwind_info = lu_put_unwind_info,
        .get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
        .access_mem = lu_access_mem,
        .access_reg = lu_access_reg,
        .access_fpreg = lu_access_fpreg,
        .resume = lu_resume,
        .get_proc_name = lu_get_proc_name,
};

int libunwind_walk(unw_cursor_t *c, unsigned max_frames, struct unwound_stack *out,
                   enum libunwind_walk_end *ret_end)
{
        size_t cap = out->n;
        bool activation = true;         /* frame 0 */
        for (;;) {
                unw_word_t ip, sp = 0;
                if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0) {
                        *ret_end = out->n > 0 ? LIBUNWIND_WALK_DONE : LIBUNWIND_WALK_FAILED;
                        return 0;
                }
                (void) unw_get_reg(c, UNW_REG_SP, &sp);
                if (out->n >= max_frames || unwound_is_runaway(out, ip, sp, activation)) {
                        *ret_end = LIBUNWIND_WALK_CAPPED;
                        return 0;
                }
                int r = unwound_push(out, &cap, ip, sp, activation);
                if (r < 0)
                        return r;
                int step = unw_step(c);
                if (step == 0) {
                        *ret_end = LIBUNWIND_WALK_DONE;
                        return 0;
                }
                if (step < 0) {
                        *ret_end = LIBUNWIND_WALK_FAILED;
                        return 0;
                }
                /* After a step, libunwind tells whether the frame it left was
                 * a signal frame (__restore_rt, whose CIE has the 'S'
                 * augmentation): its pc and that of the frame it interrupted
                 * are where execution resumes, not return addresses. */
                activation = unw_is_signal_frame(c) > 0;
                if (activation)
                        out->frames[out->n - 1].activation = true;
        }
}

const char *libunwind_walk_note(enum libunwind_walk_end end, size_t n_frames, bool window_full)
{
        switch (end) {
        case LIBUNWIND_WALK_CAPPED:
                return unwind_note_capped;
        case LIBUNWIND_WALK_FAILED:
        case LIBUNWIND_WALK_DONE:
        default:
                if (n_frames > 0 && window_full)
                        return unwind_note_window;
                if (end == LIBUNWIND_WALK_FAILED && n_frames <= 1)
                        return unwind_note_no_cfi;
                return NULL;
        }
}

static int libunwind_attach(struct modules *mods, struct process_capture *cap, void **ret_state)
{
        struct libunwind_state *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->mods = mods;
        s->cap = cap;
        s->as = unw_create_addr_space(&lu_accessors, 0);
        if (!s->as) {
                free(s);
                return -ENOMEM;
        }
        /* One snapshot, one address space: unwind info found for one thread
         * holds for the others. */
        (void) unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
        *ret_state = s;
        return 0;
}

static int libunwind_unwind_thread(void *state, const struct thread_capture *t, unsigned max_frames,
                                   struct unwound_stack *out)
{
        struct libunwind_state *s = state;
        enum libunwind_walk_end end = LIBUNWIND_WALK_FAILED;
        unw_cursor_t c;
        int r = 0;

        s->current = t;
        s->window_miss = false;
        arch_regs_to_dwarf(&t->regs, s->dwarf_regs);
        if (unw_init_remote(&c, s->as, s) == 0)
                r = libunwind_walk(&c, max_frames, out, &end);
        s->current = NULL;
        if (r < 0)
                return r;
        out->note = libunwind_walk_note(end, out->n, s->window_miss);
        if (end != LIBUNWIND_WALK_CAPPED && unwind_note_other_stack(s->mods, t, out))
                out->note = unwind_note_altstack;
        if (out->n == 0) {
                size_t cap = 0;
                return unwound_push(out, &cap, arch_regs_pc(&t->regs), arch_regs_sp(&t->regs), true);
        }
        return 0;
}

static void libunwind_detach(void *state)
{
        struct libunwind_state *s = state;
        if (!s)
                return;
        unw_destroy_addr_space(s->as);
        for (size_t i = 0; i < s->n_modules; i++)
                free(s->modules[i].index);
        free(s->modules);
        free(s);
}

const struct unwinder unwinder_libunwind = {
        .name = "libunwind",
        .summary = "offline, like libdw",
        .attach = libunwind_attach,
        .unwind_thread = libunwind_unwind_thread,
        .detach = libunwind_detach,
};

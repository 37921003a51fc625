/* Go's own symbol table, .gopclntab; see gopclntab.h.
 *
 * The table is what the Go runtime itself reads for tracebacks, so it is
 * there in every Go binary, stripped (-ldflags=-s, strip(1)) or not; the
 * ELF symbol table and DWARF are not.  Only the layout of Go 1.18 and later
 * is read (header magic 0xfffffff0, 1.20+ 0xfffffff1; Debian 12 ships 1.19):
 * its function table holds 32-bit offsets from the start of the text.  Every
 * offset comes from the file, which a hostile target controls, so each is
 * checked against the table's size before it is followed (the parser is
 * fuzzed: tests/fuzz/fuzz-gopclntab.c). */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "gopclntab.h"
#include "util.h"

#define GO118_MAGIC 0xfffffff0u
#define GO120_MAGIC 0xfffffff1u

struct table {
        const uint8_t *data;
        size_t size;
        unsigned quantum;
        uint64_t nfunc, text_start;
        uint64_t funcname, cu, filetab, pctab, functab;  /* offsets into data */
};

static uint32_t u32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static uint64_t u64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

/* Whether [off, off + len) lies inside the table. */
static bool inside(const struct table *t, uint64_t off, uint64_t len)
{
        return off <= t->size && len <= t->size - off;
}

static int parse_header(const uint8_t *data, size_t size, struct table *t)
{
        if (size < 8 + 8 * 8)
                return -EINVAL;
        uint32_t magic = u32(data);
        if (magic != GO118_MAGIC && magic != GO120_MAGIC)
                return -EPROTONOSUPPORT;
        if (data[4] != 0 || data[5] != 0 || (data[6] != 1 && data[6] != 2 && data[6] != 4) || data[7] != 8)
                return -EINVAL;
        *t = (struct table) {
                .data = data, .size = size, .quantum = data[6],
                .nfunc = u64(data + 8), .text_start = u64(data + 8 + 2 * 8),
                .funcname = u64(data + 8 + 3 * 8), .cu = u64(data + 8 + 4 * 8), .filetab = u64(data + 8 + 5 * 8),
                .pctab = u64(data + 8 + 6 * 8), .functab = u64(data + 8 + 7 * 8),
        };
        /* nfunc + 1 pairs of (entry offset, _func offset), 32 bits each */
        if (t->nfunc == 0 || t->nfunc > size / 8 || !inside(t, t->functab, (t->nfunc + 1) * 8) ||
            t->funcname > size || t->cu > size || t->filetab > size || t->pctab > size)
                return -EINVAL;
        return 0;
}

/* A NUL-terminated string at off inside the table, or NULL. */
static const char *string_at(const struct table *t, uint64_t off)
{
        if (off >= t->size)
                return NULL;
        const char *s = (const char *) t->data + off;
        return memchr(s, '\0', t->size - off) ? s : NULL;
}

static bool read_varint(const struct table *t, uint64_t *off, uint32_t *ret)
{
        uint32_t v = 0;
        for (unsigned shift = 0; shift < 35; shift += 7) {
                if (*off >= t->size)
                        return false;
                uint8_t b = t->data[(*off)++];
                v |= (uint32_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return true;
                }
        }
        return false;
}

/* The value of the pc-value table at off for pc (an offset from the text
 * start), walking from the function's entry: true and *ret, or false. */
static bool pcvalue(const struct table *t, uint64_t off, uint32_t entry, uint32_t pc, int32_t *ret)
{
        if (off == 0 || t->pctab > t->size || off > t->size - t->pctab)
                return false;
        off += t->pctab;
        uint64_t at = entry;
        int32_t val = -1;
        for (int step = 0; step < 1 << 20; step++) {
                uint32_t uv, pcdelta;
                if (!read_varint(t, &off, &uv) || (uv == 0 && step > 0))
                        return false;
                int32_t delta = (uv & 1) ? (int32_t) ~(uv >> 1) : (int32_t) (uv >> 1);
                if (!read_varint(t, &off, &pcdelta))
                        return false;
                at += (uint64_t) pcdelta * t->quantum;
                val = (int32_t) ((uint32_t) val + (uint32_t) delta);
                if (pc < at) {
                        *ret = val;
                        return true;
                }
        }
        return false;
}

int gopclntab_lookup(const uint8_t *data, size_t size, uint64_t pc, struct gopclntab_place *ret)
{
        struct table t;
        int r = parse_header(data, size, &t);
        if (r < 0)
                return r;
        if (pc < t.text_start || pc - t.text_start > UINT32_MAX)
                return -ENOENT;
        uint32_t off = (uint32_t) (pc - t.text_start);
        const uint8_t *ft = data + t.functab;
        /* the last pair's entry is the end of the text */
        if (off < u32(ft) || off >= u32(ft + t.nfunc * 8))
                return -ENOENT;
        uint64_t lo = 0, hi = t.nfunc;     /* entry[lo] <= off < entry[hi] */
        while (hi - lo > 1) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (u32(ft + mid * 8) <= off)
                        lo = mid;
                else
                        hi = mid;
        }
        uint64_t func = t.functab + (uint64_t) u32(ft + lo * 8 + 4);
        if (!inside(&t, func, 9 * 4))
                return -EINVAL;
        const uint8_t *f = data + func;
        uint32_t entry = u32(f);
        int32_t nameoff = (int32_t) u32(f + 4);
        if (entry != u32(ft + lo * 8) || nameoff < 0)
                return -EINVAL;
        const char *name = string_at(&t, t.funcname + (uint64_t) nameoff);
        if (!name || !*name)
                return -EINVAL;
        *ret = (struct gopclntab_place) { .function = name, .entry = t.text_start + entry };
        /* file and line, when their tables say */
        int32_t fileno, line;
        uint32_t cu = u32(f + 32);
        if (pcvalue(&t, u32(f + 24), entry, off, &line) && line > 0 &&
            pcvalue(&t, u32(f + 20), entry, off, &fileno) && fileno >= 0 &&
            inside(&t, t.cu, ((uint64_t) cu + (uint64_t) fileno + 1) * 4)) {
                uint32_t foff = u32(data + t.cu + ((uint64_t) cu + (uint64_t) fileno) * 4);
                const char *file = foff != UINT32_MAX ? string_at(&t, t.filetab + foff) : NULL;
                if (file && *file) {
                        ret->file = file;
                        ret->line = line;
                }
        }
        return 0;
}

int gopclntab_symbolize(Dwfl_Module *mod, uint64_t addr, char **ret_function, char **ret_file, int *ret_line)
{
        GElf_Addr bias = 0;
        Elf *elf = dwfl_module_getelf(mod, &bias);
        size_t shstrndx;
        if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
                return -ENOENT;
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)); ) {
                GElf_Shdr shdr;
                if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS)
                        continue;
                const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
                if (!name || !streq(name, ".gopclntab"))
                        continue;
                Elf_Data *d = elf_getdata(scn, NULL);
                struct gopclntab_place place;
                if (!d || !d->d_buf || gopclntab_lookup(d->d_buf, d->d_size, addr - bias, &place) < 0)
                        return -ENOENT;
                char *function = strdup(place.function), *file = place.file ? strdup(place.file) : NULL;
                if (!function || (place.file && !file)) {
                        free(function);
                        free(file);
                        return -ENOMEM;
                }
                *ret_function = function;
                *ret_file = file;
                *ret_line = place.line;
                return 0;
        }
        return -ENOENT;
}

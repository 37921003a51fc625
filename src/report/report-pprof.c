/* pprof report: a gzipped profile.proto in the shape of Go's goroutine
 * profile, one sample of value 1 per thread with its stack, so that `go tool
 * pprof`, Pyroscope or Parca draw where threads wait as a flame graph.
 * Labels say the thread's state, verdict and whether it leaked.
 *
 * The protobuf is written by hand (varints and length-delimited fields are
 * all profile.proto needs) rather than through a protobuf library: a
 * message is built in a buffer of its own and appended to its parent with
 * its length.  Locations are shared by the threads with the same PC, with a
 * line per inlined function (innermost first, as pprof wants), and mappings
 * are the modules, their range the one the frames show. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report-common.h"
#include "report.h"
#include "util.h"

#ifndef LEAKSCAN_VERSION
#define LEAKSCAN_VERSION "0"
#endif

/* ---- protobuf encoding ---- */

struct pb {
        uint8_t *data;
        size_t len, cap;
        bool oom;
};

static void pb_raw(struct pb *b, const void *data, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n)
                        cap *= 2;
                uint8_t *d = realloc(b->data, cap);
                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, n);
        b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
        uint8_t buf[10];
        size_t n = 0;
        do {
                buf[n] = v & 0x7f;
                v >>= 7;
                buf[n++] |= v ? 0x80 : 0;
        } while (v);
        pb_raw(b, buf, n);
}

enum { PB_VARINT = 0, PB_LEN = 2 };

/* A varint field; int64 fields hold non-negative values here, so their
 * encoding is the same. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
        pb_varint(b, (uint64_t) field << 3 | PB_VARINT);
        pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *data, size_t n)
{
        pb_varint(b, (uint64_t) field << 3 | PB_LEN);
        pb_varint(b, n);
        pb_raw(b, data, n);
}

/* Appends sub as field of b and empties sub for the next message. */
static void pb_message(struct pb *b, unsigned field, struct pb *sub)
{
        b->oom |= sub->oom;
        pb_bytes(b, field, sub->data, sub->len);
        sub->len = 0;
        sub->oom = false;
}

/* ---- what is shared between samples, found by hashing ---- */

/* A map from a 64-bit key to an id (open addressing; key 0 is free). */
struct idmap {
        uint64_t *keys, *ids;
        size_t cap, n;
};

static uint64_t mix(uint64_t k)
{
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdull;
        k ^= k >> 33;
        return k;
}

/* The id of key, or 0. */
static uint64_t idmap_get(const struct idmap *m, uint64_t key)
{
        if (!m->cap)
                return 0;
        for (size_t i = mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (m->keys[i] == key)
                        return m->ids[i];
                if (!m->keys[i])
                        return 0;
        }
}

static int idmap_put(struct idmap *m, uint64_t key, uint64_t id)
{
        if ((m->n + 1) * 2 > m->cap) {
                struct idmap bigger = { .cap = m->cap ? m->cap * 2 : 64 };
                bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
                bigger.ids = calloc(bigger.cap, sizeof *bigger.ids);
                if (!bigger.keys || !bigger.ids) {
                        free(bigger.keys);
                        free(bigger.ids);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < m->cap; i++)
                        if (m->keys[i])
                                (void) idmap_put(&bigger, m->keys[i], m->ids[i]);
                free(m->keys);
                free(m->ids);
                *m = bigger;
        }
        size_t i = mix(key) & (m->cap - 1);
        while (m->keys[i] && m->keys[i] != key)
                i = (i + 1) & (m->cap - 1);
        m->n += !m->keys[i];
        m->keys[i] = key;
        m->ids[i] = id;
        return 0;
}

static void idmap_done(struct idmap *m)
{
        free(m->keys);
        free(m->ids);
}

struct mapping {
        uint64_t start, limit;
        int64_t filename;
};

struct profile {
        struct pb strings;              /* the string_table fields, in order */
        char **string_list;             /* to find a string's index */
        size_t n_strings, strings_cap;
        struct idmap string_index;      /* FNV hash of a string -> 1 + index of its first candidate */
        struct pb functions, locations, sub, line;
        struct idmap function_ids, location_ids, mapping_ids;
        struct mapping *mappings;
        size_t n_mappings, mappings_cap;
        uint64_t n_functions, n_locations;
};

static uint64_t fnv(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ull;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ull;
        return h ? h : 1;
}

/* The index of s in the string table, added when new; -1 out of memory.
 * Strings whose hash collides are chained by probing the next hash. */
static int64_t string_id(struct profile *pr, const char *raw)
{
        /* protobuf strings are UTF-8: a byte that starts no valid sequence
         * is written as the four characters \xNN, as in every format */
        _cleanup_free_ char *valid = NULL;
        const char *s = raw ? raw : "";
        for (const char *c = s; *c;) {
                uint32_t cp;
                size_t len = utf8_char(c, &cp);
                if (len) {
                        c += len;
                        continue;
                }
                valid = malloc(strlen(s) * 4 + 1);
                if (!valid)
                        return -1;
                char *o = valid;
                for (c = s; *c;) {
                        len = utf8_char(c, &cp);
                        if (len) {
                                memcpy(o, c, len);
                                o += len;
                                c += len;
                        } else {
                                o += sprintf(o, "\\x%02x", (unsigned char) *c++);
                        }
                }
                *o = 0;
                s = valid;
                break;
        }
        uint64_t h = fnv(s);
        for (;; h = h + 1 ? h + 1 : 1) {
                uint64_t slot = idmap_get(&pr->string_index, h);
                if (!slot)
                        break;
                if (streq(pr->string_list[slot - 1], s))
                        return (int64_t) (slot - 1);
        }
        char *copy = strdup(s);
        if (!copy || grow_array(&pr->string_list, &pr->strings_cap, pr->n_strings + 1, sizeof *pr->string_list) < 0 ||
            idmap_put(&pr->string_index, h, pr->n_strings + 1) < 0) {
                free(copy);
                return -1;
        }
        pr->string_list[pr->n_strings] = copy;
        pb_bytes(&pr->strings, 6, s, strlen(s));
        return (int64_t) pr->n_strings++;
}

static const char *basename_of(const char *path)
{
        const char *b = path ? strrchr(path, '/') : NULL;
        return b ? b + 1 : path;
}

/* The id of the function a frame is in (by name and file), added when
 * new; 0 out of memory. */
static uint64_t function_id(struct profile *pr, const struct leakscan_frame *fr)
{
        char unknown[256];
        const char *name = fr->function;
        if (!name) {
                snprintf(unknown, sizeof unknown, "%s+0x%" PRIx64, fr->module ? basename_of(fr->module) : "??",
                         fr->offset);
                name = unknown;
        }
        int64_t n = string_id(pr, name), file = string_id(pr, fr->file);
        if (n < 0 || file < 0)
                return 0;
        uint64_t key = (uint64_t) n << 32 | (uint64_t) file;
        uint64_t id = idmap_get(&pr->function_ids, key);
        if (id)
                return id;
        id = ++pr->n_functions;
        if (idmap_put(&pr->function_ids, key, id) < 0)
                return 0;
        pb_uint(&pr->sub, 1, id);
        pb_uint(&pr->sub, 2, (uint64_t) n);
        pb_uint(&pr->sub, 3, (uint64_t) n);
        pb_uint(&pr->sub, 4, (uint64_t) file);
        pb_message(&pr->functions, 5, &pr->sub);
        return id;
}

/* The mapping id of a module that holds pc at offset, its range widened
 * to hold it; 0 for no module or out of memory. */
static uint64_t mapping_id(struct profile *pr, const struct leakscan_frame *fr)
{
        if (!fr->module || fr->offset > fr->pc)
                return 0;
        int64_t name = string_id(pr, fr->module);
        if (name < 0)
                return 0;
        uint64_t id = idmap_get(&pr->mapping_ids, (uint64_t) name + 1);
        uint64_t start = fr->pc - fr->offset;
        if (!id) {
                if (grow_array(&pr->mappings, &pr->mappings_cap, pr->n_mappings + 1, sizeof *pr->mappings) < 0)
                        return 0;
                id = pr->n_mappings + 1;
                if (idmap_put(&pr->mapping_ids, (uint64_t) name + 1, id) < 0)
                        return 0;
                pr->mappings[pr->n_mappings++] = (struct mapping) { start, fr->pc + 1, name };
        }
        struct mapping *m = &pr->mappings[id - 1];
        if (start < m->start)
                m->start = start;
        if (fr->pc + 1 > m->limit)
                m->limit = fr->pc + 1;
        return id;
}

/* The location of frames[0..n-1]: the first n-1 inlined into the last,
 * all at one PC.  Returns its id, or 0 out of memory. */
static uint64_t location_id(struct profile *pr, const struct leakscan_frame *frames, size_t n)
{
        const struct leakscan_frame *outer = &frames[n - 1];
        /* the PC alone would merge a frame with a later inlined view of the
         * same PC; PCs are below 2^57, so the count of lines fits on top */
        uint64_t key = (outer->pc & ((1ull << 56) - 1)) | (uint64_t) (n & 0x7f) << 56 | 1ull << 63;
        uint64_t id = idmap_get(&pr->location_ids, key);
        if (id)
                return id;
        uint64_t mapping = mapping_id(pr, outer);
        struct pb loc = {0};
        for (size_t i = 0; i < n; i++) {
                uint64_t fn = function_id(pr, &frames[i]);
                if (!fn) {
                        free(loc.data);
                        return 0;
                }
                pb_uint(&pr->line, 1, fn);
                if (frames[i].file && frames[i].line > 0)
                        pb_uint(&pr->line, 2, (uint64_t) frames[i].line);
                pb_message(&loc, 4, &pr->line);
        }
        id = ++pr->n_locations;
        pb_uint(&pr->sub, 1, id);
        if (mapping)
                pb_uint(&pr->sub, 2, mapping);
        pb_uint(&pr->sub, 3, outer->pc);
        pb_raw(&pr->sub, loc.data, loc.len);
        pr->sub.oom |= loc.oom;
        free(loc.data);
        pb_message(&pr->locations, 4, &pr->sub);
        if (idmap_put(&pr->location_ids, key, id) < 0)
                return 0;
        return id;
}

static void profile_done(struct profile *pr)
{
        for (size_t i = 0; i < pr->n_strings; i++)
                free(pr->string_list[i]);
        free(pr->string_list);
        free(pr->strings.data);
        free(pr->functions.data);
        free(pr->locations.data);
        free(pr->sub.data);
        free(pr->line.data);
        free(pr->mappings);
        idmap_done(&pr->string_index);
        idmap_done(&pr->function_ids);
        idmap_done(&pr->location_ids);
        idmap_done(&pr->mapping_ids);
}

/* A Label: key and either a string or a number. */
static void sample_label(struct profile *pr, struct pb *sample, struct pb *label, const char *key, const char *str,
                         int64_t num)
{
        int64_t k = string_id(pr, key), s = str ? string_id(pr, str) : 0;
        if (k < 0 || s < 0) {
                sample->oom = true;
                return;
        }
        pb_uint(label, 1, (uint64_t) k);
        if (str)
                pb_uint(label, 2, (uint64_t) s);
        else
                pb_uint(label, 3, (uint64_t) num);
        pb_message(sample, 3, label);
}

/* The whole profile, uncompressed, in *ret (free ret->data).  Returns 0 or
 * -ENOMEM. */
static int pprof_encode(const struct leakscan_report *report, struct pb *ret)
{
        struct profile pr = {0};
        struct pb samples = {0}, sample = {0}, ids = {0}, label = {0}, out = {0};
        int r = -ENOMEM;
        if (string_id(&pr, "") != 0)
                goto done;
        int64_t threads = string_id(&pr, "threads"), count = string_id(&pr, "count");
        if (threads < 0 || count < 0)
                goto done;

        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                for (size_t k = 0; k < p->n_threads; k++) {
                        const struct leakscan_thread *t = &p->threads[k];
                        /* location_id is packed: the ids in one field */
                        for (size_t f = 0; f < t->n_frames;) {
                                size_t n = 1;
                                while (f + n <= t->n_frames - 1 && t->frames[f + n - 1].inlined)
                                        n++;
                                uint64_t loc = location_id(&pr, &t->frames[f], n);
                                if (!loc)
                                        goto done;
                                pb_varint(&ids, loc);
                                f += n;
                        }
                        pb_bytes(&sample, 1, ids.data, ids.len);
                        ids.len = 0;
                        uint8_t one[] = { 1 };
                        pb_bytes(&sample, 2, one, sizeof one);
                        sample_label(&pr, &sample, &label, "state", leakscan_state_to_string(t->state), 0);
                        sample_label(&pr, &sample, &label, "verdict", leakscan_verdict_to_string(t->verdict), 0);
                        sample_label(&pr, &sample, &label, "leaked", t->leaked ? "true" : "false", 0);
                        sample_label(&pr, &sample, &label, "thread", t->name, 0);
                        if (t->syscall)
                                sample_label(&pr, &sample, &label, "syscall", t->syscall, 0);
                        if (t->ignored_by)
                                sample_label(&pr, &sample, &label, "ignored_by", t->ignored_by, 0);
                        /* how it was read; what our stop did to its call */
                        sample_label(&pr, &sample, &label, "read", report_read_name(t->read), 0);
                        char note[REPORT_STOP_NOTE_MAX];
                        if (report_stop_note(t, note, sizeof note))
                                sample_label(&pr, &sample, &label, "stop_note", note, 0);
                        sample_label(&pr, &sample, &label, "tid", NULL, t->tid);
                        sample_label(&pr, &sample, &label, "pid", NULL, p->pid);
                        pb_message(&samples, 2, &sample);
                }
        }

        /* sample_type and period_type: threads/count, as Go's goroutine
         * profile says goroutine/count */
        struct pb vt = {0};
        pb_uint(&vt, 1, (uint64_t) threads);
        pb_uint(&vt, 2, (uint64_t) count);
        pb_bytes(&out, 1, vt.data, vt.len);
        pb_raw(&out, samples.data, samples.len);
        for (size_t m = 0; m < pr.n_mappings; m++) {
                struct pb mp = {0};
                pb_uint(&mp, 1, m + 1);
                pb_uint(&mp, 2, pr.mappings[m].start);
                pb_uint(&mp, 3, pr.mappings[m].limit);
                pb_uint(&mp, 5, (uint64_t) pr.mappings[m].filename);
                pb_uint(&mp, 7, 1);     /* has_functions */
                pb_uint(&mp, 8, 1);     /* has_filenames */
                pb_uint(&mp, 9, 1);     /* has_line_numbers */
                pb_uint(&mp, 10, 1);    /* has_inline_frames */
                pb_message(&out, 3, &mp);
                free(mp.data);
        }
        pb_raw(&out, pr.locations.data, pr.locations.len);
        pb_raw(&out, pr.functions.data, pr.functions.len);
        char comment[128];
        snprintf(comment, sizeof comment, "leakscan %s, mode %s", LEAKSCAN_VERSION, report->mode);
        int64_t c = string_id(&pr, comment);
        if (c < 0) {
                free(vt.data);
                goto done;
        }
        pb_raw(&out, pr.strings.data, pr.strings.len);
        pb_uint(&out, 9, now_usec(CLOCK_REALTIME) * 1000u);     /* time_nanos */
        pb_message(&out, 11, &vt);      /* period_type */
        free(vt.data);
        pb_uint(&out, 12, 1);           /* period */
        pb_uint(&out, 13, (uint64_t) c);        /* comment */
        out.oom |= samples.oom || pr.locations.oom || pr.functions.oom || pr.strings.oom;
        if (!out.oom) {
                *ret = out;
                out = (struct pb) {0};
                r = 0;
        }
done:
        free(out.data);
        free(samples.data);
        free(sample.data);
        free(ids.data);
        free(label.data);
        profile_done(&pr);
        return r;
}

/* Writes data gzipped to f.  Returns 0 or a negative errno. */
static int gzip_write(FILE *f, const uint8_t *data, size_t len)
{
        z_stream z = {0};
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        uint8_t buf[16384];
        z.next_in = (Bytef *) data;
        z.avail_in = (uInt) len;        /* a profile is far below 4 GiB */
        int zr;
        do {
                z.next_out = buf;
                z.avail_out = sizeof buf;
                zr = deflate(&z, Z_FINISH);
                if (zr == Z_STREAM_ERROR)
                        break;
                fwrite(buf, 1, sizeof buf - z.avail_out, f);
        } while (zr != Z_STREAM_END);
        deflateEnd(&z);
        if (zr != Z_STREAM_END)
                return -EIO;
        return ferror(f) ? -EIO : 0;
}

static int pprof_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        (void) opts;
        struct pb pb = {0};
        int r = pprof_encode(report, &pb);
        if (r < 0)
                return r;
        r = gzip_write(f, pb.data, pb.len);
        free(pb.data);
        return r;
}

const struct report_backend report_pprof = {
        .name = "pprof",
        .summary = "a gzipped profile.proto of every thread's stack",
        .write = pprof_write,
        .atomic_output = true,
};

/* An analysed process on the wire; see procwire.h.  Every number is a
 * 64-bit word in the host's order (both ends are one machine, one build),
 * a string a 32-bit length (NONE for NULL) and its bytes. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "procwire.h"
#include "symbolize.h"
#include "util.h"

#define PROCWIRE_MAGIC "leakscan-procwire/1\n"
#define NONE UINT32_MAX
#define MAX_STRING (1u << 20)
/* the static texts interned, all told: a few dozen notes and names */
#define MAX_INTERNED (1u << 20)

static int put(FILE *f, const void *p, size_t n)
{
        return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -EIO;
}

static int put_u64(FILE *f, uint64_t v)
{
        return put(f, &v, sizeof v);
}

static int put_str(FILE *f, const char *s)
{
        size_t n = s ? strlen(s) : 0;
        uint32_t l = !s ? NONE : n < MAX_STRING ? (uint32_t) n : MAX_STRING;
        int r = put(f, &l, sizeof l);
        return r < 0 || !s ? r : put(f, s, l);
}

static int put_frames(FILE *f, const struct leakscan_frame *fr, size_t n)
{
        int r = put_u64(f, n);
        for (size_t i = 0; r == 0 && i < n; i++) {
                const struct leakscan_frame *x = &fr[i];
                r = put_u64(f, x->pc);
                r = r ?: put_str(f, x->function);
                r = r ?: put_str(f, x->file);
                r = r ?: put_u64(f, (uint64_t) (int64_t) x->line);
                r = r ?: put_str(f, x->module);
                r = r ?: put_u64(f, x->offset);
                r = r ?: put_u64(f, x->inlined | (uint64_t) x->system << 1);
                r = r ?: put_u64(f, x->sp);
                r = r ?: put_str(f, x->language);
        }
        return r;
}

static int put_thread(FILE *f, const struct leakscan_thread *t)
{
        int r = put_u64(f, (uint64_t) (int64_t) t->tid);
        r = r ?: put(f, t->name, sizeof t->name);
        uint64_t flags = t->main | (uint64_t) t->timeout << 1 | (uint64_t) t->leaked << 2 |
                (uint64_t) t->has_wait_address << 3 | (uint64_t) t->has_futex_value << 4 |
                (uint64_t) t->has_object << 5 | (uint64_t) t->owner_gone << 6 | (uint64_t) t->has_count << 7 |
                (uint64_t) t->exiting << 8 | (uint64_t) t->has_created_by << 9 | (uint64_t) !!t->test << 10;
        r = r ?: put_u64(f, flags);
        r = r ?: put_u64(f, (uint64_t) (unsigned char) t->proc_state);
        r = r ?: put_u64(f, t->start_time);
        r = r ?: put_u64(f, t->state);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->syscall_nr);
        r = r ?: put_str(f, t->syscall);
        for (size_t i = 0; r == 0 && i < 6; i++)
                r = put_u64(f, t->syscall_args[i]);
        r = r ?: put_u64(f, (uint64_t) t->blocked_ms);
        r = r ?: put_u64(f, t->verdict);
        r = r ?: put_u64(f, t->wait_address);
        r = r ?: put_u64(f, t->futex_value);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->wait_fd);
        r = r ?: put_str(f, t->fd_target);
        r = r ?: put_str(f, t->object.kind);
        r = r ?: put_u64(f, t->object.address);
        r = r ?: put_str(f, t->object.symbol);
        r = r ?: put_str(f, t->object.file);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->object.line);
        r = r ?: put_u64(f, t->object.region);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->object.stack_tid);
        r = r ?: put_str(f, t->object.stack_function);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->owner_tid);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->joined_tid);
        r = r ?: put_u64(f, (uint64_t) t->count);
        r = r ?: put_str(f, t->peer);
        r = r ?: put_u64(f, (uint64_t) (int64_t) t->peer_pid);
        r = r ?: put_frames(f, t->frames, t->n_frames);
        r = r ?: put_u64(f, t->top_frame);
        r = r ?: put_str(f, t->unwind_note);
        r = r ?: put_u64(f, t->tls);
        r = r ?: put_frames(f, t->created_by, t->n_created_by);
        r = r ?: put_u64(f, t->created_by_top);
        r = r ?: put_str(f, t->ignored_by);
        if (t->test) {
                r = r ?: put_str(f, t->test->framework);
                r = r ?: put_str(f, t->test->name);
                r = r ?: put_str(f, t->test->file);
                r = r ?: put_u64(f, (uint64_t) (int64_t) t->test->line);
        }
        r = r ?: put_u64(f, t->reach);
        r = r ?: put_str(f, t->reach_note);
        r = r ?: put_str(f, t->held_call);
        r = r ?: put_u64(f, t->proposed);
        r = r ?: put_u64(f, t->read);
        r = r ?: put_u64(f, (uint64_t) t->stopped_us);
        r = r ?: put_str(f, t->stop_effect);
        return r;
}

int procwire_write(FILE *f, const struct leakscan_process *p)
{
        int r = put(f, PROCWIRE_MAGIC, strlen(PROCWIRE_MAGIC));
        r = r ?: put_u64(f, p->n_threads);
        for (size_t i = 0; r == 0 && i < p->n_threads; i++)
                r = put_thread(f, &p->threads[i]);
        r = r ?: put_u64(f, p->n_deadlocks);
        for (size_t i = 0; r == 0 && i < p->n_deadlocks; i++) {
                r = put_u64(f, p->deadlocks[i].n);
                for (size_t k = 0; r == 0 && k < p->deadlocks[i].n; k++)
                        r = put_u64(f, (uint64_t) (int64_t) p->deadlocks[i].tids[k]);
        }
        return r;
}

/* ---- reading ---- */

struct cursor {
        const uint8_t *p;
        size_t left;
        bool bad;               /* ran past the end, or a value out of range */
        bool oom;
};

static uint64_t get_u64(struct cursor *c)
{
        uint64_t v = 0;
        if (c->left < sizeof v) {
                c->bad = true;
                return 0;
        }
        memcpy(&v, c->p, sizeof v);
        c->p += sizeof v;
        c->left -= sizeof v;
        return v;
}

static int64_t get_i64(struct cursor *c)
{
        return (int64_t) get_u64(c);
}

/* A number that must fit in an int (a TID, a line, an fd). */
static int get_int(struct cursor *c)
{
        int64_t v = get_i64(c);
        if (v < INT32_MIN || v > INT32_MAX) {
                c->bad = true;
                return 0;
        }
        return (int) v;
}

static uint64_t get_below(struct cursor *c, uint64_t max)
{
        uint64_t v = get_u64(c);
        if (v >= max) {
                c->bad = true;
                return 0;
        }
        return v;
}

/* A count of elements of at least min_size bytes each: no more than the
 * bytes left could hold. */
static size_t get_count(struct cursor *c, size_t min_size)
{
        uint64_t n = get_u64(c);
        if (n > c->left / min_size) {
                c->bad = true;
                return 0;
        }
        return (size_t) n;
}

/* The next string, in place: *len bytes at the returned pointer, or NULL
 * for a NULL string (or past the end: c->bad). */
static const char *get_bytes(struct cursor *c, size_t *len)
{
        uint32_t l;
        *len = 0;
        if (c->bad || c->left < sizeof l) {
                c->bad = true;
                return NULL;
        }
        memcpy(&l, c->p, sizeof l);
        c->p += sizeof l;
        c->left -= sizeof l;
        if (l == NONE)
                return NULL;
        if (l > MAX_STRING || l > c->left) {
                c->bad = true;
                return NULL;
        }
        const char *s = (const char *) c->p;
        c->p += l;
        c->left -= l;
        *len = l;
        return s;
}

static char *get_str(struct cursor *c)
{
        size_t len;
        const char *s = get_bytes(c, &len);
        if (!s)
                return NULL;
        char *d = strndup(s, len);
        if (!d)
                c->oom = true;
        return d;
}

/* The interned texts: kept for the life of the process, as the static
 * texts they stand for are. */
static struct interned {
        struct interned *next;
        char text[];
} *interned;
static size_t interned_bytes;

static const char *get_static(struct cursor *c)
{
        size_t len;
        const char *s = get_bytes(c, &len);
        if (!s)
                return NULL;
        for (struct interned *i = interned; i; i = i->next)
                if (strlen(i->text) == len && memcmp(i->text, s, len) == 0)
                        return i->text;
        if (memchr(s, 0, len) || interned_bytes + len > MAX_INTERNED) {
                c->bad = true;  /* not one of the analysis's notes */
                return NULL;
        }
        struct interned *i = malloc(sizeof *i + len + 1);
        if (!i) {
                c->oom = true;
                return NULL;
        }
        memcpy(i->text, s, len);
        i->text[len] = 0;
        i->next = interned;
        interned = i;
        interned_bytes += len;
        return i->text;
}

#define MIN_FRAME (8 * 6 + 4 * 4)

static struct leakscan_frame *get_frames(struct cursor *c, size_t *ret_n)
{
        size_t n = get_count(c, MIN_FRAME);
        *ret_n = 0;
        if (c->bad || n == 0)
                return NULL;
        struct leakscan_frame *fr = calloc(n, sizeof *fr);
        if (!fr) {
                c->oom = true;
                return NULL;
        }
        size_t i;
        for (i = 0; i < n && !c->bad && !c->oom; i++) {
                struct leakscan_frame *x = &fr[i];
                x->pc = get_u64(c);
                x->function = get_str(c);
                x->file = get_str(c);
                x->line = get_int(c);
                x->module = get_str(c);
                x->offset = get_u64(c);
                uint64_t flags = get_below(c, 4);
                x->inlined = flags & 1;
                x->system = flags & 2;
                x->sp = get_u64(c);
                x->language = get_static(c);
        }
        *ret_n = i;
        return fr;
}

static void get_thread(struct cursor *c, struct leakscan_thread *t)
{
        t->tid = get_int(c);
        if (c->left < sizeof t->name) {
                c->bad = true;
                return;
        }
        memcpy(t->name, c->p, sizeof t->name);
        t->name[sizeof t->name - 1] = 0;
        c->p += sizeof t->name;
        c->left -= sizeof t->name;
        uint64_t flags = get_below(c, 1u << 11);
        t->main = flags & 1;
        t->timeout = flags & 2;
        t->leaked = flags & 4;
        t->has_wait_address = flags & 8;
        t->has_futex_value = flags & 16;
        t->has_object = flags & 32;
        t->owner_gone = flags & 64;
        t->has_count = flags & 128;
        t->exiting = flags & 256;
        t->has_created_by = flags & 512;
        t->proc_state = (char) get_below(c, 256);
        t->start_time = get_u64(c);
        t->state = (enum leakscan_state) get_below(c, _LEAKSCAN_STATE_MAX);
        t->syscall_nr = (long) get_i64(c);
        t->syscall = get_static(c);
        for (size_t i = 0; i < 6; i++)
                t->syscall_args[i] = get_u64(c);
        t->blocked_ms = get_i64(c);
        t->verdict = (enum leakscan_verdict) get_below(c, _LEAKSCAN_VERDICT_MAX);
        t->wait_address = get_u64(c);
        t->futex_value = (uint32_t) get_below(c, (uint64_t) UINT32_MAX + 1);
        t->wait_fd = get_int(c);
        t->fd_target = get_str(c);
        t->object.kind = get_static(c);
        t->object.address = get_u64(c);
        t->object.symbol = get_str(c);
        t->object.file = get_str(c);
        t->object.line = get_int(c);
        t->object.region = (enum leakscan_region) get_below(c, LEAKSCAN_REGION_HEAP + 1);
        t->object.stack_tid = get_int(c);
        t->object.stack_function = get_str(c);
        t->owner_tid = get_int(c);
        t->joined_tid = get_int(c);
        t->count = get_i64(c);
        t->peer = get_str(c);
        t->peer_pid = get_int(c);
        t->frames = get_frames(c, &t->n_frames);
        t->top_frame = (size_t) get_below(c, (uint64_t) t->n_frames + 1);
        t->unwind_note = get_static(c);
        t->tls = get_u64(c);
        t->created_by = get_frames(c, &t->n_created_by);
        t->created_by_top = (size_t) get_below(c, (uint64_t) t->n_created_by + 1);
        t->ignored_by = get_str(c);
        if (flags & 1024) {
                t->test = calloc(1, sizeof *t->test);
                if (!t->test) {
                        c->oom = true;
                        return;
                }
                t->test->framework = get_static(c);
                t->test->name = get_str(c);
                t->test->file = get_str(c);
                t->test->line = get_int(c);
        }
        t->reach = (enum leakscan_reach) get_below(c, _LEAKSCAN_REACH_MAX);
        t->reach_note = get_static(c);
        t->held_call = get_str(c);
        t->proposed = (enum leakscan_verdict) get_below(c, _LEAKSCAN_VERDICT_MAX);
        t->read = (enum leakscan_read) get_below(c, _LEAKSCAN_READ_MAX);
        t->stopped_us = get_i64(c);
        t->stop_effect = get_static(c);
}

#define MIN_THREAD 200

int procwire_read(const uint8_t *buf, size_t len, struct leakscan_process *p)
{
        size_t ml = strlen(PROCWIRE_MAGIC);
        if (len < ml || memcmp(buf, PROCWIRE_MAGIC, ml) != 0)
                return -EBADMSG;
        struct cursor c = { buf + ml, len - ml, false, false };
        struct leakscan_process q = {0};
        size_t n = get_count(&c, MIN_THREAD);
        if (n) {
                q.threads = calloc(n, sizeof *q.threads);
                if (!q.threads)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n && !c.bad && !c.oom; i++)
                get_thread(&c, &q.threads[q.n_threads++]);
        size_t nd = get_count(&c, 8);
        if (nd && !c.bad && !c.oom) {
                q.deadlocks = calloc(nd, sizeof *q.deadlocks);
                c.oom = !q.deadlocks;
        }
        for (size_t i = 0; i < nd && !c.bad && !c.oom; i++) {
                struct leakscan_cycle *cy = &q.deadlocks[q.n_deadlocks++];
                size_t k = get_count(&c, 8);
                cy->tids = k ? calloc(k, sizeof *cy->tids) : NULL;
                if (k && !cy->tids) {
                        c.oom = true;
                        break;
                }
                for (size_t j = 0; j < k && !c.bad; j++)
                        cy->tids[cy->n++] = get_int(&c);
        }
        if (c.left)
                c.bad = true;
        if (c.bad || c.oom) {
                process_free_contents(&q);
                return c.oom ? -ENOMEM : -EBADMSG;
        }
        p->threads = q.threads;
        p->n_threads = q.n_threads;
        p->deadlocks = q.deadlocks;
        p->n_deadlocks = q.n_deadlocks;
        return 0;
}

/* ---- the places an analyser looked up ----
 *
 * "leakscan-places/1\n", the body's length, then: the count of places,
 * and each: the main file's and the debug file's identity (7 words each),
 * the build-id (a string of at most 64 bytes), a word of flags (has_debug,
 * alt_link, want_dwarf), the address's offset in the module, the count of
 * names, and each name: function, file (strings), line, inlined. */

#define PLACES_MAGIC "leakscan-places/1\n"

static int put_file_stat(FILE *f, const struct module_file_stat *st)
{
        int r = put_u64(f, st->dev);
        r = r ?: put_u64(f, st->ino);
        r = r ?: put_u64(f, st->size);
        r = r ?: put_u64(f, (uint64_t) st->mtime_sec);
        r = r ?: put_u64(f, (uint64_t) st->mtime_nsec);
        r = r ?: put_u64(f, (uint64_t) st->ctime_sec);
        r = r ?: put_u64(f, (uint64_t) st->ctime_nsec);
        return r;
}

static bool place_fits(const struct symbolize_place *p)
{
        if (p->n == 0 || p->n > PROCWIRE_PLACE_NAMES_MAX || p->id.build_id_len > sizeof p->id.build_id)
                return false;
        for (size_t i = 0; i < p->n; i++)
                if ((p->names[i].function && strlen(p->names[i].function) > PROCWIRE_PLACE_STRING_MAX) ||
                    (p->names[i].file && strlen(p->names[i].file) > PROCWIRE_PLACE_STRING_MAX))
                        return false;
        return true;
}

static int put_place(FILE *f, const struct symbolize_place *p)
{
        int r = put_file_stat(f, &p->id.main);
        r = r ?: put_file_stat(f, &p->id.debug);
        uint32_t l = p->id.build_id_len;
        r = r ?: put(f, &l, sizeof l);
        r = r ?: put(f, p->id.build_id, l);
        r = r ?: put_u64(f, (uint64_t) !!p->id.has_debug | (uint64_t) !!p->id.alt_link << 1 |
                         (uint64_t) p->want_dwarf << 2);
        r = r ?: put_u64(f, p->rel);
        r = r ?: put_u64(f, p->n);
        for (size_t i = 0; r == 0 && i < p->n; i++) {
                r = put_str(f, p->names[i].function);
                r = r ?: put_str(f, p->names[i].file);
                r = r ?: put_u64(f, (uint64_t) (int64_t) p->names[i].line);
                r = r ?: put_u64(f, p->names[i].inlined);
        }
        return r;
}

int procwire_write_places(FILE *f, size_t since)
{
        char *body = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&body, &len);
        if (!m)
                return -ENOMEM;
        size_t total = symbolize_places_count(), n = 0;
        int r = 0;
        /* the count first, filled in once known */
        r = put_u64(m, 0);
        for (size_t i = since; r == 0 && i < total && n < PROCWIRE_PLACES_MAX; i++) {
                struct symbolize_place p;
                if (symbolize_places_get(i, &p) < 0 || !place_fits(&p))
                        continue;
                long before = ftell(m);
                r = put_place(m, &p);
                if (r == 0 && fflush(m) == 0 && len > PROCWIRE_PLACES_BYTES_MAX - 64) {
                        /* this one is over the bound: the message ends before it */
                        fseek(m, before, SEEK_SET);
                        break;
                }
                n++;
        }
        if (r == 0 && (fflush(m) != 0 || ftell(m) < 0))
                r = -ENOMEM;
        long used = r == 0 ? ftell(m) : 0;
        if (fclose(m) != 0 && r == 0)
                r = -ENOMEM;
        if (r == 0) {
                uint64_t count = n;
                memcpy(body, &count, sizeof count);
                r = put(f, PLACES_MAGIC, strlen(PLACES_MAGIC));
                r = r ?: put_u64(f, (uint64_t) used);
                r = r ?: put(f, body, (size_t) used);
        }
        free(body);
        return r;
}

static void get_file_stat(struct cursor *c, struct module_file_stat *st)
{
        st->dev = get_u64(c);
        st->ino = get_u64(c);
        st->size = get_u64(c);
        st->mtime_sec = get_i64(c);
        st->mtime_nsec = get_i64(c);
        st->ctime_sec = get_i64(c);
        st->ctime_nsec = get_i64(c);
}

/* A name's string: at most PROCWIRE_PLACE_STRING_MAX bytes, no NUL. */
static char *get_name(struct cursor *c)
{
        size_t len;
        const char *s = get_bytes(c, &len);
        if (!s)
                return NULL;
        if (len > PROCWIRE_PLACE_STRING_MAX || memchr(s, 0, len)) {
                c->bad = true;
                return NULL;
        }
        char *d = strndup(s, len);
        if (!d)
                c->oom = true;
        return d;
}

/* main and debug identities, build-id length, flags, rel, count */
#define MIN_PLACE (8 * 14 + 4 + 8 * 3)
/* two strings, line, inlined */
#define MIN_NAME (4 * 2 + 8 * 2)

static void places_parsed_free(struct symbolize_place *pl, size_t n)
{
        for (size_t i = 0; pl && i < n; i++) {
                for (size_t k = 0; pl[i].names && k < pl[i].n; k++) {
                        free((char *) pl[i].names[k].function);
                        free((char *) pl[i].names[k].file);
                }
                free((void *) pl[i].names);
        }
        free(pl);
}

static void get_place(struct cursor *c, struct symbolize_place *p)
{
        memset(&p->id, 0, sizeof p->id);        /* compared whole, padding too */
        get_file_stat(c, &p->id.main);
        get_file_stat(c, &p->id.debug);
        size_t bl;
        const char *id = get_bytes(c, &bl);
        if (c->bad)
                return;
        if (!id || bl > sizeof p->id.build_id) {
                c->bad = true;
                return;
        }
        memcpy(p->id.build_id, id, bl);
        p->id.build_id_len = (uint32_t) bl;
        uint64_t flags = get_below(c, 8);
        p->id.has_debug = flags & 1;
        p->id.alt_link = !!(flags & 2);
        p->want_dwarf = flags & 4;
        if (!p->id.has_debug && (p->id.debug.dev || p->id.debug.ino || p->id.debug.size || p->id.debug.mtime_sec ||
                                 p->id.debug.mtime_nsec || p->id.debug.ctime_sec || p->id.debug.ctime_nsec))
                c->bad = true;  /* no debug file has no identity */
        p->rel = get_u64(c);
        size_t n = get_count(c, MIN_NAME);
        if (c->bad)
                return;
        if (n == 0 || n > PROCWIRE_PLACE_NAMES_MAX) {
                c->bad = true;
                return;
        }
        struct symbolize_place_name *names = calloc(n, sizeof *names);
        if (!names) {
                c->oom = true;
                return;
        }
        p->names = names;
        for (size_t i = 0; i < n && !c->bad && !c->oom; i++) {
                p->n = i + 1;
                names[i].function = get_name(c);
                names[i].file = get_name(c);
                names[i].line = get_int(c);
                names[i].inlined = get_below(c, 2);
        }
}

int procwire_read_places(const uint8_t *buf, size_t len, size_t *ret_used,
                         void (*accept)(const struct symbolize_place *place, void *userdata), void *userdata)
{
        size_t ml = strlen(PLACES_MAGIC);
        if (len < ml || memcmp(buf, PLACES_MAGIC, ml) != 0)
                return -EBADMSG;
        struct cursor c = { buf + ml, len - ml, false, false };
        uint64_t body = get_u64(&c);
        if (c.bad || body > c.left || body > PROCWIRE_PLACES_BYTES_MAX)
                return -EBADMSG;
        size_t used = ml + 8 + (size_t) body;
        c.left = (size_t) body;         /* the answer that follows is procwire_read's */
        size_t n = get_count(&c, MIN_PLACE);
        if (c.bad || n > PROCWIRE_PLACES_MAX)
                return -EBADMSG;
        struct symbolize_place *pl = n ? calloc(n, sizeof *pl) : NULL;
        if (n && !pl)
                return -ENOMEM;
        size_t got = 0;
        for (size_t i = 0; i < n && !c.bad && !c.oom; i++)
                get_place(&c, &pl[got++]);
        if (c.left)
                c.bad = true;
        if (!c.bad && !c.oom)
                for (size_t i = 0; i < got; i++)
                        accept(&pl[i], userdata);
        places_parsed_free(pl, got);
        if (c.bad || c.oom)
                return c.oom ? -ENOMEM : -EBADMSG;
        *ret_used = used;
        return 0;
}

/* Rust demangler; see demangle-rust.h.  The v0 grammar is RFC 2603's (as
 * rustc emits it since 1.59 under -C symbol-mangling-version=v0): a
 * recursive-descent parser over the whole name that prints as it goes, with
 * the instantiating crate and impl paths parsed but not printed.  Anything
 * it does not know (a const generic of a kind newer than integers, bools and
 * chars) fails the whole name rather than print part of it. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demangle-rust.h"
#include "util.h"

#define MAX_OUT 4096            /* longer names are not worth a headline */
#define MAX_DEPTH 128           /* nesting of paths and types */
#define MAX_STEPS 100000        /* productions parsed: backrefs repeat work */

struct out {
        char buf[MAX_OUT];
        size_t len;
        bool full;
};

static void put_n(struct out *o, const char *s, size_t n)
{
        if (!o)
                return;
        if (o->len + n >= MAX_OUT) {
                o->full = true;
                return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void put(struct out *o, const char *s)
{
        put_n(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
        char tmp[24];
        size_t i = sizeof tmp;
        do {
                tmp[--i] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        put_n(o, tmp + i, sizeof tmp - i);
}

/* Appends code point c as UTF-8; false for what is no character or a
 * control character (never printed into a report). */
static bool put_char(struct out *o, uint32_t c)
{
        char b[4];
        size_t n;
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
                return false;
        if (c < 0x80) {
                b[0] = (char) c;
                n = 1;
        } else if (c < 0x800) {
                b[0] = (char) (0xc0 | c >> 6);
                b[1] = (char) (0x80 | (c & 0x3f));
                n = 2;
        } else if (c < 0x10000) {
                b[0] = (char) (0xe0 | c >> 12);
                b[1] = (char) (0x80 | (c >> 6 & 0x3f));
                b[2] = (char) (0x80 | (c & 0x3f));
                n = 3;
        } else {
                b[0] = (char) (0xf0 | c >> 18);
                b[1] = (char) (0x80 | (c >> 12 & 0x3f));
                b[2] = (char) (0x80 | (c >> 6 & 0x3f));
                b[3] = (char) (0x80 | (c & 0x3f));
                n = 4;
        }
        put_n(o, b, n);
        return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

static int hex_value(char c)
{
        return is_digit(c) ? c - '0' : c - 'a' + 10;
}

/* Parses a decimal length at *p (no leading zero but "0") that fits in the
 * rest (end); false if none. */
static bool parse_len(const char **p, const char *end, size_t *ret)
{
        const char *q = *p;
        if (q >= end || !is_digit(*q))
                return false;
        if (*q == '0') {        /* no leading zeros: "00" is two zeros */
                *p = q + 1;
                *ret = 0;
                return true;
        }
        size_t v = 0;
        while (q < end && is_digit(*q)) {
                v = v * 10 + (size_t) (*q - '0');
                if (v > MAX_OUT * 4)
                        return false;
                q++;
        }
        *p = q;
        *ret = v;
        return true;
}

/* ---- legacy: _ZN {len ident} E ---- */

static bool legacy_is_hash(const char *s, size_t n)
{
        if (n != 17 || s[0] != 'h')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_hex(s[i]))
                        return false;
        return true;
}

/* One path element with its escapes undone. */
static bool legacy_element(struct out *o, const char *s, size_t n)
{
        const char *end = s + n;
        if (n >= 2 && s[0] == '_' && s[1] == '$')
                s++;    /* an element may not start with '$': rustc put '_' before it */
        static const struct { const char *code, *text; } escapes[] = {
                { "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" }, { "GT", ">" },
                { "LP", "(" }, { "RP", ")" }, { "C", "," },
        };
        while (s < end) {
                if (*s == '$') {
                        const char *close = memchr(s + 1, '$', (size_t) (end - s - 1));
                        if (!close)
                                return false;
                        size_t len = (size_t) (close - s - 1);
                        bool known = false;
                        for (size_t i = 0; i < ARRAY_SIZE(escapes) && !known; i++)
                                if (strlen(escapes[i].code) == len && memcmp(s + 1, escapes[i].code, len) == 0) {
                                        put(o, escapes[i].text);
                                        known = true;
                                }
                        if (!known) {
                                if (len < 2 || len > 7 || s[1] != 'u')
                                        return false;
                                uint32_t c = 0;
                                for (const char *h = s + 2; h < close; h++) {
                                        if (!is_hex(*h))
                                                return false;
                                        c = c << 4 | (uint32_t) hex_value(*h);
                                }
                                if (!put_char(o, c))
                                        return false;
                        }
                        s = close + 1;
                } else if (*s == '.') {
                        if (s + 1 < end && s[1] == '.') {
                                put(o, "::");
                                s += 2;
                        } else {
                                put(o, ".");
                                s++;
                        }
                } else {
                        unsigned char c = (unsigned char) *s;
                        if (c < 0x20 || c >= 0x7f)
                                return false;
                        put_n(o, s, 1);
                        s++;
                }
        }
        return true;
}

/* A "." suffix that LLVM or a linker added (".llvm.1234", ".cold"). */
static bool is_suffix(const char *s)
{
        return *s == 0 || *s == '.' || *s == '$';
}

static int demangle_legacy(const char *sym, struct out *o)
{
        const char *p = sym + 3, *end = p + strlen(p);
        const char *elems[256];
        size_t lens[256], n = 0;
        while (p < end && *p != 'E') {
                size_t len;
                if (n == ARRAY_SIZE(elems) || !parse_len(&p, end, &len) || len == 0 || len > (size_t) (end - p))
                        return -EINVAL;
                elems[n] = p;
                lens[n++] = len;
                p += len;
        }
        if (p >= end || !is_suffix(p + 1))
                return -EINVAL;
        if (n < 2 || !legacy_is_hash(elems[n - 1], lens[n - 1]))
                return -EINVAL;         /* a C++ name, or another language's */
        for (size_t i = 0; i + 1 < n; i++) {
                if (i > 0)
                        put(o, "::");
                if (!legacy_element(o, elems[i], lens[i]))
                        return -EINVAL;
        }
        return o->full ? -EINVAL : 0;
}

/* ---- v0: _R [version] path [instantiating-crate] [suffix] ---- */

struct v0 {
        const char *s;          /* after "_R" */
        size_t len, pos;
        unsigned depth;
        unsigned long steps;
        bool bad;
};

static char peek(const struct v0 *p)
{
        return p->pos < p->len ? p->s[p->pos] : 0;
}

static char next(struct v0 *p)
{
        if (p->pos >= p->len) {
                p->bad = true;
                return 0;
        }
        return p->s[p->pos++];
}

static bool eat(struct v0 *p, char c)
{
        if (peek(p) != c)
                return false;
        p->pos++;
        return true;
}

/* Entering a production: counts the work, bounds the nesting. */
static bool enter(struct v0 *p)
{
        if (p->bad || ++p->depth > MAX_DEPTH || ++p->steps > MAX_STEPS) {
                p->bad = true;
                return false;
        }
        return true;
}

static void leave(struct v0 *p)
{
        p->depth--;
}

/* <base-62-number> = {0-9a-zA-Z} "_": "_" is 0, "x_" is x + 1. */
static uint64_t base62(struct v0 *p)
{
        if (eat(p, '_'))
                return 0;
        uint64_t v = 0;
        for (;;) {
                char c = next(p);
                int d;
                if (c == '_')
                        break;
                if (is_digit(c))
                        d = c - '0';
                else if (is_lower(c))
                        d = c - 'a' + 10;
                else if (is_upper(c))
                        d = c - 'A' + 36;
                else {
                        p->bad = true;
                        return 0;
                }
                if (v > (UINT64_MAX - (uint64_t) d) / 62) {
                        p->bad = true;
                        return 0;
                }
                v = v * 62 + (uint64_t) d;
        }
        if (v == UINT64_MAX) {
                p->bad = true;
                return 0;
        }
        return v + 1;
}

/* ["s" <base-62-number>]: 0 when absent, else the number + 1. */
static uint64_t disambiguator(struct v0 *p)
{
        if (!eat(p, 's'))
                return 0;
        uint64_t v = base62(p);
        if (v == UINT64_MAX) {
                p->bad = true;
                return 0;
        }
        return v + 1;
}

static size_t decimal(struct v0 *p)
{
        const char *q = p->s + p->pos;
        size_t n;
        if (!parse_len(&q, p->s + p->len, &n)) {
                p->bad = true;
                return 0;
        }
        p->pos = (size_t) (q - p->s);
        return n;
}

/* RFC 3492 decoding of v0's punycode identifiers ('_' instead of '-'
 * before the encoded part).  Writes at most cap code points. */
static bool punycode(const char *s, size_t n, uint32_t *out, size_t cap, size_t *ret_n)
{
        size_t basic = 0, len = 0;
        for (size_t i = n; i-- > 0; )
                if (s[i] == '_') {
                        basic = i;
                        break;
                }
        if (basic > cap)
                return false;
        for (size_t i = 0; i < basic; i++)
                out[len++] = (unsigned char) s[i];
        size_t at = basic ? basic + 1 : 0;
        uint32_t code = 128, bias = 72;
        uint64_t i = 0;
        while (at < n) {
                uint64_t old = i, w = 1;
                for (uint32_t k = 36;; k += 36) {
                        if (at >= n)
                                return false;
                        char c = s[at++];
                        uint32_t d;
                        if (is_lower(c))
                                d = (uint32_t) (c - 'a');
                        else if (is_digit(c))
                                d = (uint32_t) (c - '0') + 26;
                        else
                                return false;
                        i += d * w;
                        if (i > 0x10ffffull * (cap + 1))
                                return false;
                        uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
                        if (d < t)
                                break;
                        w *= 36 - t;
                        if (w > 0x10ffffull * (cap + 1))
                                return false;
                }
                /* adapt the bias */
                uint64_t delta = len == 0 && old == 0 ? (i - old) / 700 : (i - old) / 2;
                delta += delta / (len + 1);
                uint32_t k = 0;
                while (delta > 455) {
                        delta /= 35;
                        k += 36;
                }
                bias = k + (uint32_t) (36 * delta / (delta + 38));
                code += (uint32_t) (i / (len + 1));
                i %= len + 1;
                if (code > 0x10ffff || len >= cap)
                        return false;
                memmove(out + i + 1, out + i, (len - i) * sizeof *out);
                out[i++] = code;
                len++;
        }
        *ret_n = len;
        return true;
}

/* <undisambiguated-identifier> = ["u"] <decimal> ["_"] <bytes>, printed. */
static void ident(struct v0 *p, struct out *o)
{
        bool puny = eat(p, 'u');
        size_t n = decimal(p);
        eat(p, '_');
        if (p->bad || n > p->len - p->pos) {
                p->bad = true;
                return;
        }
        const char *s = p->s + p->pos;
        p->pos += n;
        if (puny) {
                uint32_t cps[256];
                size_t k;
                if (!punycode(s, n, cps, ARRAY_SIZE(cps), &k)) {
                        p->bad = true;
                        return;
                }
                for (size_t i = 0; i < k; i++)
                        if (!put_char(o, cps[i])) {
                                p->bad = true;
                                return;
                        }
                return;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] >= 0x7f) {
                        p->bad = true;
                        return;
                }
        put_n(o, s, n);
}

static void path(struct v0 *p, struct out *o, bool in_value);
static void type(struct v0 *p, struct out *o);

/* Runs f at the position a backref names (earlier than the 'B'), then comes
 * back. */
static void backref(struct v0 *p, struct out *o, bool in_value, bool is_type)
{
        size_t at = p->pos - 1;         /* the 'B' */
        uint64_t target = base62(p);
        if (p->bad || target >= at) {
                p->bad = true;
                return;
        }
        size_t back = p->pos;
        p->pos = (size_t) target;
        if (is_type)
                type(p, o);
        else
                path(p, o, in_value);
        p->pos = back;
}

static void lifetime(struct v0 *p, struct out *o)
{
        (void) base62(p);
        put(o, "'_");
}

/* <const>: integers, bools and chars; "p" a placeholder. */
static void constant(struct v0 *p, struct out *o)
{
        if (!enter(p))
                return;
        char c = next(p);
        if (c == 'p') {
                put(o, "_");
        } else if (c == 'B') {
                size_t at = p->pos - 1;
                uint64_t target = base62(p);
                if (!p->bad && target < at) {
                        size_t back = p->pos;
                        p->pos = (size_t) target;
                        constant(p, o);
                        p->pos = back;
                } else
                        p->bad = true;
        } else if (strchr("hmyotjabilxnsc", c) && c) {
                bool neg = c != 'b' && c != 'c' && eat(p, 'n');
                uint64_t v = 0;
                size_t digits = 0;
                while (!p->bad && peek(p) != '_') {
                        char h = next(p);
                        if (!is_hex(h) || ++digits > 16) {
                                p->bad = true;
                                break;
                        }
                        v = v << 4 | (uint64_t) hex_value(h);
                }
                eat(p, '_');
                if (c == 'b') {
                        if (v > 1)
                                p->bad = true;
                        put(o, v ? "true" : "false");
                } else if (c == 'c') {
                        put(o, "'");
                        if (v > 0x10ffff || !put_char(o, (uint32_t) v))
                                p->bad = true;
                        put(o, "'");
                } else {
                        if (neg)
                                put(o, "-");
                        put_u64(o, v);
                }
        } else {
                p->bad = true;  /* str, references, arrays... of newer const generics */
        }
        leave(p);
}

static void generic_arg(struct v0 *p, struct out *o)
{
        if (eat(p, 'L'))
                lifetime(p, o);
        else if (eat(p, 'K'))
                constant(p, o);
        else
                type(p, o);
}

static const char *basic_type(char c)
{
        switch (c) {
        case 'a': return "i8";
        case 'b': return "bool";
        case 'c': return "char";
        case 'd': return "f64";
        case 'e': return "str";
        case 'f': return "f32";
        case 'h': return "u8";
        case 'i': return "isize";
        case 'j': return "usize";
        case 'l': return "i32";
        case 'm': return "u32";
        case 'n': return "i128";
        case 'o': return "u128";
        case 's': return "i16";
        case 't': return "u16";
        case 'u': return "()";
        case 'v': return "...";
        case 'x': return "i64";
        case 'y': return "u64";
        case 'z': return "!";
        case 'p': return "_";
        default: return NULL;
        }
}

/* A path whose generic arguments are left open ("Iterator<Item = T"):
 * returns whether a '<' is open.  For dyn traits' associated types. */
static bool path_open(struct v0 *p, struct out *o)
{
        if (!enter(p))
                return false;
        bool open = false;
        if (eat(p, 'I')) {
                path(p, o, false);
                put(o, "<");
                for (unsigned i = 0; !p->bad && !eat(p, 'E'); i++) {
                        if (i)
                                put(o, ", ");
                        generic_arg(p, o);
                }
                open = true;
        } else if (eat(p, 'B')) {
                size_t at = p->pos - 1;
                uint64_t target = base62(p);
                if (!p->bad && target < at) {
                        size_t back = p->pos;
                        p->pos = (size_t) target;
                        open = path_open(p, o);
                        p->pos = back;
                } else
                        p->bad = true;
        } else {
                path(p, o, false);
        }
        leave(p);
        return open;
}

static void dyn_bounds(struct v0 *p, struct out *o)
{
        if (eat(p, 'G'))
                (void) base62(p);
        put(o, "dyn ");
        for (unsigned i = 0; !p->bad && !eat(p, 'E'); i++) {
                if (i)
                        put(o, " + ");
                bool open = path_open(p, o);
                while (!p->bad && eat(p, 'p')) {
                        put(o, open ? ", " : "<");
                        open = true;
                        ident(p, o);
                        put(o, " = ");
                        type(p, o);
                }
                if (open)
                        put(o, ">");
        }
}

static void fn_sig(struct v0 *p, struct out *o)
{
        if (eat(p, 'G'))
                (void) base62(p);
        if (eat(p, 'U'))
                put(o, "unsafe ");
        if (eat(p, 'K')) {
                put(o, "extern \"");
                if (eat(p, 'C')) {
                        put(o, "C");
                } else {
                        /* an ABI name, '-' written as '_' */
                        struct out tmp = { .len = 0 };
                        ident(p, &tmp);
                        for (size_t i = 0; i < tmp.len; i++)
                                if (tmp.buf[i] == '_')
                                        tmp.buf[i] = '-';
                        put_n(o, tmp.buf, tmp.len);
                }
                put(o, "\" ");
        }
        put(o, "fn(");
        for (unsigned i = 0; !p->bad && !eat(p, 'E'); i++) {
                if (i)
                        put(o, ", ");
                type(p, o);
        }
        put(o, ")");
        if (eat(p, 'u'))
                return;         /* returns () */
        put(o, " -> ");
        type(p, o);
}

static void type(struct v0 *p, struct out *o)
{
        if (!enter(p))
                return;
        char c = peek(p);
        const char *basic = basic_type(c);
        if (basic) {
                p->pos++;
                put(o, basic);
        } else if (eat(p, 'A')) {
                put(o, "[");
                type(p, o);
                put(o, "; ");
                constant(p, o);
                put(o, "]");
        } else if (eat(p, 'S')) {
                put(o, "[");
                type(p, o);
                put(o, "]");
        } else if (c == 'R' || c == 'Q') {
                p->pos++;
                put(o, c == 'R' ? "&" : "&mut ");
                if (eat(p, 'L'))
                        (void) base62(p);
                type(p, o);
        } else if (c == 'P' || c == 'O') {
                p->pos++;
                put(o, c == 'P' ? "*const " : "*mut ");
                type(p, o);
        } else if (eat(p, 'F')) {
                fn_sig(p, o);
        } else if (eat(p, 'D')) {
                dyn_bounds(p, o);
                if (eat(p, 'L'))
                        (void) base62(p);
                else
                        p->bad = true;
        } else if (eat(p, 'T')) {
                put(o, "(");
                unsigned i = 0;
                for (; !p->bad && !eat(p, 'E'); i++) {
                        if (i)
                                put(o, ", ");
                        type(p, o);
                }
                put(o, i == 1 ? ",)" : ")");
        } else if (eat(p, 'B')) {
                backref(p, o, false, true);
        } else {
                path(p, o, false);
        }
        leave(p);
}

/* <path>; in_value: a function's path, whose generic arguments read
 * "f::<T>" (a type's read "Vec<T>"). */
static void path(struct v0 *p, struct out *o, bool in_value)
{
        if (!enter(p))
                return;
        char c = next(p);
        switch (c) {
        case 'C':
                (void) disambiguator(p);
                ident(p, o);
                break;
        case 'M':
                (void) disambiguator(p);
                path(p, NULL, false);   /* the impl's own path: not printed */
                put(o, "<");
                type(p, o);
                put(o, ">");
                break;
        case 'X':
                (void) disambiguator(p);
                path(p, NULL, false);
                put(o, "<");
                type(p, o);
                put(o, " as ");
                path(p, o, false);
                put(o, ">");
                break;
        case 'Y':
                put(o, "<");
                type(p, o);
                put(o, " as ");
                path(p, o, false);
                put(o, ">");
                break;
        case 'N': {
                char ns = next(p);
                if (!is_lower(ns) && !is_upper(ns)) {
                        p->bad = true;
                        break;
                }
                path(p, o, in_value);
                uint64_t dis = disambiguator(p);
                if (is_lower(ns)) {
                        put(o, "::");
                        ident(p, o);
                        break;
                }
                /* a special namespace: closures, shims */
                put(o, "::{");
                put(o, ns == 'C' ? "closure" : ns == 'S' ? "shim" : (char[]) { ns, 0 });
                size_t before = o ? o->len : 0;
                if (o)
                        put(o, ":");
                ident(p, o);
                if (o && o->len == before + 1)
                        o->len = before;        /* no name: drop the ':' */
                put(o, "#");
                put_u64(o, dis);
                put(o, "}");
                break;
        }
        case 'I':
                path(p, o, in_value);
                put(o, in_value ? "::<" : "<");
                for (unsigned i = 0; !p->bad && !eat(p, 'E'); i++) {
                        if (i)
                                put(o, ", ");
                        generic_arg(p, o);
                }
                put(o, ">");
                break;
        case 'B':
                backref(p, o, in_value, false);
                break;
        default:
                p->bad = true;
        }
        leave(p);
}

static int demangle_v0(const char *sym, struct out *o)
{
        struct v0 p = { .s = sym + 2, .len = strlen(sym + 2) };
        /* an encoding version: only 0 ("_R0...") would differ, none exists */
        if (is_digit(peek(&p)))
                return -EINVAL;
        path(&p, o, true);
        if (!p.bad && is_upper(peek(&p)))
                path(&p, NULL, false);  /* the instantiating crate */
        if (p.bad || o->full || !is_suffix(p.s + p.pos))
                return -EINVAL;
        return 0;
}

int demangle_rust(const char *sym, char **ret)
{
        if (!sym)
                return -EINVAL;
        _cleanup_free_ struct out *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        int r;
        if (startswith(sym, "_ZN"))
                r = demangle_legacy(sym, o);
        else if (startswith(sym, "_R") && sym[2])
                r = demangle_v0(sym, o);
        else
                r = -EINVAL;
        if (r < 0)
                return r;
        char *s = strndup(o->buf, o->len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

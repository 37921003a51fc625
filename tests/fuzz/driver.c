/* A small stand-in for libFuzzer where clang is not there: runs every seed
 * input given (files, or directories of files), then -runs=N inputs made by
 * mutating them (byte flips, inserts, deletions, copies within an input and
 * across two, truncation), from a fixed -seed=S so that a run is repeatable.
 * A crash is the sanitizer's (or the signal's) report; before it, the input
 * being run is written to ./crash-<target> so that it can be replayed with
 * "FUZZER crash-<target>".  Also as libFuzzer: -timeout=S for one input
 * (a slower one is a finding), -max_total_time=S, -max_len=N. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

struct input {
        uint8_t *data;
        size_t size;
};

static struct input *corpus;
static size_t n_corpus;
static const uint8_t *current;
static size_t current_size;
static char artifact[512] = "crash-input";

static void on_crash(int sig)
{
        int fd = current ? open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        if (fd >= 0) {
                (void) !write(fd, current, current_size);
                close(fd);
        }
        static const char msg[] = "fuzz driver: crashed; the input is in the file named above (artifact)\n";
        (void) !write(2, msg, sizeof msg - 1);
        signal(sig, SIG_DFL);
        raise(sig);
}

static void add_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return;
        struct input in = { malloc(1 << 16), 0 };
        in.size = fread(in.data, 1, 1 << 16, f);
        fclose(f);
        corpus = realloc(corpus, (n_corpus + 1) * sizeof *corpus);
        corpus[n_corpus++] = in;
}

static void add_path(const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return;
        if (!S_ISDIR(st.st_mode)) {
                add_file(path);
                return;
        }
        DIR *d = opendir(path);
        struct dirent **names;
        int n = d ? scandir(path, &names, NULL, alphasort) : 0;    /* sorted: repeatable */
        if (d)
                closedir(d);
        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.') {
                        char p[4096];
                        snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
                        add_file(p);
                }
                free(names[i]);
        }
        if (n > 0)
                free(names);
}

static uint64_t rng;
static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static unsigned timeout_s = 20;

/* Runs one input; one that takes longer than -timeout=S seconds is a
 * finding too (SIGALRM, as libFuzzer's timeouts). */
static void run(const uint8_t *data, size_t size)
{
        current = data;
        current_size = size;
        alarm(timeout_s);
        LLVMFuzzerTestOneInput(data, size);
        alarm(0);
}

/* Mutates buf (of size *size, room max) in place. */
static void mutate(uint8_t *buf, size_t *size, size_t max)
{
        static const char *const tokens[] = { "\n", " ", "\t", "\0", ":", "#", "\\", "'", "\"", "*", "[", "(", ")",
                                              "-", ".", "0", "18446744073709551616", "-1", "ffffffffffffffff",
                                              " in ", "\xff", "running", "s", "ms", "K", "M" };
        unsigned n = 1 + (unsigned) (next() % 4);
        for (unsigned k = 0; k < n; k++) {
                size_t s = *size, pos = s ? next() % s : 0;
                switch (next() % 7) {
                case 0:         /* flip a bit */
                        if (s)
                                buf[pos] ^= (uint8_t) (1u << (next() % 8));
                        break;
                case 1:         /* a random byte */
                        if (s)
                                buf[pos] = (uint8_t) next();
                        break;
                case 2: {       /* insert a token */
                        const char *t = tokens[next() % (sizeof tokens / sizeof *tokens)];
                        size_t l = t[0] ? strlen(t) : 1;
                        if (s + l <= max) {
                                memmove(buf + pos + l, buf + pos, s - pos);
                                memcpy(buf + pos, t, l);
                                *size = s + l;
                        }
                        break;
                }
                case 3: {       /* delete a range */
                        size_t l = s - pos ? 1 + next() % (s - pos) : 0;
                        if (l > 16 && next() % 2)
                                l = 1 + l % 16;
                        memmove(buf + pos, buf + pos + l, s - pos - l);
                        *size = s - l;
                        break;
                }
                case 4: {       /* copy a range of this input elsewhere */
                        if (!s)
                                break;
                        uint8_t piece[64];
                        size_t from = next() % s, l = 1 + next() % (s - from);
                        if (l > sizeof piece)
                                l = sizeof piece;
                        if (s + l <= max) {
                                memcpy(piece, buf + from, l);
                                memmove(buf + pos + l, buf + pos, s - pos);
                                memcpy(buf + pos, piece, l);
                                *size = s + l;
                        }
                        break;
                }
                case 5: {       /* splice in a piece of another input */
                        const struct input *o = &corpus[next() % n_corpus];
                        if (!o->size)
                                break;
                        size_t from = next() % o->size, l = 1 + next() % (o->size - from);
                        if (s + l <= max) {
                                memmove(buf + pos + l, buf + pos, s - pos);
                                memcpy(buf + pos, o->data + from, l);
                                *size = s + l;
                        }
                        break;
                }
                case 6:         /* truncate */
                        *size = pos;
                        break;
                }
        }
}

int main(int argc, char **argv)
{
        unsigned long runs = 1000, seed = 1, max_total_s = 0;
        size_t max_len = 4096;
        const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        for (int i = 1; i < argc; i++) {
                if (!strncmp(argv[i], "-runs=", 6))
                        runs = strtoul(argv[i] + 6, NULL, 10);
                else if (!strncmp(argv[i], "-seed=", 6))
                        seed = strtoul(argv[i] + 6, NULL, 10);
                else if (!strncmp(argv[i], "-timeout=", 9))
                        timeout_s = (unsigned) strtoul(argv[i] + 9, NULL, 10);
                else if (!strncmp(argv[i], "-max_total_time=", 16))
                        max_total_s = strtoul(argv[i] + 16, NULL, 10);
                else if (!strncmp(argv[i], "-max_len=", 9))
                        max_len = strtoul(argv[i] + 9, NULL, 10);
                else if (!strncmp(argv[i], "-artifact_prefix=", 17))
                        snprintf(artifact, sizeof artifact, "%scrash-%s", argv[i] + 17, name);
                else if (argv[i][0] != '-')
                        add_path(argv[i]);
        }
        signal(SIGSEGV, on_crash);
        signal(SIGABRT, on_crash);
        signal(SIGBUS, on_crash);
        signal(SIGFPE, on_crash);
        signal(SIGILL, on_crash);
        signal(SIGALRM, on_crash);
        if (!n_corpus) {
                static struct input empty;
                corpus = &empty;
                n_corpus = 1;
        }
        for (size_t i = 0; i < n_corpus; i++)
                run(corpus[i].data, corpus[i].size);
        current = NULL;
        rng = seed * 0x9e3779b97f4a7c15ull + 1;
        uint8_t *buf = malloc(max_len + 1);
        time_t t0 = time(NULL);
        unsigned long r;
        for (r = 0; r < runs && !(max_total_s && (unsigned long) (time(NULL) - t0) >= max_total_s); r++) {
                const struct input *base = &corpus[next() % n_corpus];
                size_t size = base->size < max_len ? base->size : max_len;
                memcpy(buf, base->data, size);
                mutate(buf, &size, max_len);
                /* a copy of exactly size bytes, so that ASan sees reads past it */
                uint8_t *in = malloc(size ? size : 1);
                memcpy(in, buf, size);
                run(in, size);
                current = NULL;
                free(in);
        }
        free(buf);
        printf("%s: %zu seed inputs and %lu mutations, seed %lu: no crash\n", name, n_corpus, r, seed);
        return 0;
}

/* The places the symbolizer keeps across the processes of a run
 * (symbolize.c) are keyed by the bytes of the files, never by their path:
 * two builds of a library (places-lib.c, one function named places_alpha in
 * one and places_gamma in the other, at the same offset) loaded one after
 * the other from the same path, each time by a new symbolizer over new
 * modules (as for the next process of a run), must each be named by their
 * own symbols: once when the file is replaced (a new inode), once when it
 * is rewritten in place (the same inode).
 *
 * Usage: test-symbolize-places LIB_ALPHA LIB_GAMMA WORKDIR */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "symbolize.h"
#include "util.h"

/* Copies the file from to path to: replacing it (rename, a new inode), or
 * rewriting it in place (same inode).  Returns 0 or -errno. */
static int install(const char *from, const char *to, bool in_place)
{
        _cleanup_free_ char *bytes = NULL;
        int r = read_full_file(from, &bytes);
        if (r < 0)
                return r;
        struct stat st;
        if (stat(from, &st) < 0)
                return -errno;
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.new", to);
        const char *target = in_place ? to : tmp;
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, bytes, (size_t) st.st_size);
        close(fd);
        if (n != st.st_size)
                return -EIO;
        if (!in_place && rename(tmp, to) < 0)
                return -errno;
        return 0;
}

/* Loads path, symbolizes its function as a new process's analysis would,
 * and returns the name found (new string) or NULL. */
static char *name_in(const char *path, ino_t *ret_ino)
{
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        CHECK(h != NULL);
        if (!h) {
                fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
                return NULL;
        }
        void *(*entry)(void) = (void *(*)(void)) dlsym(h, "places_entry");
        CHECK(entry != NULL);
        char *name = NULL;
        _cleanup_free_ char *maps = NULL;
        struct modules *mods = NULL;
        struct stat st;
        CHECK(stat(path, &st) == 0);
        *ret_ino = st.st_ino;
        if (entry && read_full_file("/proc/self/maps", &maps) >= 0 && modules_new(getpid(), maps, &mods) == 0) {
                struct symbolizer *s = symbolizer_new(mods, false);
                struct leakscan_frame *frames = NULL;
                size_t n = 0;
                if (s && symbolize_pc(s, (uint64_t) (uintptr_t) entry(), true, &frames, &n) == 0 && n > 0 &&
                    frames[n - 1].function)
                        name = strdup(frames[n - 1].function);
                frames_free(frames, n);
                symbolizer_free(s);
        }
        modules_free(mods);
        dlclose(h);
        return name;
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: %s LIB_ALPHA LIB_GAMMA WORKDIR\n", argv[0]);
                return 2;
        }
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/places-XXXXXX", argv[3]);
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/libplaces.so", dir);
        ino_t first = 0, second = 0, third = 0;

        CHECK_EQ_INT(install(argv[1], path, false), 0);
        size_t kept = symbolize_places_count();
        _cleanup_free_ char *a = name_in(path, &first);
        CHECK_EQ_STR(a, "places_alpha");
        /* the place was kept, and the same file again is answered from
         * it: the same name, nothing more kept */
        CHECK(symbolize_places_count() == kept + 1);
        kept = symbolize_places_count();
        _cleanup_free_ char *a2 = name_in(path, &first);
        CHECK_EQ_STR(a2, "places_alpha");
        CHECK(symbolize_places_count() == kept);

        /* another build replaces it: a new inode at the same path */
        CHECK_EQ_INT(install(argv[2], path, false), 0);
        _cleanup_free_ char *g = name_in(path, &second);
        CHECK_EQ_STR(g, "places_gamma");

        /* the first build written over it in place: the same inode */
        CHECK_EQ_INT(install(argv[1], path, true), 0);
        _cleanup_free_ char *a3 = name_in(path, &third);
        CHECK_EQ_STR(a3, "places_alpha");
        CHECK(third == second);

        unlink(path);
        rmdir(dir);
        return CHECK_DONE();
}

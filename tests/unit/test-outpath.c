/* Unit tests of -o templates: expansion, errors, and %n taking the first
 * free number. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "outpath.h"

static char *expanded(const char *template, pid_t pid, unsigned n)
{
        char *s = NULL;
        return outpath_expand(template, pid, n, &s) == 0 ? s : NULL;
}

int main(void)
{
        char *s = expanded("leak-%p.json", 42, 0);
        CHECK_EQ_STR(s, "leak-42.json");
        free(s);
        s = expanded("r%n-%p-%%.sarif", 7, 3);
        CHECK_EQ_STR(s, "r3-7-%.sarif");
        free(s);
        CHECK_EQ_INT(outpath_check("plain.json"), 0);
        CHECK_EQ_INT(outpath_check("bad%q"), -EINVAL);
        CHECK_EQ_INT(outpath_check("trailing%"), -EINVAL);

        char dir[] = "/tmp/leakscan-outpath-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char template[128];
        snprintf(template, sizeof template, "%s/n-%%n.txt", dir);
        for (unsigned i = 0; i < 3; i++) {
                FILE *f = NULL;
                char *path = NULL, want[160];
                CHECK_EQ_INT(outpath_open(template, 1, &f, &path), 0);
                snprintf(want, sizeof want, "%s/n-%u.txt", dir, i);
                CHECK_EQ_STR(path, want);
                if (f)
                        fclose(f);
                free(path);
        }
        for (unsigned i = 0; i < 3; i++) {
                char p[160];
                snprintf(p, sizeof p, "%s/n-%u.txt", dir, i);
                unlink(p);
        }
        rmdir(dir);
        return CHECK_DONE();
}

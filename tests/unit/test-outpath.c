/* Unit tests of -o templates: expansion, errors, and %n taking the first
 * free number. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "outpath.h"

static char *expanded(const char *template, pid_t pid, unsigned n)
{
        char *s = NULL;
        return outpath_expand(template, pid, n, &s) == 0 ? s : NULL;
}

/* Writes "report" through outpath_open; returns its result. */
static int write_report(const char *template, pid_t pid)
{
        FILE *f = NULL;
        char *path = NULL;
        int r = outpath_open(template, pid, &f, &path);
        if (r == 0) {
                fputs("report", f);
                fclose(f);
                free(path);
        }
        return r;
}

static long file_size(const char *path)
{
        struct stat st;
        return lstat(path, &st) < 0 ? -1 : (long) st.st_size;
}

/* A sticky world-writable directory (/tmp) where another user planted a
 * symlink to a file of root's, and a file of their own, at the names
 * -o /tmp/report-%p.json will take: neither is written.  Our own symlink
 * there, and another user's symlink elsewhere (/dev/stdout), are followed;
 * our own file is truncated. */
static void check_planted(void)
{
        if (geteuid() != 0) {
                printf("skip: planting another user's files needs root\n");
                return;
        }
        char dir[] = "/tmp/leakscan-planted-XXXXXX", shared[64], victim[64], link[96], own[96],
             template[96], other[64];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(shared, sizeof shared, "%s/tmp", dir);
        CHECK_EQ_INT(mkdir(shared, 01777), 0);
        CHECK_EQ_INT(chmod(shared, 01777), 0);
        snprintf(victim, sizeof victim, "%s/shadow", dir);
        FILE *v = fopen(victim, "w");
        CHECK(v != NULL);
        if (v) {
                fputs("root:secret\n", v);
                fclose(v);
        }
        snprintf(template, sizeof template, "%s/report-%%p.json", shared);

        /* another user's symlink, to root's file, and to a file not there yet */
        snprintf(link, sizeof link, "%s/report-1.json", shared);
        CHECK_EQ_INT(symlink(victim, link), 0);
        CHECK_EQ_INT(lchown(link, 65534, 65534), 0);
        CHECK_EQ_INT(write_report(template, 1), -EACCES);
        CHECK_EQ_INT(file_size(victim), (long) strlen("root:secret\n"));
        snprintf(other, sizeof other, "%s/created", dir);
        snprintf(link, sizeof link, "%s/report-2.json", shared);
        CHECK_EQ_INT(symlink(other, link), 0);
        CHECK_EQ_INT(lchown(link, 65534, 65534), 0);
        CHECK_EQ_INT(write_report(template, 2), -EACCES);
        CHECK_EQ_INT(file_size(other), -1);

        /* another user's file, made to read root's report from */
        snprintf(own, sizeof own, "%s/report-3.json", shared);
        int fd = open(own, O_WRONLY | O_CREAT | O_EXCL, 0666);
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        CHECK_EQ_INT(chown(own, 65534, 65534), 0);
        CHECK_EQ_INT(write_report(template, 3), -EACCES);
        CHECK_EQ_INT(file_size(own), 0);

        /* ours: a symlink followed, a file truncated, a new file created */
        snprintf(link, sizeof link, "%s/report-4.json", shared);
        CHECK_EQ_INT(symlink(other, link), 0);
        CHECK_EQ_INT(write_report(template, 4), 0);
        CHECK_EQ_INT(file_size(other), (long) strlen("report"));
        CHECK_EQ_INT(write_report(template, 5), 0);
        CHECK_EQ_INT(write_report(template, 5), 0);
        snprintf(own, sizeof own, "%s/report-5.json", shared);
        CHECK_EQ_INT(file_size(own), (long) strlen("report"));

        /* another user's symlink outside a shared directory: followed */
        snprintf(template, sizeof template, "%s/out-%%p.json", dir);
        snprintf(link, sizeof link, "%s/out-6.json", dir);
        CHECK_EQ_INT(symlink(victim, link), 0);
        CHECK_EQ_INT(lchown(link, 65534, 65534), 0);
        CHECK_EQ_INT(write_report(template, 6), 0);
        CHECK_EQ_INT(file_size(victim), (long) strlen("report"));

        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK_EQ_INT(system(cmd), 0);
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
        check_planted();
        return CHECK_DONE();
}

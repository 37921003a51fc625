/* Unit tests of how module files are opened (modules_open_file): only a
 * regular file, only the inode expected, names resolved inside the root
 * given, and nothing else ever opened — a FIFO or a device node is looked
 * at with O_PATH only (inotify sees no open), so no driver runs and no read
 * waits.  And of the one place separate debug info may come from. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "modules.h"

static bool any_event(int ino)
{
        char buf[4096];
        return read(ino, buf, sizeof buf) > 0;
}

int main(void)
{
        char dir[] = "/tmp/leakscan-modules-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char path[256], host[256];

        /* a regular file: opened, and its inode is the one asked for */
        snprintf(path, sizeof path, "%s/lib.so", dir);
        int w = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK(w >= 0 && write(w, "inside", 6) == 6);
        close(w);
        struct stat lib;
        CHECK(stat(path, &lib) == 0);
        int fd = modules_open_file(AT_FDCWD, path, 0, &lib);
        CHECK(fd >= 0);
        CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
        if (fd >= 0)
                close(fd);

        /* another inode than the one mapped: refused */
        struct stat other = lib;
        other.st_ino++;
        CHECK_EQ_INT(modules_open_file(AT_FDCWD, path, 0, &other), -ESTALE);

        /* a FIFO where the library was: refused, never opened */
        snprintf(path, sizeof path, "%s/fifo", dir);
        CHECK(mkfifo(path, 0600) == 0);
        int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        CHECK(ino >= 0 && inotify_add_watch(ino, path, IN_OPEN | IN_ACCESS) >= 0);
        CHECK_EQ_INT(modules_open_file(AT_FDCWD, path, 0, NULL), -EBADF);
        CHECK(!any_event(ino));
        close(ino);

        /* a device node: refused, never opened (no driver's open runs) */
        ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        CHECK(ino >= 0 && inotify_add_watch(ino, "/dev/null", IN_OPEN | IN_ACCESS) >= 0);
        CHECK_EQ_INT(modules_open_file(AT_FDCWD, "/dev/null", 0, NULL), -EBADF);
        CHECK(!any_event(ino));
        close(ino);

        /* a root of the target's own: an absolute symlink there names a
         * file inside it, never the host's file of that name */
        snprintf(host, sizeof host, "%s-host", dir);
        w = open(host, O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK(w >= 0);
        close(w);
        struct stat hoststat;
        CHECK(stat(host, &hoststat) == 0);
        snprintf(path, sizeof path, "%s/link.so", dir);
        char target[300];
        snprintf(target, sizeof target, "%s", host);    /* absolute: the host's file */
        CHECK(symlink(target, path) == 0);
        int root = open(dir, O_PATH | O_DIRECTORY);
        CHECK(root >= 0);
        CHECK(modules_open_file(root, "/link.so", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, &hoststat) < 0);
        fd = modules_open_file(root, "/lib.so", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, &lib);
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        /* ".." stays in the root too */
        CHECK(modules_open_file(root, "../../../../../../dev/null", RESOLVE_IN_ROOT, NULL) < 0);
        /* and a magic link is not followed */
        CHECK(modules_open_file(AT_FDCWD, "/proc/self/exe", RESOLVE_NO_MAGICLINKS, NULL) < 0);
        close(root);

        /* separate debug info: by build-id, in the system's tree only */
        static const uint8_t id[] = { 0xab, 0x01, 0xcd, 0xef };
        char dbg[256];
        CHECK_EQ_INT(modules_build_id_path(id, sizeof id, dbg, sizeof dbg), 0);
        CHECK_EQ_STR(dbg, "/usr/lib/debug/.build-id/ab/01cdef.debug");
        CHECK_EQ_INT(modules_build_id_path(id, 1, dbg, sizeof dbg), -EINVAL);
        CHECK_EQ_INT(modules_build_id_path(id, sizeof id, dbg, 20), -EINVAL);

        unlink(host);
        snprintf(path, sizeof path, "%s/link.so", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/fifo", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lib.so", dir);
        unlink(path);
        rmdir(dir);
        return CHECK_DONE();
}

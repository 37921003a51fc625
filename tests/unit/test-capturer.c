/* The capturer's checks of the analyser's requests (src/capture/capturer.h): the
 * analyser is untrusted, so every request that names what the capture does
 * not hold (a thread, a mapping, a malformed build-id, a length out of
 * bounds, an unknown type) is refused with -EPROTO before the capturer acts,
 * and the ones it holds are answered.  The "process" is this test itself:
 * its own thread and maps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "capturer.h"
#include "check.h"
#include "leakscan/leakscan.h"
#include "util.h"

static int sv[2];
static struct capturer_server *server;

/* Sends a request from the "analyser" side and lets the server handle it.
 * Returns what the server returned; *ans and *fd get its answer when it
 * answered (0). */
static int ask(uint32_t type, uint64_t a, uint64_t b, const void *payload, uint32_t len,
               struct capturer_answer *ans, char **text, int *fd)
{
        struct capturer_request q = { type, len, a, b };
        if (write(sv[1], &q, sizeof q) != (ssize_t) sizeof q || (len && write(sv[1], payload, len) != (ssize_t) len))
                return -EIO;
        int r = capturer_server_serve(server);
        if (r != 0)
                return r;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = { ans, sizeof *ans };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof control.buf };
        if (recvmsg(sv[1], &msg, MSG_WAITALL) != (ssize_t) sizeof *ans)
                return -EIO;
        *fd = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_type == SCM_RIGHTS)
                        memcpy(fd, CMSG_DATA(c), sizeof *fd);
        *text = calloc(1, ans->len + 1);
        if (ans->len && recv(sv[1], *text, ans->len, MSG_WAITALL) != (ssize_t) ans->len)
                return -EIO;
        return 0;
}

int main(void)
{
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        pid_t self = getpid();
        struct process_capture *cap = process_capture_new(self);
        CHECK(cap != NULL);
        CHECK(process_capture_add(cap, self) != NULL);
        CHECK(read_full_file("/proc/self/maps", &cap->maps_text) > 0);
        server = capturer_server_new(sv[0], cap);
        CHECK(server != NULL);

        struct capturer_answer ans;
        char *text = NULL;
        int fd = -1;

        /* a thread it captured: its /proc file; any other: refused */
        CHECK_EQ_INT(ask(CAPTURER_REQ_TASK_FILE, (uint64_t) self, 1, NULL, 0, &ans, &text, &fd), 0);
        CHECK(ans.r == 0 && strstr(text, "voluntary_ctxt_switches") != NULL);
        free(text);
        CHECK_EQ_INT(ask(CAPTURER_REQ_TASK_FILE, 1, 1, NULL, 0, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_TASK_FILE, (uint64_t) self, 2, NULL, 0, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_TASK_FILE, (uint64_t) self + (1ull << 32), 0, NULL, 0, &ans, &text, &fd),
                     -EPROTO);

        /* a mapping its maps show (this test's own file): a descriptor on
         * that file; a range that is not a mapping: refused */
        unsigned long long start = 0, end = 0;
        char path[4096] = "";
        for (const char *line = cap->maps_text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                char p[4096] = "";
                if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %4095s", &start, &end, p) == 3 && p[0] == '/') {
                        snprintf(path, sizeof path, "%s", p);
                        break;
                }
        }
        CHECK(path[0] == '/');
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_MAPPING, start, end, NULL, 0, &ans, &text, &fd), 0);
        struct stat a, b;
        CHECK(ans.r == 0 && fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino);
        free(text);
        if (fd >= 0)
                close(fd);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_MAPPING, start, end + 4096, NULL, 0, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_MAPPING, 4096, 8192, NULL, 0, &ans, &text, &fd), -EPROTO);

        /* a build-id of one byte or of more than 64: refused; a well-formed
         * one is looked up under /usr/lib/debug only (none here: an error
         * answer, not a refusal) */
        uint8_t id[65] = { 0xab, 0xcd };
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_DEBUGINFO, 0, 0, id, 1, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_DEBUGINFO, 0, 0, id, 65, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_DEBUGINFO, 0, 0, id, 20, &ans, &text, &fd), 0);
        CHECK(ans.r < 0 && fd < 0);
        free(text);

        /* a test's source file: a regular file the target's user could
         * read; a FIFO, a relative path, a NUL inside, or (as root) a file
         * of another user's alone: refused */
        char dir[] = "/tmp/leakscan-capturer-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char src[4200], fifo[4200], other[4200];
        snprintf(src, sizeof src, "%s/test.cpp", dir);
        snprintf(fifo, sizeof fifo, "%s/fifo.cpp", dir);
        snprintf(other, sizeof other, "%s/other.cpp", dir);
        FILE *f = fopen(src, "w");
        CHECK(f && fputs("TEST_CASE(\"x\")\n", f) >= 0 && fclose(f) == 0);
        CHECK(mkfifo(fifo, 0644) == 0);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_SOURCE, 0, 0, src, (uint32_t) strlen(src), &ans, &text, &fd), 0);
        CHECK(ans.r == 0 && fd >= 0);
        free(text);
        if (fd >= 0)
                close(fd);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_SOURCE, 0, 0, fifo, (uint32_t) strlen(fifo), &ans, &text, &fd), 0);
        CHECK(ans.r == -EACCES && fd < 0);
        free(text);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_SOURCE, 0, 0, "test.cpp", 8, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_SOURCE, 0, 0, "/a\0b", 4, &ans, &text, &fd), -EPROTO);
        if (geteuid() == 0) {
                f = fopen(other, "w");
                CHECK(f && fclose(f) == 0 && chmod(other, 0600) == 0 && chown(other, 65534, 65534) == 0);
                CHECK_EQ_INT(ask(CAPTURER_REQ_OPEN_SOURCE, 0, 0, other, (uint32_t) strlen(other), &ans, &text, &fd),
                             0);
                CHECK(ans.r == -EACCES && fd < 0);
                free(text);
                unlink(other);
        }
        unlink(src);
        unlink(fifo);
        rmdir(dir);

        /* the target's working directory */
        CHECK_EQ_INT(ask(CAPTURER_REQ_CWD, 0, 0, NULL, 0, &ans, &text, &fd), 0);
        char cwd[4096];
        CHECK(ans.r == 0 && getcwd(cwd, sizeof cwd) && streq(text, cwd));
        free(text);

        /* pipes and blocked-time updates: only threads it captured, only
         * pipe states, lengths in whole entries */
        int32_t pipe_bad_tid[2] = { 1, LEAKSCAN_STATE_PIPE_READ };
        CHECK_EQ_INT(ask(CAPTURER_REQ_PIPES, 0, 0, pipe_bad_tid, sizeof pipe_bad_tid, &ans, &text, &fd), -EPROTO);
        int32_t pipe_bad_state[2] = { self, LEAKSCAN_STATE_MUTEX };
        CHECK_EQ_INT(ask(CAPTURER_REQ_PIPES, 0, 0, pipe_bad_state, sizeof pipe_bad_state, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(CAPTURER_REQ_PIPES, 0, 0, pipe_bad_state, 5, &ans, &text, &fd), -EPROTO);
        int32_t update_bad[3] = { 1, 0, 0 };
        CHECK_EQ_INT(ask(CAPTURER_REQ_BLOCKED_UPDATE, 0, 0, update_bad, sizeof update_bad, &ans, &text, &fd),
                     -EPROTO);

        /* a request with a payload where none belongs, an unknown type, a
         * length past the bound: refused */
        CHECK_EQ_INT(ask(CAPTURER_REQ_KERNEL_ROOTS, 0, 0, id, 8, &ans, &text, &fd), -EPROTO);
        CHECK_EQ_INT(ask(99, 0, 0, NULL, 0, &ans, &text, &fd), -EPROTO);
        struct capturer_request huge = { CAPTURER_REQ_PIPES, 0xffffffffu, 0, 0 };
        CHECK(write(sv[1], &huge, sizeof huge) == (ssize_t) sizeof huge);
        CHECK_EQ_INT(capturer_server_serve(server), -EPROTO);

        /* the analyser gone: the end, not an error */
        close(sv[1]);
        CHECK_EQ_INT(capturer_server_serve(server), 1);
        capturer_server_free(server);
        process_capture_free(cap);
        close(sv[0]);
        return CHECK_DONE();
}

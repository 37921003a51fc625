/* leakscan_options.refuse_visible_stop, through the installed API: a
 * process whose threads all sleep in calls is inspected without a stop of
 * any (the report's stop window is 0), and a snapshot that could only be
 * taken by stopping them (the fp unwinder needs every register) fails with
 * -EWOULDBLOCK, leaving them untouched. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <leakscan/leakscan.h>

static int failures;

#define EXPECT(cond, ...) do { \
        if (!(cond)) { \
                failures++; \
                printf("FAIL "); \
        } else { \
                printf("ok   "); \
        } \
        printf(__VA_ARGS__); \
        printf("\n"); \
} while (0)

static int fds[2];

static void *reader(void *arg)
{
        (void) arg;
        char c;
        (void) !read(fds[0], &c, 1);
        return NULL;
}

/* Whether both threads of pid sleep (state S). */
static int all_asleep(pid_t pid)
{
        char path[300], text[512];
        int asleep = 0, all = 0;
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                all++;
                snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int) pid, de->d_name);
                FILE *f = fopen(path, "r");
                size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
                text[n] = 0;
                if (f)
                        fclose(f);
                const char *end = strrchr(text, ')');
                asleep += end && end[1] == ' ' && end[2] == 'S';
        }
        if (d)
                closedir(d);
        return all == 2 && asleep == 2;
}

int main(void)
{
        if (pipe(fds) < 0)
                return 99;
        pid_t child = fork();
        if (child == 0) {
                pthread_t t;
                pthread_create(&t, NULL, reader, NULL);
                for (;;)
                        pause();
        }
        while (!all_asleep(child))
                usleep(1000);

        struct leakscan_options opts;
        leakscan_options_init(&opts);
        opts.refuse_visible_stop = true;
        struct leakscan_report *report = NULL;
        int r = leakscan_inspect_pid(child, &opts, &report);
        EXPECT(r == 0, "every thread asleep: inspected without a visible stop (%d)", r);
        if (r == 0) {
                const struct leakscan_process *p = leakscan_report_process(report, 0);
                EXPECT(p && p->stopped_us == 0, "and no thread was stopped (%llu us)",
                       p ? (unsigned long long) p->stopped_us : 0ull);
                leakscan_report_free(report);
        }

        opts.unwinder = "fp";
        report = NULL;
        r = leakscan_inspect_pid(child, &opts, &report);
        EXPECT(r == -EWOULDBLOCK && !report, "an unwinder that needs every register: -EWOULDBLOCK (%d)", r);
        char path[64], text[2048];
        snprintf(path, sizeof path, "/proc/%d/status", (int) child);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
        text[len] = 0;
        if (f)
                fclose(f);
        EXPECT(strstr(text, "TracerPid:\t0\n") != NULL, "the target is left untraced");

        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return failures ? 1 : 0;
}

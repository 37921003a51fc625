/* Unit tests of the Prometheus writer: the container and pod a cgroup path
 * shows (cgroup v2 with the systemd driver, v1 with cgroupfs, a systemd
 * service, no container), label values escaped whatever bytes they hold,
 * histogram buckets, and a leak site's series counting its threads. */
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "check.h"
#include "report-prometheus.h"

static void check_cgroup(const char *text, const char *container, const char *pod_uid)
{
        struct prom_identity id = {0};
        prom_identity_parse_cgroup(text, &id);
        CHECK_EQ_STR(id.container, container);
        CHECK_EQ_STR(id.pod_uid, pod_uid);
}

static char *rendered(void (*fn)(FILE *, const char *), const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        fn(f, s);
        fclose(f);
        return buf;
}

int main(void)
{
        const char *id64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        char text[1024];
        /* Kubernetes, systemd cgroup driver, containerd */
        snprintf(text, sizeof text, "0::/kubepods.slice/kubepods-burstable.slice/"
                 "kubepods-burstable-pod3f1c2b4a_9d8e_4f00_a1b2_c3d4e5f60718.slice/cri-containerd-%s.scope\n", id64);
        check_cgroup(text, "0123456789ab", "3f1c2b4a-9d8e-4f00-a1b2-c3d4e5f60718");
        /* Kubernetes, cgroupfs driver, cgroup v1 */
        snprintf(text, sizeof text, "12:pids:/kubepods/besteffort/pod3f1c2b4a-9d8e-4f00-a1b2-c3d4e5f60718/%s\n"
                 "1:name=systemd:/kubepods/besteffort/pod3f1c2b4a-9d8e-4f00-a1b2-c3d4e5f60718/%s\n", id64, id64);
        check_cgroup(text, "0123456789ab", "3f1c2b4a-9d8e-4f00-a1b2-c3d4e5f60718");
        /* Docker, systemd driver */
        snprintf(text, sizeof text, "0::/system.slice/docker-%s.scope\n", id64);
        check_cgroup(text, "0123456789ab", "");
        /* a systemd service, a user session: no container */
        check_cgroup("0::/system.slice/redis-server.service\n", "", "");
        check_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n", "", "");
        check_cgroup("", "", "");
        /* a name that looks like a pod but is not one */
        check_cgroup("0::/system.slice/podman.service\n", "", "");
        /* upper-case or short hex is no container ID */
        check_cgroup("0::/system.slice/docker-0123456789ABCDEF.scope\n", "", "");

        char *s = rendered(prom_label_value, "a\"b\\c\nd\xff\xc3\xa9");
        CHECK_EQ_STR(s, "a\\\"b\\\\c\\nd\\\\xff\xc3\xa9");
        free(s);

        /* a command name may hold a newline (prctl takes any bytes): only
         * the one /proc/PID/comm ends with is not part of it */
        CHECK_EQ_INT(prctl(PR_SET_NAME, "top\nbottom", 0, 0, 0), 0);
        struct prom_identity me;
        prom_identity_read(getpid(), NULL, &me);
        CHECK_EQ_STR(me.comm, "top\nbottom");

        struct prom_histogram h = {0};
        prom_histogram_observe(&h, 0.0001);     /* on a bound: in its bucket */
        prom_histogram_observe(&h, 0.003);
        prom_histogram_observe(&h, 100);        /* only in +Inf */
        CHECK_EQ_INT(h.counts[0], 1);
        CHECK_EQ_INT(h.counts[5], 1);
        CHECK_EQ_INT(h.count, 3);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        prom_write_histogram(f, "x_seconds", "help", &h);
        fclose(f);
        CHECK(strstr(buf, "x_seconds_bucket{le=\"0.0001\"} 1\n") != NULL);
        CHECK(strstr(buf, "x_seconds_bucket{le=\"0.005\"} 2\n") != NULL);
        CHECK(strstr(buf, "x_seconds_bucket{le=\"10\"} 2\n") != NULL);
        CHECK(strstr(buf, "x_seconds_bucket{le=\"+Inf\"} 3\n") != NULL);
        CHECK(strstr(buf, "x_seconds_count 3\n") != NULL);
        free(buf);

        /* three leaked threads at two sites, one not leaked */
        struct leakscan_frame fa = { .pc = 1, .function = "stuck_a", .file = "a.c", .line = 3 };
        struct leakscan_frame fb = { .pc = 2, .function = "stuck_b", .file = "b.c", .line = 9 };
        struct leakscan_thread threads[4] = {
                { .tid = 1, .state = LEAKSCAN_STATE_SIGNAL_WAIT, .verdict = LEAKSCAN_VERDICT_IDLE, .frames = &fa, .n_frames = 1 },
                { .tid = 2, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_DEADLOCK, .leaked = true, .frames = &fa, .n_frames = 1 },
                { .tid = 3, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_ORPHANED, .leaked = true, .frames = &fb, .n_frames = 1 },
                { .tid = 4, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_DEADLOCK, .leaked = true, .frames = &fa, .n_frames = 1 },
        };
        struct leakscan_process p = { .pid = 42, .threads = threads, .n_threads = 4 };
        struct prom_identity ident = { .comm = "srv\"x" };
        struct prom_target t = { &p, &ident };
        buf = NULL;
        f = open_memstream(&buf, &len);
        prom_write_targets(f, &t, 1);
        fclose(f);
        CHECK(strstr(buf, "leakscan_leak_group_threads{pid=\"42\",comm=\"srv\\\"x\",container=\"\","
                          "function=\"stuck_a\",location=\"a.c:3\"} 2\n") != NULL);
        CHECK(strstr(buf, "function=\"stuck_b\",location=\"b.c:9\"} 1\n") != NULL);
        CHECK(strstr(buf, "verdict=\"deadlock\"} 2\n") != NULL);
        CHECK(strstr(buf, "verdict=\"orphaned\"} 1\n") != NULL);
        CHECK(strstr(buf, "verdict=\"unreachable\"} 0\n") != NULL);
        CHECK(strstr(buf, "state=\"mutex\"} 3\n") != NULL);
        CHECK(strstr(buf, "state=\"signal-wait\"} 1\n") != NULL);
        CHECK(strstr(buf, "tid") == NULL);
        free(buf);
        return CHECK_DONE();
}

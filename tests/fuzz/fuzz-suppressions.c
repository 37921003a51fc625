/* Suppressions files (rules_load_text) and the round trip of
 * --print-suppressions: the line suggested for a thread, whatever its name
 * or top function, reads back and matches that thread. */
#include "fuzz.h"
#include "rules.h"

static struct leakscan_frame frames[] = {
        { .function = "__futex_abstimed_wait_common", .module = "/lib/x86_64-linux-gnu/libc.so.6" },
        { .function = "wait_for_lock", .module = "/srv/app" },
        { .function = "gomp_thread_start", .module = "/usr/lib/libgomp.so.1" },
        { .function = "start_thread", .module = "/lib/x86_64-linux-gnu/libc.so.6" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct leakscan_thread t = { .frames = frames, .n_frames = 4, .top_frame = 1, .wait_fd = -1 };
        struct rule_set set = {0};
        char *err = NULL;
        if (rules_load_text(&set, "fuzz", (const char *) data, size, &err) == 0) {
                (void) rules_match(&set, &t);
        } else
                FUZZ_ASSERT(err);       /* every failure but OOM says why */
        free(err);
        rule_set_done(&set);

        /* the input as a top function and as a thread name */
        char *s = fuzz_string(data, size);
        struct leakscan_frame mine[4];
        memcpy(mine, frames, sizeof mine);
        mine[1].function = s[0] ? s : NULL;
        t.frames = mine;
        snprintf(t.name, sizeof t.name, "%s", s);
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {        /* the name, when nothing else names it */
                        mine[1].function = NULL;
                        mine[1].module = NULL;
                }
                char *line = rules_suggest(&t);
                if (!line)
                        continue;
                set = (struct rule_set) {0};
                err = NULL;
                int r = rules_load_text(&set, "suggested", line, strlen(line), &err);
                FUZZ_ASSERT(r == 0 && set.n == 1);
                FUZZ_ASSERT(rules_match(&set, &t) != NULL);
                free(err);
                rule_set_done(&set);
                free(line);
        }
        free(s);
        return 0;
}

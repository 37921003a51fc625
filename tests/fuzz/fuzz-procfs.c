/* The /proc parsers, one fuzz target each: FUZZ_PROCFS names which one
 * (maps, stat, status, syscall, sched, schedstat, fdinfo, cmdline) at
 * compile time. */
#include <errno.h>

#include "fuzz.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
#if defined(FUZZ_MAPS)
        struct map_entry *maps = NULL;
        size_t n = 0;
        if (procfs_parse_maps(s, &maps, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                        FUZZ_ASSERT(maps[i].path && strlen(maps[i].perms) <= 4);
                        (void) map_entries_find(maps, n, maps[i].start);
                }
                (void) map_entries_find(maps, n, 0x7f0000000000);
                map_entries_free(maps, n);
        }
#elif defined(FUZZ_STAT)
        struct proc_stat st;
        if (procfs_parse_stat(s, &st) == 0)
                FUZZ_ASSERT(strlen(st.comm) < sizeof st.comm && st.state);
#elif defined(FUZZ_STATUS)
        static const char *const keys[] = { "Tgid", "Threads", "TracerPid", "voluntary_ctxt_switches", "" };
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
                long v;
                int r = procfs_parse_status_field(s, keys[i], &v);
                FUZZ_ASSERT(r == 0 || r == -ENOENT);
        }
#elif defined(FUZZ_SYSCALL)
        struct proc_syscall sc;
        int r = procfs_parse_syscall(s, &sc);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
#elif defined(FUZZ_SCHED)
        uint64_t ns;
        int r = procfs_parse_sched_exec_start(s, &ns);
        FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -EINVAL);
#elif defined(FUZZ_SCHEDSTAT)
        struct proc_schedstat ss;
        int r = procfs_parse_schedstat(s, &ss);
        FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -EINVAL);
        FUZZ_ASSERT(r != 0 || ss.switched_in > 0);
#elif defined(FUZZ_FDINFO)
        long flags;
        int r = procfs_parse_fdinfo_flags(s, &flags);
        FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -EINVAL);
        (void) procfs_fd_kind(s);
#elif defined(FUZZ_CMDLINE)
        char **argv = NULL;
        size_t n = 0;
        if (procfs_split_cmdline((const char *) data, size, &argv, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        free(argv[i]);
                free(argv);
        }
#else
#error "define FUZZ_MAPS, FUZZ_STAT, ..."
#endif
        free(s);
        return 0;
}

/* The /proc/PID/cgroup parser of the Prometheus labels (container, pod
 * UID): any text gives NUL-terminated fields of the shapes it promises. */
#include <ctype.h>

#include "fuzz.h"
#include "report-prometheus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
        struct prom_identity id;
        memset(&id, 0x55, sizeof id);
        prom_identity_parse_cgroup(s, &id);
        size_t n = strnlen(id.container, sizeof id.container);
        FUZZ_ASSERT(n == 0 || n == 12);
        for (size_t i = 0; i < n; i++)
                FUZZ_ASSERT(isxdigit((unsigned char) id.container[i]));
        n = strnlen(id.pod_uid, sizeof id.pod_uid);
        FUZZ_ASSERT(n == 0 || n == 36);
        free(s);
        return 0;
}

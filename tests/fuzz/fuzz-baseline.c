/* Baseline files (baseline_parse). */
#include "baseline.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct baseline b = {0};
        char *err = NULL;
        if (baseline_parse("fuzz", (const char *) data, size, &b, &err) == 0) {
                for (size_t i = 0; i < b.n; i++)
                        FUZZ_ASSERT(b.entries[i].tid > 0);
                baseline_done(&b);
        } else
                FUZZ_ASSERT(err);
        free(err);
        return 0;
}

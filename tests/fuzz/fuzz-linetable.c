/* CPython line tables (python.c), bytes a target controls: the first 8
 * bytes are the instruction offset, the rest the table, read both as a
 * 3.11+ location table and as a 3.10 byte-pair table.  Their promise: a
 * line or 0, never a read past the table. */
#include <string.h>

#include "fuzz.h"
#include "python.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 8)
                return 0;
        uint64_t addr;
        memcpy(&addr, data, 8);
        size_t n = size - 8;
        uint8_t *table = malloc(n ? n : 1);     /* exactly its size: the sanitizers see a read past it */
        FUZZ_ASSERT(table != NULL);
        memcpy(table, data + 8, n);
        (void) python_linetable_line(table, n, 1, addr % 4096);
        (void) python_linetable_line_pairs(table, n, 1, addr % 4096);
        free(table);
        return 0;
}

/* .gopclntab (gopclntab.c), a table a hostile binary controls: the first 8
 * bytes are the pc to look up, the rest the table.  Its promises: a found
 * function's name, and file, lie inside the table and end there. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "gopclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 8)
                return 0;
        uint64_t pc;
        memcpy(&pc, data, 8);
        /* a copy of exactly the table's size, so that a read past it is
         * caught by the sanitizers */
        size_t n = size - 8;
        uint8_t *table = malloc(n ? n : 1);
        FUZZ_ASSERT(table != NULL);
        memcpy(table, data + 8, n);
        struct gopclntab_place place;
        int r = gopclntab_lookup(table, n, pc, &place);
        FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -EINVAL || r == -EPROTONOSUPPORT);
        if (r == 0) {
                const char *end = (const char *) table + n;
                FUZZ_ASSERT(place.function >= (const char *) table && place.function < end &&
                            memchr(place.function, '\0', (size_t) (end - place.function)) && *place.function);
                if (place.file)
                        FUZZ_ASSERT(place.file >= (const char *) table && place.file < end &&
                                    memchr(place.file, '\0', (size_t) (end - place.file)) && place.line > 0);
        }
        free(table);
        return 0;
}

/* Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput for one
 * parser; built with libFuzzer (clang, -fsanitize=fuzzer) or with driver.c,
 * a deterministic random and mutation driver over the seed corpus. */
#ifndef LEAKSCAN_FUZZ_H
#define LEAKSCAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (the parsers read text); the
 * caller frees it.  Bytes after a NUL in the input are not seen. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* A failed property: abort, so that the fuzzer reports the input. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) abort(); } while (0)

#endif

/* The Rust demangler (demangle-rust.c) on any bytes, with "_R" or "_ZN"
 * put in front of most that lack a prefix so that the parsers go deep: it returns
 * 0, -EINVAL or -ENOMEM, and what it prints is short, one line, and free
 * of control characters. */
#include <errno.h>
#include <stdio.h>

#include "demangle-rust.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
        static const char *const prefixes[] = { "", "_R", "_ZN" };
        const char *prefix = s[0] == '_' || !size ? "" : prefixes[data[0] % 3];
        char *sym = NULL;
        if (asprintf(&sym, "%s%s", prefix, s) < 0) {
                free(s);
                return 0;
        }
        char *out = NULL;
        int r = demangle_rust(sym, &out);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0) {
                FUZZ_ASSERT(out && strlen(out) < 4096);
                for (const char *p = out; *p; p++)
                        FUZZ_ASSERT((unsigned char) *p >= 0x20 && *p != 0x7f);
        }
        free(out);
        free(sym);
        free(s);
        return 0;
}

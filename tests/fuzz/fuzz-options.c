/* LEAKSCAN_OPTIONS (parse_shell_words): any text splits or fails with a
 * reason; the words, each quoted back in single quotes, split again into
 * the same words. */
#include <errno.h>

#include "fuzz.h"
#include "parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
        char **words = NULL;
        size_t n = 0;
        const char *why = NULL;
        int r = parse_shell_words(s, &words, &n, &why);
        FUZZ_ASSERT(r == 0 || (r == -EINVAL && why));
        if (r == 0) {
                FUZZ_ASSERT(words[n] == NULL);
                /* quote: 'word' with each ' written '\'' */
                size_t cap = 1;
                for (size_t i = 0; i < n; i++)
                        cap += 4 * strlen(words[i]) + 3;
                char *q = malloc(cap), *o = q;
                for (size_t i = 0; i < n; i++) {
                        *o++ = '\'';
                        for (const char *c = words[i]; *c; c++) {
                                if (*c == '\'') {
                                        memcpy(o, "'\\''", 4);
                                        o += 4;
                                } else
                                        *o++ = *c;
                        }
                        *o++ = '\'';
                        *o++ = ' ';
                }
                *o = 0;
                char **again = NULL;
                size_t m = 0;
                FUZZ_ASSERT(parse_shell_words(q, &again, &m, &why) == 0 && m == n);
                for (size_t i = 0; i < n; i++)
                        FUZZ_ASSERT(strcmp(words[i], again[i]) == 0);
                strv_free(again);
                free(q);
        }
        strv_free(words);
        free(s);
        return 0;
}

/* LEAKSCAN_OPTIONS (parse_shell_words): any text splits or fails with a
 * reason; the words, each quoted back in single quotes, split again into
 * the same words.  Then the words are a command line for the table of
 * options (options_parse): it runs, stops (--help) or refuses with an
 * error, and what it lets run is a consistent mode.  Words naming a path
 * ('/') are left out, as is '{': --suppressions=/dev/stdin would wait for
 * input, and regcomp's cost on counted repetitions (--match) is glibc's. */
#include <errno.h>
#include <getopt.h>

#include "fuzz.h"
#include "options.h"
#include "parse.h"
#include "reach.h"
#include "util.h"

static void parse_command_line(char **words, size_t n)
{
        static bool once;
        if (!once) {
                unsetenv("LEAKSCAN_OPTIONS");
                unsetenv("LEAKSCAN_SUPPRESSIONS");
                once = true;
        }
        char **argv = calloc(n + 2, sizeof *argv);
        FUZZ_ASSERT(argv);
        argv[0] = "leakscan";
        memcpy(argv + 1, words, n * sizeof *argv);
        /* as main.c sets them */
        struct cli cli = { .backend = &report_text, .min_blocked_ms = 1000, .error_exitcode = 1,
                           .color = "auto", .scan_limit = REACH_DEFAULT_SCAN_LIMIT };
        supervise_options_init(&cli.supervise);
        optind = 0;
        int r = options_parse((int) n + 1, argv, &cli);
        FUZZ_ASSERT(r == 1 || r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 1 && cli.serve.listen)
                FUZZ_ASSERT(!cli.at_exit && !cli.watch_ms && optind == (int) n + 1);
        else if (r == 1 && cli.at_exit)
                FUZZ_ASSERT(!cli.pid && cli.program && cli.program[0] && !cli.idle && !cli.from_snapshot);
        else if (r == 1)
                FUZZ_ASSERT((cli.pid > 0 || cli.from_snapshot) && optind == (int) n + 1 && !cli.per_test &&
                            !cli.jobs && !cli.supervise.timeout_ms);
        rule_set_done(&cli.rules);
        baseline_done(&cli.baseline);
        serve_options_done(&cli.serve);
        free(argv);
}

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
                if (!strpbrk(s, "/{"))
                        parse_command_line(words, n);
        }
        strv_free(words);
        free(s);
        return 0;
}

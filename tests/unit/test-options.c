/* The table of options (src/cli/options.c) against what is made from it and
 * what is written beside it: each row is well formed, no name or letter is
 * taken twice, --help lists every option, the man page documents every
 * option and no other, with its letter and its value, and the completions
 * generated from --help offer every option.  An option added to the table
 * without its man page entry, or documented but gone, fails here.
 *
 * usage: test-options LEAKSCAN.1 [BASH_COMPLETION ZSH_COMPLETION] */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exitcode.h"
#include "options.h"
#include "util.h"

static char *read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "cannot open %s\n", path);
                return NULL;
        }
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, n, m);
        fclose(f);
        fclose(m);
        return buf;
}

static const struct cli_option *find_long(const char *name, size_t len)
{
        for (size_t i = 0; i < options_count(); i++)
                if (strlen(option_at(i)->name) == len && strncmp(option_at(i)->name, name, len) == 0)
                        return option_at(i);
        return NULL;
}

static void test_rows(void)
{
        for (size_t i = 0; i < options_count(); i++) {
                const struct cli_option *o = option_at(i);
                CHECK(o->name && islower((unsigned char) o->name[0]));
                for (size_t j = i + 1; j < options_count(); j++) {
                        if (streq(o->name, option_at(j)->name))
                                fprintf(stderr, "--%s is in the table twice\n", o->name);
                        CHECK(!streq(o->name, option_at(j)->name));
                        if (o->short_name && o->short_name == option_at(j)->short_name)
                                fprintf(stderr, "-%c is in the table twice\n", o->short_name);
                        CHECK(!o->short_name || o->short_name != option_at(j)->short_name);
                }
                /* a letter getopt would read as its own syntax */
                CHECK(!o->short_name || isalnum((unsigned char) o->short_name));
                CHECK((o->metavar != NULL) == (o->arg != OPTION_NO_ARG));
                CHECK((o->help != NULL) != (o->describe != NULL));
                CHECK(o->help_with_arg == NULL || o->arg == OPTION_OPTIONAL_ARG);
                CHECK((unsigned) o->section < _SECTION_MAX);
                /* the table reads in --help's order */
                CHECK(i == 0 || option_at(i - 1)->section <= o->section);
                switch (o->value) {
                case VALUE_HANDLER:
                        CHECK(o->handle != NULL);
                        break;
                case VALUE_TRUE:
                        CHECK(o->arg == OPTION_NO_ARG && o->width == sizeof(bool));
                        break;
                case VALUE_STRING:
                        CHECK(o->arg == OPTION_ARG && o->width == sizeof(const char *));
                        break;
                case VALUE_DURATION:
                case VALUE_INT:
                case VALUE_SIZE:
                        CHECK(o->arg == OPTION_ARG);
                        CHECK(o->width == 4 || o->width == 8);
                        CHECK(o->min <= o->max);
                        /* the error line quotes the value once */
                        CHECK(o->error && strstr(o->error, "%s") && !strchr(strstr(o->error, "%s") + 1, '%'));
                        break;
                }
                if (o->value != VALUE_HANDLER)
                        CHECK(o->handle == NULL && o->offset + o->width <= sizeof(struct cli));
        }
}

/* Whether text has a line that starts with the option's names as --help
 * writes them, followed by its description. */
static bool help_lists(const char *text, const struct cli_option *o, bool with_arg)
{
        char names[128];
        if (o->short_name)
                snprintf(names, sizeof names, "\n  -%c, --%s%s%s  ", o->short_name, o->name, with_arg ? "=" : "",
                         with_arg ? o->metavar : "");
        else
                snprintf(names, sizeof names, "\n      --%s%s%s  ", o->name, with_arg ? "=" : "",
                         with_arg ? o->metavar : "");
        return strstr(text, names) != NULL;
}

static void test_help(void)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        options_print_help(f);
        fclose(f);
        for (size_t i = 0; i < options_count(); i++) {
                const struct cli_option *o = option_at(i);
                bool listed = help_lists(text, o, o->arg == OPTION_ARG) &&
                              (!o->help_with_arg || help_lists(text, o, true));
                if (!listed)
                        fprintf(stderr, "--help does not list --%s\n", o->name);
                CHECK(listed);
        }
        /* and lists nothing else */
        for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                const char *l = line;
                if (strncmp(l, "  -", 3) == 0 && l[4] == ',')
                        l += 6;
                else if (strncmp(l, "      --", 8) == 0)
                        l += 6;
                else
                        continue;
                l += 2;
                bool known = find_long(l, strcspn(l, "= \n")) != NULL;
                if (!known)
                        fprintf(stderr, "--help lists an option not in the table: %.*s\n", (int) strcspn(l, "\n"), l);
                CHECK(known);
        }
        /* every line fits a terminal */
        for (const char *line = text; *line;) {
                size_t len = strcspn(line, "\n");
                CHECK(len <= 80);
                line += len + (line[len] == '\n');
        }
        free(text);
}

/* A man page line without its font changes and escapes: "\-" as "-". */
static void man_plain(const char *line, size_t len, char *out, size_t size)
{
        size_t o = 0;
        for (size_t i = 0; i < len && o + 1 < size; i++) {
                if (line[i] == '\\' && i + 1 < len && line[i + 1] == '-') {
                        out[o++] = '-';
                        i++;
                } else if (line[i] == '\\' && i + 2 < len && line[i + 1] == 'f') {
                        i += 2;
                } else if (line[i] != '"')
                        out[o++] = line[i];
        }
        out[o] = 0;
}

/* The section of the man page from ".SH NAME" to the next ".SH". */
static const char *man_section(const char *man, const char *name, size_t *ret_len)
{
        char head[64];
        snprintf(head, sizeof head, "\n.SH %s\n", name);
        const char *s = strstr(man, head);
        if (!s)
                return NULL;
        s += strlen(head);
        const char *end = strstr(s, "\n.SH ");
        *ret_len = end ? (size_t) (end - s) : strlen(s);
        return s;
}

static void test_man(const char *path)
{
        _cleanup_free_ char *man = read_file(path);
        CHECK(man != NULL);
        if (!man)
                return;
        size_t len;
        const char *sec = man_section(man, "OPTIONS", &len);
        CHECK(sec != NULL);
        if (!sec)
                return;
        size_t n = options_count();
        _cleanup_free_ unsigned *documented = calloc(n, sizeof *documented);
        /* each option is the tag of a .TP paragraph: ".BR \-p ", " \-\-pid =\fIPID\fR" */
        for (const char *p = sec; p < sec + len;) {
                size_t l = strcspn(p, "\n");
                if (l == 3 && strncmp(p, ".TP", 3) == 0 && p + l < sec + len) {
                        const char *tag = p + l + 1;
                        char plain[256];
                        man_plain(tag, strcspn(tag, "\n"), plain, sizeof plain);
                        const char *dashes = strstr(plain, "--");
                        if (dashes) {
                                const char *name = dashes + 2;
                                size_t name_len = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-");
                                const struct cli_option *o = find_long(name, name_len);
                                if (!o) {
                                        fprintf(stderr, "the man page documents --%.*s, which is not an option\n",
                                                (int) name_len, name);
                                        CHECK(o != NULL);
                                } else {
                                        documented[o - option_at(0)]++;
                                        /* its letter beside it, and its value */
                                        char letter[8] = "";
                                        if (o->short_name)
                                                snprintf(letter, sizeof letter, "-%c ", o->short_name);
                                        bool has_letter = o->short_name ? strncmp(plain + strcspn(plain, " ") + 1,
                                                                                 letter, 3) == 0 : true;
                                        if (!has_letter)
                                                fprintf(stderr, "the man page gives --%s without -%c\n", o->name,
                                                        o->short_name);
                                        CHECK(has_letter);
                                        const char *value = name + name_len;
                                        value += strspn(value, " [");
                                        bool has_value = o->metavar ? value[0] == '=' &&
                                                                     strncmp(value + 1, o->metavar,
                                                                             strlen(o->metavar)) == 0
                                                                   : value[0] != '=';
                                        if (!has_value)
                                                fprintf(stderr, "the man page gives --%s another value: %s\n",
                                                        o->name, plain);
                                        CHECK(has_value);
                                }
                        }
                }
                p += l + 1;
        }
        for (size_t i = 0; i < n; i++) {
                if (documented[i] != 1)
                        fprintf(stderr, "the man page documents --%s %u times, not once\n", option_at(i)->name,
                                documented[i]);
                CHECK_EQ_INT(documented[i], 1);
        }

        /* EXIT STATUS gives every status --help does */
        const char *exits = man_section(man, "EXIT STATUS", &len);
        CHECK(exits != NULL);
        static const int statuses[] = { EXIT_OK, EXIT_LEAKS, EXIT_USAGE, EXIT_CANNOT_INSPECT, EXIT_TIMEOUT,
                                        EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SIGNALED_BASE };
        for (size_t i = 0; exits && i < ARRAY_SIZE(statuses); i++) {
                char word[16];
                bool found = false;
                snprintf(word, sizeof word, "%d", statuses[i]);
                for (const char *p = exits; (p = strstr(p, word)) && p < exits + len; p++)
                        if (!isdigit((unsigned char) p[-1]) && !isdigit((unsigned char) p[strlen(word)]))
                                found = true;
                if (!found)
                        fprintf(stderr, "the man page's EXIT STATUS does not give %d\n", statuses[i]);
                CHECK(found);
        }
}

/* Whether the completion script offers --name: as a word of bash's list,
 * or an option spec of zsh's (after a quote, a brace or a comma). */
static bool completes(const char *script, const char *name)
{
        char word[96];
        snprintf(word, sizeof word, "--%s", name);
        for (const char *p = script; (p = strstr(p, word)); p++) {
                char before = p[-1], after = p[strlen(word)];
                if (strchr(" '{,", before) && strchr(" ='}[", after))
                        return true;
        }
        return false;
}

static void test_completions(const char *bash_path, const char *zsh_path)
{
        _cleanup_free_ char *bash = read_file(bash_path);
        _cleanup_free_ char *zsh = read_file(zsh_path);
        CHECK(bash && zsh);
        if (!bash || !zsh)
                return;
        for (size_t i = 0; i < options_count(); i++) {
                const char *name = option_at(i)->name;
                bool both = completes(bash, name) && completes(zsh, name);
                if (!both)
                        fprintf(stderr, "the completions do not offer --%s\n", name);
                CHECK(both);
        }
}

int main(int argc, char **argv)
{
        if (argc != 2 && argc != 4) {
                fprintf(stderr, "usage: test-options LEAKSCAN.1 [BASH_COMPLETION ZSH_COMPLETION]\n");
                return 2;
        }
        test_rows();
        test_help();
        test_man(argv[1]);
        if (argc == 4)
                test_completions(argv[2], argv[3]);
        else
                fprintf(stderr, "completions not built (-Dcompletions=false): not checked\n");
        return CHECK_DONE();
}

/* What the report writes for a name, path or symbol the target chose
 * (report.c): text_string for the terminal, xml_text for JUnit, json_string
 * for JSON.  Their promises: text_string's output holds no control byte a
 * terminal acts on (C0 but none, DEL, C1, bidirectional overrides) and is
 * valid UTF-8; xml_text's none XML 1.0 forbids; json_string's no raw C0.
 * The checker below is written apart from the escapers' own tables. */
#include <stdbool.h>
#include <stdio.h>

#include "fuzz.h"
#include "report-common.h"

static char *render(void (*escape)(FILE *, const char *), const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        escape(f, s);
        if (fclose(f) != 0)
                abort();
        return buf;
}

/* Valid UTF-8 with no code point for which bad(cp) holds. */
static bool clean(const char *s, bool (*bad)(uint32_t))
{
        while (*s) {
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                if (len == 0 || bad(cp))
                        return false;
                s += len;
        }
        return true;
}

static bool terminal_control(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

static bool xml_forbidden(uint32_t cp)
{
        return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe || cp == 0xffff;
}

static bool json_raw_control(uint32_t cp)
{
        return cp < 0x20;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_string(data, size);
        char *t = render(text_string, s);
        FUZZ_ASSERT(clean(t, terminal_control));
        char *x = render(xml_text, s);
        FUZZ_ASSERT(clean(x, xml_forbidden));
        char *j = render(json_string, s);
        FUZZ_ASSERT(clean(j, json_raw_control));
        free(t);
        free(x);
        free(j);
        free(s);
        return 0;
}

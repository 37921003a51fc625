/* Unit tests of gopclntab: lookups in a hand-built Go 1.18 table (the fuzz
 * corpus' seed: main.a at 0x401000 over 16 bytes, line 10; main.b at
 * 0x401010, lines 19 then 20; both in x.go), and tables that must be
 * refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gopclntab.h"

static uint8_t table[4096];
static size_t size;

static void load(void)
{
        FILE *f = fopen(FIXTURES "/../fuzz/corpus/gopclntab/seed-a", "rb");
        CHECK(f != NULL);
        if (!f)
                return;
        size_t n = fread(table, 1, sizeof table, f);
        fclose(f);
        CHECK(n > 8);
        size = n - 8;
        memmove(table, table + 8, size);        /* the seed's first 8 bytes are a pc */
}

int main(void)
{
        load();
        struct gopclntab_place p;
        CHECK_EQ_INT(gopclntab_lookup(table, size, 0x401004, &p), 0);
        CHECK_EQ_STR(p.function, "main.a");
        CHECK(p.entry == 0x401000);
        CHECK_EQ_STR(p.file ? p.file : "(none)", "x.go");
        CHECK_EQ_INT(p.line, 10);
        CHECK_EQ_INT(gopclntab_lookup(table, size, 0x401012, &p), 0);
        CHECK_EQ_STR(p.function, "main.b");
        CHECK_EQ_INT(p.line, 19);
        CHECK_EQ_INT(gopclntab_lookup(table, size, 0x40101f, &p), 0);
        CHECK_EQ_INT(p.line, 20);
        /* outside the text */
        CHECK_EQ_INT(gopclntab_lookup(table, size, 0x400fff, &p), -ENOENT);
        CHECK_EQ_INT(gopclntab_lookup(table, size, 0x401020, &p), -ENOENT);

        /* Go 1.16's magic: not read; a cut table; a function offset past the end */
        uint8_t bad[sizeof table];
        memcpy(bad, table, size);
        bad[0] = 0xfa;
        CHECK_EQ_INT(gopclntab_lookup(bad, size, 0x401004, &p), -EPROTONOSUPPORT);
        CHECK_EQ_INT(gopclntab_lookup(table, 60, 0x401004, &p), -EINVAL);
        CHECK_EQ_INT(gopclntab_lookup(table, size - 40, 0x401012, &p), -EINVAL);
        return CHECK_DONE();
}

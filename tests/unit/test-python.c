/* Unit tests of python: line numbers from a hand-built CPython 3.11
 * location table (every entry form), a 3.10 line table (byte pairs), and
 * tables that end early. */
#include "check.h"
#include "python.h"

int main(void)
{
        /* first line 10:
         *   no-column form, line +1, 2 code units   -> bytes 0-3: 11
         *   short form (line +0), 1 unit, a column  -> bytes 4-5: 11
         *   one-line form, line +1, 3 units         -> bytes 6-11: 12
         *   no location, 1 unit                     -> bytes 12-13: none
         *   long form, line -2, 1 unit              -> bytes 14-15: 10 */
        static const uint8_t table[] = {
                0x80 | 13 << 3 | 1, 0x02,
                0x80 | 0 << 3 | 0, 0x05,
                0x80 | 11 << 3 | 2, 0x03, 0x07,
                0x80 | 15 << 3 | 0,
                0x80 | 14 << 3 | 0, 0x05, 0x00, 0x01, 0x02,
        };
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 0), 11);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 3), 11);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 4), 11);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 6), 12);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 11), 12);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 12), 0);
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 14), 10);
        /* past the table, a cut varint, a byte that starts no entry */
        CHECK_EQ_INT(python_linetable_line(table, sizeof table, 10, 16), 0);
        static const uint8_t cut[] = { 0x80 | 13 << 3 | 1, 0x42 };
        CHECK_EQ_INT(python_linetable_line(cut, sizeof cut, 10, 0), 0);
        static const uint8_t bad[] = { 0x05 };
        CHECK_EQ_INT(python_linetable_line(bad, sizeof bad, 10, 0), 0);
        CHECK_EQ_INT(python_linetable_line(NULL, 0, 10, 0), 0);

        /* 3.10, first line 20: bytes 0-5 line 21, an empty range (line
         * +2, no bytes), 6-9 line 23 (+0), 10-11 no line, 12-15 line 19
         * (-4), then a pair cut in half */
        static const uint8_t pairs[] = { 6, 1, 0, 2, 4, 0, 2, 0x80, 4, (uint8_t) -4, 8 };
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 0), 21);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 5), 21);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 6), 23);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 9), 23);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 10), 0);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 12), 19);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 15), 19);
        CHECK_EQ_INT(python_linetable_line_pairs(pairs, sizeof pairs, 20, 16), 0);
        CHECK_EQ_INT(python_linetable_line_pairs(NULL, 0, 20, 0), 0);
        return CHECK_DONE();
}

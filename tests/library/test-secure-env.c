/* Run set-user-ID root by tests/library/test_secure.py, as an unprivileged
 * user: leakscan_verify_none must not run the helper that user names in
 * LEAKSCAN_VERIFY_HELPER (the library reads it with secure_getenv).  Prints
 * what leakscan_verify_none returned. */
#include <stdio.h>

#include "leakscan/verify.h"

int main(void)
{
        struct leakscan_verify_options opts = { .size = sizeof opts, .print_to = stdout };
        int r = leakscan_verify_none(&opts, NULL);
        printf("returned %d\n", r);
        return 0;
}

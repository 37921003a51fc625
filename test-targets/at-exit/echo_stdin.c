/* Copies stdin to stdout and an environment variable to stderr: proof that
 * leakscan --at-exit leaves the streams and the environment alone. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
        int c;
        while ((c = getchar()) != EOF)
                putchar(c);
        const char *v = getenv("LEAKSCAN_TEST_VAR");
        fprintf(stderr, "var=%s\n", v ? v : "(unset)");
        return 0;
}

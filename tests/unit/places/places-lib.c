/* A library built twice (test-symbolize-places.c): the same code, its one
 * function named PLACES_NAME, so that both builds put it at the same place
 * and only the name found there tells them apart. */
#define PLACES_EXPORT __attribute__((visibility("default"), noinline))

PLACES_EXPORT int PLACES_NAME(int x)
{
        return x * 7 + 3;
}

/* The address of that function, whatever it is called. */
PLACES_EXPORT void *places_entry(void)
{
        return (void *) PLACES_NAME;
}

// A C++ exception in flight: a thread blocks in the destructor of a local
// object while the exception unwinds through its frame, between the throw
// and the catch, for comparing the unwinders (tests/integration/test_unwinders.py).
// leakscan-expect: leaked=0
// leakscan-expect: thread unwinding state=pipe-read syscall=read verdict=idle top=Blocker line=@dtor
#include <stdexcept>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static int fds[2];

struct Blocker {
        NOINLINE ~Blocker()
        {
                char c;
                (void) !read(fds[0], &c, 1); // @dtor
        }
};

NOINLINE static void throw_through()
{
        Blocker b;
        throw std::runtime_error("in flight");
}

NOINLINE static void catch_it()
{
        try {
                throw_through();
        } catch (const std::exception &) {
        }
}

static void *unwinding(void *)
{
        pthread_setname_np(pthread_self(), "unwinding");
        catch_it();
        return nullptr;
}

int main()
{
        if (pipe(fds) < 0)
                return 99;
        pthread_t t;
        if (pthread_create(&t, nullptr, unwinding, nullptr) != 0)
                return 99;
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}

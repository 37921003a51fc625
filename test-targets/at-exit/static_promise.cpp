// A detached thread waits on a static std::promise.  When main returns, the
// promise's destructor (a static destructor) breaks it: the waiter wakes,
// and 20 ms later reads the result, which throws std::future_error "Broken
// promise", uncaught: the program aborts.  Directly the process has ended
// long before (status 0; without the 20 ms the waiter wins that race often
// on a busy machine).  Under --at-exit the waiter runs on quarantined: its
// message (a write to stderr) is held and never made, no abort follows,
// and the status is the program's own.
#include <chrono>
#include <future>
#include <thread>

static std::promise<int> promise;

int main()
{
        std::future<int> f = promise.get_future();
        std::thread([f = std::move(f)]() mutable {
                f.wait();
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                f.get();
        }).detach();
        return 0;
}

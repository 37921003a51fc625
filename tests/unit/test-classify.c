/* Unit tests of the classification rules on synthetic threads: syscall and
 * arguments as the registers give them, frames as the symbolizer gives them. */
#include <sys/syscall.h>

#include "check.h"
#include "classify.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PROG "/srv/app/server"

static struct leakscan_frame F(const char *fn, const char *module)
{
        return (struct leakscan_frame) { .function = (char *) fn, .module = (char *) module };
}

static struct classify_result run(char proc_state, long nr, const uint64_t args[6], const char *fd_target,
                                  const struct leakscan_frame *frames, size_t n)
{
        struct classify_input in = { .proc_state = proc_state, .syscall_nr = nr, .fd_target = fd_target,
                                     .frames = frames, .n_frames = n };
        if (args)
                memcpy(in.args, args, sizeof in.args);
        struct classify_result r;
        classify_thread(&in, &r);
        return r;
}

static void test_futex_primitives(void)
{
        const uint64_t wait_private[6] = { 0x5000, 0x80, 2, 0, 0, 0 };
        struct leakscan_frame mutex[] = {
                F("futex_wait", LIBC), F("__GI___lll_lock_wait", LIBC), F("___pthread_mutex_lock", LIBC),
                F("wait_for_lock", PROG), F("start_thread", LIBC) };
        struct classify_result r = run('S', SYS_futex, wait_private, NULL, mutex, 5);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_MUTEX);
        CHECK_EQ_INT(r.verdict, LEAKSCAN_VERDICT_BLOCKED);
        CHECK(!r.timeout);
        CHECK(r.has_wait_address && r.wait_address == 0x5000);

        struct leakscan_frame cond[] = {
                F("__futex_abstimed_wait_common", LIBC), F("__pthread_cond_wait_common", LIBC),
                F("___pthread_cond_wait", LIBC), F("wait_for_ready", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, cond, 4).state, LEAKSCAN_STATE_CONDVAR);

        /* a condvar waiter re-taking its mutex waits for the mutex */
        struct leakscan_frame cond_relock[] = {
                F("__lll_lock_wait", LIBC), F("__pthread_cond_wait_common", LIBC), F("worker", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, cond_relock, 3).state, LEAKSCAN_STATE_MUTEX);

        const uint64_t timed[6] = { 0x5000, 0x89, 0, 0x7ffc0000, 0, 0xffffffff };
        r = run('S', SYS_futex, timed, NULL, cond, 4);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_CONDVAR);
        CHECK(r.timeout);
        CHECK_EQ_INT(r.verdict, LEAKSCAN_VERDICT_TIMED);

        struct leakscan_frame rw[] = { F("__pthread_rwlock_wrlock_full64", LIBC), F("take", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, rw, 2).state, LEAKSCAN_STATE_RWLOCK);
        struct leakscan_frame sem[] = { F("do_futex_wait", LIBC), F("__new_sem_wait_slow64", LIBC), F("c", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, sem, 3).state, LEAKSCAN_STATE_SEMAPHORE);
        struct leakscan_frame bar[] = { F("___pthread_barrier_wait", LIBC), F("p", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, bar, 2).state, LEAKSCAN_STATE_BARRIER);
        struct leakscan_frame join[] = { F("__futex_abstimed_wait_common", LIBC), F("__pthread_clockjoin_ex", LIBC),
                                         F("j", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, join, 3).state, LEAKSCAN_STATE_JOIN);

        /* C++: libstdc++ frames name the primitive */
        struct leakscan_frame fut[] = {
                F("std::__atomic_futex_unsigned_base::_M_futex_wait_until(unsigned int*, unsigned int, bool, std::chrono::duration<long, std::ratio<1l, 1l> >, std::chrono::duration<long, std::ratio<1l, 1000000000l> >)",
                  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"),
                F("wait_for_result(std::future<int>&)", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, fut, 2).state, LEAKSCAN_STATE_CONDVAR);

        /* stripped libc: no names, the syscall alone says futex */
        struct leakscan_frame stripped[] = { F(NULL, LIBC), F(NULL, LIBC), F("worker", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, stripped, 3).state, LEAKSCAN_STATE_FUTEX);
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, NULL, 0).state, LEAKSCAN_STATE_FUTEX);

        /* a user function's name below the top user frame is not a glibc primitive */
        struct leakscan_frame user_named[] = { F(NULL, LIBC), F("consume", PROG), F("sem_wait_all", PROG) };
        CHECK_EQ_INT(run('S', SYS_futex, wait_private, NULL, user_named, 3).state, LEAKSCAN_STATE_FUTEX);

        /* FUTEX_WAKE does not wait on anything */
        const uint64_t wake[6] = { 0x5000, 0x81, 1, 0, 0, 0 };
        CHECK(!run('S', SYS_futex, wake, NULL, NULL, 0).has_wait_address);
}

static void test_syscalls(void)
{
        const uint64_t fd3[6] = { 3, 0, 0, 0, 0, 0 };
        CHECK_EQ_INT(run('S', SYS_read, fd3, "pipe:[77]", NULL, 0).state, LEAKSCAN_STATE_PIPE_READ);
        CHECK_EQ_INT(run('S', SYS_read, fd3, "socket:[77]", NULL, 0).state, LEAKSCAN_STATE_SOCKET_READ);
        CHECK_EQ_INT(run('S', SYS_read, fd3, "/dev/pts/1", NULL, 0).state, LEAKSCAN_STATE_SYSCALL);
        CHECK_EQ_INT(run('S', SYS_write, fd3, "pipe:[77]", NULL, 0).state, LEAKSCAN_STATE_PIPE_WRITE);
        CHECK_EQ_INT(run('S', SYS_sendmsg, fd3, NULL, NULL, 0).state, LEAKSCAN_STATE_SOCKET_WRITE);
        CHECK_EQ_INT(run('S', SYS_recvfrom, fd3, NULL, NULL, 0).state, LEAKSCAN_STATE_SOCKET_READ);
        CHECK_EQ_INT(run('S', SYS_accept4, fd3, NULL, NULL, 0).state, LEAKSCAN_STATE_ACCEPT);
        CHECK_EQ_INT(run('S', SYS_connect, fd3, NULL, NULL, 0).state, LEAKSCAN_STATE_CONNECT);

        const uint64_t poll_inf[6] = { 0x1000, 1, (uint64_t) -1, 0, 0, 0 };
        const uint64_t poll_100[6] = { 0x1000, 1, 100, 0, 0, 0 };
        struct classify_result r = run('S', SYS_poll, poll_inf, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_POLL && !r.timeout && r.verdict == LEAKSCAN_VERDICT_BLOCKED);
        r = run('S', SYS_poll, poll_100, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_POLL && r.timeout && r.verdict == LEAKSCAN_VERDICT_TIMED);
        /* epoll_wait's int timeout arrives as a 64-bit register, upper half zero */
        const uint64_t epoll_inf[6] = { 4, 0x1000, 1, 0xffffffffu, 0, 0 };
        CHECK(!run('S', SYS_epoll_wait, epoll_inf, NULL, NULL, 0).timeout);
        const uint64_t select_null[6] = { 5, 0x1, 0, 0, 0, 0 };
        CHECK(!run('S', SYS_select, select_null, NULL, NULL, 0).timeout);

        r = run('S', SYS_clock_nanosleep, NULL, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_SLEEP && r.verdict == LEAKSCAN_VERDICT_TIMED);
        CHECK_EQ_INT(run('S', SYS_wait4, NULL, NULL, NULL, 0).state, LEAKSCAN_STATE_WAIT_CHILD);
        CHECK_EQ_INT(run('S', SYS_pause, NULL, NULL, NULL, 0).state, LEAKSCAN_STATE_SIGNAL_WAIT);
        const uint64_t sigwait[6] = { 0x1000, 0, 0, 8, 0, 0 };
        r = run('S', SYS_rt_sigtimedwait, sigwait, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_SIGNAL_WAIT && !r.timeout);
        r = run('S', SYS_flock, fd3, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_SYSCALL && r.verdict == LEAKSCAN_VERDICT_BLOCKED);

        /* restart_syscall: arguments are gone, the frames tell */
        struct leakscan_frame nap[] = { F("__GI___clock_nanosleep", LIBC), F("__GI___nanosleep", LIBC), F("nap", PROG) };
        r = run('S', SYS_restart_syscall, NULL, NULL, nap, 3);
        CHECK(r.state == LEAKSCAN_STATE_SLEEP && r.timeout && r.verdict == LEAKSCAN_VERDICT_TIMED);
        struct leakscan_frame tcond[] = { F("__pthread_cond_wait_common", LIBC), F("w", PROG) };
        CHECK_EQ_INT(run('S', SYS_restart_syscall, NULL, NULL, tcond, 2).state, LEAKSCAN_STATE_CONDVAR);

        /* restart_syscall after an interrupted poll: the registers still hold
         * poll's arguments, so poll(-1) stays an indefinite wait and poll(100)
         * a timed one, whatever number of stops came before */
        struct leakscan_frame in_poll[] = { F("__GI___poll", LIBC), F("poll_forever", PROG), F("start_thread", LIBC) };
        r = run('S', SYS_restart_syscall, poll_inf, NULL, in_poll, 3);
        CHECK(r.state == LEAKSCAN_STATE_POLL && !r.timeout && r.verdict == LEAKSCAN_VERDICT_BLOCKED);
        r = run('S', SYS_restart_syscall, poll_100, NULL, in_poll, 3);
        CHECK(r.state == LEAKSCAN_STATE_POLL && r.timeout && r.verdict == LEAKSCAN_VERDICT_TIMED);
        /* a static binary's poll, without the leading underscores */
        struct leakscan_frame in_poll_static[] = { F("poll", PROG), F("loop", PROG) };
        CHECK(!run('S', SYS_restart_syscall, poll_inf, NULL, in_poll_static, 2).timeout);
        /* a user function named like poll is not libc's poll */
        struct leakscan_frame pollster[] = { F(NULL, LIBC), F("pollster", PROG) };
        r = run('S', SYS_restart_syscall, poll_inf, NULL, pollster, 2);
        CHECK(r.state == LEAKSCAN_STATE_SYSCALL && r.timeout);
        /* nothing known: a timed wait, never an invented leak */
        r = run('S', SYS_restart_syscall, poll_inf, NULL, NULL, 0);
        CHECK(r.timeout && r.verdict == LEAKSCAN_VERDICT_TIMED);

        /* futex with a timeout and the ops that do not wait */
        const uint64_t lock_pi[6] = { 0x6000, 0x86, 0, 0, 0, 0 };
        r = run('S', SYS_futex, lock_pi, NULL, NULL, 0);
        CHECK(r.has_wait_address && r.wait_address == 0x6000 && !r.timeout);
        const uint64_t requeue[6] = { 0x6000, 0x84, 1, 0x1234, 0x7000, 0 };
        r = run('S', SYS_futex, requeue, NULL, NULL, 0);
        CHECK(!r.has_wait_address && !r.timeout);
        /* recvmmsg with a timeout ends by itself */
        const uint64_t mm_timed[6] = { 3, 0x1000, 4, 0, 0x2000, 0 };
        r = run('S', SYS_recvmmsg, mm_timed, "socket:[9]", NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_SOCKET_READ && r.timeout);
}

static void test_scheduler_states(void)
{
        struct classify_result r = run('R', -1, NULL, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_RUNNING && r.verdict == LEAKSCAN_VERDICT_RUNNING);
        const uint64_t wait_private[6] = { 0x5000, 0x80, 2, 0, 0, 0 };
        r = run('T', SYS_futex, wait_private, NULL, NULL, 0);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_STOPPED);
        r = run('D', -1, NULL, NULL, NULL, 0);
        CHECK(r.state == LEAKSCAN_STATE_DISK_IO && r.verdict == LEAKSCAN_VERDICT_BLOCKED);
        CHECK_EQ_INT(run('S', -1, NULL, NULL, NULL, 0).state, LEAKSCAN_STATE_UNKNOWN);

        /* an io_uring worker (PF_IO_WORKER): its own state, never blocked */
        struct classify_input in = { .proc_state = 'S', .syscall_nr = -1, .proc_flags = 0x404010 };
        classify_thread(&in, &r);
        CHECK(r.state == LEAKSCAN_STATE_KERNEL_WORKER && r.verdict == LEAKSCAN_VERDICT_IDLE && !r.timeout);
        CHECK_EQ_STR(leakscan_state_to_string(LEAKSCAN_STATE_KERNEL_WORKER), "kernel-worker");
}

static void test_top_frame(void)
{
        struct leakscan_frame dyn[] = { F("futex_wait", LIBC), F("__GI___lll_lock_wait", LIBC),
                                        F("wait_for_lock", PROG), F("start_thread", LIBC) };
        CHECK_EQ_INT(classify_top_frame(dyn, 4), 2);
        /* a static binary: libc's functions live in the program's module */
        struct leakscan_frame stat[] = { F("__lll_lock_wait", PROG), F("pthread_mutex_lock", PROG),
                                         F("read", PROG), F("worker", PROG) };
        CHECK_EQ_INT(classify_top_frame(stat, 4), 3);
        /* C++ library templates instantiated in the program are not the user's */
        struct leakscan_frame cxx[] = { F("std::condition_variable::wait(std::unique_lock<std::mutex>&)", "/usr/lib/libstdc++.so.6"),
                                        F("std::unique_lock<std::mutex>::lock()", PROG),
                                        F("Pool::take()", PROG) };
        CHECK_EQ_INT(classify_top_frame(cxx, 3), 2);
        /* a user function merely starting with a libc word is the user's */
        struct leakscan_frame own[] = { F("read_config", PROG), F("epoll_forever", PROG) };
        CHECK_EQ_INT(classify_top_frame(own, 2), 0);
        CHECK_EQ_INT(classify_top_frame(own + 1, 1), 0);
        /* with a source line, even a libc-like name is the user's own */
        struct leakscan_frame mine = { .function = "read", .module = PROG, .file = "/src/io.c", .line = 3 };
        CHECK_EQ_INT(classify_top_frame(&mine, 1), 0);
        struct leakscan_frame all_sys[] = { F("pause", LIBC) };
        CHECK_EQ_INT(classify_top_frame(all_sys, 1), 1);

        /* the headline names the user's function, past runtimes' wrappers,
         * installed libraries and templates from system headers */
        struct leakscan_frame glib[] = { F("g_cond_wait", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"),
                                         F("g_async_queue_pop_intern_unlocked", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"),
                                         F("consume_jobs", PROG), F("g_thread_proxy", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0") };
        CHECK_EQ_INT(classify_top_frame(glib, 4), 2);
        struct leakscan_frame static_uv[] = { F("uv_cond_wait", PROG), F("drain_queue", PROG) };
        CHECK_EQ_INT(classify_top_frame(static_uv, 2), 1);
        struct leakscan_frame header[] = {
                { .function = "void std::condition_variable::wait<Poller::poll_updates()::{lambda()#1}>(std::unique_lock<std::mutex>&, Poller::poll_updates()::{lambda()#1})",
                  .module = PROG, .file = "/usr/include/c++/12/condition_variable", .line = 103 },
                { .function = "Poller::poll_updates()", .module = PROG, .file = "/src/poller.cpp", .line = 40 } };
        CHECK_EQ_INT(classify_top_frame(header, 2), 1);
        /* ...and when a runtime's own thread has no user frame at all, its
         * first non-system frame still names it */
        struct leakscan_frame pool[] = { F("g_cond_wait", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"),
                                         F("g_thread_pool_thread_proxy", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0") };
        CHECK_EQ_INT(classify_top_frame(pool, 2), 0);

        /* Go: the standard library (a package path without a dot in its
         * first element) is the system's, linked into the program; a
         * goroutine blocked in read(2) is headlined by the user's function */
#define GOROOT "/usr/lib/go-1.19/src/"
        struct leakscan_frame go[] = {
                { .function = "runtime/internal/syscall.Syscall6", .module = PROG,
                  .file = GOROOT "runtime/internal/syscall/asm_linux_amd64.s", .line = 36 },
                { .function = "syscall.RawSyscall6", .module = PROG,
                  .file = GOROOT "runtime/internal/syscall/syscall_linux.go", .line = 38 },
                { .function = "os.(*File).Read", .module = PROG, .file = GOROOT "os/file.go", .line = 118 },
                { .function = "main.waitForever", .module = PROG, .file = "/src/tool/main.go", .line = 14 },
                { .function = "runtime.goexit.abi0", .module = PROG, .file = GOROOT "runtime/asm_amd64.s" } };
        CHECK_EQ_INT(classify_top_frame(go, 5), 3);
        /* without DWARF (-ldflags=-w): by the names alone */
        struct leakscan_frame go_w[] = { F("internal/poll.(*FD).Read", PROG), F("net.(*conn).Read", PROG),
                                         F("github.com/acme/srv.(*Session).loop", PROG) };
        CHECK_EQ_INT(classify_top_frame(go_w, 3), 2);
        /* C functions that GCC cloned keep a dot; they stay the user's */
        struct leakscan_frame c_clones[] = { F("sort.part.0", PROG), F("time.constprop.0", PROG),
                                             { .function = "os.isra.0", .module = PROG, .file = "/src/os.c" } };
        CHECK_EQ_INT(classify_top_frame(c_clones, 3), 0);
        CHECK_EQ_INT(classify_top_frame(c_clones + 1, 2), 0);
        CHECK_EQ_INT(classify_top_frame(c_clones + 2, 1), 0);
        /* a Go name in a C file is no Go frame */
        struct leakscan_frame c_file = { .function = "net.Dial", .module = PROG, .file = "/src/net.c" };
        CHECK_EQ_INT(classify_top_frame(&c_file, 1), 0);
}

/* Rust: std is linked into the program, so its frames are the system's by
 * path; its primitives sit on raw futexes (rustc 1.63's names, and v0's of
 * a later std) */
#define RSTD "/usr/src/rustc-1.63.0/library/std/src/"
static void test_rust(void)
{
        const uint64_t wait_private[6] = { 0x5000, 0x89, 2, 0, 0, 0xffffffff };
        struct leakscan_frame spawn_tail[] = {
                { .function = "rs_app::start::{{closure}}", .module = PROG, .file = "/src/main.rs", .line = 27 },
                { .function = "std::sys_common::backtrace::__rust_begin_short_backtrace", .module = PROG,
                  .file = RSTD "sys_common/backtrace.rs" },
                { .function = "<core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once",
                  .module = PROG, .file = RSTD "../../core/src/panic/unwind_safe.rs" },
                { .function = "core::ops::function::FnOnce::call_once{{vtable.shim}}", .module = PROG },
                F("start_thread", LIBC) };
        struct leakscan_frame mutex[] = {
                F("syscall", LIBC),
                { .function = "std::sys::unix::futex::futex_wait", .module = PROG, .file = RSTD "sys/unix/futex.rs" },
                { .function = "std::sys::unix::locks::futex::Mutex::lock_contended", .module = PROG,
                  .file = RSTD "sys/unix/locks/futex.rs" },
                { .function = "std::sync::mutex::Mutex<T>::lock", .module = PROG, .file = RSTD "sync/mutex.rs" },
                { .function = "rs_app::transfer", .module = PROG, .file = "/src/main.rs", .line = 16 },
                spawn_tail[0], spawn_tail[1], spawn_tail[2], spawn_tail[3], spawn_tail[4] };
        struct classify_result r = run('S', SYS_futex, wait_private, NULL, mutex, 10);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_MUTEX);
        CHECK_EQ_INT(r.verdict, LEAKSCAN_VERDICT_BLOCKED);
        CHECK_EQ_INT(classify_top_frame(mutex, 10), 4);
        CHECK(classify_wait_is_ownerless(mutex, 10));

        /* a receive parks the thread: still a receive, headlined by the user */
        struct leakscan_frame recv[] = {
                F("syscall", LIBC),
                { .function = "std::sys::unix::futex::futex_wait", .module = PROG },
                { .function = "std::thread::park", .module = PROG },
                { .function = "std::sync::mpsc::blocking::WaitToken::wait", .module = PROG },
                { .function = "std::sync::mpsc::stream::Packet<T>::recv", .module = PROG },
                { .function = "std::sync::mpsc::Receiver<T>::recv", .module = PROG },
                { .function = "<std::sync::mpsc::IntoIter<T> as core::iter::traits::iterator::Iterator>::next",
                  .module = PROG },
                { .function = "rs_app::consumer", .module = PROG, .file = "/src/main.rs", .line = 20 } };
        r = run('S', SYS_futex, wait_private, NULL, recv, 8);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_CHANNEL_RECV);
        CHECK_EQ_INT(classify_top_frame(recv, 8), 7);
        r = run('S', SYS_futex, wait_private, NULL, recv, 3);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_PARK);

        /* v0 names of a later std: inherent methods read "<Type>::method" */
        struct leakscan_frame v0[] = {
                F("syscall", LIBC), { .function = "<std::thread::thread::Thread>::park", .module = PROG },
                { .function = "std::sync::mpmc::context::Context::wait_until", .module = PROG },
                { .function = "<std::sync::mpmc::list::Channel<T>>::recv", .module = PROG },
                { .function = "rs_app::consumer", .module = PROG, .file = "/src/main.rs" } };
        r = run('S', SYS_futex, wait_private, NULL, v0, 5);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_CHANNEL_RECV);
        r = run('S', SYS_futex, wait_private, NULL, v0, 2);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_PARK);

        /* a condvar wait re-taking its mutex waits for the mutex */
        struct leakscan_frame cv[] = {
                F("syscall", LIBC), { .function = "std::sys::unix::futex::futex_wait", .module = PROG },
                { .function = "std::sys::unix::locks::futex::Condvar::wait", .module = PROG },
                { .function = "std::sync::condvar::Condvar::wait", .module = PROG },
                { .function = "rs_app::wait_reply", .module = PROG, .file = "/src/main.rs" } };
        r = run('S', SYS_futex, wait_private, NULL, cv, 5);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_CONDVAR);
        struct leakscan_frame cv_relock[] = {
                cv[0], cv[1], { .function = "std::sys::unix::locks::futex::Mutex::lock_contended", .module = PROG },
                cv[2], cv[3], cv[4] };
        r = run('S', SYS_futex, wait_private, NULL, cv_relock, 6);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_MUTEX);

        /* a join goes through pthread_join: glibc's, with its owner rules */
        struct leakscan_frame join[] = {
                F("__futex_abstimed_wait_common", LIBC), F("__pthread_clockjoin_ex", LIBC),
                { .function = "std::sys::unix::thread::Thread::join", .module = PROG },
                { .function = "std::thread::JoinInner<T>::join", .module = PROG },
                { .function = "std::thread::JoinHandle<T>::join", .module = PROG },
                { .function = "rs_app::main", .module = PROG, .file = "/src/main.rs" } };
        r = run('S', SYS_futex, wait_private, NULL, join, 6);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_JOIN);
        CHECK(!classify_wait_is_ownerless(join, 6));
        /* glibc's own mutex is never ownerless */
        struct leakscan_frame glibc_mutex[] = { F("__lll_lock_wait", LIBC), F("pthread_mutex_lock", LIBC),
                                                F("worker", PROG) };
        CHECK(!classify_wait_is_ownerless(glibc_mutex, 3));

        /* impls: std's types and blanket impls of its traits are std's; a
         * user's type implementing one of its traits is the user's */
        struct leakscan_frame impls[] = {
                { .function = "<F as core::ops::function::FnOnce<()>>::call_once", .module = PROG },
                { .function = "<&mut W as core::fmt::Write>::write_str", .module = PROG },
                { .function = "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
                  .module = PROG },
                { .function = "<std::sync::mutex::Mutex<T>>::lock", .module = PROG },
                { .function = "<rs_app::Conn as core::ops::drop::Drop>::drop", .module = PROG } };
        CHECK_EQ_INT(classify_top_frame(impls, 5), 4);
        /* a C++ namespace of the user's that happens to be called core */
        struct leakscan_frame cxx_core[] = { F("core::Server::run()", PROG), F("alloc::Arena::grow(unsigned long) const", PROG) };
        CHECK_EQ_INT(classify_top_frame(cxx_core, 2), 0);
        CHECK_EQ_INT(classify_top_frame(cxx_core + 1, 1), 0);
        /* a crate from cargo's registry is not the user's own code */
        struct leakscan_frame crate[] = {
                { .function = "crossbeam_channel::channel::Receiver<T>::recv", .module = PROG,
                  .file = "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/crossbeam-channel-0.5.8/src/channel.rs" },
                { .function = "rs_app::consumer", .module = PROG, .file = "/src/main.rs" } };
        CHECK_EQ_INT(classify_top_frame(crate, 2), 1);
        r = run('S', SYS_futex, wait_private, NULL, crate, 2);
        CHECK_EQ_INT(r.state, LEAKSCAN_STATE_CHANNEL_RECV);
        CHECK_EQ_STR(leakscan_state_to_string(LEAKSCAN_STATE_CHANNEL_RECV), "channel-recv");
        CHECK_EQ_STR(leakscan_state_to_string(LEAKSCAN_STATE_PARK), "park");
}

static void test_blocked_ms(void)
{
        CHECK_EQ_INT(classify_blocked_ms(true, 1000000000, true, 3500000000), 2500);
        CHECK_EQ_INT(classify_blocked_ms(true, 5000000000, true, 3500000000), 0);
        CHECK_EQ_INT(classify_blocked_ms(false, 0, true, 1), -1);

        CHECK_EQ_STR(classify_syscall_name(SYS_futex), "futex");
        CHECK_EQ_STR(classify_syscall_name(0), "read");
        CHECK(classify_syscall_name(-1) == NULL);
        CHECK(classify_syscall_name(100000) == NULL);
}

int main(void)
{
        test_futex_primitives();
        test_syscalls();
        test_scheduler_states();
        test_top_frame();
        test_rust();
        test_blocked_ms();
        return CHECK_DONE();
}

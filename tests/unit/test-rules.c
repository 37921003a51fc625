/* Unit tests of the ignore rules on synthetic threads: suppressions lines
 * (kinds, "in MODULE", comments only at a line's start or after a blank,
 * NUL bytes, excerpts in errors), the round trips of --list-default-ignores
 * and --print-suppressions (C++ names with globs' special characters), the
 * built-in runtime rules (idle inside the runtime only, not made by the
 * user, a static copy recognised by its symbols, never by name), and
 * linear loading of a 40,000-line file (reallocations counted through
 * -Wl,--wrap=realloc). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rules.h"

void *__real_realloc(void *p, size_t n);
static unsigned long realloc_calls;
void *__wrap_realloc(void *p, size_t n)
{
        realloc_calls++;
        return __real_realloc(p, n);
}

#define F(fn, mod) { .function = (char *) (fn), .module = (char *) (mod) }

static struct leakscan_thread thread(const char *name, struct leakscan_frame *frames, size_t n)
{
        struct leakscan_thread t = { .frames = frames, .n_frames = n, .wait_fd = -1, .leaked = true };
        snprintf(t.name, sizeof t.name, "%s", name);
        /* the first frame outside libc, as classify does */
        t.top_frame = n;
        for (size_t i = 0; i < n; i++)
                if (!frames[i].module || !strstr(frames[i].module, "libc.so")) {
                        t.top_frame = i;
                        break;
                }
        return t;
}

static const char *matched(const struct rule_set *set, const struct leakscan_thread *t)
{
        const struct rule *r = rules_match(set, t);
        return r ? r->origin : NULL;
}

static struct rule_set load(const char *text, int want)
{
        struct rule_set set = {0};
        char *err = NULL;
        int r = rules_load_text(&set, "f.supp", text, strlen(text), &err);
        CHECK_EQ_INT(r, want);
        if (r != want)
                fprintf(stderr, "  loading \"%s\": %s\n", text, err ? err : "(no error)");
        free(err);
        return set;
}

static void test_lines(void)
{
        struct leakscan_frame fr[] = {
                F("__futex_abstimed_wait_common", "/lib/x86_64-linux-gnu/libc.so.6"),
                F("wait_for_lock", "/srv/app"),
                F("worker_main", "/srv/app"),
                F("start_thread", "/lib/x86_64-linux-gnu/libc.so.6"),
                F("clone3", "/lib/x86_64-linux-gnu/libc.so.6"),
        };
        struct leakscan_thread t = thread("locker", fr, 5);

        /* issue 8: "entry:" crashed (fnmatch on a NULL module pattern) */
        struct rule_set s = load("entry:worker_main\n", 0);
        CHECK_EQ_STR(matched(&s, &t), "f.supp:1");
        rule_set_done(&s);
        s = load("entry:wait_for_lock\n", 0);
        CHECK(!matched(&s, &t));
        rule_set_done(&s);
        s = load("entry:worker_* in app\n", 0);
        CHECK_EQ_STR(matched(&s, &t), "f.supp:1");
        rule_set_done(&s);
        s = load("entry:worker_* in libfoo.so\n", 0);
        CHECK(!matched(&s, &t));
        rule_set_done(&s);

        /* "in MODULE" for the other kinds */
        s = load("top:wait_for_lock in /srv/*\n", 0);
        CHECK_EQ_STR(matched(&s, &t), "f.supp:1");
        rule_set_done(&s);
        s = load("top:wait_for_lock in libfoo.so*\n", 0);
        CHECK(!matched(&s, &t));
        rule_set_done(&s);
        s = load("name:locker in libc.so*\n", 0);
        CHECK_EQ_STR(matched(&s, &t), "f.supp:1");
        rule_set_done(&s);
        rule_set_done(&s);
        s = load("module:app in x\n", -EINVAL);
        rule_set_done(&s);

        /* comments: at the start or after a blank only */
        s = load("# all comment\n   \n\ttop:wait_for_lock   # why\n", 0);
        CHECK_EQ_STR(matched(&s, &t), "f.supp:3");
        rule_set_done(&s);
        s = load("top:wait_for_lock#1\n", 0);
        CHECK(!matched(&s, &t));        /* "#1" is part of the pattern */
        CHECK_EQ_STR(s.n ? s.rules[0].pattern : NULL, "wait_for_lock#1");
        rule_set_done(&s);

        /* issue 12: a NUL byte is an error naming its line, not an end */
        struct rule_set set = {0};
        char *err = NULL;
        static const char nul[] = "top:x\ntop:y\0garbage\ntop:wait_for_lock\n";
        CHECK_EQ_INT(rules_load_text(&set, "f.supp", nul, sizeof nul - 1, &err), -EINVAL);
        CHECK(err && strstr(err, "f.supp:2:") && strstr(err, "NUL"));
        free(err);
        rule_set_done(&set);

        /* an error quotes a short, escaped excerpt */
        char bad[400] = "bogus:\x1b[31m\"";
        memset(bad + strlen(bad), 'a', 300);
        err = NULL;
        CHECK_EQ_INT(rules_load_text(&set, "f.supp", bad, strlen(bad), &err), -EINVAL);
        CHECK(err && strlen(err) < 160 && !strchr(err, '\x1b') && strstr(err, "\\x1b[31m\\\"aaa") &&
              strstr(err, "...\""));
        free(err);
        rule_set_done(&set);
        s = load("runtime:nosuchthing\n", -EINVAL);
        rule_set_done(&s);
}

/* Every line of --list-default-ignores, read back, is the same rule. */
static void test_defaults_round_trip(void)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        rules_print_defaults(f);
        fclose(f);
        struct rule_set printed = {0}, builtin = {0};
        char *err = NULL;
        CHECK_EQ_INT(rules_load_text(&printed, "list", text, len, &err), 0);
        CHECK_EQ_INT(rules_add_defaults(&builtin), 0);
        CHECK_EQ_INT(printed.n, builtin.n);
        for (size_t i = 0; i < printed.n && i < builtin.n; i++) {
                CHECK_EQ_INT(printed.rules[i].kind, builtin.rules[i].kind);
                CHECK_EQ_STR(printed.rules[i].pattern, builtin.rules[i].pattern);
                CHECK(printed.rules[i].runtime == builtin.rules[i].runtime && builtin.rules[i].runtime);
                CHECK(!printed.rules[i].module && !builtin.rules[i].module);
        }
        free(err);
        free(text);
        rule_set_done(&printed);
        rule_set_done(&builtin);
}

/* Every --print-suppressions line, read back, matches the thread it was
 * made for, and not a thread that differs only where a glob would. */
static void suggest_round_trip(const char *function, const char *name, const char *other)
{
        struct leakscan_frame fr[] = {
                F("__futex_abstimed_wait_common", "/lib/x86_64-linux-gnu/libc.so.6"),
                F(function, function ? "/srv/app" : NULL),
                F("start_thread", "/lib/x86_64-linux-gnu/libc.so.6"),
        };
        struct leakscan_thread t = thread(name, fr, 3);
        char *line = rules_suggest(&t);
        CHECK(line != NULL);
        if (!line)
                return;
        char text[1024];
        snprintf(text, sizeof text, "%s   # suggested\n", line);
        struct rule_set s = load(text, 0);
        if (!matched(&s, &t))
                fprintf(stderr, "  the line \"%s\" does not match its thread\n", line);
        CHECK(matched(&s, &t));
        if (other) {
                struct leakscan_frame fo[3];
                memcpy(fo, fr, sizeof fo);
                if (function)
                        fo[1].function = (char *) other;
                struct leakscan_thread u = thread(function ? name : other, fo, 3);
                CHECK(!matched(&s, &u));
        }
        rule_set_done(&s);
        free(line);
}

static void test_suggest_round_trip(void)
{
        suggest_round_trip("wait_for_lock", "x", "wait_for_lockX");
        suggest_round_trip("main::{lambda()#1}::operator()() const", "x", "main::{lambda()#2}::operator()() const");
        suggest_round_trip("std::thread::_State_impl<std::thread::_Invoker<std::tuple<main::{lambda()#1}> > >::_M_run()",
                           "x", NULL);
        suggest_round_trip("Pool<int*, std::vector<int> >::wait(int*) [clone .constprop.0]", "x",
                           "Pool<intX, std::vector<int> >::wait(int*) [clone .constprop.0]");
        suggest_round_trip("operator[](unsigned long)", "x", "operatorX(unsigned long)");
        suggest_round_trip("ns::f(ns::in const&)", "x", NULL);  /* " in " inside the name */
        suggest_round_trip("a\\b?c", "x", "a\\bXc");
        suggest_round_trip(NULL, "job #1 in q ", "job #1 in q");
        suggest_round_trip(NULL, "a*b", "aXb");
        suggest_round_trip(NULL, "tab\tnl\n", NULL);
        suggest_round_trip(NULL, " lead", NULL);
}

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define GOMP "/usr/lib/x86_64-linux-gnu/libgomp.so.1"
#define GLIB "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"

static void test_runtimes(void)
{
        struct rule_set d = {0};
        CHECK_EQ_INT(rules_add_defaults(&d), 0);

        /* an OpenMP worker idle in libgomp */
        struct leakscan_frame idle[] = {
                F(NULL, GOMP), F("gomp_team_barrier_wait_end", GOMP), F("gomp_thread_start", GOMP),
                F("start_thread", LIBC), F("clone3", LIBC),
        };
        struct leakscan_thread t = thread("", idle, 5);
        CHECK_EQ_STR(matched(&d, &t), "default: OpenMP (libgomp)");

        /* the same worker blocked in the user's outlined region: judged */
        struct leakscan_frame busy[] = {
                F("__lll_lock_wait", LIBC), F("pthread_mutex_lock", LIBC), F("compute._omp_fn.0", "/srv/app"),
                F("gomp_thread_start", GOMP), F("start_thread", LIBC), F("clone3", LIBC),
        };
        t = thread("", busy, 6);
        CHECK(!matched(&d, &t));

        /* a statically linked libgomp: recognised by its symbols */
        struct leakscan_frame stat[] = {
                { .function = "futex_wait", .module = "/srv/app", .inlined = true },
                F("gomp_team_barrier_wait_end", "/srv/app"),
                F("gomp_thread_start", "/srv/app"), F("start_thread", LIBC),
        };
        t = thread("", stat, 4);
        CHECK_EQ_STR(matched(&d, &t), "default: OpenMP (libgomp)");
        stat[0].inlined = false;        /* ...but a user's function is not */
        CHECK(!matched(&d, &t));

        /* LLVM's OpenMP */
        struct leakscan_frame kmp[] = {
                F("__kmp_suspend_64", "/usr/lib/llvm-14/lib/libomp.so.5"),
                F("__kmp_fork_barrier", "/usr/lib/llvm-14/lib/libomp.so.5"),
                F("__kmp_launch_thread", "/usr/lib/llvm-14/lib/libomp.so.5"),
                F("__kmp_launch_worker(void*)", "/usr/lib/llvm-14/lib/libomp.so.5"),
                F("start_thread", LIBC),
        };
        t = thread("", kmp, 5);
        CHECK_EQ_STR(matched(&d, &t), "default: OpenMP (LLVM libomp, Intel libiomp5)");

        /* Rust: rayon's and tokio's idle workers, linked into the program
         * with std; told by path, idle only with nothing but the runtime
         * and std between the wait and the runtime's loop */
#define RSAPP "/srv/rsapp"
        struct leakscan_frame rayon[] = {
                F("syscall", LIBC), F("std::sys::unix::futex::futex_wait", RSAPP),
                F("std::sys::unix::locks::futex_condvar::Condvar::wait", RSAPP),
                F("std::sync::condvar::Condvar::wait", RSAPP), F("rayon_core::sleep::Sleep::sleep", RSAPP),
                F("rayon_core::registry::WorkerThread::wait_until_cold", RSAPP),
                F("rayon_core::registry::main_loop", RSAPP), F("rayon_core::registry::ThreadBuilder::run", RSAPP),
                F("<rayon_core::registry::DefaultSpawn as rayon_core::registry::ThreadSpawn>::spawn::{{closure}}", RSAPP),
                F("std::sys_common::backtrace::__rust_begin_short_backtrace", RSAPP),
                F("std::sys::unix::thread::Thread::new::thread_start", RSAPP), F("start_thread", LIBC),
        };
        t = thread("rayon-worker", rayon, 12);
        CHECK_EQ_STR(matched(&d, &t), "default: Rayon (rayon-core)");
        /* a worker blocked in the user's job is judged */
        struct leakscan_frame rayon_job[] = {
                F("syscall", LIBC), F("std::sys::unix::locks::futex::Mutex::lock_contended", RSAPP),
                F("std::sync::mutex::Mutex<T>::lock", RSAPP), F("rsapp::sum_part", RSAPP),
                F("rayon_core::job::StackJob<L,F,R>::run_inline", RSAPP),
                F("rayon_core::registry::WorkerThread::execute", RSAPP), F("rayon_core::registry::main_loop", RSAPP),
                F("std::sys::unix::thread::Thread::new::thread_start", RSAPP), F("start_thread", LIBC),
        };
        t = thread("", rayon_job, 9);
        CHECK(!matched(&d, &t));
        struct leakscan_frame tokio[] = {
                F("syscall", LIBC), F("std::sys::unix::futex::futex_wait", RSAPP),
                F("std::sync::condvar::Condvar::wait", RSAPP),
                F("tokio::runtime::scheduler::multi_thread::park::Inner::park_condvar", RSAPP),
                F("tokio::runtime::scheduler::multi_thread::park::Parker::park", RSAPP),
                F("tokio::runtime::scheduler::multi_thread::worker::Context::park", RSAPP),
                F("tokio::runtime::scheduler::multi_thread::worker::run", RSAPP),
                F("<tokio::runtime::blocking::task::BlockingTask<T> as core::future::future::Future>::poll", RSAPP),
                F("tokio::runtime::blocking::pool::Inner::run", RSAPP),
                F("tokio::runtime::blocking::pool::Spawner::spawn_thread::{{closure}}", RSAPP),
                F("std::sys::unix::thread::Thread::new::thread_start", RSAPP), F("start_thread", LIBC),
        };
        t = thread("tokio-runtime-w", tokio, 12);
        CHECK_EQ_STR(matched(&d, &t), "default: Tokio");
        /* a task of the user's blocking a worker shows its frames */
        struct leakscan_frame tokio_task[] = {
                F("syscall", LIBC), F("std::sync::mutex::Mutex<T>::lock", RSAPP),
                F("rsapp::handle::{{closure}}", RSAPP),
                F("<core::future::from_generator::GenFuture<T> as core::future::future::Future>::poll", RSAPP),
                F("tokio::runtime::task::core::Core<T,S>::poll", RSAPP),
                F("tokio::runtime::scheduler::multi_thread::worker::run", RSAPP),
                F("tokio::runtime::blocking::pool::Inner::run", RSAPP),
                F("std::sys::unix::thread::Thread::new::thread_start", RSAPP), F("start_thread", LIBC),
        };
        t = thread("tokio-runtime-w", tokio_task, 9);
        CHECK(!matched(&d, &t));
        /* a user's own Rust thread, even one named as tokio's */
        struct leakscan_frame rs_user[] = {
                F("syscall", LIBC), F("std::thread::park", RSAPP), F("rsapp::wait_forever", RSAPP),
                F("std::sys::unix::thread::Thread::new::thread_start", RSAPP), F("start_thread", LIBC),
        };
        t = thread("tokio-runtime-w", rs_user, 5);
        CHECK(!matched(&d, &t));

        /* never by name alone: a user's thread named as GLib's */
        struct leakscan_frame user[] = {
                F("__futex_abstimed_wait_common", LIBC), F("wait_for_job", "/srv/app"),
                F("start_thread", LIBC),
        };
        t = thread("pool-3", user, 3);
        CHECK(!matched(&d, &t));
        snprintf(t.name, sizeof t.name, "gmain");
        CHECK(!matched(&d, &t));

        /* GLib's task pool, whatever its name; a user's own pool is not */
        struct leakscan_frame pool[] = {
                F("syscall", LIBC), F("g_cond_wait_until", GLIB), F("g_async_queue_pop_intern_unlocked", GLIB),
                F("g_thread_pool_wait_for_new_task", GLIB), F("g_thread_pool_thread_proxy", GLIB),
                F("g_thread_proxy", GLIB), F("start_thread", LIBC),
        };
        struct leakscan_frame by_gtask[] = {
                F("pthread_create@@GLIBC_2.34", LIBC), F("g_system_thread_new", GLIB), F("g_thread_new_internal", GLIB),
                F("g_thread_pool_start_thread", GLIB), F("g_thread_pool_push", GLIB),
                F("g_task_run_in_thread", "/usr/lib/x86_64-linux-gnu/libgio-2.0.so.0"), F("load_async", "/srv/app"),
                F("main", "/srv/app"),
        };
        struct leakscan_frame by_user[] = {
                F("pthread_create@@GLIBC_2.34", LIBC), F("g_system_thread_new", GLIB), F("g_thread_new_internal", GLIB),
                F("g_thread_pool_start_thread", GLIB), F("g_thread_pool_push", GLIB), F("start_workers", "/srv/app"),
                F("main", "/srv/app"),
        };
        t = thread("weird-name", pool, 7);
        CHECK_EQ_STR(matched(&d, &t), "default: GLib");         /* creator unknown */
        t.has_created_by = true;
        t.created_by = by_gtask;
        t.n_created_by = 8;
        CHECK_EQ_STR(matched(&d, &t), "default: GLib");
        t.created_by = by_user;
        t.n_created_by = 7;
        CHECK(!matched(&d, &t));

        /* a user function called back from a GLib main loop, blocked */
        struct leakscan_frame cb[] = {
                F("__lll_lock_wait", LIBC), F("on_timeout", "/srv/app"), F("g_main_dispatch", GLIB),
                F("g_main_context_iteration", GLIB), F("glib_worker_main", GLIB), F("g_thread_proxy", GLIB),
                F("start_thread", LIBC),
        };
        t = thread("gmain", cb, 7);
        CHECK(!matched(&d, &t));
        cb[1] = (struct leakscan_frame) F("g_main_context_poll", GLIB);
        CHECK_EQ_STR(matched(&d, &t), "default: GLib");

        /* libuv inside node: a static copy */
        struct leakscan_frame uv[] = {
                F("__futex_abstimed_wait_common", LIBC), F("pthread_cond_wait", LIBC), F("uv_cond_wait", "/usr/bin/node"),
                F("worker", "/usr/bin/node"), F("start_thread", LIBC),
        };
        t = thread("libuv-worker", uv, 5);
        CHECK_EQ_STR(matched(&d, &t), "default: libuv");
        uv[2].function = "wait_for_request";    /* a user's "worker" */
        CHECK(!matched(&d, &t));

        /* gRPC's timer manager, idle; a sync server's handler blocked in the
         * user's service method is not */
#define GRPC "/usr/lib/x86_64-linux-gnu/libgrpc.so.29"
        struct leakscan_frame timer_mgr[] = {
                F("syscall", LIBC),
                F("absl::lts_20220623::synchronization_internal::Waiter::Wait(absl::lts_20220623::synchronization_internal::KernelTimeout)",
                  "/usr/lib/x86_64-linux-gnu/libabsl_synchronization.so.20220623"),
                F("absl::lts_20220623::CondVar::WaitWithTimeout(absl::lts_20220623::Mutex*, absl::lts_20220623::Duration)",
                  "/usr/lib/x86_64-linux-gnu/libabsl_synchronization.so.20220623"),
                F("gpr_cv_wait", "/usr/lib/x86_64-linux-gnu/libgpr.so.29"),
                F("timer_thread(void*)", GRPC),
                F("grpc_core::(anonymous namespace)::ThreadInternalsPosix::ThreadInternalsPosix(char const*, "
                  "void (*)(void*), void*, bool*, grpc_core::Thread::Options const&)::{lambda(void*)#1}::_FUN(void*)", GRPC),
                F("start_thread", LIBC),
        };
        t = thread("grpc_global_tim", timer_mgr, 7);
        CHECK_EQ_STR(matched(&d, &t), "default: gRPC");
        timer_mgr[4] = (struct leakscan_frame) F("Greeter::SayHello(grpc::ServerContext*)", "/srv/greeter");
        CHECK(!matched(&d, &t));

        /* the JVM: a GC thread idle in libjvm is the runtime's; a Java thread
         * (frames of generated code, in no module) is judged */
#define JVM "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"
        struct leakscan_frame gc[] = {
                F("__futex_abstimed_wait_common", LIBC), F("pthread_cond_wait", LIBC),
                F("PlatformMonitor::wait(long)", JVM), F("G1ConcurrentRefineThread::run_service()", JVM),
                F("Thread::call_run()", JVM), F("thread_native_entry(Thread*)", JVM), F("start_thread", LIBC),
        };
        t = thread("G1 Refine#0", gc, 7);
        CHECK_EQ_STR(matched(&d, &t), "default: the JVM (HotSpot)");
        struct leakscan_frame java[] = {
                F("__futex_abstimed_wait_common", LIBC), F("ObjectMonitor::wait(long, bool, JavaThread*)", JVM),
                F(NULL, NULL), F(NULL, NULL), F("JavaCalls::call_helper(JavaValue*, methodHandle const&, "
                                                "JavaCallArguments*, JavaThread*)", JVM),
                F("thread_native_entry(Thread*)", JVM), F("start_thread", LIBC),
        };
        t = thread("worker-1", java, 7);
        CHECK(!matched(&d, &t));

        /* glibc's SIGEV_THREAD helper; a user thread entered in libc is no such thing */
        struct leakscan_frame timer[] = {
                F("__sigtimedwait", LIBC), F("timer_helper_thread", LIBC), F("start_thread", LIBC),
        };
        t = thread("", timer, 3);
        CHECK_EQ_STR(matched(&d, &t), "default: glibc");
        /* ...nor is a thread still starting, in a libc function start_thread
         * called before the start routine */
        struct leakscan_frame starting[] = {
                F("__GI___pthread_sigmask", LIBC), F("start_thread", LIBC), F("clone3", LIBC),
        };
        t = thread("", starting, 3);
        CHECK(!matched(&d, &t));

        /* GIO's extension modules are GLib's runtime: `gsettings get` leaves
         * dconf's worker (made by the dconf module on g_settings_new, never
         * ended) in its main loop, as Debian's stripped libraries show it */
#define GIO "/usr/lib/x86_64-linux-gnu/libgio-2.0.so.0.7400.6"
#define GOBJECT "/usr/lib/x86_64-linux-gnu/libgobject-2.0.so.0.7400.6"
#define DCONF "/usr/lib/x86_64-linux-gnu/gio/modules/libdconfsettings.so"
        struct leakscan_frame dconf[] = {
                F("__poll", LIBC), F(NULL, GLIB), F("g_main_context_iteration", GLIB), F(NULL, DCONF),
                F(NULL, GLIB), F("start_thread", LIBC), F("__clone3", LIBC),
        };
        struct leakscan_frame by_settings[] = {
                F("__clone_internal", LIBC), F("create_thread", LIBC), F("pthread_create", LIBC), F(NULL, GLIB),
                F("g_thread_new", GLIB), F(NULL, DCONF), F(NULL, DCONF), F(NULL, DCONF), F(NULL, GOBJECT),
                F("g_object_new_valist", GOBJECT), F("g_object_new", GOBJECT), F("g_settings_new_full", GIO),
                F(NULL, "/usr/bin/gsettings"), F("__libc_start_call_main", LIBC),
        };
        t = thread("dconf worker", dconf, 7);
        t.has_created_by = true;
        t.created_by = by_settings;
        t.n_created_by = 14;
        CHECK_EQ_STR(matched(&d, &t), "default: GLib");
        /* ...but a program's own library of that name elsewhere is the user's */
        dconf[3].module = by_settings[5].module = by_settings[6].module = by_settings[7].module =
                (char *) "/srv/app/lib/libdconfsettings.so";
        CHECK(!matched(&d, &t));
        /* ...and so is a thread the program made with g_thread_new itself */
        dconf[3].module = (char *) DCONF;
        by_settings[5] = (struct leakscan_frame) F("start_watcher", "/srv/app/bin/app");
        CHECK(!matched(&d, &t));

        /* Go: the scheduler's idle Ms, as a Go 1.19 program shows them at
         * exit.  Their unwind ends in runtime.mcall (past it lie another
         * stack's frames) or runtime.clone (a raw clone, no start_thread) */
#define GOAPP "/srv/bin/gotool"
        struct leakscan_frame go_idle[] = {
                F("runtime.futex.abi0", GOAPP), F("runtime.futexsleep", GOAPP), F("runtime.notesleep", GOAPP),
                F("runtime.mPark", GOAPP), F("runtime.stopm", GOAPP), F("runtime.findRunnable", GOAPP),
                F("runtime.schedule", GOAPP), F("runtime.goexit0", GOAPP), F("runtime.mcall", GOAPP),
                F("runtime.newproc.abi0", GOAPP), F(NULL, GOAPP),
        };
        struct leakscan_frame go_newm[] = {
                F("runtime.newosproc", GOAPP), F("runtime.newm1", GOAPP), F("runtime.newm", GOAPP),
                F("runtime.startm", GOAPP), F("runtime.wakep", GOAPP), F("runtime.newproc.func1", GOAPP),
                F("runtime.systemstack.abi0", GOAPP), F("main.main", GOAPP),
        };
        t = thread("gotool", go_idle, 11);
        CHECK_EQ_STR(matched(&d, &t), "default: the Go runtime");
        t.has_created_by = true;
        t.created_by = go_newm;
        t.n_created_by = 8;
        CHECK_EQ_STR(matched(&d, &t), "default: the Go runtime");
        struct leakscan_frame go_template[] = {
                F("runtime.futex.abi0", GOAPP), F("runtime.futexsleep", GOAPP), F("runtime.notesleep", GOAPP),
                F("runtime.templateThread", GOAPP), F("runtime.mstart1", GOAPP), F("runtime.mstart0", GOAPP),
                F("runtime.mstart.abi0", GOAPP), F("runtime.clone.abi0", GOAPP),
        };
        t = thread("gotool", go_template, 8);
        CHECK_EQ_STR(matched(&d, &t), "default: the Go runtime");
        /* ...and stopped at the exit before it ran, still in the clone
         * that made it: that frame alone, made by the runtime */
        struct leakscan_frame go_unstarted[] = { F("runtime.clone", GOAPP) };
        t = thread("gotool", go_unstarted, 1);
        t.has_created_by = true;
        t.created_by = go_newm;
        t.n_created_by = 8;
        CHECK_EQ_STR(matched(&d, &t), "default: the Go runtime");
        /* os/signal's loop holds an M in the runtime for good */
        struct leakscan_frame go_signal[] = {
                F("runtime.futex.abi0", GOAPP), F("runtime.futexsleep", GOAPP),
                F("runtime.notetsleep_internal", GOAPP), F("runtime.notetsleepg", GOAPP),
                F("os/signal.signal_recv", GOAPP), F("os/signal.loop", GOAPP), F("runtime.goexit.abi0", GOAPP),
        };
        t = thread("gotool", go_signal, 7);
        CHECK_EQ_STR(matched(&d, &t), "default: the Go runtime");
        /* a goroutine of the user's blocked in read(2) holds its M: judged */
        struct leakscan_frame go_read[] = {
                F("runtime/internal/syscall.Syscall6", GOAPP), F("syscall.RawSyscall6", GOAPP),
                F("syscall.Syscall", GOAPP), F("syscall.read", GOAPP), F("main.waitForever", GOAPP),
                F("main.main.func2", GOAPP), F("runtime.goexit.abi0", GOAPP),
        };
        t = thread("gotool", go_read, 7);
        CHECK(!matched(&d, &t));
        /* ...and a C function is never Go's, whatever its name */
        go_template[3] = (struct leakscan_frame) F("mstart_worker", GOAPP);
        t = thread("gotool", go_template, 8);
        CHECK(!matched(&d, &t));
        rule_set_done(&d);
}

static void test_linear(void)
{
        enum { N = 40000 };
        char *text = malloc((size_t) N * 32), *p = text;
        for (int i = 0; i < N; i++)
                p += sprintf(p, "top:function_%d # c\n", i);
        struct rule_set set = {0};
        char *err = NULL;
        realloc_calls = 0;
        CHECK_EQ_INT(rules_load_text(&set, "big", text, (size_t) (p - text), &err), 0);
        CHECK_EQ_INT(set.n, N);
        CHECK(realloc_calls < 64);      /* was one per line */
        free(err);
        free(text);
        rule_set_done(&set);
}

int main(void)
{
        test_lines();
        test_defaults_round_trip();
        test_suggest_round_trip();
        test_runtimes();
        test_linear();
        return CHECK_DONE();
}

/* GLib's threads and the user's, for the runtime rule (issue 9, section 3):
 *   "userpool"  the only worker of the user's exclusive GThreadPool, never
 *               freed: idle inside GLib, but made by the user through
 *               g_thread_pool_new, so a leak at exit;
 *   "gtaskpool" a worker of GTask's own pool (g_task_run_in_thread): GLib's,
 *               ignored whatever its name;
 *   "userloop"  the user's thread (g_thread_new) whose GMainLoop timeout
 *               callback blocks on a mutex main holds: a user frame in the
 *               stack, a leak.
 * Checked by tests/integration/test_rules.py at exit, where the creator
 * stacks are known. */
#include <gio/gio.h>

#include "common.h"

static GMutex held;

static void pool_work(gpointer data, gpointer user_data)
{
        (void) data;
        (void) user_data;
        name_self("userpool");
}

static void task_work(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
        (void) source;
        (void) data;
        (void) cancellable;
        name_self("gtaskpool");
        g_task_return_boolean(task, TRUE);
}

NOINLINE static gboolean on_timeout(gpointer data)
{
        (void) data;
        g_mutex_lock(&held); // @callback
        g_mutex_unlock(&held);
        return G_SOURCE_REMOVE;
}

static gpointer loop_thread(gpointer data)
{
        (void) data;
        name_self("userloop");
        GMainContext *ctx = g_main_context_new();
        GMainLoop *loop = g_main_loop_new(ctx, FALSE);
        GSource *src = g_timeout_source_new(10);
        g_source_set_callback(src, on_timeout, NULL, NULL);
        g_source_attach(src, ctx);
        g_main_loop_run(loop);
        return NULL;
}

int main(void)
{
        g_mutex_lock(&held);
        GThreadPool *pool = g_thread_pool_new(pool_work, NULL, 1, TRUE, NULL);
        g_thread_pool_push(pool, GINT_TO_POINTER(1), NULL);
        GTask *task = g_task_new(NULL, NULL, NULL, NULL);
        g_task_run_in_thread(task, task_work);
        g_object_unref(task);
        g_thread_unref(g_thread_new("userloop", loop_thread, NULL));
        usleep(100000);
        ready_and_wait();
}

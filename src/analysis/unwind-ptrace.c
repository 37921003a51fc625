/* The "ptrace" unwinder: the reference.  While every thread is stopped,
 * libunwind-ptrace (_UPT_*) unwinds each one from the live process: its
 * registers by PTRACE_PEEKUSER, its memory a word per PTRACE_PEEKDATA, and
 * unwind tables from the ELF files libunwind maps itself after reading
 * /proc/PID/maps.  None of that shares code with the offline unwinders
 * except libunwind's DWARF interpreter, which is what makes it a useful
 * oracle for them; it is also why it is slow and holds the target longer, and
 * not the default.
 *
 * The stacks are kept in the capture (cap->live_unwind); the offline pass
 * only hands them out.  Threads it could not unwind live (a thread the caller
 * holds in a syscall under --at-exit, which we do not trace, or a creator's
 * stack copy) are unwound offline by the libunwind backend.
 *
 * To be comparable with the offline unwinders, the live walk sees no more of
 * a stack than they do: reads above the stack window (--stack-window bytes
 * from SP, up to the end of the stack's mapping) are refused, so a thread
 * deep past the window is reported cut at the same frame, with the same
 * note. */
#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>

#include "unwind-libunwind.h"
#include "util.h"

/* Stacks by index in cap->threads; tids[i] == 0 where no live unwind was
 * made. */
struct live_unwind {
        size_t n;
        pid_t *tids;
        struct unwound_stack *stacks;
};

static void live_unwind_free(void *p)
{
        struct live_unwind *l = p;
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                free(l->stacks[i].frames);
        free(l->stacks);
        free(l->tids);
        free(l);
}

/* The part of the stack the walk may not read.  libunwind hands the
 * accessors the _UPT argument, not ours, so the window of the thread being
 * walked travels beside it; the walk runs on one thread at a time. */
struct refused_range {
        uint64_t start, end;
        bool hit;
};
static struct refused_range *walk_refused;

static int pt_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write, void *arg)
{
        struct refused_range *w = walk_refused;
        if (w && addr + 8 > w->start && addr < w->end) {
                w->hit = true;
                return -UNW_EINVAL;
        }
        return _UPT_access_mem(as, addr, valp, write, arg);
}

/* The end of the mapping that holds sp, or sp when none does. */
static uint64_t stack_mapping_end(const struct map_entry *maps, size_t n_maps, uint64_t sp)
{
        for (size_t i = 0; i < n_maps; i++)
                if (sp >= maps[i].start && sp < maps[i].end)
                        return maps[i].end;
        return sp;
}

static int ptrace_while_stopped(struct process_capture *cap, size_t stack_window, unsigned max_frames)
{
        struct live_unwind *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->n = cap->n_threads;
        l->tids = calloc(l->n ? l->n : 1, sizeof *l->tids);
        l->stacks = calloc(l->n ? l->n : 1, sizeof *l->stacks);
        struct map_entry *maps = NULL;
        size_t n_maps = 0;
        unw_accessors_t accessors = _UPT_accessors;
        accessors.access_mem = pt_access_mem;
        unw_addr_space_t as = NULL;
        int r = 0;
        if (!l->tids || !l->stacks) {
                r = -ENOMEM;
                goto out;
        }
        r = procfs_parse_maps(cap->maps_text ? cap->maps_text : "", &maps, &n_maps);
        if (r < 0)
                goto out;
        as = unw_create_addr_space(&accessors, 0);
        if (!as) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (!t->seized || !t->stopped || t->vanished || !t->regs_valid)
                        continue;
                void *upt = _UPT_create(t->tid);
                if (!upt)
                        continue;
                uint64_t sp = arch_regs_sp(&t->regs);
                struct refused_range refused = { .start = sp + stack_window,
                                                 .end = stack_mapping_end(maps, n_maps, sp) };
                struct unwound_stack *out = &l->stacks[i];
                enum libunwind_walk_end end = LIBUNWIND_WALK_FAILED;
                unw_cursor_t c;
                walk_refused = &refused;
                if (unw_init_remote(&c, as, upt) == 0)
                        r = libunwind_walk(&c, max_frames, out, &end);
                walk_refused = NULL;
                _UPT_destroy(upt);
                if (r < 0)
                        goto out;
                out->note = libunwind_walk_note(end, out->n, refused.hit);
                if (out->n == 0) {
                        size_t n = 0;
                        r = unwound_push(out, &n, arch_regs_pc(&t->regs), sp, true);
                        if (r < 0)
                                goto out;
                }
                l->tids[i] = t->tid;
        }
        /* one unwind per snapshot */
        if (cap->live_unwind_free)
                cap->live_unwind_free(cap->live_unwind);
        cap->live_unwind = TAKE_PTR(l);
        cap->live_unwind_free = live_unwind_free;
out:
        if (as)
                unw_destroy_addr_space(as);
        map_entries_free(maps, n_maps);
        live_unwind_free(l);
        return r;
}

/* The offline backend's state, for what was not unwound live. */
struct ptrace_state {
        struct process_capture *cap;
        void *offline;
};

static int ptrace_attach(struct modules *mods, struct process_capture *cap, void **ret_state)
{
        struct ptrace_state *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->cap = cap;
        int r = unwinder_libunwind.attach(mods, cap, &s->offline);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

static int ptrace_unwind_thread(void *state, const struct thread_capture *t, unsigned max_frames,
                                struct unwound_stack *out)
{
        struct ptrace_state *s = state;
        const struct live_unwind *l = s->cap->live_unwind_free == live_unwind_free ? s->cap->live_unwind : NULL;
        /* t is one of the capture's threads (not a creator's copy) when it
         * lies in the array */
        if (l && t >= s->cap->threads && t < s->cap->threads + s->cap->n_threads) {
                size_t i = (size_t) (t - s->cap->threads);
                if (i < l->n && l->tids[i] == t->tid) {
                        const struct unwound_stack *st = &l->stacks[i];
                        out->frames = malloc(st->n * sizeof *st->frames);
                        if (!out->frames)
                                return -ENOMEM;
                        memcpy(out->frames, st->frames, st->n * sizeof *st->frames);
                        out->n = st->n;
                        out->note = st->note;
                        return 0;
                }
        }
        return unwinder_libunwind.unwind_thread(s->offline, t, max_frames, out);
}

static void ptrace_detach(void *state)
{
        struct ptrace_state *s = state;
        if (!s)
                return;
        unwinder_libunwind.detach(s->offline);
        free(s);
}

const struct unwinder unwinder_ptrace = {
        .name = "ptrace",
        .summary = "libunwind on the live threads: slow, a reference",
        .attach = ptrace_attach,
        .unwind_thread = ptrace_unwind_thread,
        .detach = ptrace_detach,
        .while_stopped = ptrace_while_stopped,
};

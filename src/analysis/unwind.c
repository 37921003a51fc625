/* The unwinder backends; see unwind.h.  The libdw backend serves libdw's
 * memory reads from the stack copy and, for other addresses, from the ELF
 * files (modules_read_file_word), never from the live process. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"
#include "util.h"

bool unwind_read_stack(const struct thread_capture *t, uint64_t addr, uint64_t *ret)
{
        uint64_t base = t->stack_addr;
        if (!t->stack || addr < base || addr - base > t->stack_len || t->stack_len - (addr - base) < 8)
                return false;
        memcpy(ret, t->stack + (addr - base), 8);
        return true;
}

const char unwind_note_capped[] = "stack cut at the frame limit (a loop or a very deep stack)";
const char unwind_note_window[] = "stack window full: raise --stack-window to see the outer frames";
const char unwind_note_no_cfi[] = "no unwind information for the top frame";

const char unwind_note_altstack[] =
        "the signal handler runs on an alternate signal stack: the interrupted code's stack was not copied";

static const struct map_entry *map_at(const struct modules *mods, uint64_t addr)
{
        size_t lo = 0, hi = mods->n_maps;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (addr < mods->maps[mid].start)
                        hi = mid;
                else if (addr >= mods->maps[mid].end)
                        lo = mid + 1;
                else
                        return &mods->maps[mid];
        }
        return NULL;
}

const char *unwind_note_other_stack(const struct modules *mods, const struct thread_capture *t,
                                    const struct unwound_stack *out)
{
        if (!t->stack || out->n < 2)
                return NULL;
        uint64_t sp = out->frames[out->n - 1].sp;
        if (sp >= t->stack_addr && sp - t->stack_addr < t->stack_len)
                return NULL;
        /* a frame just above the window on the same stack is the window
         * running out, not another stack */
        const struct map_entry *window = map_at(mods, t->stack_addr);
        /* the outermost frame's CFA may be the very end of the stack (a
         * thread started with its SP at the top of its mapping): that
         * address belongs to the next mapping, but the frame to this one */
        const struct map_entry *last = window && sp == window->end ? window : map_at(mods, sp);
        if (!window || !last || window == last)
                return NULL;
        return unwind_note_altstack;
}

bool unwind_is_above_window(const struct modules *mods, const struct thread_capture *t, uint64_t addr)
{
        return t->stack && t->stack_truncated && addr >= t->stack_addr + t->stack_len &&
               map_at(mods, addr) && map_at(mods, addr) == map_at(mods, t->stack_addr);
}

bool unwound_is_runaway(const struct unwound_stack *out, uint64_t pc, uint64_t sp, bool activation)
{
        /* the same pc at the same stack pointer: the unwind made no
         * progress (a recursion repeats the pc, never the stack pointer) */
        return !activation && out->n > 0 && out->frames[out->n - 1].pc == pc &&
               out->frames[out->n - 1].sp == sp;
}

int unwound_push(struct unwound_stack *out, size_t *cap, uint64_t pc, uint64_t sp, bool activation)
{
        if (out->n == *cap) {
                size_t n = *cap ? *cap * 2 : 32;
                struct unwound_frame *f = realloc(out->frames, n * sizeof *f);
                if (!f)
                        return -ENOMEM;
                out->frames = f;
                *cap = n;
        }
        out->frames[out->n++] = (struct unwound_frame) { .pc = pc, .sp = sp, .activation = activation };
        return 0;
}

/* Where Go begins a stack: a goroutine's at runtime.goexit (its entry's
 * return address), an M's scheduler stack (g0) at runtime.mstart (called
 * from runtime.clone's assembly, which only a binary with symbols names),
 * and runtime.mcall switches to g0, above which lie the words an earlier
 * switch left.  Named as in a binary with symbols ("runtime.mstart.abi0",
 * an assembly function's ABI wrapper) and in .gopclntab ("runtime.mstart"). */
static const char *const stack_roots[] = { "runtime.goexit", "runtime.mstart", "runtime.mcall" };

static bool is_stack_root(const char *function)
{
        if (!function)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(stack_roots); i++) {
                if (!startswith(function, stack_roots[i]))
                        continue;
                const char *rest = function + strlen(stack_roots[i]);
                if (!*rest || (startswith(rest, ".abi") && rest[4] &&
                               strspn(rest + 4, "0123456789") == strlen(rest + 4)))
                        return true;
        }
        return false;
}

void unwind_end_at_root(struct leakscan_frame *frames, size_t first, size_t *n, const char **note)
{
        for (size_t i = first; i + 1 < *n; i++) {
                if (!is_stack_root(frames[i].function) || frames[i].inlined)
                        continue;
                for (size_t k = i + 1; k < *n; k++) {
                        free(frames[k].function);
                        free(frames[k].file);
                        free(frames[k].module);
                }
                *n = i + 1;
                if (note && (*note == unwind_note_capped || *note == unwind_note_window || *note == unwind_note_no_cfi))
                        *note = NULL;
                return;
        }
}

/* ---- libdw ---- */

struct libdw_state {
        struct modules *mods;
        struct process_capture *cap;
        const struct thread_capture *current;   /* memory_read has no thread argument */
        bool window_miss;       /* a read above the stack window failed */
        size_t next_index;
        /* the current thread's popped slots (libdw_note_popped_slots) */
        uint64_t popped_addr[ARCH_DWARF_NREGS], popped_value[ARCH_DWARF_NREGS];
        size_t n_popped;
};

/* The address a CFA rule gives with registers regs: libdw gives a
 * register-plus-offset rule as one DW_OP_bregx (or DW_OP_bregN). */
static bool cfa_of(const Dwarf_Op *ops, size_t nops, const uint64_t *regs, uint64_t *ret)
{
        if (nops != 1)
                return false;
        uint64_t reg;
        int64_t off;
        if (ops[0].atom == DW_OP_bregx) {
                reg = ops[0].number;
                off = (int64_t) ops[0].number2;
        } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
                reg = ops[0].atom - DW_OP_breg0;
                off = (int64_t) ops[0].number;
        } else {
                return false;
        }
        if (reg >= ARCH_DWARF_NREGS)
                return false;
        *ret = regs[reg] + (uint64_t) off;
        return true;
}

/* The offset from the CFA of a register's save slot, from the location
 * libdw gives for an offset(N) rule: DW_OP_call_frame_cfa, then nothing,
 * DW_OP_plus_uconst N, or DW_OP_consts N and DW_OP_plus. */
static bool slot_offset(const Dwarf_Op *ops, size_t nops, int64_t *ret)
{
        if (nops < 1 || ops[0].atom != DW_OP_call_frame_cfa)
                return false;
        if (nops == 1)
                *ret = 0;
        else if (nops == 2 && ops[1].atom == DW_OP_plus_uconst)
                *ret = (int64_t) ops[1].number;
        else if (nops == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus)
                *ret = (int64_t) ops[1].number;
        else
                return false;
        return true;
}

/* A thread found in a function's epilogue, after `leave` or `pop %rbp`
 * and before `ret`, has popped its caller's registers back, but the unwind
 * rule at that pc may still say where they were saved: GCC's -O0 code
 * keeps "rbp at CFA-16" up to the `ret`, a slot now below the stack
 * pointer, which neither a stop's copy nor a perf sample's (both start at
 * the stack pointer) holds.  libdw then cannot recover the caller's rbp
 * and the unwind ends at the caller.  A slot below the stack pointer in
 * the first frame was popped into its register, so its value is the
 * register's: noted here for libdw_memory_read.  Only with every register
 * known (a stop or a sample; a thread read from /proc is in a call, never
 * in an epilogue). */
static void libdw_note_popped_slots(struct libdw_state *s, const struct thread_capture *t)
{
        s->n_popped = 0;
        if (!t->regs_valid || t->regs_partial)
                return;
        uint64_t regs[ARCH_DWARF_NREGS];
        arch_regs_to_dwarf(&t->regs, regs);
        uint64_t pc = arch_regs_pc(&t->regs), sp = arch_regs_sp(&t->regs);
        Dwfl_Module *m = dwfl_addrmodule(s->mods->dwfl, pc);
        if (!m)
                return;
        Dwarf_Addr bias;
        Dwarf_Frame *frame = NULL;
        Dwarf_CFI *cfi = dwfl_module_eh_cfi(m, &bias);
        if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) {
                frame = NULL;
                cfi = dwfl_module_dwarf_cfi(m, &bias);
                if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0)
                        return;
        }
        Dwarf_Op *ops;
        size_t nops;
        uint64_t cfa;
        if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && cfa_of(ops, nops, regs, &cfa)) {
                for (int reg = 0; reg < ARCH_DWARF_NREGS; reg++) {
                        Dwarf_Op mem[3];
                        int64_t off;
                        if (reg == ARCH_DWARF_SP || dwarf_frame_register(frame, reg, mem, &ops, &nops) != 0 ||
                            !slot_offset(ops, nops, &off))
                                continue;
                        uint64_t slot = cfa + (uint64_t) off;
                        if (slot < sp && sp - slot <= ARCH_RED_ZONE) {
                                s->popped_addr[s->n_popped] = slot;
                                s->popped_value[s->n_popped++] = regs[reg];
                        }
                }
        }
        free(frame);
}

struct libdw_walk {
        struct unwound_stack *out;
        size_t cap;
        unsigned max_frames;
        int error;
        bool capped;
};

static pid_t libdw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
        (void) dwfl;
        struct libdw_state *s = arg;
        while (s->next_index < s->cap->n_threads) {
                struct thread_capture *t = &s->cap->threads[s->next_index++];
                if (t->regs_valid) {
                        *thread_argp = t;
                        return t->tid;
                }
        }
        return 0;
}

static bool libdw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
        (void) dwfl;
        struct libdw_state *s = arg;
        /* the thread being unwound, which may be a creator's copy rather
         * than a thread of the capture */
        const struct thread_capture *t = s->current && s->current->tid == tid ? s->current :
                                         process_capture_find(s->cap, tid);
        if (!t || !t->regs_valid)
                return false;
        *thread_argp = (void *) t;
        return true;
}

static bool libdw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
        (void) dwfl;
        struct libdw_state *s = arg;
        uint64_t w;
        for (size_t i = 0; i < s->n_popped; i++)
                if (s->popped_addr[i] == addr) {
                        *result = s->popped_value[i];
                        return true;
                }
        if (s->current && unwind_read_stack(s->current, addr, &w)) {
                *result = w;
                return true;
        }
        if (s->current && unwind_is_above_window(s->mods, s->current, addr))
                s->window_miss = true;
        if (modules_read_file_word(s->mods, addr, &w)) {
                *result = w;
                return true;
        }
        return false;
}

static bool libdw_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
        const struct thread_capture *t = thread_arg;
        uint64_t regs[ARCH_DWARF_NREGS];
        arch_regs_to_dwarf(&t->regs, regs);
        if (!t->regs_partial)
                return dwfl_thread_state_registers(thread, 0, ARCH_DWARF_NREGS, regs);
        /* Read from a syscall line: the registers it does not show are
         * left undefined, not 0, so that libdw takes them from the frames
         * that saved them and fails where a rule needs one it never
         * found, rather than computing from 0. */
        bool known[ARCH_DWARF_NREGS];
        arch_dwarf_known_at_syscall(known);
        if (t->fp_guessed)
                known[ARCH_DWARF_FP] = true;
        for (unsigned i = 0; i < ARCH_DWARF_NREGS; i++)
                if (known[i] && !dwfl_thread_state_registers(thread, (int) i, 1, &regs[i]))
                        return false;
        return true;
}

static const Dwfl_Thread_Callbacks libdw_thread_callbacks = {
        .next_thread = libdw_next_thread,
        .get_thread = libdw_get_thread,
        .memory_read = libdw_memory_read,
        .set_initial_registers = libdw_set_initial_registers,
};

static int libdw_attach(struct modules *mods, struct process_capture *cap, void **ret_state)
{
        struct libdw_state *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->mods = mods;
        s->cap = cap;
        /* The Dwfl is attached to our copy: libdw never touches the process. */
        if (!dwfl_attach_state(mods->dwfl, NULL, cap->pid, &libdw_thread_callbacks, s)) {
                free(s);
                return -ENOEXEC;
        }
        *ret_state = s;
        return 0;
}

static int libdw_frame_cb(Dwfl_Frame *frame, void *arg)
{
        struct libdw_walk *w = arg;
        Dwarf_Addr pc;
        bool activation;
        if (!dwfl_frame_pc(frame, &pc, &activation))
                return DWARF_CB_ABORT;
        if (w->out->n >= w->max_frames) {
                w->capped = true;
                return DWARF_CB_ABORT;
        }
        Dwarf_Word sp = 0;
        (void) dwfl_frame_reg(frame, ARCH_DWARF_SP, &sp);
        /* A runaway unwind repeats a frame; stop there rather than at the cap. */
        if (unwound_is_runaway(w->out, pc, sp, activation)) {
                w->capped = true;
                return DWARF_CB_ABORT;
        }
        int r = unwound_push(w->out, &w->cap, pc, sp, activation);
        if (r < 0) {
                w->error = r;
                return DWARF_CB_ABORT;
        }
        return DWARF_CB_OK;
}

static int libdw_unwind_thread(void *state, const struct thread_capture *t, unsigned max_frames,
                               struct unwound_stack *out)
{
        struct libdw_state *s = state;
        struct libdw_walk w = { .out = out, .max_frames = max_frames };
        s->current = t;
        s->window_miss = false;
        libdw_note_popped_slots(s, t);
        int r = dwfl_getthread_frames(s->mods->dwfl, t->tid, libdw_frame_cb, &w);
        s->current = NULL;
        s->n_popped = 0;
        if (w.error < 0)
                return w.error;
        if (w.capped)
                out->note = unwind_note_capped;
        else if (out->n > 0 && s->window_miss)
                /* libdw ends a walk without an error when a read fails */
                out->note = unwind_note_window;
        else if (r != 0 && out->n <= 1)
                out->note = unwind_note_no_cfi;
        if (!w.capped && unwind_note_other_stack(s->mods, t, out))
                out->note = unwind_note_altstack;
        if (out->n == 0) {
                size_t cap = 0;
                return unwound_push(out, &cap, arch_regs_pc(&t->regs), arch_regs_sp(&t->regs), true);
        }
        return 0;
}

static void libdw_detach(void *state)
{
        free(state);
}

const struct unwinder unwinder_libdw = {
        .name = "libdw",
        .attach = libdw_attach,
        .unwind_thread = libdw_unwind_thread,
        .detach = libdw_detach,
};

/* ---- frame pointers ---- */

static int fp_attach(struct modules *mods, struct process_capture *cap, void **ret_state)
{
        (void) mods; (void) cap;
        *ret_state = NULL;
        return 0;
}

static int fp_unwind_thread(void *state, const struct thread_capture *t, unsigned max_frames,
                            struct unwound_stack *out)
{
        (void) state;
        size_t cap = 0;
        int r = unwound_push(out, &cap, arch_regs_pc(&t->regs), arch_regs_sp(&t->regs), true);
        if (r < 0)
                return r;
        uint64_t fp = arch_regs_fp(&t->regs);
        while (out->n < max_frames) {
                uint64_t next_fp, ret;
                if (!unwind_read_stack(t, fp, &next_fp) || !unwind_read_stack(t, fp + 8, &ret))
                        break;
                if (ret == 0)
                        break;
                r = unwound_push(out, &cap, ret, fp + 16, false);
                if (r < 0)
                        return r;
                if (next_fp <= fp)
                        break;  /* the chain must climb the stack */
                fp = next_fp;
        }
        if (out->n >= max_frames)
                out->note = unwind_note_capped;
        return 0;
}

static void fp_detach(void *state)
{
        (void) state;
}

const struct unwinder unwinder_fp = {
        .name = "fp",
        .summary = "frame pointers only",
        .attach = fp_attach,
        .unwind_thread = fp_unwind_thread,
        .detach = fp_detach,
        .needs_all_registers = true,
};

static const struct unwinder *const unwinders[] = {
        &unwinder_libdw,
        &unwinder_fp,
#if HAVE_LIBUNWIND
        &unwinder_libunwind,
        &unwinder_ptrace,
#endif
};

const struct unwinder *unwinder_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(unwinders); i++)
                if (streq(unwinders[i]->name, name))
                        return unwinders[i];
        return NULL;
}

const char *unwinder_absent_reason(const char *name)
{
#if !HAVE_LIBUNWIND
        if (streq(name, "libunwind") || streq(name, "ptrace"))
                return "this build has no libunwind; install libunwind-dev "
                       "(pkg-config libunwind-generic and libunwind-ptrace) and rebuild leakscan";
#else
        (void) name;
#endif
        return NULL;
}

size_t unwinder_count(void)
{
        return ARRAY_SIZE(unwinders);
}

const struct unwinder *unwinder_at(size_t i)
{
        return i < ARRAY_SIZE(unwinders) ? unwinders[i] : NULL;
}

/* The few facts about the target's machine that seize, capture, unwind and
 * classify need: which registers hold the pc, stack and syscall, and how the
 * kernel marks a syscall that a ptrace stop interrupted.  x86_64 only for
 * now; a new architecture adds a block here and nothing elsewhere (syscall
 * numbers come from the build's <sys/syscall.h>, and src/syscalls.c leaves
 * out the rows an architecture lacks).
 *
 * Every read and write of a thread's registers goes through arch_get_regs
 * and arch_set_regs (and their _any variants for the exit trap): no other
 * file of src/ calls PTRACE_GETREGSET, PTRACE_SETREGSET, PTRACE_GETREGS or
 * PTRACE_SETREGS, so a port is this file (as CRIU's compel keeps each
 * architecture's register access in one directory).
 *
 * What a port to aarch64 needs, function by function:
 * - arch_regs: struct user_pt_regs (x0..x30, sp, pc, pstate);
 *   arch_get_regs/arch_set_regs through PTRACE_GETREGSET/SETREGSET
 *   NT_PRSTATUS, as here; arch_regs_native: a compat (AArch32) thread
 *   gives a shorter regset.  arch_get_regs_any/arch_set_regs_any: aarch64
 *   has no PTRACE_GETREGS; the same as arch_get_regs/arch_set_regs (the
 *   exit trap rewrites only native threads into a native exit_group).
 * - The syscall number is not in user_pt_regs: read it with the
 *   NT_ARM_SYSTEM_CALL regset (and write it there to rewind).  Worse, x0 is
 *   both the first argument and the return value, and the kernel keeps the
 *   original x0 (orig_x0) only in its own pt_regs: at a stop after
 *   -ERESTARTSYS, x0 holds the error, not the futex address or fd.  Read the
 *   number and the six arguments from /proc/PID/task/TID/syscall while the
 *   thread is stopped (the kernel answers from orig_x0), not from registers.
 * - arch_regs_blocked_syscall and arch_regs_returned_eintr: the same
 *   -ERESTART* codes (512, 513, 514, 516) and -EINTR, in x0.
 * - arch_regs_rewind_syscall: "svc #0" is 4 bytes (d4000001 little-endian);
 *   pc -= 4, x0 = the original first argument, x8 = the number.
 * - arch_regs_return_to: a leaf function's return address is in x30 (lr),
 *   not on the stack: pc = lr, sp unchanged.
 * - arch_regs_tls: tpidr_el0, from the NT_ARM_TLS regset (not in
 *   user_pt_regs): one more PTRACE_GETREGSET, in arch_get_regs.
 * - arch_regs_fp: x29.  DWARF numbers: x0..x30 are 0..30, sp 31, pc 32.
 * - /proc/PID/task/TID/syscall prints the same fields; restart_syscall is
 *   128 there and the asm-generic table has no poll, select, epoll_wait or
 *   pause (glibc calls ppoll, pselect6, epoll_pwait, ppoll).
 * - The --at-exit seccomp filter checks AUDIT_ARCH_AARCH64 instead of
 *   AUDIT_ARCH_X86_64 / I386 and has no x32 bit. */
#ifndef LEAKSCAN_ARCH_H
#define LEAKSCAN_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <errno.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>

#if !defined(__x86_64__)
#error "leakscan supports x86_64 targets only for now"
#endif

typedef struct user_regs_struct arch_regs;

/* Whether a regset of len bytes is this architecture's own: a compat
 * (32-bit) thread gives a shorter one. */
static inline bool arch_regs_native(size_t len) { return len == sizeof(arch_regs); }

/* -errno after a failed ptrace, never 0 (which the compiler cannot rule out,
 * and a caller would take for success). */
static inline int arch_ptrace_error(void) { return errno > 0 ? -errno : -EIO; }

/* Reads the registers of tid, a tracee in a ptrace stop, into *ret (written
 * only on success).  Returns 0, -ESRCH when it is gone or not stopped,
 * -EPROTONOSUPPORT for a compat (32-bit) thread, whose regset has another
 * layout, or another negative errno. */
static inline int arch_get_regs(pid_t tid, arch_regs *ret)
{
        arch_regs regs;
        struct iovec iov = { &regs, sizeof regs };
        if (ptrace(PTRACE_GETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return arch_ptrace_error();
        if (!arch_regs_native(iov.iov_len))
                return -EPROTONOSUPPORT;
        *ret = regs;
        return 0;
}

/* Writes the registers of tid, a native tracee in a ptrace stop, as read by
 * arch_get_regs.  Returns 0 or a negative errno. */
static inline int arch_set_regs(pid_t tid, const arch_regs *regs)
{
        struct iovec iov = { (void *) regs, sizeof *regs };
        if (ptrace(PTRACE_SETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return arch_ptrace_error();
        return 0;
}

/* As arch_get_regs and arch_set_regs, but for a thread in any mode: on
 * x86_64 the 64-bit view, which a compat thread has too.  For the exit
 * trap, which rewrites whatever thread it holds into exit_group. */
static inline int arch_get_regs_any(pid_t tid, arch_regs *ret)
{
        arch_regs regs;
        if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
                return arch_ptrace_error();
        *ret = regs;
        return 0;
}

static inline int arch_set_regs_any(pid_t tid, const arch_regs *regs)
{
        if (ptrace(PTRACE_SETREGS, tid, 0, (void *) regs) < 0)
                return arch_ptrace_error();
        return 0;
}

static inline uint64_t arch_regs_pc(const arch_regs *r) { return r->rip; }
static inline uint64_t arch_regs_sp(const arch_regs *r) { return r->rsp; }
static inline uint64_t arch_regs_fp(const arch_regs *r) { return r->rbp; }
/* The registers of a thread held at the entry of syscall nr(args), the
 * syscall instruction ending at pc, as a thread blocked in that call shows
 * them: for a copy whose live registers the tracer rewrote. */
static inline void arch_regs_at_syscall_entry(arch_regs *r, long nr, const uint64_t args[6], uint64_t pc)
{
        r->orig_rax = (unsigned long long) nr;
        r->rax = (unsigned long long) -38;     /* -ENOSYS: at the syscall's entry */
        r->rdi = args[0];
        r->rsi = args[1];
        r->rdx = args[2];
        r->r10 = args[3];
        r->r8 = args[4];
        r->r9 = args[5];
        r->rip = pc;
}

/* Registers as /proc/PID/task/TID/syscall shows them for a thread blocked in
 * a syscall: the rest are unknown and left 0. */
static inline void arch_regs_from_syscall(arch_regs *r, long nr, const uint64_t args[6], uint64_t sp,
                                          uint64_t pc)
{
        *r = (arch_regs) {0};
        arch_regs_at_syscall_entry(r, nr, args, pc);
        r->rsp = sp;
}

/* Pops a return address: the state the caller will see when a leaf
 * function (one that pushed nothing) returns. */
static inline void arch_regs_return_to(arch_regs *r, uint64_t ret_addr)
{
        r->rip = ret_addr;
        r->rsp += 8;
}

/* The thread pointer: where glibc keeps the thread's struct pthread. */
static inline uint64_t arch_regs_tls(const arch_regs *r) { return r->fs_base; }
static inline void arch_regs_set_tls(arch_regs *r, uint64_t tls) { r->fs_base = tls; }

/* The syscall number the kernel recorded at the last syscall entry of a
 * stopped thread (orig_rax), or -1 after an interrupt or exception entry. */
static inline long arch_regs_syscall_nr(const arch_regs *r) { return (long) r->orig_rax; }

/* What the last syscall returned (rax), meaningful just after it. */
static inline long arch_regs_retval(const arch_regs *r) { return (long) r->rax; }

static inline void arch_regs_syscall_args(const arch_regs *r, uint64_t args[6])
{
        args[0] = r->rdi;
        args[1] = r->rsi;
        args[2] = r->rdx;
        args[3] = r->r10;
        args[4] = r->r8;
        args[5] = r->r9;
}

/* Returns the syscall a stopped thread sits in, or -1.  A thread interrupted
 * inside a blocking syscall comes back with rax = -ERESTART* (512, 513, 514,
 * 516; kernel-internal codes it restarts transparently) and the number still in
 * orig_rax.  A thread stopped in user space has orig_rax -1 (interrupt entry),
 * or the last syscall with its ordinary result in rax. */
static inline long arch_regs_blocked_syscall(const arch_regs *r)
{
        long nr = (long) r->orig_rax;
        long ret = (long) r->rax;
        if (nr < 0)
                return -1;
        if (ret == -512 || ret == -513 || ret == -514 || ret == -516)
                return nr;
        return -1;
}

/* The syscall a thread was sleeping in before a ptrace stop, given that the
 * scheduler showed it asleep (S or D) just before: arch_regs_blocked_syscall,
 * or, when the stop made the syscall return early (-EINTR from a call the
 * kernel never restarts, or a partial read or write), the number still in
 * orig_rax.  -1 when it was not in a syscall. */
static inline long arch_regs_slept_in_syscall(const arch_regs *r, bool was_asleep)
{
        long nr = arch_regs_blocked_syscall(r);
        if (nr >= 0 || !was_asleep)
                return nr;
        return (long) r->orig_rax >= 0 ? (long) r->orig_rax : -1;
}

static inline bool arch_regs_returned_eintr(const arch_regs *r)
{
        return (long) r->orig_rax >= 0 && (long) r->rax == -4;
}


/* Makes a thread stopped just after a syscall returned execute it again on
 * resume, as the kernel itself does for -ERESTARTNOHAND: the argument
 * registers are preserved across syscalls, so only the number and the pc
 * change.  insn holds the two bytes before the pc, which must be "syscall". */
static inline bool arch_regs_rewind_syscall(arch_regs *r, const uint8_t insn[2])
{
        if (insn[0] != 0x0f || insn[1] != 0x05)
                return false;
        r->rax = r->orig_rax;
        r->rip -= 2;
        return true;
}
#define ARCH_SYSCALL_INSN_LEN 2

/* Leaves the choice to the kernel, on resume, for a thread stopped just
 * after a syscall returned -EINTR: -ERESTARTNOHAND (514, in
 * include/linux/errno.h, not in the user-space headers) in the return
 * register makes arch_do_signal_or_restart() end the call with EINTR if a
 * handler runs, and restart it otherwise (pc back, number restored). */
static inline void arch_regs_restart_unless_handled(arch_regs *r) { r->rax = (uint64_t) -514; }

/* The user registers a perf sample carries (PERF_SAMPLE_REGS_USER;
 * sample.c): the mask of <asm/perf_regs.h> numbers to ask for, and the
 * registers rebuilt from the values, which the sample lists in increasing
 * number.  Every general register, the pc, flags, cs and ss; the kernel
 * refuses ds, es, fs and gs for a 64-bit task, and the thread pointer
 * (fs_base) is no perf register: it is left 0, unknown, as for a reading
 * from /proc (capture_recover_thread_pointers).  orig_rax -1: the sample
 * is taken in user space, in no call.  An aarch64 port: x0..x30, sp, pc
 * (PERF_REG_ARM64_*, mask (1 << 33) - 1). */
#include <asm/perf_regs.h>
/* the 24 numbers up to r15, spelled out: a newer header's
 * PERF_REG_X86_64_MAX may count registers an older kernel refuses */
#define ARCH_PERF_REGS_MASK \
        (((UINT64_C(1) << (PERF_REG_X86_R15 + 1)) - 1) & \
         ~((UINT64_C(1) << PERF_REG_X86_DS) | (UINT64_C(1) << PERF_REG_X86_ES) | \
           (UINT64_C(1) << PERF_REG_X86_FS) | (UINT64_C(1) << PERF_REG_X86_GS)))
#define ARCH_PERF_ABI_NATIVE 2  /* PERF_SAMPLE_REGS_ABI_64 */
static inline void arch_regs_from_perf(arch_regs *r, const uint64_t *values)
{
        uint64_t v[PERF_REG_X86_R15 + 1] = {0};
        for (unsigned i = 0, k = 0; i <= PERF_REG_X86_R15; i++)
                if (ARCH_PERF_REGS_MASK & (UINT64_C(1) << i))
                        v[i] = values[k++];
        *r = (arch_regs) {0};
        r->rax = v[PERF_REG_X86_AX];   r->rbx = v[PERF_REG_X86_BX];
        r->rcx = v[PERF_REG_X86_CX];   r->rdx = v[PERF_REG_X86_DX];
        r->rsi = v[PERF_REG_X86_SI];   r->rdi = v[PERF_REG_X86_DI];
        r->rbp = v[PERF_REG_X86_BP];   r->rsp = v[PERF_REG_X86_SP];
        r->rip = v[PERF_REG_X86_IP];   r->eflags = v[PERF_REG_X86_FLAGS];
        r->cs = v[PERF_REG_X86_CS];    r->ss = v[PERF_REG_X86_SS];
        r->r8 = v[PERF_REG_X86_R8];    r->r9 = v[PERF_REG_X86_R9];
        r->r10 = v[PERF_REG_X86_R10];  r->r11 = v[PERF_REG_X86_R11];
        r->r12 = v[PERF_REG_X86_R12];  r->r13 = v[PERF_REG_X86_R13];
        r->r14 = v[PERF_REG_X86_R14];  r->r15 = v[PERF_REG_X86_R15];
        r->orig_rax = (unsigned long long) -1;
}
/* How many values ARCH_PERF_REGS_MASK asks for. */
#define ARCH_PERF_NREGS ((size_t) __builtin_popcountll(ARCH_PERF_REGS_MASK))

/* DWARF register numbers 0..16 of the x86_64 psABI: rax rdx rcx rbx rsi rdi
 * rbp rsp r8..r15 rip (the return-address column). */
#define ARCH_DWARF_NREGS 17
#define ARCH_DWARF_SP 7
#define ARCH_DWARF_FP 6
/* Bytes below the stack pointer a function may still use (the psABI's
 * red zone): a register's save slot there, in the first frame, was popped
 * (unwind.c, libdw_note_popped_slots). */
#define ARCH_RED_ZONE 128
/* Which DWARF registers arch_regs_from_syscall knows: the syscall's
 * number and arguments (rax rdx rsi rdi r8 r9 r10), rsp and rip.  Not rcx
 * and r11 (the syscall instruction overwrote them), nor rbx, rbp, r12-r15:
 * only the kernel's entry frame holds those, and /proc does not show it. */
static inline void arch_dwarf_known_at_syscall(bool known[ARCH_DWARF_NREGS])
{
        for (unsigned i = 0; i < ARCH_DWARF_NREGS; i++)
                known[i] = !(i == 2 || i == 3 || i == 6 || i == 11 || (i >= 12 && i <= 15));
}
static inline void arch_regs_to_dwarf(const arch_regs *r, uint64_t out[ARCH_DWARF_NREGS])
{
        out[0] = r->rax;  out[1] = r->rdx;  out[2] = r->rcx;  out[3] = r->rbx;
        out[4] = r->rsi;  out[5] = r->rdi;  out[6] = r->rbp;  out[7] = r->rsp;
        out[8] = r->r8;   out[9] = r->r9;   out[10] = r->r10; out[11] = r->r11;
        out[12] = r->r12; out[13] = r->r13; out[14] = r->r14; out[15] = r->r15;
        out[16] = r->rip;
}

/* The calling thread's thread pointer (the x86_64 TLS ABI keeps it at
 * %fs:0); aarch64: tpidr_el0. */
static inline void *arch_thread_pointer(void)
{
        void *tp;
        __asm__ ("mov %%fs:0, %0" : "=r" (tp));
        return tp;
}

/* A system call made without libc: it returns the kernel's result (a
 * negative errno on failure) and writes no errno.  Always inlined: a call
 * of its own would have a stack protector of its own.  For a helper process
 * that shares leakscan's memory and thread pointer (exit/helper.c), where
 * libc's errno is another thread's.  aarch64: "svc #0", the number in x8,
 * the arguments in x0..x5, the result in x0. */
__attribute__((always_inline)) static inline long arch_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
        register long r10 __asm__("r10") = a4;
        register long r8 __asm__("r8") = a5;
        register long r9 __asm__("r9") = a6;
        long ret;
        __asm__ volatile ("syscall"
                          : "=a" (ret)
                          : "a" (nr), "D" (a1), "S" (a2), "d" (a3), "r" (r10), "r" (r8), "r" (r9)
                          : "rcx", "r11", "memory");
        return ret;
}

#endif

/* ---- The exit trap's seccomp filter (exit/seccomp.c) ----
 * A filter sees every ABI the machine can run: on x86_64 the native one,
 * x32 (native audit arch, syscall numbers with bit 30 set) and i386.  Each
 * row names the calls the trap watches by that ABI's own numbers; -1: the
 * ABI has no such call, or leakscan does not watch it there. */
#ifndef LEAKSCAN_ARCH_SECCOMP_H
#define LEAKSCAN_ARCH_SECCOMP_H
#include <linux/audit.h>

struct arch_seccomp_abi {
        const char *name;
        uint32_t audit_arch;
        uint32_t nr_bit;        /* or'ed into every number of this ABI */
        int exit_group, exit, clone, clone3, prctl, seccomp;
};

#define ARCH_X32_SYSCALL_BIT 0x40000000u
/* Native first: the supervisor decodes clone's arguments for it only. */
static const struct arch_seccomp_abi arch_seccomp_abis[] = {
        { "x86_64", AUDIT_ARCH_X86_64, 0, 231, 60, 56, 435, 157, 317 },
        { "x32", AUDIT_ARCH_X86_64, ARCH_X32_SYSCALL_BIT, 231, 60, -1, -1, 157, 317 },
        { "i386", AUDIT_ARCH_I386, 0, 252, 1, -1, -1, 172, 354 },
};
#define ARCH_SECCOMP_NATIVE (&arch_seccomp_abis[0])

/* struct clone_args (clone3): flags pidfd child_tid parent_tid exit_signal
 * stack stack_size tls, each 64 bits on every ABI. */
#define ARCH_CLONE_ARGS_TLS_OFFSET 56
/* clone(flags, stack, parent_tid, child_tid, tls) on x86_64: the argument
 * that holds the new thread's TLS. */
#define ARCH_CLONE_TLS_ARG 4

/* Sets a stopped thread's registers to make syscall nr(arg0) at insn (the
 * address of a syscall instruction) when it resumes; orig_rax -1 keeps the
 * kernel from restarting the call it was stopped in. */
static inline bool arch_is_syscall_insn(const uint8_t insn[ARCH_SYSCALL_INSN_LEN])
{
        return insn[0] == 0x0f && insn[1] == 0x05;
}

static inline void arch_regs_set_syscall(arch_regs *r, uint64_t insn, int nr, uint64_t arg0)
{
        r->orig_rax = (unsigned long long) -1;
        r->rax = (unsigned long long) nr;
        r->rdi = arg0;
        r->rip = insn;
}
#endif

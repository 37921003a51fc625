/* Creator stacks: a thread about to create a thread waits in its clone
 * while its stack is copied, kept under the new thread's TLS pointer (which
 * clone is given) so that the snapshot can say who created each thread.  An
 * open-addressing index keeps the lookup constant however many threads the
 * program made.
 *
 * A Python program's creator stack is mostly CPython's eval loop: the
 * Python frames that say which code (which test) started the thread are
 * on the interpreter's heap, and gone by the time the program exits.  They
 * are read while the creator is held, through a reader opened once per
 * process (only a process whose maps show a python module pays for it),
 * and kept as copied names, files and lines: the code objects behind them
 * may be freed before the judging. */
#include "exit/exit.h"

/* ---- creator stacks ---- */

static size_t creator_slot(pid_t tgid, uint64_t tls, size_t size)
{
        uint64_t h = (tls ^ (uint64_t) (uint32_t) tgid << 40) * 0x9e3779b97f4a7c15ull;
        return (size_t) (h >> 32) & (size - 1);
}

/* The slot of (tgid, tls) in the index: its record's, or the empty one
 * where it would go. */
static size_t *creator_probe(size_t *index, size_t size, const struct creator_record *records, pid_t tgid,
                             uint64_t tls)
{
        size_t h = creator_slot(tgid, tls, size);
        while (index[h] && (records[index[h] - 1].tls != tls || records[index[h] - 1].tgid != tgid))
                h = (h + 1) & (size - 1);
        return &index[h];
}

const struct python_stack *sv_creator_python(void *userdata, const struct thread_capture *creator)
{
        (void) userdata;
        const struct creator_record *rec = (const struct creator_record *)
                ((const char *) creator - offsetof(struct creator_record, creator));
        return rec->python;
}

void sv_creators_free(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_creators; i++) {
                free(sv->creators[i].creator.stack);
                python_stack_free(sv->creators[i].python);
        }
        free(sv->creators);
        free(sv->creator_index);
        for (size_t i = 0; i < sv->n_pythons; i++) {
                python_snapshot_free(sv->pythons[i].py);
                if (sv->pythons[i].pidfd >= 0)
                        close(sv->pythons[i].pidfd);
        }
        free(sv->pythons);
}

/* Forgets everything kept about process tgid: its creator records, its
 * interpreter reader and its clone sites.  Called once it was judged
 * (nothing reads them after) and when it is found ended: under
 * --follow-forks the kernel gives its pid again within a long run, and a
 * later process with that pid must not be read through the earlier one's
 * interpreter layout or shown its creator stacks. */
void sv_forget_process(struct supervisor *sv, pid_t tgid)
{
        size_t kept = 0;
        for (size_t i = 0; i < sv->n_creators; i++) {
                if (sv->creators[i].tgid == tgid) {
                        free(sv->creators[i].creator.stack);
                        python_stack_free(sv->creators[i].python);
                } else {
                        sv->creators[kept++] = sv->creators[i];
                }
        }
        if (kept != sv->n_creators) {
                sv->n_creators = kept;
                memset(sv->creator_index, 0, sv->creator_index_size * sizeof *sv->creator_index);
                for (size_t i = 0; i < kept; i++)
                        *creator_probe(sv->creator_index, sv->creator_index_size, sv->creators,
                                       sv->creators[i].tgid, sv->creators[i].tls) = i + 1;
        }
        for (size_t i = 0; i < sv->n_pythons; i++)
                if (sv->pythons[i].tgid == tgid) {
                        python_snapshot_free(sv->pythons[i].py);
                        if (sv->pythons[i].pidfd >= 0)
                                close(sv->pythons[i].pidfd);
                        sv->pythons[i] = sv->pythons[--sv->n_pythons];
                        break;
                }
        clone_sites_forget(&sv->clone_sites, tgid);
}

/* Forgets what was kept of processes that ended without an exit_group
 * (killed: a test suite's servers ended by SIGTERM), so were never judged.
 * Each one's Python reader entry (made on its first thread creation) holds
 * a pidfd, for any process but the main one, whose pid is not given again
 * before we reap it.  On a creation from tgid: when tgid has an entry, an
 * ended one is an earlier process's, given the pid again; when it has
 * none, tgid is new, and every entry is looked at in one poll, so that a
 * suite of thousands does not keep a descriptor, records and stacks per
 * killed process to the end of the run. */
static void sv_forget_ended(struct supervisor *sv, pid_t tgid)
{
        for (size_t i = 0; i < sv->n_pythons; i++)
                if (sv->pythons[i].tgid == tgid) {
                        struct pollfd ended = { sv->pythons[i].pidfd, POLLIN, 0 };
                        if (ended.fd >= 0 && poll(&ended, 1, 0) > 0)
                                sv_forget_process(sv, tgid);
                        return;
                }
        size_t n = sv->n_pythons;
        _cleanup_free_ struct pollfd *pfds = n ? calloc(n, sizeof *pfds) : NULL;
        _cleanup_free_ pid_t *ended = n ? calloc(n, sizeof *ended) : NULL;
        if (!pfds || !ended)
                return;
        for (size_t i = 0; i < n; i++)
                pfds[i] = (struct pollfd) { sv->pythons[i].pidfd, POLLIN, 0 };
        if (poll(pfds, n, 0) <= 0)
                return;
        /* forgetting moves entries: the ended are named first */
        size_t n_ended = 0;
        for (size_t i = 0; i < n; i++)
                if (pfds[i].fd >= 0 && (pfds[i].revents & POLLIN))
                        ended[n_ended++] = sv->pythons[i].tgid;
        for (size_t i = 0; i < n_ended; i++)
                sv_forget_process(sv, ended[i]);
}

/* The interpreter of process tgid, or NULL: looked up on its first thread
 * creation.  A process without a python module in its maps costs one read
 * of them; one with, a module list built once.  A creation from a syscall
 * instruction the process has not used before (ip) reads them again: a
 * process that execs keeps its pid, and its new image (a Python
 * interpreter after a C program that made threads) creates threads from
 * another address.  A few such addresses are remembered per process
 * (glibc has two: clone3 and its clone fallback). */
static struct python_snapshot *sv_python_of(struct supervisor *sv, pid_t tgid, uint64_t ip)
{
        for (size_t i = 0; i < sv->n_pythons; i++) {
                struct sv_python *e = &sv->pythons[i];
                if (e->tgid != tgid)
                        continue;
                for (unsigned k = 0; k < e->n_ips; k++)
                        if (e->ips[k] == ip)
                                return e->py;
                if (e->n_ips == ARRAY_SIZE(e->ips))
                        return e->py;
                e->ips[e->n_ips++] = ip;
                python_snapshot_free(e->py);
                e->py = NULL;
                (void) python_reader_open_pid(tgid, &e->py);    /* none: no Python frames */
                return e->py;
        }
        struct sv_python *more = realloc(sv->pythons, (sv->n_pythons + 1) * sizeof *more);
        if (!more)
                return NULL;
        sv->pythons = more;
        struct sv_python *e = &sv->pythons[sv->n_pythons++];
        *e = (struct sv_python) {
                .tgid = tgid,
                .pidfd = tgid == sv->main_pid ? -1 : (int) syscall(SYS_pidfd_open, tgid, 0),
                .ips = { ip },
                .n_ips = 1,
        };
        (void) python_reader_open_pid(tgid, &e->py);    /* none: no Python frames */
        return e->py;
}

const struct thread_capture *sv_find_creator(void *userdata, pid_t pid, const struct thread_capture *t)
{
        struct supervisor *sv = userdata;
        if (!sv->creator_index)
                return NULL;
        size_t *slot = creator_probe(sv->creator_index, sv->creator_index_size, sv->creators, pid,
                                     arch_regs_tls(&t->regs));
        return *slot ? &sv->creators[*slot - 1].creator : NULL;
}

/* Keeps c as the creator of the thread (tgid, tls), replacing an older one:
 * glibc reuses a finished thread's stack, and so its TLS, for a new one.
 * Records are found through a hash index: a program that keeps thousands
 * of threads made a linear scan per creation quadratic. */
static int sv_store_creator(struct supervisor *sv, pid_t tgid, uint64_t tls, struct thread_capture *c,
                            struct python_stack *python)
{
        if ((sv->n_creators + 1) * 2 > sv->creator_index_size) {
                size_t size = sv->creator_index_size ? sv->creator_index_size * 2 : 128;
                size_t *index = calloc(size, sizeof *index);
                if (!index)
                        return -ENOMEM;
                for (size_t i = 0; i < sv->n_creators; i++)
                        *creator_probe(index, size, sv->creators, sv->creators[i].tgid, sv->creators[i].tls) = i + 1;
                free(sv->creator_index);
                sv->creator_index = index;
                sv->creator_index_size = size;
        }
        size_t *slot = creator_probe(sv->creator_index, sv->creator_index_size, sv->creators, tgid, tls);
        if (*slot) {
                free(sv->creators[*slot - 1].creator.stack);
                python_stack_free(sv->creators[*slot - 1].python);
                sv->creators[*slot - 1].creator = *c;
                sv->creators[*slot - 1].python = python;
                return 0;
        }
        if (grow_array(&sv->creators, &sv->cap_creators, sv->n_creators + 1, sizeof *sv->creators) < 0)
                return -ENOMEM;
        sv->creators[sv->n_creators++] = (struct creator_record) { tgid, tls, *c, python };
        *slot = sv->n_creators;
        return 0;
}

/* The process thread tid belongs to: 0 with *ret_tgid, -ESRCH when the
 * thread is gone, or another negative errno when leakscan itself could not
 * read /proc (out of descriptors, EMFILE or ENFILE, or of memory): a failure
 * of ours, which must never pass for a thread that is gone, or its process
 * would be let go unjudged. */
int tid_tgid(pid_t tid, pid_t *ret_tgid)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        long tgid = 0;
        snprintf(path, sizeof path, "/proc/%d/status", (int) tid);
        ssize_t n = read_full_file(path, &text);
        if (n < 0)
                return n == -ENOENT ? -ESRCH : (int) n;
        /* a thread that ended between the open and the read shows nothing */
        if (procfs_parse_status_field(text, "Tgid", &tgid) < 0 || tgid <= 0)
                return -ESRCH;
        *ret_tgid = (pid_t) tgid;
        return 0;
}

/* Reads n bytes at addr of thread tid: from the stack copy c when it holds
 * them (struct clone_args lives in pthread_create's frame), else from the
 * process.  Returns true on success. */
static bool read_creator_memory(pid_t tid, const struct thread_capture *c, uint64_t addr, void *buf, size_t n)
{
        if (c->stack && addr >= c->stack_addr && addr - c->stack_addr <= c->stack_len &&
            c->stack_len - (addr - c->stack_addr) >= n) {
                memcpy(buf, c->stack + (addr - c->stack_addr), n);
                return true;
        }
        struct iovec local = { buf, n };
        struct iovec remote = { (void *) (uintptr_t) addr, n };
        return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t) n;
}

/* The clone site (see clonesite.h) of notification n from process tgid:
 * NULL for clone, whose arguments point to nothing on the stack, and when
 * LEAKSCAN_CREATOR_SP=proc (a diagnostic) asks for /proc alone.  Owned by
 * sv. */
static struct clone_site *sv_clone_site(struct supervisor *sv, pid_t tgid, const struct seccomp_notif *n)
{
        if (sv->creator_sp_mode == 0) {
                const char *mode = getenv("LEAKSCAN_CREATOR_SP");
                sv->creator_sp_mode = mode && strcmp(mode, "proc") == 0 ? 2 : 1;
        }
        if (sv->creator_sp_mode != 1 || sv_call_of(&n->data) != SV_CALL_CLONE3)
                return NULL;
        return clone_sites_get(&sv->clone_sites, tgid, n->data.instruction_pointer);
}

/* Copies the stack of thread n->pid of process tgid, waiting in the clone
 * of notification n.  When its site (may be NULL) knows the stack pointer,
 * from there, kept when the copy bears it out; else from the stack pointer
 * /proc shows, which waits until the thread is off its CPU, and
 * *ret_from_proc says so (the site may learn from that copy).  Returns 0
 * with *ret filled (ret->stack owned by the caller), or a negative errno. */
static int sv_capture_creator(struct supervisor *sv, pid_t tgid, const struct seccomp_notif *n,
                              const struct clone_site *site, struct thread_capture *ret, bool *ret_from_proc)
{
        pid_t tid = (pid_t) n->pid;
        size_t window = sv->opts->creator_window;
        uint64_t sp;
        if (site && clone_site_derive_sp(site, n->data.args[0], &sp)) {
                uint64_t args[6];
                for (size_t i = 0; i < 6; i++)
                        args[i] = n->data.args[i];
                struct thread_capture c;
                int r = capture_syscall_at(tid, n->data.nr, args, sp, n->data.instruction_pointer, window, &c);
                if (r < 0)
                        return r;
                if (clone_site_verify(site, c.stack, c.stack_len, 8 * sizeof(uint64_t))) {
                        *ret = c;
                        *ret_from_proc = false;
                        return 0;
                }
                free(c.stack);
        }

        /* The notification reaches us before the thread has gone to sleep
         * (/proc says "running" until it has): a few yields let it, and
         * where they do not (the receiver, answering at once, may run on
         * another CPU while the thread is still on its way to sleep), short
         * naps, up to about 2 ms. */
        struct thread_capture c;
        int r;
        for (int tries = 0; (r = capture_blocked_thread(tgid, tid, window, &c)) == -EAGAIN && tries < 200; tries++) {
                if (tries < 3)
                        sched_yield();
                else
                        nanosleep(&(struct timespec) { 0, 10 * 1000 }, NULL);
        }
        if (r < 0)
                return r;
        *ret = c;
        *ret_from_proc = true;
        return 0;
}

/* The process of thread tid, which waits in a clone: 0 when it is gone or,
 * without --follow-forks, when it is not the program's (only the program's
 * own threads count).  The program's own are told by a lookup in its
 * /proc/PID/task, which finds no other; the derived stack pointer reads the
 * thread's memory without /proc, so this must be asked first.  Also 0 when
 * leakscan could not read /proc (out of descriptors): the thread's creator
 * stack is then not kept, as when its copy fails, and the thread is
 * reported without one; its process is judged all the same. */
static pid_t sv_creator_tgid(struct supervisor *sv, pid_t tid)
{
        /* its main thread, until we reap it: its number is not reused */
        if (tid == sv->main_pid && !sv->main_ended)
                return sv->main_pid;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d", (int) sv->main_pid, (int) tid);
        if (faccessat(AT_FDCWD, path, F_OK, 0) == 0)
                return sv->main_pid;
        pid_t tgid;
        return sv->opts->follow_forks && tid_tgid(tid, &tgid) == 0 ? tgid : 0;
}

/* A thread waits in clone or clone3 to create a thread: copy its stack. */
void sv_on_clone(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        pid_t tgid = sv_creator_tgid(sv, tid);
        if (!tgid)
                return;
        sv_forget_ended(sv, tgid);
        struct clone_site *site = sv_clone_site(sv, tgid, n);
        struct thread_capture c;
        bool from_proc;
        if (sv_capture_creator(sv, tgid, n, site, &c, &from_proc) < 0)
                return;
        uint64_t tls = n->data.args[ARCH_CLONE_TLS_ARG];
        if (sv_call_of(&n->data) == SV_CALL_CLONE3) {
                uint64_t args[8];
                if (!read_creator_memory(tid, &c, n->data.args[0], args, sizeof args) ||
                    !(args[0] & CLONE_THREAD)) {
                        free(c.stack);  /* a fork through clone3: no thread */
                        return;
                }
                tls = args[ARCH_CLONE_ARGS_TLS_OFFSET / 8];
                /* only from thread creations: glibc's posix_spawn calls the
                 * same clone3 from a frame of its own */
                if (site && from_proc && c.syscall_nr == (long) n->data.nr &&
                    arch_regs_pc(&c.regs) == n->data.instruction_pointer)
                        clone_site_learn(site, n->data.args[0], c.stack_addr, c.stack, c.stack_len);
        }
        /* glibc's clone and clone3 wrappers end their unwind information
         * before the syscall (the child could not use it) and push nothing:
         * the return address into pthread_create is on top of the stack. */
        uint64_t ret_addr;
        if (c.stack_len >= sizeof ret_addr) {
                memcpy(&ret_addr, c.stack, sizeof ret_addr);
                arch_regs_return_to(&c.regs, ret_addr);
        }
        /* its Python frames, while it is held (out of memory: none) */
        struct python_stack *python = NULL;
        struct python_snapshot *py = sv_python_of(sv, tgid, n->data.instruction_pointer);
        if (py)
                (void) python_stack_read(py, tid, &python);
        /* The notification must still be pending, or the TID we read /proc
         * for may already name another thread. */
        if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) < 0 ||
            sv_store_creator(sv, tgid, tls, &c, python) < 0) {
                free(c.stack);
                python_stack_free(python);
        }
}

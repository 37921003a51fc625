/* Module reporting for libdw; see modules.h. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <elfutils/libdwelf.h>

#include "capturer.h"
#include "modules.h"
#include "sandbox.h"
#include "util.h"

#define DEBUGINFO_ROOT "/usr/lib/debug"

struct module_file {
        pid_t pid;
        char *path;             /* as in maps, " (deleted)" stripped */
        bool deleted;
        bool vdso;
        uint64_t start, end;    /* the first mapping, for map_files */
        dev_t dev;              /* what the mapping maps, to check that the */
        uint64_t inode;         /* path still names that file */
        void *image;            /* the vdso's bytes, owned */
        const struct module_identity *id;       /* offline: what it was */
        bool has_stat;          /* st: the file opened for libdw (online) */
        struct stat st;
        int file_id_r;          /* modules_file_id's answer, once known (1: not yet) */
        struct module_file_id file_id;
};

static void module_file_free(struct module_file *f)
{
        if (!f)
                return;
        free(f->path);
        free(f->image);
        free(f);
}

static int open_vdso(struct module_file *f, Elf **elfp)
{
        size_t len = (size_t) (f->end - f->start);
        if (f->id || !f->pid) { /* offline: the bytes recorded */
                if (!f->id || !f->id->image || f->id->image_len != len)
                        return -1;
                f->image = malloc(len);
                if (!f->image)
                        return -1;
                memcpy(f->image, f->id->image, len);
                *elfp = elf_memory(f->image, len);
                return -1;
        }
        f->image = malloc(len);
        if (!f->image)
                return -1;
        struct iovec local = { f->image, len };
        struct iovec remote = { (void *) (uintptr_t) f->start, len };
        ssize_t got = capturer_active() ? capturer_read_memory(f->start, f->image, len) :
                      process_vm_readv(f->pid, &local, 1, &remote, 1, 0);
        if (got != (ssize_t) len)
                return -1;
        *elfp = elf_memory(f->image, len);
        return -1;
}

int modules_open_file(int dirfd, const char *path, uint64_t resolve, const struct stat *want)
{
        /* O_PATH opens nothing: no driver's open, no FIFO's reader count,
         * no inotify event; only the inode it names is looked at. */
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = resolve };
        _cleanup_close_ int pfd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (pfd < 0)
                return -errno;
        struct stat st;
        if (fstat(pfd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (want && (st.st_ino != want->st_ino || st.st_dev != want->st_dev))
                return -ESTALE;
        /* Reopened through our own descriptor: the very inode checked,
         * whatever the path names by now. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
        int fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat again;
        if (fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev) {
                close(fd);
                return -ESTALE;
        }
        return fd;
}

/* Offline: the file by its path here, used only when it is the one the
 * snapshot names (its build-id), so that a report never mixes another
 * build's symbols with this process's addresses. */
static int find_elf_offline(struct module_file *f, char **file_name, Elf **elfp)
{
        if (!f->id)
                return -1;
        sandbox_note_module(f->path);
        int fd = f->id->fd >= 0 ? fcntl(f->id->fd, F_DUPFD_CLOEXEC, 3) : modules_open_file(AT_FDCWD, f->path, 0, NULL);
        if (fd < 0)
                return -1;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        const void *id = NULL;
        ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
        if (!elf || (f->id->build_id_len &&
                     (n != (ssize_t) f->id->build_id_len || memcmp(id, f->id->build_id, (size_t) n) != 0))) {
                if (elf)
                        elf_end(elf);
                close(fd);
                return -1;
        }
        *elfp = elf;
        *file_name = strdup(f->path);
        return fd;
}

int modules_open_mapped(pid_t pid, uint64_t start, uint64_t end, const char *file, bool deleted, dev_t dev,
                        uint64_t inode)
{
        char path[PATH_MAX + 64];
        /* The mapping itself first: the kernel hands over the file mapped,
         * whatever the path names now (needs CAP_SYS_ADMIN, or
         * CAP_CHECKPOINT_RESTORE since Linux 5.9).  Only checked to be a
         * regular file: on overlayfs, maps names the layer's inode while
         * the file opened is the overlay's. */
        snprintf(path, sizeof path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int) pid, start, end);
        int fd = modules_open_file(AT_FDCWD, path, 0, NULL);
        if (fd < 0 && !deleted) {
                /* Else the path inside the target's root, resolved there
                 * (an absolute symlink in a container stays in it, no
                 * magic link is followed), checked to be the inode mapped. */
                snprintf(path, sizeof path, "/proc/%d/root", (int) pid);
                _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                struct stat want = { .st_dev = dev, .st_ino = (ino_t) inode };
                if (root >= 0)
                        fd = modules_open_file(root, file, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, &want);
        }
        return fd;
}

static int modules_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
                            Dwarf_Addr base, char **file_name, Elf **elfp)
{
        (void) mod; (void) name; (void) base;
        struct module_file *f = *userdata;

        *elfp = NULL;
        if (f->vdso)
                return open_vdso(f, elfp);
        if (f->id || !f->pid)
                return find_elf_offline(f, file_name, elfp);

        /* the analyser of a -p run opens nothing: its capturer does,
         * for a mapping it checks is one (capturer.h) */
        sandbox_note_module(f->path);
        bool captured = capturer_active();
        int fd = captured ? capturer_open_mapping(f->start, f->end) :
                 modules_open_mapped(f->pid, f->start, f->end, f->path, f->deleted, f->dev, f->inode);
        if (fd < 0)
                return -1;
        /* what identifies these bytes for the caches kept across the
         * processes of a run (modules_file_id): the file the capturer
         * opened for us, which its supervisor checks again before it
         * keeps what we looked up there (procwire.h) */
        f->has_stat = fstat(fd, &f->st) == 0;
        *file_name = strdup(f->path);
        return fd;
}

int modules_build_id_path(const uint8_t *id, size_t len, char *buf, size_t size)
{
        if (len < 2 || len > 64 || size < strlen(DEBUGINFO_ROOT) + 2 * len + 32)
                return -EINVAL;
        int n = snprintf(buf, size, "%s/.build-id/%02x/", DEBUGINFO_ROOT, id[0]);
        for (size_t i = 1; i < len; i++)
                n += snprintf(buf + n, size - (size_t) n, "%02x", id[i]);
        snprintf(buf + n, size - (size_t) n, ".debug");
        return 0;
}

/* Separate debug info by build-id only, from the system's tree: never a
 * path the target names.  libdw's standard callback joins the module's
 * .gnu_debuglink name (the target's to choose: "../../../tmp/fifo") to
 * /usr/lib/debug and to the module's directory and opens it as we are
 * (root): a FIFO hangs us, a device node opens (/dev/watchdog arms the
 * watchdog).  The dwz file of .gnu_debugaltlink is asked for through this
 * callback too, once the module's DWARF is loaded: then by the build-id
 * that link carries, never by its name. */
static int modules_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                                  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                                  char **debuginfo_file_name)
{
        (void) modname; (void) base; (void) file_name;
        const unsigned char *id = NULL;
        GElf_Addr id_vaddr;
        int len = -1;

        /* The module's own request passes its main file's debug link
         * (or none); anything else is the alt link of its loaded DWARF. */
        GElf_Addr bias;
        Elf *elf = dwfl_module_getelf(mod, &bias);
        GElf_Word crc = 0;
        const char *link = elf ? dwelf_elf_gnu_debuglink(elf, &crc) : NULL;
        bool main_request = !debuglink_file || (link && streq(link, debuglink_file) && crc == debuglink_crc);
        if (main_request) {
                len = dwfl_module_build_id(mod, &id, &id_vaddr);
        } else {
                Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
                const char *altname;
                const void *altid;
                ssize_t n = dw ? dwelf_dwarf_gnu_debugaltlink(dw, &altname, &altid) : -1;
                if (n > 0) {
                        len = (int) n;
                        id = altid;
                }
        }
        char path[PATH_MAX];
        if (len <= 0 || modules_build_id_path(id, (size_t) len, path, sizeof path) < 0)
                return -1;
        const struct module_file *f = *userdata;
        if (main_request && f && f->id && f->id->debug_fd >= 0) {
                /* opened ahead, by the same build-id (snapshot_open_modules) */
                int fd = fcntl(f->id->debug_fd, F_DUPFD_CLOEXEC, 3);
                if (fd >= 0)
                        *debuginfo_file_name = strdup(path);
                return fd;
        }
        /* the tree is the system's (root's): its .build-id links are followed */
        int fd = capturer_active() ? capturer_open_debuginfo(id, (size_t) len) : modules_open_file(AT_FDCWD, path, 0, NULL);
        if (fd < 0)
                return -1;
        *debuginfo_file_name = strdup(path);
        return fd;
}

static char *debuginfo_path = (char *) DEBUGINFO_ROOT;

static const Dwfl_Callbacks modules_callbacks = {
        .find_elf = modules_find_elf,
        .find_debuginfo = modules_find_debuginfo,
        .debuginfo_path = &debuginfo_path,
};

bool modules_path_is_system(const char *path)
{
        if (!path)
                return false;
        if (path[0] == '[')
                return true;    /* [vdso], [vsyscall] */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        static const char *const prefixes[] = {
                "libc.so", "libc-", "libpthread", "libstdc++", "libgcc_s",
                "ld-linux", "ld64.so", "libm.so", "libdl.so", "librt.so",
                "libc++.so", "libc++abi", "libunwind.so",
        };
        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
                if (startswith(base, prefixes[i]))
                        return true;
        return false;
}

static bool map_is_elf_candidate(const struct map_entry *m)
{
        return m->path[0] == '/' || streq(m->path, "[vdso]");
}

/* Reports the run of mappings [i, j) that belong to one file. */
static int report_module(struct modules *mods, size_t i, size_t j)
{
        const struct map_entry *first = &mods->maps[i];
        bool exec = false;
        for (size_t k = i; k < j; k++)
                if (mods->maps[k].perms[2] == 'x')
                        exec = true;
        if (!exec)
                return 0;       /* data files mapped in (locales, fonts): no code */

        struct module_file *f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->pid = mods->pid;
        f->file_id_r = 1;
        f->start = first->start;
        f->end = first->end;
        f->dev = makedev(first->dev_major, first->dev_minor);
        f->inode = first->inode;
        f->vdso = streq(first->path, "[vdso]");
        for (size_t k = 0; k < mods->n_ids; k++)
                if (mods->ids[k].start == first->start && mods->ids[k].end == first->end)
                        f->id = &mods->ids[k];
        f->path = strdup(first->path);
        if (!f->path) {
                module_file_free(f);
                return -ENOMEM;
        }
        char *del = strstr(f->path, " (deleted)");
        if (del && del[10] == 0) {
                *del = 0;
                f->deleted = true;
        }

        struct module_file **nf = realloc(mods->files, (mods->n_files + 1) * sizeof *nf);
        if (!nf) {
                module_file_free(f);
                return -ENOMEM;
        }
        mods->files = nf;
        mods->files[mods->n_files++] = f;

        /* The module spans from its first mapping (file offset 0, where the
         * ELF header lives) to its last; libdw derives the load bias from the
         * first PT_LOAD. */
        /* .bss past the file's last page is an anonymous mapping right
         * after it: part of the module, for naming a global lock there */
        uint64_t end = mods->maps[j - 1].end;
        if (j < mods->n_maps && mods->maps[j].path[0] == 0 && mods->maps[j].start == end &&
            mods->maps[j].perms[1] == 'w')
                end = mods->maps[j].end;
        Dwfl_Module *mod = dwfl_report_module(mods->dwfl, f->path, first->start - first->offset, end);
        if (!mod)
                return 0;       /* overlapping or odd mapping: skip it, not fatal */
        void **userdata;
        dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
        *userdata = f;
        return 0;
}

static int modules_new_from(pid_t pid, const char *maps_text, const struct module_identity *ids, size_t n_ids,
                            struct modules **ret)
{
        struct modules *mods = calloc(1, sizeof *mods);
        if (!mods)
                return -ENOMEM;
        mods->pid = pid;
        mods->ids = ids;
        mods->n_ids = n_ids;
        int r = procfs_parse_maps(maps_text ? maps_text : "", &mods->maps, &mods->n_maps);
        if (r < 0)
                goto fail;
        mods->dwfl = dwfl_begin(&modules_callbacks);
        if (!mods->dwfl) {
                r = -ENOMEM;
                goto fail;
        }
        dwfl_report_begin(mods->dwfl);
        for (size_t i = 0; i < mods->n_maps; ) {
                size_t j = i + 1;
                if (!map_is_elf_candidate(&mods->maps[i])) {
                        i = j;
                        continue;
                }
                while (j < mods->n_maps && mods->maps[j].inode == mods->maps[i].inode &&
                       streq(mods->maps[j].path, mods->maps[i].path))
                        j++;
                r = report_module(mods, i, j);
                if (r < 0)
                        goto fail;
                i = j;
        }
        dwfl_report_end(mods->dwfl, NULL, NULL);
        *ret = mods;
        return 0;
fail:
        modules_free(mods);
        return r;
}

int modules_new(pid_t pid, const char *maps_text, struct modules **ret)
{
        return modules_new_from(pid, maps_text, NULL, 0, ret);
}

int modules_new_offline(const char *maps_text, const struct module_identity *ids, size_t n,
                        struct modules **ret)
{
        return modules_new_from(0, maps_text, ids, n, ret);
}

void module_identities_free(struct module_identity *ids, size_t n)
{
        for (size_t i = 0; ids && i < n; i++) {
                free(ids[i].path);
                free(ids[i].image);
                if (ids[i].fd >= 0)
                        close(ids[i].fd);
                if (ids[i].debug_fd >= 0)
                        close(ids[i].debug_fd);
        }
        free(ids);
}

struct identities {
        struct module_identity *ids;
        size_t n;
        int r;
};

static int identity_of(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
        (void) name; (void) start;
        struct identities *out = arg;
        const struct module_file *f = *userdata;
        if (!f)
                return DWARF_CB_OK;
        struct module_identity *id = &out->ids[out->n];
        *id = (struct module_identity) { .start = f->start, .end = f->end, .dev = f->dev, .inode = f->inode,
                                         .fd = -1, .debug_fd = -1 };
        id->path = strdup(f->path);
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len > 0 && (size_t) len <= sizeof id->build_id) {
                memcpy(id->build_id, bits, (size_t) len);
                id->build_id_len = (size_t) len;
        }
        if (f->vdso && f->image) {
                id->image_len = (size_t) (f->end - f->start);
                id->image = malloc(id->image_len);
                if (id->image)
                        memcpy(id->image, f->image, id->image_len);
        }
        if (!id->path || (f->vdso && f->image && !id->image)) {
                out->r = -ENOMEM;
                return DWARF_CB_ABORT;
        }
        out->n++;
        return DWARF_CB_OK;
}

int modules_identities(struct modules *mods, struct module_identity **ret, size_t *ret_n)
{
        struct identities out = { calloc(mods->n_files + 1, sizeof *out.ids), 0, 0 };
        if (!out.ids)
                return -ENOMEM;
        dwfl_getmodules(mods->dwfl, identity_of, &out, 0);
        if (out.r < 0) {
                module_identities_free(out.ids, out.n + 1);
                return out.r;
        }
        *ret = out.ids;
        *ret_n = out.n;
        return 0;
}

/* A stat's identity fields into id (zeroed by the caller). */
static void file_id_stat(const struct stat *st, struct module_file_stat *id)
{
        id->dev = (uint64_t) st->st_dev;
        id->ino = (uint64_t) st->st_ino;
        id->size = (uint64_t) st->st_size;
        id->mtime_sec = (int64_t) st->st_mtim.tv_sec;
        id->mtime_nsec = (int64_t) st->st_mtim.tv_nsec;
        id->ctime_sec = (int64_t) st->st_ctim.tv_sec;
        id->ctime_nsec = (int64_t) st->st_ctim.tv_nsec;
}

/* Whether elf has a section named name. */
static bool elf_has_section(Elf *elf, const char *name)
{
        size_t shstrndx;
        if (elf_getshdrstrndx(elf, &shstrndx) < 0)
                return false;
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)); ) {
                GElf_Shdr shdr;
                const char *n = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, shstrndx, shdr.sh_name) : NULL;
                if (n && streq(n, name))
                        return true;
        }
        return false;
}

int modules_file_id(Dwfl_Module *mod, struct module_file_id *ret)
{
        void **userdata;
        if (!dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
                return -ENODATA;
        struct module_file *f = *userdata;
        if (f && f->file_id_r <= 0) {
                if (f->file_id_r == 0)
                        *ret = f->file_id;
                return f->file_id_r;
        }
        GElf_Addr bias;
        Elf *elf = f && !f->vdso && !f->id && f->pid ? dwfl_module_getelf(mod, &bias) : NULL;
        if (!elf || !f->has_stat) {
                if (f)
                        f->file_id_r = -ENODATA;
                return -ENODATA;
        }
        struct module_file_id id;
        memset(&id, 0, sizeof id);      /* compared whole, padding too */
        file_id_stat(&f->st, &id.main);
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len > (int) sizeof id.build_id) {
                f->file_id_r = -ENODATA;
                return -ENODATA;
        }
        if (len > 0) {
                memcpy(id.build_id, bits, (size_t) len);
                id.build_id_len = (uint32_t) len;
                /* the file modules_find_debuginfo would open, as it is
                 * now: its symbol table is the one libdw prefers */
                char path[PATH_MAX];
                struct stat st;
                if (modules_build_id_path(bits, (size_t) len, path, sizeof path) == 0 && stat(path, &st) == 0 &&
                    S_ISREG(st.st_mode)) {
                        id.has_debug = 1;
                        file_id_stat(&st, &id.debug);
                }
        }
        id.alt_link = elf_has_section(elf, ".gnu_debugaltlink");
        f->file_id = id;
        f->file_id_r = 0;
        *ret = id;
        return 0;
}

int modules_mapped_file_stats(pid_t pid, const char *maps_text, struct module_file_stat **ret, size_t *ret_n)
{
        struct map_entry *maps = NULL;
        size_t n_maps = 0;
        int r = procfs_parse_maps(maps_text ? maps_text : "", &maps, &n_maps);
        if (r < 0)
                return r;
        struct module_file_stat *stats = NULL;
        size_t n = 0;
        for (size_t i = 0; i < n_maps; i++) {
                const struct map_entry *m = &maps[i];
                bool seen = m->path[0] != '/' || m->inode == 0;
                /* a file maps several times: open it once */
                for (size_t k = 0; k < i && !seen; k++)
                        seen = maps[k].inode == m->inode && maps[k].dev_major == m->dev_major &&
                               maps[k].dev_minor == m->dev_minor && streq(maps[k].path, m->path);
                if (seen)
                        continue;
                _cleanup_free_ char *file = strdup(m->path);
                if (!file) {
                        r = -ENOMEM;
                        break;
                }
                size_t fl = strlen(file), dl = strlen(" (deleted)");
                bool deleted = fl > dl && streq(file + fl - dl, " (deleted)");
                if (deleted)
                        file[fl - dl] = 0;
                _cleanup_close_ int fd = modules_open_mapped(pid, m->start, m->end, file, deleted,
                                                             makedev(m->dev_major, m->dev_minor), m->inode);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        continue;
                struct module_file_stat *ns = realloc(stats, (n + 1) * sizeof *ns);
                if (!ns) {
                        r = -ENOMEM;
                        break;
                }
                stats = ns;
                memset(&stats[n], 0, sizeof stats[n]);
                file_id_stat(&st, &stats[n++]);
        }
        map_entries_free(maps, n_maps);
        if (r < 0) {
                free(stats);
                return r;
        }
        *ret = stats;
        *ret_n = n;
        return 0;
}

void modules_free(struct modules *mods)
{
        if (!mods)
                return;
        if (mods->dwfl)
                dwfl_end(mods->dwfl);
        for (size_t i = 0; i < mods->n_files; i++)
                module_file_free(mods->files[i]);
        free(mods->files);
        map_entries_free(mods->maps, mods->n_maps);
        free(mods);
}

bool modules_read_file_word(struct modules *mods, uint64_t addr, uint64_t *ret)
{
        Dwfl_Module *mod = dwfl_addrmodule(mods->dwfl, addr);
        if (!mod)
                return false;
        GElf_Addr bias;
        Elf *elf = dwfl_module_getelf(mod, &bias);
        if (!elf)
                return false;
        size_t nphdr;
        if (elf_getphdrnum(elf, &nphdr) != 0)
                return false;
        uint64_t vaddr = addr - bias;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr mem, *ph = gelf_getphdr(elf, (int) i, &mem);
                if (!ph || ph->p_type != PT_LOAD)
                        continue;
                if (vaddr < ph->p_vaddr || vaddr + 8 > ph->p_vaddr + ph->p_filesz)
                        continue;
                if (ph->p_flags & PF_W)
                        return false;   /* writable data changes at run time */
                Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t) (ph->p_offset + (vaddr - ph->p_vaddr)),
                                                   8, ELF_T_BYTE);
                if (!d || !d->d_buf)
                        return false;
                memcpy(ret, d->d_buf, 8);
                return true;
        }
        return false;
}

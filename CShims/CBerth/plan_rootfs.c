// Stage 2's filesystem steps: mounts, devices, symlinks, sysctls, pivot_root, masked and
// read-only paths. Targets are resolved under the rootfs with openat2(RESOLVE_IN_ROOT) and
// mounted onto "/proc/self/fd/N", so a symlink in the image can never point a mount outside.
#include "internal.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef ST_RELATIME
#define ST_RELATIME 4096
#endif

static int open_in_root(int root_fd, const char *path) {
    return berth_openat2(root_fd, path, O_PATH | O_CLOEXEC, 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

// One pass of make_in_root over buf. Returns an fd, -1 with errno, or -2 after rewriting buf
// because a component is a dangling symlink (its target must be created instead).
static int make_walk(int root_fd, char *buf, size_t size, int file) {
    int parent = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (parent < 0) return -1;
    size_t i = 0;
    for (;;) {
        while (buf[i] == '/') i++;
        if (buf[i] == '\0') break;
        size_t start = i;
        while (buf[i] != '\0' && buf[i] != '/') i++;
        char saved = buf[i];
        buf[i] = '\0';
        int last = 1;
        for (size_t k = i + 1; saved != '\0' && buf[k] != '\0'; k++)
            if (buf[k] != '/') {
                last = 0;
                break;
            }
        int next = open_in_root(root_fd, buf);
        if (next < 0 && errno == ENOENT) {
            const char *name = buf + start;
            int rc;
            if (last && file) {
                rc = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (rc >= 0) close(rc);
            } else {
                rc = mkdirat(parent, name, 0755);
            }
            if (rc < 0 && errno == EEXIST) {
                // Exists yet does not resolve: a dangling symlink. Continue at its target,
                // resolved like the kernel would (relative to its directory, inside the root).
                char link[4096], out[4096];
                ssize_t n = readlinkat(parent, name, link, sizeof link - 1);
                if (n > 0) {
                    link[n] = '\0';
                    berth_buf b;
                    berth_buf_init(&b, out, sizeof out);
                    if (link[0] != '/') {
                        buf[start] = '\0';
                        berth_buf_str(&b, buf);
                        berth_buf_str(&b, "/");
                    }
                    berth_buf_str(&b, link);
                    if (saved != '\0') {
                        berth_buf_str(&b, "/");
                        berth_buf_str(&b, buf + i + 1);
                    }
                    close(parent);
                    if (b.len + 1 >= sizeof out || b.len + 1 > size) {
                        errno = ENAMETOOLONG;
                        return -1;
                    }
                    memcpy(buf, out, b.len + 1);
                    return -2;
                }
                errno = EEXIST;
            }
            if (rc < 0 && errno != EEXIST) {
                int err = errno;
                close(parent);
                errno = err;
                return -1;
            }
            next = open_in_root(root_fd, buf);
        }
        int err = errno;
        close(parent);
        if (next < 0) {
            errno = err;
            return -1;
        }
        parent = next;
        buf[i] = saved;
    }
    return parent;
}

// Splits `path` into its directory (dir, at least "/") and its last component (name).
static int split_path(const char *path, char *dir, size_t dir_size, char *name, size_t name_size) {
    size_t len = berth_strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t slash = len;
    while (slash > 0 && path[slash - 1] != '/') slash--;
    size_t n = len - slash;
    if (n == 0 || n >= name_size || slash + 2 > dir_size) {
        errno = n == 0 ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(name, path + slash, n);
    name[n] = '\0';
    if (berth_streq(name, ".") || berth_streq(name, "..")) {
        errno = EINVAL;
        return -1;
    }
    memcpy(dir, path, slash);
    dir[slash] = '\0';
    if (slash == 0) {
        dir[0] = '/';
        dir[1] = '\0';
    }
    return 0;
}

// The usual case of make_in_root: only the last component is missing. Creates it in its
// resolved parent and opens it; on -1 (more is missing, a dangling symlink, "..", or a real
// error) make_walk takes over and reports what it finds.
static int make_last(int root_fd, const char *path, int file) {
    char dir[4096], name[256];
    if (split_path(path, dir, sizeof dir, name, sizeof name) < 0) return -1;
    int parent = open_in_root(root_fd, dir);
    if (parent < 0) return -1;
    int rc = file ? openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644)
                  : mkdirat(parent, name, 0755);
    int err = errno;
    if (file && rc >= 0) close(rc);
    close(parent);
    if (rc < 0) {
        errno = err;
        return -1;
    }
    return open_in_root(root_fd, path);
}

// Opens `path` under the root, creating missing components: directories (0755), and the last
// one as an empty file when `file` is set. Each component is created with *at() relative to
// its already-resolved parent, so nothing is created outside the root either.
static int make_in_root(int root_fd, const char *path, int file) {
    int fd = open_in_root(root_fd, path);
    if (fd >= 0 || errno != ENOENT) return fd;
    fd = make_last(root_fd, path, file);
    if (fd >= 0) return fd;
    char buf[4096];
    size_t len = berth_strlen(path);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (int hops = 0; hops < 40; hops++) {
        fd = make_walk(root_fd, buf, sizeof buf, file);
        if (fd != -2) return fd;
    }
    errno = ELOOP;
    return -1;
}

// Splits `path` into its (created) parent directory under the root and its last component.
static int parent_in_root(int root_fd, const char *path, char *name, size_t name_size) {
    char dir[4096];
    if (split_path(path, dir, sizeof dir, name, name_size) < 0) return -1;
    return make_in_root(root_fd, dir, 0);
}

// mount(2) onto what `fd` refers to; without a usable /proc (a container without one, after
// pivot_root) fall back to the path, which then resolves inside the new root anyway.
static int mount_on(berth_child *c, const char *source, int fd, const char *path,
                    const char *fstype, unsigned long flags, const void *data) {
    char fdp[32];
    const char *target = path;
    if (c->proc_fd_ok) {
        berth_fd_path(fdp, fd);
        target = fdp;
    }
    return mount(source, target, fstype, flags, data);
}

static unsigned long carried_flags(int fd, unsigned long requested) {
    struct statfs st;
    if (fstatfs(fd, &st) < 0) return 0;
    unsigned long out = 0;
    if (st.f_flags & ST_NOSUID) out |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) out |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
    if (!(requested & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME))) {
        if (st.f_flags & ST_NOATIME) out |= MS_NOATIME;
        if (st.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
        if (st.f_flags & ST_RELATIME) out |= MS_RELATIME;
    }
    return out;
}

// Remounts a bind mount with `flags`. In a user namespace the kernel refuses to drop flags
// locked by the parent namespace (nosuid, nodev, ...), so retry carrying them over.
static int remount_bind(berth_child *c, int fd, const char *path, unsigned long flags,
                        int carry) {
    unsigned long base = MS_BIND | MS_REMOUNT;
    unsigned long extra = carried_flags(fd, flags);
    int rc = mount_on(c, "", fd, path, NULL, base | flags | (carry ? extra : 0), NULL);
    if (rc < 0 && errno == EPERM && !carry)
        rc = mount_on(c, "", fd, path, NULL, base | flags | extra, NULL);
    return rc;
}

static void do_mount(berth_child *c, const berth_mount *m) {
    int fd = make_in_root(c->root_fd, m->target, m->target_is_file);
    if (fd < 0) berth_child_fail(c, errno, m->field, "create mount point ", m->target, NULL);
    if (m->bind) {
        unsigned long f = MS_BIND | (m->bind == 2 ? MS_REC : 0);
        if (mount_on(c, m->source, fd, m->target, NULL, f, NULL) < 0)
            berth_child_fail(c, errno, m->field, "bind mount ", m->source, " on ", m->target,
                             NULL);
        unsigned long rest = m->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
        if (rest != 0) {
            close(fd);  // it points below the new mount
            fd = open_in_root(c->root_fd, m->target);
            if (fd < 0 || remount_bind(c, fd, m->target, rest, 0) < 0)
                berth_child_fail(c, errno, m->field, "remount ", m->target, NULL);
        }
    } else {
        const char *type = m->fstype != NULL ? m->fstype : "";
        if (mount_on(c, m->source != NULL ? m->source : type, fd, m->target, type, m->flags,
                     m->data) < 0)
            berth_child_fail(c, errno, m->field, "mount ", type, " on ", m->target, NULL);
    }
    if (m->propagation != 0) {
        close(fd);
        fd = open_in_root(c->root_fd, m->target);
        if (fd < 0 || mount_on(c, "", fd, m->target, NULL, m->propagation, NULL) < 0)
            berth_child_fail(c, errno, m->field, "set propagation of ", m->target, NULL);
    }
    close(fd);
}

static void make_device(berth_child *c, const berth_device *d) {
    char name[256];
    int dir = parent_in_root(c->root_fd, d->path, name, sizeof name);
    if (dir < 0) berth_child_fail(c, errno, d->field, "create parent of ", d->path, NULL);
    struct stat st;
    int exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    dev_t dev = makedev(d->major, d->minor);
    if (d->bind_from_host) {
        if (exists && !c->host_root && !S_ISREG(st.st_mode)) {
            if (unlinkat(dir, name, 0) < 0)
                berth_child_fail(c, errno, d->field, "replace ", d->path, NULL);
            exists = 0;
        }
        if (!exists && mknodat(dir, name, S_IFREG | 0644, 0) < 0)
            berth_child_fail(c, errno, d->field, "create bind target ", d->path, NULL);
        int fd = open_in_root(c->root_fd, d->path);
        if (fd < 0 || mount_on(c, d->path, fd, d->path, NULL, MS_BIND, NULL) < 0)
            berth_child_fail(c, errno, d->field, "bind mount device ", d->path, NULL);
        close(fd);
    } else {
        int same = exists && (st.st_mode & S_IFMT) == (d->mode & S_IFMT) && st.st_rdev == dev;
        if (exists && c->host_root) {
            // The host's own filesystem: never delete a node there.
            if (!same) berth_child_fail(c, EEXIST, d->field, "create device ", d->path, NULL);
        } else {
            if (exists && unlinkat(dir, name, 0) < 0)
                berth_child_fail(c, errno, d->field, "replace ", d->path, NULL);
            if (mknodat(dir, name, d->mode, dev) < 0)
                berth_child_fail(c, errno, d->field, "create device ", d->path, NULL);
            if (fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
                berth_child_fail(c, errno, d->field, "chown device ", d->path, NULL);
        }
    }
    close(dir);
}

static void make_symlink(berth_child *c, const berth_symlink *s) {
    char name[256];
    int dir = parent_in_root(c->root_fd, s->linkpath, name, sizeof name);
    if (dir < 0) berth_child_fail(c, errno, "symlinks", "create parent of ", s->linkpath, NULL);
    if (symlinkat(s->target, dir, name) < 0) {
        int err = errno;
        char cur[4096];
        ssize_t n = err == EEXIST ? readlinkat(dir, name, cur, sizeof cur - 1) : -1;
        if (n >= 0) cur[n] = '\0';
        if (n < 0 || !berth_streq(cur, s->target))
            berth_child_fail(c, err, "symlinks", "create symlink ", s->linkpath, NULL);
    }
    close(dir);
}

static void write_sysctl(berth_child *c, const berth_sysctl *s) {
    char path[512];
    berth_buf b;
    berth_buf_init(&b, path, sizeof path);
    berth_buf_str(&b, "/proc/sys/");
    size_t start = b.len;
    berth_buf_str(&b, s->key);
    for (size_t i = start; i < b.len; i++)
        if (path[i] == '.') path[i] = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) berth_child_fail(c, errno, s->field, "open ", path, NULL);
    size_t len = berth_strlen(s->value);
    if (BERTH_NOINTR(write(fd, s->value, len)) != (ssize_t)len)
        berth_child_fail(c, errno, s->field, "write ", path, NULL);
    close(fd);
}

void berth_child_prepare_rootfs(berth_child *c) {
    const berth_plan *p = c->plan;
    if (!c->have_mntns) {
        // Without a mount namespace every step below would change the host.
        if (!c->host_root || p->mounts_count || p->devices_count || p->symlinks_count ||
            (p->masked_paths && p->masked_paths[0]) ||
            (p->readonly_paths && p->readonly_paths[0]) || p->rootfs_readonly)
            berth_child_fail(c, EINVAL, "linux.namespaces",
                             "rootfs, mounts and devices need a mount namespace", NULL);
    } else {
        const char *rootfs = c->host_root ? "/" : p->rootfs;
        if (mount("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
            berth_child_fail(c, errno, NULL, "make / a recursive slave", NULL);
        if (!c->host_root && mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
            berth_child_fail(c, errno, "root.path", "bind mount ", rootfs, NULL);
        c->root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->root_fd < 0) berth_child_fail(c, errno, "root.path", "open ", rootfs, NULL);
        c->proc_fd_ok = 1;
        for (size_t i = 0; i < p->mounts_count; i++) {
            if (p->mounts[i].needs_cgroup) berth_child_await_go(c);
            do_mount(c, &p->mounts[i]);
        }
        for (size_t i = 0; i < p->devices_count; i++) make_device(c, &p->devices[i]);
        for (size_t i = 0; i < p->symlinks_count; i++) make_symlink(c, &p->symlinks[i]);
    }
    for (size_t i = 0; i < p->sysctls_count; i++) write_sysctl(c, &p->sysctls[i]);
}

static int proc_is_real(void) {
    struct statfs st;
    return statfs("/proc/self/fd", &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

void berth_child_pivot(berth_child *c) {
    const berth_plan *p = c->plan;
    if (!c->have_mntns) return;
    if (!c->host_root) {
        if (chdir(p->rootfs) < 0) berth_child_fail(c, errno, "root.path", "chdir ", p->rootfs, NULL);
        // pivot_root(".", ".") stacks the old root on the new one; detaching "." then drops it
        // without needing a put_old directory in the image.
        if (syscall(SYS_pivot_root, ".", ".") < 0)
            berth_child_fail(c, errno, "root.path", "pivot_root to ", p->rootfs, NULL);
        if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
            berth_child_fail(c, errno, NULL, "make old root a slave", NULL);
        if (umount2(".", MNT_DETACH) < 0)
            berth_child_fail(c, errno, NULL, "detach old root", NULL);
        if (chdir("/") < 0) berth_child_fail(c, errno, NULL, "chdir /", NULL);
        close(c->root_fd);
        c->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->root_fd < 0) berth_child_fail(c, errno, NULL, "open new root", NULL);
    }
    if (p->rootfs_propagation != 0 && mount("", "/", NULL, p->rootfs_propagation, NULL) < 0)
        berth_child_fail(c, errno, "linux.rootfsPropagation", "set propagation of /", NULL);
    // An image can ship a fake /proc/self/fd directory; only trust a real procfs.
    c->proc_fd_ok = proc_is_real();
}

void berth_child_mask_paths(berth_child *c) {
    const berth_plan *p = c->plan;
    if (!c->have_mntns) return;
    for (const char *const *m = p->masked_paths; m != NULL && *m != NULL; m++) {
        int fd = open_in_root(c->root_fd, *m);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            berth_child_fail(c, errno, "linux.maskedPaths", "open ", *m, NULL);
        }
        struct stat st;
        if (fstat(fd, &st) < 0) berth_child_fail(c, errno, "linux.maskedPaths", "stat ", *m, NULL);
        int rc = S_ISDIR(st.st_mode)
                     ? mount_on(c, "tmpfs", fd, *m, "tmpfs", MS_RDONLY, NULL)
                     : mount_on(c, "/dev/null", fd, *m, NULL, MS_BIND, NULL);
        if (rc < 0) berth_child_fail(c, errno, "linux.maskedPaths", "mask ", *m, NULL);
        close(fd);
    }
    for (const char *const *r = p->readonly_paths; r != NULL && *r != NULL; r++) {
        int fd = open_in_root(c->root_fd, *r);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            berth_child_fail(c, errno, "linux.readonlyPaths", "open ", *r, NULL);
        }
        char fdp[32];
        berth_fd_path(fdp, fd);
        const char *src = c->proc_fd_ok ? fdp : *r;
        if (mount_on(c, src, fd, *r, NULL, MS_BIND | MS_REC, NULL) < 0)
            berth_child_fail(c, errno, "linux.readonlyPaths", "bind mount ", *r, NULL);
        close(fd);
        fd = open_in_root(c->root_fd, *r);
        if (fd < 0 || remount_bind(c, fd, *r, MS_RDONLY, 1) < 0)
            berth_child_fail(c, errno, "linux.readonlyPaths", "remount read-only ", *r, NULL);
        close(fd);
    }
    if (p->rootfs_readonly) {
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || remount_bind(c, fd, "/", MS_RDONLY, 1) < 0)
            berth_child_fail(c, errno, "root.readonly", "remount / read-only", NULL);
        close(fd);
    }
    close(c->root_fd);
    c->root_fd = -1;
}

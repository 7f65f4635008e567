// Thin wrappers over the file calls Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include "berth_layer_files.h"

#include <errno.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int berth_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

ssize_t berth_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

ssize_t berth_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }

int berth_copy_file(int from, int to, uint64_t length) {
    while (length > 0) {
        size_t chunk = length > (1u << 30) ? (1u << 30) : (size_t)length;
        ssize_t n = copy_file_range(from, NULL, to, NULL, chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) break;
        if (n < 0) return -1;
        if (n == 0) { errno = EIO; return -1; }  // the source shrank under us
        length -= (uint64_t)n;
    }
    char buffer[65536];
    while (length > 0) {
        ssize_t n = read(from, buffer, length > sizeof buffer ? sizeof buffer : (size_t)length);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) { errno = EIO; return -1; }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buffer + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return -1;
            done += w;
        }
        length -= (uint64_t)n;
    }
    return 0;
}

int berth_syncfs(int fd) { return syncfs(fd); }

uint64_t berth_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
uint32_t berth_major(uint64_t device) { return major(device); }
uint32_t berth_minor(uint64_t device) { return minor(device); }

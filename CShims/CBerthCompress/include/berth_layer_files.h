// File calls that layer unpacking and the copy backend need and Swift's Glibc module leaves
// out (they sit behind _GNU_SOURCE or in <sys/xattr.h>). Each returns -1 with errno set on failure.
#ifndef BERTH_LAYER_FILES_H
#define BERTH_LAYER_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

int berth_fsetxattr(int fd, const char *name, const void *value, size_t size);
// On the link itself, never its target.
int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size);
ssize_t berth_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t berth_llistxattr(const char *path, char *list, size_t size);

// Copies `length` bytes from the current offsets, in the kernel (reflink or splice) when it can,
// otherwise through a buffer. Returns 0 or -1/errno.
int berth_copy_file(int from, int to, uint64_t length);

int berth_syncfs(int fd);

uint64_t berth_makedev(uint32_t major, uint32_t minor);
uint32_t berth_major(uint64_t device);
uint32_t berth_minor(uint64_t device);

#ifdef __cplusplus
}
#endif
#endif

/* The task's stdout and stderr files, rotated by size: NAME, NAME.1 (newest old) .. NAME.keep. */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
#define LOG_MODE 0640

int log_open(struct rotating_log *log, int dirfd, const char *name, uint64_t max_bytes,
             unsigned keep, char *error, size_t error_size)
{
    struct stat st;
    log->dirfd = dirfd;
    log->name = name;
    log->max_bytes = max_bytes;
    log->keep = keep;
    log->fd = openat(dirfd, name, LOG_FLAGS, LOG_MODE);
    if (log->fd < 0) {
        format(error, error_size, "open %s: %s", name, strerror(errno));
        return -1;
    }
    if (fstat(log->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        format(error, error_size, "%s: not a regular file", name);
        close(log->fd);
        log->fd = -1;
        return -1;
    }
    /* An earlier run's output stays; rotation counts it. */
    log->size = (uint64_t)st.st_size;
    return 0;
}

static int rotated_name(char *buffer, size_t size, const char *name, unsigned index)
{
    return format(buffer, size, "%s.%u", name, index);
}

/* NAME.(keep-1) -> NAME.keep ... NAME -> NAME.1, then a fresh NAME. keep == 0: truncate. */
static void rotate(struct rotating_log *log)
{
    char from[NAME_MAX + 1], to[NAME_MAX + 1];
    if (log->keep == 0) {
        if (ftruncate(log->fd, 0) == 0)
            log->size = 0;
        return;
    }
    for (unsigned i = log->keep - 1; i >= 1; i--) {
        if (rotated_name(from, sizeof from, log->name, i) < 0
            || rotated_name(to, sizeof to, log->name, i + 1) < 0)
            continue;
        renameat(log->dirfd, from, log->dirfd, to);   /* ENOENT: not that many yet */
    }
    rotated_name(to, sizeof to, log->name, 1);
    if (renameat(log->dirfd, log->name, log->dirfd, to) != 0 && errno != ENOENT) {
        /* Cannot move it aside: bound the disk use rather than grow without end. */
        if (ftruncate(log->fd, 0) == 0)
            log->size = 0;
        return;
    }
    /* (ENOENT: someone removed NAME; a fresh one is what readers look for.) */
    int fresh = openat(log->dirfd, log->name, LOG_FLAGS, LOG_MODE);
    if (fresh < 0) {
        /* Keep appending to the old file (now NAME.1) rather than lose output; try again
         * one file's worth later. */
        log->size = 0;
        return;
    }
    close(log->fd);
    log->fd = fresh;
    log->size = 0;
}

void log_append(struct rotating_log *log, const char *data, size_t length)
{
    while (length > 0) {
        if (log->size > 0 && log->size + length > log->max_bytes)
            rotate(log);
        /* One chunk larger than a whole file fills files one after the other. */
        size_t chunk = length;
        if ((uint64_t)chunk > log->max_bytes)
            chunk = (size_t)log->max_bytes;
        ssize_t n = write(log->fd, data, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;   /* full disk or worse: drop it, the pipes must keep flowing */
        log->size += (uint64_t)n;
        data += n;
        length -= (size_t)n;
    }
}

/* NAME.N with N a decimal number > keep. */
static int beyond_keep(const char *entry, const char *name, unsigned keep)
{
    size_t name_length = strlen(name);
    if (strncmp(entry, name, name_length) != 0 || entry[name_length] != '.')
        return 0;
    const char *digits = entry + name_length + 1;
    if (*digits < '1' || *digits > '9')
        return 0;
    unsigned long long index = 0;
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9' || index > 1000000)
            return 0;
        index = index * 10 + (unsigned long long)(*p - '0');
    }
    return index > keep;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

void log_remove_beyond_keep(int dirfd, const char *name, unsigned keep)
{
    /* getdents64 into a fixed buffer: no opendir allocation. A fresh fd starts at offset 0. */
    static char entries[4096] __attribute__((aligned(8)));
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, entries, sizeof entries);
        if (n <= 0)
            break;
        for (long offset = 0; offset < n;) {
            struct linux_dirent64 *entry = (struct linux_dirent64 *)(entries + offset);
            if (beyond_keep(entry->d_name, name, keep))
                unlinkat(dirfd, entry->d_name, 0);
            offset += entry->d_reclen;
        }
    }
    close(fd);
}

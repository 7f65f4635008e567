// Network namespace files: see include/berth_netns.h. The forked child only makes raw syscalls.
#include "internal.h"
#include "include/berth_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static int fail(const char **step, const char *what) {
    if (step) *step = what;
    return -1;
}

int berth_netns_prepare_directory(const char *directory, const char **step) {
    if (mount("", directory, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
    if (errno != EINVAL) return fail(step, "make shared");
    // Not a mount point yet: bind it onto itself first (as iproute2 does for /run/netns).
    if (mount(directory, directory, "none", MS_BIND | MS_REC, NULL) != 0) return fail(step, "bind onto itself");
    if (mount("", directory, "none", MS_SHARED | MS_REC, NULL) != 0) return fail(step, "make shared");
    return 0;
}

int berth_netns_create(const char *path, const char **step) {
    // The child reports which step failed and its errno through a pipe; EOF means success.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return fail(step, "pipe");
    pid_t child = fork();
    if (child < 0) {
        close(report[0]);
        close(report[1]);
        return fail(step, "fork");
    }
    if (child == 0) {
        int message[2] = {0, 0};
        close(report[0]);
        if (unshare(CLONE_NEWNET) != 0) {
            message[0] = 1;
        } else if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) != 0) {
            message[0] = 2;
        }
        if (message[0] != 0) {
            message[1] = errno;
            (void)!write(report[1], message, sizeof message);
            _exit(1);
        }
        _exit(0);
    }
    close(report[1]);
    int message[2] = {0, 0};
    ssize_t got = BERTH_NOINTR(read(report[0], message, sizeof message));
    close(report[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (got == (ssize_t)sizeof message) {
        errno = message[1];
        return fail(step, message[0] == 1 ? "unshare the network namespace" : "bind-mount the network namespace");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = ECHILD;
        return fail(step, "create the network namespace");
    }
    return 0;
}

int berth_netns_unmount(const char *path) {
    if (umount2(path, MNT_DETACH) == 0) return 0;
    if (errno == EINVAL || errno == ENOENT) return 0;
    return -1;
}

int berth_netns_is_mounted(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return info.f_type == (typeof(info.f_type))NSFS_MAGIC ? 1 : 0;
}

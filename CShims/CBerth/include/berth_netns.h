// Network namespaces kept alive as files (the `ip netns` convention): a bind mount of a
// namespace's /proc/PID/ns/net onto a file, so it outlives every process in it and can be joined
// by path (setns, CNI_NETNS, the OCI `network` namespace path).
// Every function returns 0, or -1 with errno set; `step` (if not NULL) then names what failed.
#ifndef BERTH_NETNS_H
#define BERTH_NETNS_H

#ifdef __cplusplus
extern "C" {
#endif

// Makes `directory` a shared mount of itself (once; later calls find it already done), so an
// unmount of a namespace file there propagates into mount namespaces that copied it meanwhile.
int berth_netns_prepare_directory(const char *directory, const char **step);

// Creates a new network namespace and bind-mounts it onto `path` (an existing empty file).
// A forked child unshares CLONE_NEWNET and mounts its own /proc/self/ns/net: the calling
// (multi-threaded) process never changes namespace.
int berth_netns_create(const char *path, const char **step);

// Unmounts the namespace file (MNT_DETACH: a process still inside keeps it alive, nothing else).
// Not mounted (EINVAL) or missing (ENOENT) is success; the file itself is left to the caller.
int berth_netns_unmount(const char *path);

// 1 when `path` is a mounted network namespace (nsfs), 0 when not, -1/errno when unreadable.
int berth_netns_is_mounted(const char *path);

#ifdef __cplusplus
}
#endif
#endif

// The contract between Swift and the C child path.
//
// Swift resolves an OCI config into a flat plan: every path absolute, every flag computed,
// every mount expanded, the seccomp filter compiled to BPF. The C side only executes it.
// After fork() in a multi-threaded process the child may not allocate or touch the Swift
// runtime, so nothing here is ever freed or grown by C: all memory belongs to the caller.
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#ifdef __cplusplus
extern "C" {
#endif

// Every entry carries `field`, the config path it came from ("mounts[3]"), so a failure in the
// child can name it: "mounts[3]: mount proc on /proc: Permission denied".

typedef struct berth_namespace {
    int type;            // CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET,
                         // CLONE_NEWCGROUP, CLONE_NEWUSER, CLONE_NEWTIME
    const char *path;    // join this namespace (setns); NULL = create a new one
    const char *field;
} berth_namespace;

typedef struct berth_mount {
    const char *source;       // host path for binds (resolved before pivot_root); fs source otherwise
    const char *target;       // absolute path inside the container; resolved under the rootfs
                              // without escaping it (openat2 RESOLVE_IN_ROOT)
    const char *fstype;       // "proc", "tmpfs", "cgroup2", ...; NULL or "" for a bind mount
    unsigned long flags;      // MS_* flags for mount(2), without MS_BIND/MS_REC/propagation
    unsigned long propagation;// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC]; 0 = leave
    const char *data;         // fs-specific options ("mode=755,size=65536k"), may be NULL
    int bind;                 // 1 = bind mount, 2 = recursive bind mount
    int target_is_file;       // create the target as an empty file, not a directory
    int needs_cgroup;         // binds the container's cgroup: the init enters its v1 cgroups
                              // (INIT_GO brings them) before this mount
    const char *field;
} berth_mount;

typedef struct berth_device {
    const char *path;    // absolute path inside the container
    mode_t mode;         // S_IFCHR / S_IFBLK / S_IFIFO | permission bits
    unsigned int major, minor;
    uid_t uid;
    gid_t gid;
    int bind_from_host;  // 1 = bind-mount `path` from the host (user namespaces cannot mknod)
    const char *field;
} berth_device;

typedef struct berth_symlink {
    const char *target;    // what the link points to ("/proc/self/fd")
    const char *linkpath;  // absolute path inside the container ("/dev/fd")
} berth_symlink;

typedef struct berth_sysctl {
    const char *key;     // "net.ipv4.ip_forward"
    const char *value;
    const char *field;
} berth_sysctl;

typedef struct berth_rlimit {
    int resource;        // RLIMIT_*
    uint64_t soft, hard;
    const char *field;
} berth_rlimit;

typedef struct berth_hook {
    const char *path;
    const char *const *argv;   // NULL-terminated; argv[0] included
    const char *const *envp;   // NULL-terminated
    int timeout_seconds;       // 0 = no timeout
    const char *field;
} berth_hook;

// Capability sets as bit masks over capability numbers (1ULL << CAP_CHOWN ...).
typedef struct berth_capabilities {
    uint64_t bounding, effective, permitted, inheritable, ambient;
} berth_capabilities;

typedef struct berth_process {
    const char *const *argv;   // NULL-terminated; argv[0] is looked up in PATH from envp
    const char *const *envp;   // NULL-terminated
    const char *cwd;           // absolute path inside the container
    uid_t uid;
    gid_t gid;
    const gid_t *additional_gids;
    size_t additional_gids_count;
    int set_umask;
    mode_t umask;
    const berth_rlimit *rlimits;
    size_t rlimits_count;
    int set_capabilities;      // 0 = keep what the process has (full root)
    berth_capabilities capabilities;
    int no_new_privileges;
    const struct sock_filter *seccomp_filter;  // NULL = no seccomp
    unsigned short seccomp_filter_len;
    unsigned int seccomp_flags;                // SECCOMP_FILTER_FLAG_*
    int terminal;              // create a pty inside the container, send its master to console_socket
    int console_socket;        // connected AF_UNIX socket fd, or -1
    int stdio[3];              // fds to dup onto 0,1,2; -1 = keep what is there
    const int *preserve_fds;   // extra fds passed through as 3, 4, ... (in this order)
    size_t preserve_fds_count;
} berth_process;

// The cgroup a new process enters as it starts, without a migration by pid (which waits out an
// RCU grace period under the kernel's global threadgroup lock). -1 / 0 entries = none.
// In CREATE mode v1_tasks is empty: the parent makes the v1 cgroups while the init makes its
// namespaces, and sends their `tasks` files with INIT_GO.
typedef struct berth_cgroup_entry {
    int v2_directory;          // clone3(CLONE_INTO_CGROUP) starts the first child in it
    int v2_procs;              // the child writes "0" here when the kernel lacks CLONE_INTO_CGROUP
    const int *v1_tasks;       // the child writes "0" to each: a lone thread moving itself
    size_t v1_tasks_count;
} berth_cgroup_entry;

enum berth_plan_mode {
    BERTH_PLAN_CREATE = 0,     // a new container: namespaces, rootfs, then block on the exec fifo
    BERTH_PLAN_EXEC = 1,       // join an existing container's namespaces and exec right away
};

typedef struct berth_plan {
    int mode;                          // berth_plan_mode

    // Entered by the first child before anything else; every one of these fds is closed in the
    // child right after, so none reaches the container.
    berth_cgroup_entry cgroup;

    const berth_namespace *namespaces;
    size_t namespaces_count;
    int wait_for_id_maps;              // a new user namespace: the parent writes uid/gid maps

    // Root filesystem (CREATE only).
    const char *rootfs;                // absolute host path; "/" = the host's root, no pivot_root
    int rootfs_readonly;
    unsigned long rootfs_propagation;  // applied to / after pivot; 0 = leave it as set up before
                                       // the mounts: MS_SLAVE|MS_REC (nothing leaks to the host)
    const berth_mount *mounts;
    size_t mounts_count;
    const berth_device *devices;
    size_t devices_count;
    const berth_symlink *symlinks;
    size_t symlinks_count;
    const char *const *masked_paths;   // NULL-terminated
    const char *const *readonly_paths; // NULL-terminated
    const berth_sysctl *sysctls;
    size_t sysctls_count;
    const char *hostname;              // NULL = leave
    const char *domainname;            // NULL = leave

    // Synchronisation with the parent.
    int sync_fd;                       // child end of a SOCK_SEQPACKET socketpair (see below)
    int state_dir_fd;                  // O_PATH|O_DIRECTORY fd of the container's state dir
    const char *exec_fifo_name;        // name of the fifo inside state_dir_fd; NULL in EXEC mode
                                       // and when the caller starts the init itself (below)
    int start_on_sync;                 // CREATE: after READY, wait for START on the sync socket
                                       // instead of the exec fifo (`run`: the process that
                                       // created the container starts it; EOF = it died)
    int run_create_hooks;              // stop before pivot_root so the parent can run hooks
    const berth_hook *start_hooks;     // startContainer hooks, run in the container after start
    size_t start_hooks_count;
    char *state_buffer;                // scratch the parent's state JSON is received into
    size_t state_buffer_size;

    berth_process process;
} berth_plan;

// Messages on the sync socket. Each is one datagram: a berth_sync_header then its payload.
enum berth_sync_type {
    BERTH_SYNC_ID_MAPS = 1,     // child -> parent: write /proc/<pid>/{uid,gid}_map, setgroups
    BERTH_SYNC_ID_MAPS_DONE,    // parent -> child
    BERTH_SYNC_INIT_PID,        // child -> parent: `value` is the init's pid (host view), already
                                // in its cgroup; the parent sets oom_score_adj
    BERTH_SYNC_INIT_GO,         // parent -> child: payload is the state JSON for hooks. In CREATE
                                // mode it carries the v1 `tasks` files too (SCM_RIGHTS), and
                                // the child waits for it only before the first needs_cgroup
                                // mount, or after the mounts. `value` 1: go on after READY
                                // without waiting for START (the caller's go came already)
    BERTH_SYNC_HOOKS,           // child -> parent: mounts done, before pivot_root; run prestart,
                                // createRuntime and createContainer hooks now
    BERTH_SYNC_HOOKS_DONE,      // parent -> child
    BERTH_SYNC_READY,           // child -> parent: set up; about to block on the exec fifo
                                // (CREATE) or to execve (EXEC)
    BERTH_SYNC_ERROR,           // child -> parent: payload is "field: step detail: strerror"
    BERTH_SYNC_START,           // parent -> child, with start_on_sync: go on to exec. The child
                                // then closes its end: EOF tells the parent it is past this
};

typedef struct berth_sync_header {
    uint32_t type;
    uint32_t length;            // payload bytes following the header
    int64_t value;              // pid for INIT_PID, errno for ERROR
} berth_sync_header;

#define BERTH_SYNC_MAX_MESSAGE 65536

// Starts the child path described by `plan` and returns the pid of the first stage (the one to
// write id maps for), or -1 with errno set. The process that ends up running the container's
// program is a direct child of the caller (CLONE_PARENT); its pid arrives as INIT_PID. When the
// plan joins no namespace and has no user namespace, there is no stage 1: the returned pid is
// the init's, and INIT_PID names it too.
// The plan's memory must stay valid until READY or ERROR has been received.
pid_t berth_plan_start(const berth_plan *plan);

// Sends one sync message; retries EINTR. Returns 0 or -1 with errno.
int berth_sync_send(int fd, uint32_t type, int64_t value, const void *payload, uint32_t length);
// The same, with up to BERTH_SYNC_MAX_FDS open files passed along (SCM_RIGHTS).
int berth_sync_send_fds(int fd, uint32_t type, int64_t value, const void *payload,
                        uint32_t length, const int *fds, size_t fds_count);

#define BERTH_SYNC_MAX_FDS 32

// Receives one sync message into `header` and `payload` (capacity bytes); retries EINTR.
// Returns payload length, or -1 with errno. On EOF (every child end closed: the child died, or
// in EXEC mode its execve succeeded) returns 0 with header->type == 0. A payload longer than
// `capacity` is truncated; header->length still tells the sent size.
ssize_t berth_sync_recv(int fd, berth_sync_header *header, void *payload, size_t capacity);
// The same, taking up to *fds_count passed files into fds (count set to how many came). Files
// beyond that are closed and make it fail with EPROTO, as does a cut-off control message.
ssize_t berth_sync_recv_fds(int fd, berth_sync_header *header, void *payload, size_t capacity,
                            int *fds, size_t *fds_count);

#ifdef __cplusplus
}
#endif
#endif

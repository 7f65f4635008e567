// cgroup v2 device filtering: a BPF_PROG_TYPE_CGROUP_DEVICE program generated from device rules,
// loaded and attached with raw bpf(2). Every function returns -1 with errno set on failure.
#ifndef BERTH_BPF_H
#define BERTH_BPF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Device types, with the kernel's BPF_DEVCG_DEV_* values (0 = any type).
enum {
    BERTH_DEV_TYPE_ALL = 0,
    BERTH_DEV_TYPE_BLOCK = 1,
    BERTH_DEV_TYPE_CHAR = 2,
};

// Access bits, with the kernel's BPF_DEVCG_ACC_* values.
enum {
    BERTH_DEV_ACC_MKNOD = 1,
    BERTH_DEV_ACC_READ = 2,
    BERTH_DEV_ACC_WRITE = 4,
};

typedef struct berth_device_rule {
    int allow;          // 1 = allow, 0 = deny
    int type;           // BERTH_DEV_TYPE_*
    int64_t major;      // -1 = any; otherwise 0..0x7fffffff
    int64_t minor;      // -1 = any
    uint32_t access;    // BERTH_DEV_ACC_* bits; 0 is treated as all three
} berth_device_rule;

// Rules are evaluated last-match-wins (as runc and the OCI spec read them); when none matches the
// request gets `default_allow`. An allow rule matches a request whose access bits are all in the
// rule; a deny rule matches a request sharing any access bit with it (the v1 controller's reading).

// Builds the program into `out` (up to `capacity` instructions of 8 bytes each, as struct bpf_insn)
// and returns the instruction count. Exposed so tests can inspect the program.
int berth_device_filter_build(const berth_device_rule *rules, size_t count, int default_allow,
                              void *out, size_t capacity);

// Loads the program. Returns the program fd (O_CLOEXEC). On a verifier refusal, the verifier's
// log goes to `log` (may be NULL).
int berth_device_filter_load(const berth_device_rule *rules, size_t count, int default_allow,
                             char *log, size_t log_size);

// Loads the program and attaches it to the cgroup (an O_RDONLY|O_DIRECTORY fd of a v2 cgroup)
// with BPF_F_ALLOW_MULTI, then detaches every device program that was attached there before
// (with BPF_F_REPLACE when there was exactly one, so there is no moment with two). Works the same
// for the first attach and for an update from a different process. Returns the new program's fd;
// the attachment keeps the program alive, so the caller may close it.
int berth_device_filter_attach(int cgroup_dirfd, const berth_device_rule *rules, size_t count,
                               int default_allow, char *log, size_t log_size);

// Number of device programs attached directly to the cgroup (not inherited ones).
int berth_device_filter_count(int cgroup_dirfd);

// Detaches every device program attached directly to the cgroup. Returns how many.
int berth_device_filter_detach_all(int cgroup_dirfd);

// An eventfd (counter 0, O_CLOEXEC) for cgroup v1 OOM notification through cgroup.event_control
// and for waking OOM watchers; Swift's Glibc module does not export eventfd(2).
int berth_eventfd_cloexec(void);

#ifdef __cplusplus
}
#endif
#endif

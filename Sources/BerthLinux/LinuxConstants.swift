// Linux constants that Swift's Glibc module leaves out (they sit behind _GNU_SOURCE).
// Values from <linux/sched.h> and <asm-generic/fcntl.h>; the same on every architecture berth targets.

public let CLONE_NEWTIME: Int32 = 0x0000_0080
public let CLONE_NEWNS: Int32 = 0x0002_0000
public let CLONE_NEWCGROUP: Int32 = 0x0200_0000
public let CLONE_NEWUTS: Int32 = 0x0400_0000
public let CLONE_NEWIPC: Int32 = 0x0800_0000
public let CLONE_NEWUSER: Int32 = 0x1000_0000
public let CLONE_NEWPID: Int32 = 0x2000_0000
public let CLONE_NEWNET: Int32 = 0x4000_0000

public let O_PATH: Int32 = 0o1000_0000

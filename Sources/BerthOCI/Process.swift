
extension Spec {
    /// The container's init process (config.json `process`) or an exec'd process (process.json).
    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool?
        public var consoleSize: ConsoleSize?
        public var user: User
        public var args: [String]?
        /// Windows-only in the spec; decoded so it can be refused rather than dropped.
        public var commandLine: String?
        public var env: [String]?
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
        public var apparmorProfile: String?
        public var oomScoreAdj: Int?
        public var selinuxLabel: String?
        public var ioPriority: IOPriority?
        public var scheduler: Scheduler?
        public var execCPUAffinity: ExecCPUAffinity?

        public init(
            terminal: Bool? = nil, consoleSize: ConsoleSize? = nil, user: User = User(uid: 0, gid: 0),
            args: [String]? = nil, commandLine: String? = nil, env: [String]? = nil, cwd: String = "/",
            capabilities: Capabilities? = nil, rlimits: [Rlimit]? = nil, noNewPrivileges: Bool? = nil,
            apparmorProfile: String? = nil, oomScoreAdj: Int? = nil, selinuxLabel: String? = nil,
            ioPriority: IOPriority? = nil, scheduler: Scheduler? = nil, execCPUAffinity: ExecCPUAffinity? = nil
        ) {
            self.terminal = terminal
            self.consoleSize = consoleSize
            self.user = user
            self.args = args
            self.commandLine = commandLine
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
            self.apparmorProfile = apparmorProfile
            self.oomScoreAdj = oomScoreAdj
            self.selinuxLabel = selinuxLabel
            self.ioPriority = ioPriority
            self.scheduler = scheduler
            self.execCPUAffinity = execCPUAffinity
        }

        /// Decodes a process.json (`exec --process`); paths in errors are relative to the process.
        public static func decode(_ data: some Collection<UInt8>, source: String = "process.json") throws(OCIError) -> Process {
            try OCIJSON.decode(Process.self, from: data, source: source)
        }

        public static func load(path: String, source: String = "process.json") throws(OCIError) -> Process {
            try OCIJSON.load(Process.self, path: path, source: source)
        }
    }

    public struct ConsoleSize: Codable, Sendable, Equatable {
        public var height: UInt
        public var width: UInt

        public init(height: UInt, width: UInt) {
            self.height = height
            self.width = width
        }
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var umask: UInt32?
        public var additionalGids: [UInt32]?
        public var username: String?

        public init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil, username: String? = nil) {
            self.uid = uid
            self.gid = gid
            self.umask = umask
            self.additionalGids = additionalGids
            self.username = username
        }
    }

    /// Capability names (`CAP_*`) per set; see `LinuxCapability` for their numbers.
    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]?
        public var effective: [String]?
        public var inheritable: [String]?
        public var permitted: [String]?
        public var ambient: [String]?

        public init(
            bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
            permitted: [String]? = nil, ambient: [String]? = nil
        ) {
            self.bounding = bounding
            self.effective = effective
            self.inheritable = inheritable
            self.permitted = permitted
            self.ambient = ambient
        }

        /// The five sets with their JSON names.
        public var sets: [(name: String, names: [String])] {
            [
                ("bounding", bounding ?? []), ("effective", effective ?? []), ("inheritable", inheritable ?? []),
                ("permitted", permitted ?? []), ("ambient", ambient ?? []),
            ]
        }
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64

        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }

    public struct IOPriority: Codable, Sendable, Equatable {
        public var `class`: String
        public var priority: Int?

        public init(class: String, priority: Int? = nil) {
            self.class = `class`
            self.priority = priority
        }
    }

    public struct Scheduler: Codable, Sendable, Equatable {
        public var policy: String
        public var nice: Int32?
        public var priority: Int32?
        public var flags: [String]?
        public var runtime: UInt64?
        public var deadline: UInt64?
        public var period: UInt64?

        public init(
            policy: String, nice: Int32? = nil, priority: Int32? = nil, flags: [String]? = nil,
            runtime: UInt64? = nil, deadline: UInt64? = nil, period: UInt64? = nil
        ) {
            self.policy = policy
            self.nice = nice
            self.priority = priority
            self.flags = flags
            self.runtime = runtime
            self.deadline = deadline
            self.period = period
        }
    }

    public struct ExecCPUAffinity: Codable, Sendable, Equatable {
        public var initial: String?
        public var final: String?

        public init(initial: String? = nil, final: String? = nil) {
            self.initial = initial
            self.final = final
        }
    }
}

/// Resource limits by their `RLIMIT_*` name, numbered as in <sys/resource.h> on Linux
/// (x86_64 and every other architecture except alpha, mips and sparc, which berth does not target).
public enum LinuxRlimit {
    public static let numbers: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
        "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
        "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
        "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    public static func number(_ name: String) -> Int32? { numbers[name] }

    /// RLIM_INFINITY as a UInt64 (the spec's hard/soft are uint64).
    public static let infinity: UInt64 = .max
}

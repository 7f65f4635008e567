import FoundationEssentials

/// One task, as a scheduler or `berth task launch FILE.json` sends it. Close to a Marathon app
/// definition. Every field but `id` and one of `cmd`/`args` has a default, so the smallest task is
/// `{"id": "hello", "cmd": "echo hello"}`. Decode with `TaskDefinition.decode` (strict: unknown
/// fields and wrong types are refused naming the JSON path), then `validate()` for meaning.
public struct TaskDefinition: Codable, Sendable, Equatable {
    /// `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}`, no "..": it names the task's sandbox directory.
    public var id: String
    /// A shell command line, run with `/bin/sh -c`. Exactly one of `cmd` and `args`.
    public var cmd: String?
    /// argv, run without a shell. Exactly one of `cmd` and `args`.
    public var args: [String]?
    public var env: [String: String]
    public var labels: [String: String]
    public var resources: TaskResources
    /// The role whose reserved resources the task may use besides unreserved ("*") ones.
    public var role: String
    /// User name or numeric uid to run as; nil: root.
    public var user: String?
    /// nil: a plain-binary task on the host's filesystem.
    public var container: ContainerInfo?
    public var network: NetworkInfo
    public var healthChecks: [HealthCheck]
    /// Seconds between SIGTERM and SIGKILL when the task is killed.
    public var killGracePeriodSeconds: Double
    public var restart: RestartPolicy

    public static let defaultKillGracePeriodSeconds: Double = 3

    public init(
        id: String, cmd: String? = nil, args: [String]? = nil, env: [String: String] = [:],
        labels: [String: String] = [:], resources: TaskResources = TaskResources(), role: String = "*",
        user: String? = nil, container: ContainerInfo? = nil, network: NetworkInfo = NetworkInfo(),
        healthChecks: [HealthCheck] = [], killGracePeriodSeconds: Double = TaskDefinition.defaultKillGracePeriodSeconds,
        restart: RestartPolicy = RestartPolicy()
    ) {
        self.id = id
        self.cmd = cmd
        self.args = args
        self.env = env
        self.labels = labels
        self.resources = resources
        self.role = role
        self.user = user
        self.container = container
        self.network = network
        self.healthChecks = healthChecks
        self.killGracePeriodSeconds = killGracePeriodSeconds
        self.restart = restart
    }

    enum CodingKeys: String, CodingKey {
        case id, cmd, args, env, labels, resources, role, user, container, network, healthChecks
        case killGracePeriodSeconds, restart
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        cmd = try c.decodeIfPresent(String.self, forKey: .cmd)
        args = try c.decodeIfPresent([String].self, forKey: .args)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        resources = try c.decodeIfPresent(TaskResources.self, forKey: .resources) ?? TaskResources()
        role = try c.decodeIfPresent(String.self, forKey: .role) ?? "*"
        user = try c.decodeIfPresent(String.self, forKey: .user)
        container = try c.decodeIfPresent(ContainerInfo.self, forKey: .container)
        network = try c.decodeIfPresent(NetworkInfo.self, forKey: .network) ?? NetworkInfo()
        healthChecks = try c.decodeIfPresent([HealthCheck].self, forKey: .healthChecks) ?? []
        killGracePeriodSeconds = try c.decodeIfPresent(Double.self, forKey: .killGracePeriodSeconds)
            ?? Self.defaultKillGracePeriodSeconds
        restart = try c.decodeIfPresent(RestartPolicy.self, forKey: .restart) ?? RestartPolicy()
    }

    /// Decodes and validates a task definition; errors name the field (`resources.mem: ...`).
    public static func decode(_ data: Data, source: String = "task") throws(APIError) -> TaskDefinition {
        let task = try APIJSON.decode(TaskDefinition.self, from: data, source: source)
        try task.validate()
        return task
    }

    /// Host ports the task gets, in PORT0, PORT1... order: one per port mapping, then
    /// `resources.ports` more.
    public var hostPortCount: Int { network.portMappings.count + resources.ports }
}

/// What a task asks for. Scalars are fixed-point with 3 decimals, as in Mesos.
public struct TaskResources: Codable, Sendable, Equatable {
    public var cpus: Double
    /// MiB.
    public var mem: Double
    /// MiB of sandbox disk.
    public var disk: Double
    public var gpus: Int
    /// How many host ports the task wants besides those of `network.portMappings`.
    public var ports: Int

    public static let defaultCPUs: Double = 0.1
    public static let defaultMem: Double = 32

    public init(cpus: Double = TaskResources.defaultCPUs, mem: Double = TaskResources.defaultMem,
                disk: Double = 0, gpus: Int = 0, ports: Int = 0) {
        self.cpus = cpus
        self.mem = mem
        self.disk = disk
        self.gpus = gpus
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case cpus, mem, disk, gpus, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus) ?? Self.defaultCPUs
        mem = try c.decodeIfPresent(Double.self, forKey: .mem) ?? Self.defaultMem
        disk = try c.decodeIfPresent(Double.self, forKey: .disk) ?? 0
        gpus = try c.decodeIfPresent(Int.self, forKey: .gpus) ?? 0
        ports = try c.decodeIfPresent(Int.self, forKey: .ports) ?? 0
    }
}

/// A container task: its rootfs comes from an image.
public struct ContainerInfo: Codable, Sendable, Equatable {
    /// An image name in berthd's store, or the path of an OCI layout or archive.
    public var image: String

    public init(image: String) { self.image = image }
}

public enum NetworkMode: String, WireEnum {
    /// The host's network namespace (the default; ports are the host's).
    case host
    /// A network namespace with only loopback.
    case none
    /// Its own namespace on a CNI bridge, with port mappings from host ports.
    case bridge

    public static let kind = "network mode"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

public struct NetworkInfo: Codable, Sendable, Equatable {
    public var mode: NetworkMode
    /// A named CNI network (bridge mode only); nil: berth's default bridge network.
    public var name: String?
    public var portMappings: [PortMapping]

    public init(mode: NetworkMode = .host, name: String? = nil, portMappings: [PortMapping] = []) {
        self.mode = mode
        self.name = name
        self.portMappings = portMappings
    }

    enum CodingKeys: String, CodingKey { case mode, name, portMappings }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(NetworkMode.self, forKey: .mode) ?? .host
        name = try c.decodeIfPresent(String.self, forKey: .name)
        portMappings = try c.decodeIfPresent([PortMapping].self, forKey: .portMappings) ?? []
    }
}

public enum PortProtocol: String, WireEnum {
    case tcp, udp
    public static let kind = "port protocol"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

public struct PortMapping: Codable, Sendable, Equatable {
    /// The port inside the container (bridge mode: required; host mode: 0 or equal to the host port).
    public var containerPort: Int
    /// 0: pick a free port from the offer's port ranges; otherwise it must be inside them.
    public var hostPort: Int
    public var `protocol`: PortProtocol
    /// Unique within the task; health checks and users refer to ports by it.
    public var name: String?

    public init(containerPort: Int = 0, hostPort: Int = 0, protocol: PortProtocol = .tcp, name: String? = nil) {
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.protocol = `protocol`
        self.name = name
    }

    enum CodingKeys: String, CodingKey { case containerPort, hostPort, `protocol`, name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        containerPort = try c.decodeIfPresent(Int.self, forKey: .containerPort) ?? 0
        hostPort = try c.decodeIfPresent(Int.self, forKey: .hostPort) ?? 0
        `protocol` = try c.decodeIfPresent(PortProtocol.self, forKey: .protocol) ?? .tcp
        name = try c.decodeIfPresent(String.self, forKey: .name)
    }
}

public enum HealthCheckProtocol: String, WireEnum {
    /// Runs `command` in the task's namespaces; exit 0 is healthy.
    case command = "COMMAND"
    /// GET `path` on the port; a 2xx or 3xx answer is healthy.
    case http = "HTTP"
    /// A TCP connection to the port succeeds.
    case tcp = "TCP"

    public static let kind = "health check protocol"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

/// Mesos-like health check. A task that fails `maxConsecutiveFailures` checks in a row after
/// `gracePeriodSeconds` is killed with reason `healthCheckFailed` (0: never killed, only reported).
public struct HealthCheck: Codable, Sendable, Equatable {
    public var `protocol`: HealthCheckProtocol
    /// COMMAND only: a shell command line.
    public var command: String?
    /// HTTP only; default "/".
    public var path: String?
    /// HTTP/TCP: index into the task's host ports (PORT0...). Exactly one of portIndex and port.
    public var portIndex: Int?
    /// HTTP/TCP: a fixed port number.
    public var port: Int?
    public var intervalSeconds: Double
    public var timeoutSeconds: Double
    public var gracePeriodSeconds: Double
    public var maxConsecutiveFailures: Int

    public init(protocol: HealthCheckProtocol, command: String? = nil, path: String? = nil, portIndex: Int? = nil,
                port: Int? = nil, intervalSeconds: Double = 10, timeoutSeconds: Double = 5,
                gracePeriodSeconds: Double = 10, maxConsecutiveFailures: Int = 3) {
        self.protocol = `protocol`
        self.command = command
        self.path = path
        self.portIndex = portIndex
        self.port = port
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.gracePeriodSeconds = gracePeriodSeconds
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    enum CodingKeys: String, CodingKey {
        case `protocol`, command, path, portIndex, port, intervalSeconds, timeoutSeconds, gracePeriodSeconds
        case maxConsecutiveFailures
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        `protocol` = try c.decode(HealthCheckProtocol.self, forKey: .protocol)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        portIndex = try c.decodeIfPresent(Int.self, forKey: .portIndex)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        intervalSeconds = try c.decodeIfPresent(Double.self, forKey: .intervalSeconds) ?? 10
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 5
        gracePeriodSeconds = try c.decodeIfPresent(Double.self, forKey: .gracePeriodSeconds) ?? 10
        maxConsecutiveFailures = try c.decodeIfPresent(Int.self, forKey: .maxConsecutiveFailures) ?? 3
    }
}

public enum RestartPolicyKind: String, WireEnum {
    case never
    /// Restart when the task ends in FAILED (non-zero exit, signal, OOM, failed health checks).
    case onFailure = "on-failure"
    /// Restart whenever it ends, unless killed by the scheduler.
    case always

    public static let kind = "restart policy"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

/// When and how fast a task is relaunched. The n-th restart (from 0) waits
/// `min(backoffSeconds * backoffFactor^n, maxBackoffSeconds)`.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public var policy: RestartPolicyKind
    /// nil: no limit.
    public var maxRetries: Int?
    public var backoffSeconds: Double
    public var backoffFactor: Double
    public var maxBackoffSeconds: Double

    public init(policy: RestartPolicyKind = .never, maxRetries: Int? = nil, backoffSeconds: Double = 1,
                backoffFactor: Double = 1.15, maxBackoffSeconds: Double = 300) {
        self.policy = policy
        self.maxRetries = maxRetries
        self.backoffSeconds = backoffSeconds
        self.backoffFactor = backoffFactor
        self.maxBackoffSeconds = maxBackoffSeconds
    }

    enum CodingKeys: String, CodingKey { case policy, maxRetries, backoffSeconds, backoffFactor, maxBackoffSeconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        policy = try c.decodeIfPresent(RestartPolicyKind.self, forKey: .policy) ?? .never
        maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries)
        backoffSeconds = try c.decodeIfPresent(Double.self, forKey: .backoffSeconds) ?? 1
        backoffFactor = try c.decodeIfPresent(Double.self, forKey: .backoffFactor) ?? 1.15
        maxBackoffSeconds = try c.decodeIfPresent(Double.self, forKey: .maxBackoffSeconds) ?? 300
    }

    /// Seconds to wait before restart number `restarts` (0 for the first restart).
    public func delay(beforeRestart restarts: Int) -> Double {
        var delay = backoffSeconds
        for _ in 0..<max(0, min(restarts, 10_000)) {
            delay *= backoffFactor
            if delay >= maxBackoffSeconds { return maxBackoffSeconds }
        }
        return min(delay, maxBackoffSeconds)
    }

    /// Whether a task that ended in `state` (after `restarts` restarts) is started again.
    /// A task killed by the scheduler is never restarted.
    public func shouldRestart(after state: TaskState, reason: TaskStatusReason?, restarts: Int) -> Bool {
        if reason == .killedByScheduler || state == .killed { return false }
        if let maxRetries, restarts >= maxRetries { return false }
        switch policy {
        case .never: return false
        case .always: return state.isTerminal
        case .onFailure: return state == .failed || state == .error || state == .lost
        }
    }
}

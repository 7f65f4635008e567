import FoundationEssentials

// Semantic checks of the wire types. Each throws the first problem as an APIError naming the
// field, relative to `field` (the value's path in the request; "" for a whole document).

/// Limits on task definitions: generous for real use, small enough that no request can make
/// berthd allocate without bound.
public enum TaskLimits {
    public static let minCPUs: Double = 0.001
    public static let maxCPUs: Double = 4096
    public static let minMemMiB: Double = 4
    /// 16 TiB.
    public static let maxMemMiB: Double = 16 * 1024 * 1024
    /// 1 PiB.
    public static let maxDiskMiB: Double = 1024 * 1024 * 1024
    public static let maxGPUs = 1024
    public static let maxPorts = 1024
    public static let maxGraceSeconds: Double = 3600
    public static let maxSeconds: Double = 86400
    public static let maxCommandBytes = 65536
    public static let maxArgs = 4096
    public static let maxEnv = 4096
    public static let maxEnvBytes = 1 << 20
    /// Resources in one RESERVE/UNRESERVE operation or one config list.
    public static let maxResources = 1024
    public static let maxLabels = 256
    public static let maxHealthChecks = 16
    public static let maxStringBytes = 4096
    public static let maxTasksPerRequest = 1024
    public static let maxOffersPerRequest = 1024
    public static let maxRefuseSeconds: Double = 31_536_000
}

extension TaskDefinition {
    /// `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}` and no "..": safe as a directory name.
    public static func isValidID(_ id: String) -> Bool {
        let scalars = Array(id.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 128 else { return false }
        guard ("a"..."z").contains(first) || ("A"..."Z").contains(first) || ("0"..."9").contains(first) else { return false }
        return scalars.allSatisfy { Resource.isWordScalar($0) || $0 == "." || $0 == "-" } && !id.contains("..")
    }

    public func validate(at field: String = "") throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        try checkID(id, at: f("id"))
        switch (cmd, args) {
        case (nil, nil):
            // A container task may run its image's own Entrypoint and Cmd.
            if container == nil { throw .badRequest(f("cmd"), "one of cmd or args is required (or container.image)") }
        case (.some, .some):
            throw .badRequest(f("cmd"), "give either cmd or args, not both")
        case (let cmd?, nil):
            try checkString(cmd, at: f("cmd"), max: TaskLimits.maxCommandBytes)
        case (nil, let args?):
            if args.isEmpty { throw .badRequest(f("args"), "must not be empty") }
            if args.count > TaskLimits.maxArgs { throw .badRequest(f("args"), "more than \(TaskLimits.maxArgs) arguments") }
            try checkString(args[0], at: FieldPath.index(f("args"), 0), max: TaskLimits.maxStringBytes)
            var total = 0
            for (i, arg) in args.enumerated() {
                if arg.utf8.contains(0) { throw .badRequest(FieldPath.index(f("args"), i), "contains a NUL byte") }
                total += arg.utf8.count
            }
            if total > TaskLimits.maxCommandBytes { throw .badRequest(f("args"), "longer than \(TaskLimits.maxCommandBytes) bytes in all") }
        }
        try checkEnv(at: f("env"))
        if labels.count > TaskLimits.maxLabels { throw .badRequest(f("labels"), "more than \(TaskLimits.maxLabels) labels") }
        for key in labels.keys.sorted() {
            let at = FieldPath.join(f("labels"), key)
            if key.isEmpty || key.utf8.count > 256 || key.utf8.contains(0) {
                throw .badRequest(at, "label keys must be 1 to 256 bytes without NUL")
            }
            try checkString(labels[key]!, at: at, max: TaskLimits.maxStringBytes, allowEmpty: true)
        }
        try resources.validate(at: f("resources"))
        if !Resource.isValidRole(role) {
            throw .badRequest(f("role"), "must be \"*\" or match [a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}, got \(quoted(role))")
        }
        if let user {
            try checkString(user, at: f("user"), max: 256)
            if user.contains(":") || user.contains("/") { throw .badRequest(f("user"), "must be a user name or uid, got \(quoted(user))") }
        }
        if let container { try checkString(container.image, at: FieldPath.join(f("container"), "image"), max: TaskLimits.maxStringBytes) }
        try network.validate(at: f("network"))
        if healthChecks.count > TaskLimits.maxHealthChecks {
            throw .badRequest(f("healthChecks"), "more than \(TaskLimits.maxHealthChecks) health checks")
        }
        for (i, check) in healthChecks.enumerated() {
            try check.validate(at: FieldPath.index(f("healthChecks"), i), hostPorts: hostPortCount)
        }
        try checkSeconds(killGracePeriodSeconds, at: f("killGracePeriodSeconds"), max: TaskLimits.maxGraceSeconds)
        try restart.validate(at: f("restart"))
    }

    private func checkEnv(at field: String) throws(APIError) {
        if env.count > TaskLimits.maxEnv { throw .badRequest(field, "more than \(TaskLimits.maxEnv) variables") }
        var total = 0
        for key in env.keys.sorted() {
            let at = FieldPath.join(field, key)
            let scalars = Array(key.unicodeScalars)
            let valid = scalars.first.map { Resource.isWordScalar($0) && !("0"..."9").contains($0) } ?? false
                && scalars.count <= 256 && scalars.allSatisfy(Resource.isWordScalar)
            if !valid { throw .badRequest(at, "variable names must match [A-Za-z_][A-Za-z0-9_]{0,255}") }
            try checkString(env[key]!, at: at, max: TaskLimits.maxCommandBytes, allowEmpty: true)
            total += key.utf8.count + env[key]!.utf8.count + 2
        }
        // execve() refuses more than about 2 MiB of arguments and environment together.
        if total > TaskLimits.maxEnvBytes { throw .badRequest(field, "larger than \(TaskLimits.maxEnvBytes) bytes in all") }
    }
}

extension TaskResources {
    public func validate(at field: String) throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        try checkRange(cpus, TaskLimits.minCPUs, TaskLimits.maxCPUs, at: f("cpus"))
        try checkRange(mem, TaskLimits.minMemMiB, TaskLimits.maxMemMiB, at: f("mem"))
        try checkRange(disk, 0, TaskLimits.maxDiskMiB, at: f("disk"))
        if !(0...TaskLimits.maxGPUs).contains(gpus) {
            throw .badRequest(f("gpus"), "must be between 0 and \(TaskLimits.maxGPUs), got \(gpus)")
        }
        if !(0...TaskLimits.maxPorts).contains(ports) {
            throw .badRequest(f("ports"), "must be between 0 and \(TaskLimits.maxPorts), got \(ports)")
        }
    }
}

extension NetworkInfo {
    public func validate(at field: String) throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        if let name {
            if mode != .bridge { throw .badRequest(f("name"), "only allowed with network mode bridge") }
            if !TaskDefinition.isValidID(name) || name.count > 64 {
                throw .badRequest(f("name"), "must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}, got \(quoted(name))")
            }
        }
        if portMappings.isEmpty { return }
        if mode == .none { throw .badRequest(f("portMappings"), "not allowed with network mode none") }
        if portMappings.count > TaskLimits.maxPorts {
            throw .badRequest(f("portMappings"), "more than \(TaskLimits.maxPorts) port mappings")
        }
        var names: Set<String> = []
        var fixed: Set<String> = []
        for (i, mapping) in portMappings.enumerated() {
            let at = FieldPath.index(f("portMappings"), i)
            let p = { (key: String) in FieldPath.join(at, key) }
            if !(0...65535).contains(mapping.hostPort) {
                throw .badRequest(p("hostPort"), "must be between 0 and 65535, got \(mapping.hostPort)")
            }
            switch mode {
            case .bridge:
                if !(1...65535).contains(mapping.containerPort) {
                    throw .badRequest(p("containerPort"), "must be between 1 and 65535, got \(mapping.containerPort)")
                }
            case .host, .none:
                if mapping.containerPort != 0 && mapping.containerPort != mapping.hostPort {
                    throw .badRequest(p("containerPort"), "must be 0 or equal to hostPort in network mode host, got \(mapping.containerPort)")
                }
            }
            if let name = mapping.name {
                if !TaskDefinition.isValidID(name) || name.count > 64 {
                    throw .badRequest(p("name"), "must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}, got \(quoted(name))")
                }
                if !names.insert(name).inserted { throw .badRequest(p("name"), "duplicate port name \(quoted(name))") }
            }
            if mapping.hostPort != 0 {
                let key = "\(mapping.hostPort)/\(mapping.protocol.rawValue)"
                if !fixed.insert(key).inserted { throw .badRequest(p("hostPort"), "port \(key) is mapped twice") }
            }
        }
    }
}

extension HealthCheck {
    /// `hostPorts`: how many host ports the task gets (for `portIndex`).
    public func validate(at field: String, hostPorts: Int) throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        switch `protocol` {
        case .command:
            guard let command else { throw .badRequest(f("command"), "required for protocol COMMAND") }
            try checkString(command, at: f("command"), max: TaskLimits.maxCommandBytes)
            if path != nil { throw .badRequest(f("path"), "only allowed for protocol HTTP") }
            if portIndex != nil || port != nil {
                throw .badRequest(f(portIndex != nil ? "portIndex" : "port"), "not allowed for protocol COMMAND")
            }
        case .http, .tcp:
            if command != nil { throw .badRequest(f("command"), "only allowed for protocol COMMAND") }
            if let path {
                if `protocol` == .tcp { throw .badRequest(f("path"), "only allowed for protocol HTTP") }
                try checkString(path, at: f("path"), max: TaskLimits.maxStringBytes)
                if !path.hasPrefix("/") || path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) {
                    throw .badRequest(f("path"), "must start with / and hold no spaces or line breaks, got \(quoted(path))")
                }
            }
            switch (portIndex, port) {
            case (nil, nil):
                throw .badRequest(f("portIndex"), "one of portIndex or port is required for protocol \(`protocol`.rawValue)")
            case (.some, .some):
                throw .badRequest(f("port"), "give either portIndex or port, not both")
            case (let index?, nil):
                if index < 0 || index >= hostPorts {
                    throw .badRequest(f("portIndex"), "\(index) is out of range (the task has \(hostPorts) host port\(hostPorts == 1 ? "" : "s"))")
                }
            case (nil, let port?):
                if !(1...65535).contains(port) { throw .badRequest(f("port"), "must be between 1 and 65535, got \(port)") }
            }
        }
        try checkRange(intervalSeconds, 0.001, TaskLimits.maxSeconds, at: f("intervalSeconds"))
        try checkRange(timeoutSeconds, 0.001, TaskLimits.maxSeconds, at: f("timeoutSeconds"))
        try checkSeconds(gracePeriodSeconds, at: f("gracePeriodSeconds"), max: TaskLimits.maxSeconds)
        if !(0...1000).contains(maxConsecutiveFailures) {
            throw .badRequest(f("maxConsecutiveFailures"), "must be between 0 and 1000, got \(maxConsecutiveFailures)")
        }
    }
}

extension RestartPolicy {
    public func validate(at field: String) throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        if let maxRetries, !(0...1_000_000).contains(maxRetries) {
            throw .badRequest(f("maxRetries"), "must be between 0 and 1000000, got \(maxRetries)")
        }
        try checkSeconds(backoffSeconds, at: f("backoffSeconds"), max: TaskLimits.maxSeconds)
        try checkRange(backoffFactor, 1, 100, at: f("backoffFactor"))
        try checkSeconds(maxBackoffSeconds, at: f("maxBackoffSeconds"), max: TaskLimits.maxSeconds)
        if maxBackoffSeconds < backoffSeconds {
            throw .badRequest(f("maxBackoffSeconds"), "must not be less than backoffSeconds (\(formatNumber(backoffSeconds))), got \(formatNumber(maxBackoffSeconds))")
        }
    }
}

extension AcceptRequest {
    public func validate(at field: String = "") throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        try checkOfferIDs(offerIds, at: f("offerIds"))
        if operations.isEmpty { throw .badRequest(f("operations"), "must not be empty") }
        if let refuseSeconds { try checkSeconds(refuseSeconds, at: f("refuseSeconds"), max: TaskLimits.maxRefuseSeconds) }
        var taskIDs: Set<String> = []
        var taskCount = 0
        for (i, operation) in operations.enumerated() {
            let at = FieldPath.index(f("operations"), i)
            let o = { (key: String) in FieldPath.join(at, key) }
            switch operation.type {
            case .launch, .launchGroup:
                if operation.tasks.isEmpty { throw .badRequest(o("tasks"), "must not be empty for \(operation.type.rawValue)") }
                if !operation.resources.isEmpty { throw .badRequest(o("resources"), "not allowed for \(operation.type.rawValue)") }
                taskCount += operation.tasks.count
                if taskCount > TaskLimits.maxTasksPerRequest {
                    throw .badRequest(o("tasks"), "more than \(TaskLimits.maxTasksPerRequest) tasks in one request")
                }
                for (j, task) in operation.tasks.enumerated() {
                    let taskField = FieldPath.index(o("tasks"), j)
                    try task.validate(at: taskField)
                    if !taskIDs.insert(task.id).inserted {
                        throw .badRequest(FieldPath.join(taskField, "id"), "duplicate task id \(quoted(task.id))")
                    }
                }
                if operation.type == .launchGroup, let first = operation.tasks.first {
                    for (j, task) in operation.tasks.enumerated() where task.network.mode != first.network.mode || task.network.name != first.network.name {
                        throw .badRequest(FieldPath.join(FieldPath.index(o("tasks"), j), "network"), "tasks of a LAUNCH_GROUP share one network; it must equal the first task's")
                    }
                }
            case .reserve, .unreserve:
                if operation.resources.isEmpty { throw .badRequest(o("resources"), "must not be empty for \(operation.type.rawValue)") }
                if operation.resources.count > TaskLimits.maxResources {
                    throw .badRequest(o("resources"), "more than \(TaskLimits.maxResources) resources")
                }
                if !operation.tasks.isEmpty { throw .badRequest(o("tasks"), "not allowed for \(operation.type.rawValue)") }
                for (j, resource) in operation.resources.enumerated() {
                    let r = FieldPath.index(o("resources"), j)
                    try resource.validate(at: r)
                    if resource.role == "*" {
                        throw .badRequest(FieldPath.join(r, "role"), "must name the role to \(operation.type == .reserve ? "reserve for" : "unreserve from"), not \"*\"")
                    }
                }
            }
        }
    }
}

extension DeclineRequest {
    public func validate(at field: String = "") throws(APIError) {
        try checkOfferIDs(offerIds, at: FieldPath.join(field, "offerIds"))
        try checkSeconds(refuseSeconds, at: FieldPath.join(field, "refuseSeconds"), max: TaskLimits.maxRefuseSeconds)
    }
}

// MARK: shared checks

func checkID(_ id: String, at field: String) throws(APIError) {
    if id.isEmpty { throw .badRequest(field, "must not be empty") }
    if id.contains("..") { throw .badRequest(field, "must not contain \"..\", got \(quoted(id))") }
    if !TaskDefinition.isValidID(id) {
        throw .badRequest(field, "must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got \(quoted(String(id.prefix(200))))")
    }
}

func checkOfferIDs(_ ids: [String], at field: String) throws(APIError) {
    if ids.isEmpty { throw .badRequest(field, "must not be empty") }
    if ids.count > TaskLimits.maxOffersPerRequest { throw .badRequest(field, "more than \(TaskLimits.maxOffersPerRequest) offers") }
    var seen: Set<String> = []
    for (i, id) in ids.enumerated() {
        let at = FieldPath.index(field, i)
        if id.isEmpty || id.utf8.count > 256 || id.utf8.contains(0) {
            throw .badRequest(at, "must be 1 to 256 bytes without NUL")
        }
        if !seen.insert(id).inserted { throw .badRequest(at, "duplicate offer id \(quoted(id))") }
    }
}

func checkString(_ value: String, at field: String, max: Int, allowEmpty: Bool = false) throws(APIError) {
    if value.isEmpty && !allowEmpty { throw .badRequest(field, "must not be empty") }
    if value.utf8.contains(0) { throw .badRequest(field, "contains a NUL byte") }
    if value.utf8.count > max { throw .badRequest(field, "longer than \(max) bytes") }
}

func checkRange(_ value: Double, _ low: Double, _ high: Double, at field: String) throws(APIError) {
    if !(value >= low && value <= high) {
        throw .badRequest(field, "must be between \(formatNumber(low)) and \(formatNumber(high)), got \(formatNumber(value))")
    }
}

func checkSeconds(_ value: Double, at field: String, max: Double) throws(APIError) {
    try checkRange(value, 0, max, at: field)
}

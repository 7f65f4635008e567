// The tree readers of config.json (see TreeReading.swift): one per type, field for field as
// Codable decodes it. A field added to a type will not compile until it is read here too, and
// SpecReadingTests holds every field to Codable's reading.

extension Spec: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        ociVersion = try fields.required("ociVersion")
        process = try fields.optional("process")
        root = try fields.optional("root")
        hostname = try fields.optional("hostname")
        domainname = try fields.optional("domainname")
        mounts = try fields.optional("mounts")
        hooks = try fields.optional("hooks")
        annotations = try fields.optional("annotations")
        linux = try fields.optional("linux")
    }
}

extension Spec.Root: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        path = try fields.required("path")
        readonly = try fields.optional("readonly")
    }
}

extension Spec.Mount: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        destination = try fields.required("destination")
        type = try fields.optional("type")
        source = try fields.optional("source")
        options = try fields.optional("options")
        uidMappings = try fields.optional("uidMappings")
        gidMappings = try fields.optional("gidMappings")
    }
}

extension Spec.Hook: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        path = try fields.required("path")
        args = try fields.optional("args")
        env = try fields.optional("env")
        timeout = try fields.optional("timeout")
    }
}

extension Spec.Hooks: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        prestart = try fields.optional("prestart")
        createRuntime = try fields.optional("createRuntime")
        createContainer = try fields.optional("createContainer")
        startContainer = try fields.optional("startContainer")
        poststart = try fields.optional("poststart")
        poststop = try fields.optional("poststop")
    }
}

extension Spec.IDMapping: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        containerID = try fields.required("containerID")
        hostID = try fields.required("hostID")
        size = try fields.required("size")
    }
}

extension Spec.Process: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        terminal = try fields.optional("terminal")
        consoleSize = try fields.optional("consoleSize")
        user = try fields.required("user")
        args = try fields.optional("args")
        commandLine = try fields.optional("commandLine")
        env = try fields.optional("env")
        cwd = try fields.required("cwd")
        capabilities = try fields.optional("capabilities")
        rlimits = try fields.optional("rlimits")
        noNewPrivileges = try fields.optional("noNewPrivileges")
        apparmorProfile = try fields.optional("apparmorProfile")
        oomScoreAdj = try fields.optional("oomScoreAdj")
        selinuxLabel = try fields.optional("selinuxLabel")
        ioPriority = try fields.optional("ioPriority")
        scheduler = try fields.optional("scheduler")
        execCPUAffinity = try fields.optional("execCPUAffinity")
    }
}

extension Spec.ConsoleSize: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        height = try fields.required("height")
        width = try fields.required("width")
    }
}

extension Spec.User: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        uid = try fields.required("uid")
        gid = try fields.required("gid")
        umask = try fields.optional("umask")
        additionalGids = try fields.optional("additionalGids")
        username = try fields.optional("username")
    }
}

extension Spec.Capabilities: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        bounding = try fields.optional("bounding")
        effective = try fields.optional("effective")
        inheritable = try fields.optional("inheritable")
        permitted = try fields.optional("permitted")
        ambient = try fields.optional("ambient")
    }
}

extension Spec.Rlimit: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        type = try fields.required("type")
        hard = try fields.required("hard")
        soft = try fields.required("soft")
    }
}

extension Spec.IOPriority: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        `class` = try fields.required("class")
        priority = try fields.optional("priority")
    }
}

extension Spec.Scheduler: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        policy = try fields.required("policy")
        nice = try fields.optional("nice")
        priority = try fields.optional("priority")
        flags = try fields.optional("flags")
        runtime = try fields.optional("runtime")
        deadline = try fields.optional("deadline")
        period = try fields.optional("period")
    }
}

extension Spec.ExecCPUAffinity: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        initial = try fields.optional("initial")
        final = try fields.optional("final")
    }
}

extension Spec.Linux: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        namespaces = try fields.optional("namespaces")
        uidMappings = try fields.optional("uidMappings")
        gidMappings = try fields.optional("gidMappings")
        timeOffsets = try fields.optional("timeOffsets")
        devices = try fields.optional("devices")
        netDevices = try fields.optional("netDevices")
        cgroupsPath = try fields.optional("cgroupsPath")
        resources = try fields.optional("resources")
        rootfsPropagation = try fields.optional("rootfsPropagation")
        seccomp = try fields.optional("seccomp")
        sysctl = try fields.optional("sysctl")
        maskedPaths = try fields.optional("maskedPaths")
        readonlyPaths = try fields.optional("readonlyPaths")
        mountLabel = try fields.optional("mountLabel")
        intelRdt = try fields.optional("intelRdt")
        personality = try fields.optional("personality")
    }
}

extension Spec.Namespace: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        type = try fields.required("type")
        path = try fields.optional("path")
    }
}

extension Spec.TimeOffset: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        secs = try fields.optional("secs")
        nanosecs = try fields.optional("nanosecs")
    }
}

extension Spec.Device: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        type = try fields.required("type")
        path = try fields.required("path")
        major = try fields.optional("major")
        minor = try fields.optional("minor")
        fileMode = try fields.optional("fileMode")
        uid = try fields.optional("uid")
        gid = try fields.optional("gid")
    }
}

extension Spec.NetDevice: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        name = try fields.optional("name")
    }
}

extension Spec.IntelRdt: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        closID = try fields.optional("closID")
        l3CacheSchema = try fields.optional("l3CacheSchema")
        memBwSchema = try fields.optional("memBwSchema")
        enableCMT = try fields.optional("enableCMT")
        enableMBM = try fields.optional("enableMBM")
    }
}

extension Spec.Personality: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        domain = try fields.required("domain")
        flags = try fields.optional("flags")
    }
}

extension Spec.Resources: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        devices = try fields.optional("devices")
        memory = try fields.optional("memory")
        cpu = try fields.optional("cpu")
        pids = try fields.optional("pids")
        blockIO = try fields.optional("blockIO")
        hugepageLimits = try fields.optional("hugepageLimits")
        network = try fields.optional("network")
        rdma = try fields.optional("rdma")
        unified = try fields.optional("unified")
    }
}

extension Spec.Resources.DeviceRule: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        allow = try fields.required("allow")
        type = try fields.optional("type")
        major = try fields.optional("major")
        minor = try fields.optional("minor")
        access = try fields.optional("access")
    }
}

extension Spec.Resources.Memory: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        limit = try fields.optional("limit")
        reservation = try fields.optional("reservation")
        swap = try fields.optional("swap")
        kernel = try fields.optional("kernel")
        kernelTCP = try fields.optional("kernelTCP")
        swappiness = try fields.optional("swappiness")
        disableOOMKiller = try fields.optional("disableOOMKiller")
        useHierarchy = try fields.optional("useHierarchy")
        checkBeforeUpdate = try fields.optional("checkBeforeUpdate")
    }
}

extension Spec.Resources.CPU: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        shares = try fields.optional("shares")
        quota = try fields.optional("quota")
        burst = try fields.optional("burst")
        period = try fields.optional("period")
        realtimeRuntime = try fields.optional("realtimeRuntime")
        realtimePeriod = try fields.optional("realtimePeriod")
        cpus = try fields.optional("cpus")
        mems = try fields.optional("mems")
        idle = try fields.optional("idle")
    }
}

extension Spec.Resources.Pids: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        limit = try fields.required("limit")
    }
}

extension Spec.Resources.BlockIO: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        weight = try fields.optional("weight")
        leafWeight = try fields.optional("leafWeight")
        weightDevice = try fields.optional("weightDevice")
        throttleReadBpsDevice = try fields.optional("throttleReadBpsDevice")
        throttleWriteBpsDevice = try fields.optional("throttleWriteBpsDevice")
        throttleReadIOPSDevice = try fields.optional("throttleReadIOPSDevice")
        throttleWriteIOPSDevice = try fields.optional("throttleWriteIOPSDevice")
    }
}

extension Spec.Resources.WeightDevice: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        major = try fields.required("major")
        minor = try fields.required("minor")
        weight = try fields.optional("weight")
        leafWeight = try fields.optional("leafWeight")
    }
}

extension Spec.Resources.ThrottleDevice: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        major = try fields.required("major")
        minor = try fields.required("minor")
        rate = try fields.required("rate")
    }
}

extension Spec.Resources.HugepageLimit: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        pageSize = try fields.required("pageSize")
        limit = try fields.required("limit")
    }
}

extension Spec.Resources.Network: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        classID = try fields.optional("classID")
        priorities = try fields.optional("priorities")
    }
}

extension Spec.Resources.InterfacePriority: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        name = try fields.required("name")
        priority = try fields.required("priority")
    }
}

extension Spec.Resources.RDMA: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        hcaHandles = try fields.optional("hcaHandles")
        hcaObjects = try fields.optional("hcaObjects")
    }
}

extension Spec.Seccomp: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        defaultAction = try fields.required("defaultAction")
        defaultErrnoRet = try fields.optional("defaultErrnoRet")
        architectures = try fields.optional("architectures")
        flags = try fields.optional("flags")
        listenerPath = try fields.optional("listenerPath")
        listenerMetadata = try fields.optional("listenerMetadata")
        syscalls = try fields.optional("syscalls")
    }
}

extension Spec.Syscall: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        names = try fields.required("names")
        action = try fields.required("action")
        errnoRet = try fields.optional("errnoRet")
        args = try fields.optional("args")
    }
}

extension Spec.SyscallArg: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        index = try fields.required("index")
        value = try fields.required("value")
        valueTwo = try fields.optional("valueTwo")
        op = try fields.required("op")
    }
}


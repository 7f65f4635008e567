import BerthAPI
import BerthImages
import BerthNetwork

/// Everything the agent needs to know before it starts; berthd fills it from flags, the
/// environment and the config file.
public struct AgentConfiguration: Sendable {
    public var stateDir: String
    /// The runtime's state root for task containers (`berth --root`; `berth list` shows them).
    public var runtimeRoot: String
    public var berthPath: String
    public var supervisorPath: String
    public var logMaxBytes: Int
    public var logKeep: Int
    /// Task cgroups nest under this path, relative to berthd's own cgroup.
    public var cgroupParent: String
    public var inventory: InventoryConfig
    public var inventorySources: InventorySources
    public var rootfsBackend: RootfsBackend
    /// Variables every task gets (the metrics relay adds STATSD_UDP_HOST/PORT).
    public var taskEnvironment: [String: String]
    /// Namespace files, CNI config and plugin directories, the bridge's subnet.
    public var network: NetworkSettings

    public init(stateDir: String, runtimeRoot: String, berthPath: String, supervisorPath: String,
                logMaxBytes: Int = 10 << 20, logKeep: Int = 3, cgroupParent: String = "berthd",
                inventory: InventoryConfig = InventoryConfig(), inventorySources: InventorySources = InventorySources(),
                rootfsBackend: RootfsBackend = .overlay, taskEnvironment: [String: String] = [:],
                network: NetworkSettings = NetworkSettings()) {
        self.stateDir = stateDir
        self.runtimeRoot = runtimeRoot
        self.berthPath = berthPath
        self.supervisorPath = supervisorPath
        self.logMaxBytes = logMaxBytes
        self.logKeep = logKeep
        self.cgroupParent = cgroupParent
        self.inventory = inventory
        self.inventorySources = inventorySources
        self.rootfsBackend = rootfsBackend
        self.taskEnvironment = taskEnvironment
        self.network = network
    }

    public var imageStoreRoot: String { stateDir + "/images" }
}

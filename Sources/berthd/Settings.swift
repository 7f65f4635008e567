import BerthAgent
import BerthAPI
import BerthImages
import BerthLinux
import BerthMetrics
import BerthMetricsServer
import BerthOCI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// berthd's settings: each from its flag, else its BERTHD_* environment variable, else the
/// config file, else the embedded default, so `make run` needs none of them.
struct Settings: Sendable {
    /// The config file (`--config`, BERTHD_CONFIG); strict: an unknown key is an error.
    struct File: Codable, Sendable {
        var stateDir: String?
        var socket: String?
        var socketGroup: String?
        var metricsAddress: String?
        var statsdAddress: String?
        /// "dogstatsd" (tags) or "prefix" (identity in the metric name).
        var statsdFormat: String?
        var runtimeRoot: String?
        var logMaxBytes: Int?
        var logKeep: Int?
        var rootfsBackend: RootfsBackend?
        var debug: Bool?
        var inventory: InventoryConfig?
    }

    var stateDir = "/var/lib/berth"
    var socket = AgentClient.defaultSocket
    var socketGroup = "berth"
    var metricsAddress = "127.0.0.1:9110"
    var statsdAddress: String?
    var statsdFormat = "dogstatsd"
    var runtimeRoot = "/run/berth"
    var logMaxBytes = 10 << 20
    var logKeep = 3
    var rootfsBackend = RootfsBackend.overlay
    var debug = false
    var inventory = InventoryConfig()

    struct Flags {
        var stateDir, socket, metricsAddress, statsdAddress, config, runtimeRoot: String?
        var debug: Bool
    }

    static func resolve(flags: Flags, environment: [String: String]) throws(APIError) -> Settings {
        var settings = Settings()
        if let path = flags.config ?? environment["BERTHD_CONFIG"] {
            let bytes: [UInt8]
            do {
                bytes = try FileSystem.readBytes(path)
            } catch {
                throw APIError(message: "--config: \(error)")
            }
            let file: File
            do {
                file = try OCIJSON.decode(File.self, from: Data(bytes), source: path, rejectingUnknownFields: true)
            } catch {
                throw APIError(message: error.description)
            }
            settings.apply(file, path: path)
            if let inventory = file.inventory {
                do { try inventory.validate(at: "inventory") } catch { throw APIError(message: "\(path): \(error.description)") }
            }
        }
        func pick(_ flag: String?, _ variable: String) -> String? { flag ?? environment[variable] }
        if let v = pick(flags.stateDir, "BERTHD_STATE_DIR") { settings.stateDir = v }
        if let v = pick(flags.socket, "BERTHD_SOCKET") { settings.socket = v }
        if let v = pick(flags.metricsAddress, "BERTHD_METRICS_ADDRESS") { settings.metricsAddress = v }
        if let v = pick(flags.statsdAddress, "BERTHD_STATSD_ADDRESS") { settings.statsdAddress = v }
        if let v = pick(flags.runtimeRoot, "BERTHD_RUNTIME_ROOT") { settings.runtimeRoot = v }
        if flags.debug || environment["BERTHD_DEBUG"] == "1" { settings.debug = true }
        try settings.validate()
        return settings
    }

    private mutating func apply(_ file: File, path: String) {
        if let v = file.stateDir { stateDir = v }
        if let v = file.socket { socket = v }
        if let v = file.socketGroup { socketGroup = v }
        if let v = file.metricsAddress { metricsAddress = v }
        if let v = file.statsdAddress { statsdAddress = v }
        if let v = file.statsdFormat { statsdFormat = v }
        if let v = file.runtimeRoot { runtimeRoot = v }
        if let v = file.logMaxBytes { logMaxBytes = v }
        if let v = file.logKeep { logKeep = v }
        if let v = file.rootfsBackend { rootfsBackend = v }
        if let v = file.debug { debug = v }
        if let v = file.inventory { inventory = v }
    }

    private func validate() throws(APIError) {
        for (name, path) in [("stateDir", stateDir), ("socket", socket), ("runtimeRoot", runtimeRoot)] where !path.hasPrefix("/") {
            throw APIError.badRequest(name, "must be an absolute path, got \"\(path)\"")
        }
        if statsdFormat != "dogstatsd" && statsdFormat != "prefix" {
            throw APIError.badRequest("statsdFormat", "must be dogstatsd or prefix, got \"\(statsdFormat)\"")
        }
        if logMaxBytes < 4096 { throw APIError.badRequest("logMaxBytes", "must be at least 4096, got \(logMaxBytes)") }
        if logKeep < 0 || logKeep > 100 { throw APIError.badRequest("logKeep", "must be between 0 and 100, got \(logKeep)") }
        // The same parsers the endpoint and the sender use, so the settings cannot accept what
        // they would refuse; the error names the settings field.
        do {
            _ = try MetricsServer.parseAddress(metricsAddress)
        } catch {
            throw APIError.badRequest("metricsAddress", error.message)
        }
        if let statsdAddress {
            do {
                _ = try StatsDSender.parseAddress(statsdAddress)
            } catch {
                throw APIError.badRequest("statsdAddress", error.message)
            }
        }
    }
}

extension Settings {
    var statsdTagging: StatsDTagging { statsdFormat == "prefix" ? .namePrefix("berth") : .dogStatsD }
}

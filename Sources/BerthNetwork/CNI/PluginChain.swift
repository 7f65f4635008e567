/// ADD, DEL and CHECK of a whole network list (CNI spec 1.0, "network configuration lists").
extension PluginRunner {
    /// One interface of one container on one network: what every CNI call for it repeats.
    struct Target: Sendable {
        var list: NetworkList
        var containerID: String
        /// The namespace path; empty when it is gone (DEL must still release addresses and rules).
        var namespace: String
        var interface: String
        var portMappings: [PortMapping]
    }

    /// ADD, each plugin getting the previous one's result; `progress` sees each plugin's result
    /// (to checkpoint it). On a failure the plugins already run are undone (DEL of the list)
    /// before the error is thrown, so nothing stays half set up.
    func add(_ target: Target, progress: (Int, CNIValue) throws(NetworkError) -> Void = { _, _ in }) throws(NetworkError) -> CNIValue {
        var result: CNIValue? = nil
        for index in target.list.plugins.indices {
            let outcome = Result { () throws(NetworkError) -> CNIValue in
                guard let value = try call(.add, index, target, prevResult: result) else {
                    throw NetworkError("CNI plugin \(target.list.pluginTypes[index]) (network \"\(target.list.name)\", ADD): printed no result")
                }
                try progress(index, value)
                return value
            }
            switch outcome {
            case .success(let value):
                result = value
            case .failure(let failure):
                _ = delete(target, result: result)
                throw failure
            }
        }
        return result ?? .object([:])
    }

    /// DEL in reverse order with the result ADD returned (nil when ADD never finished). Every
    /// plugin is asked even when one fails, so one stubborn plugin does not leak the others'
    /// rules; the failures come back together.
    func delete(_ target: Target, result: CNIValue?) -> NetworkError? {
        var failures: [String] = []
        for index in target.list.plugins.indices.reversed() {
            let outcome = Result { () throws(NetworkError) -> CNIValue? in
                try call(.del, index, target, prevResult: result)
            }
            if case .failure(let failure) = outcome { failures.append(failure.message) }
        }
        return failures.isEmpty ? nil : NetworkError(failures.joined(separator: "; "))
    }

    /// CHECK (CNI 0.4.0 and later): each plugin verifies what it set up is still there.
    func check(_ target: Target, result: CNIValue) throws(NetworkError) {
        let version = target.list.cniVersion
        if version.hasPrefix("0.1.") || version.hasPrefix("0.2.") || version.hasPrefix("0.3.") { return }
        for index in target.list.plugins.indices {
            _ = try call(.check, index, target, prevResult: result)
        }
    }

    private func call(_ command: Command, _ index: Int, _ target: Target, prevResult: CNIValue?) throws(NetworkError) -> CNIValue? {
        let configuration = target.list.pluginConfiguration(index, prevResult: prevResult, portMappings: target.portMappings)
        return try run(
            command, type: target.list.pluginTypes[index], network: target.list.name, containerID: target.containerID,
            namespace: target.namespace, interface: target.interface, configuration: configuration)
    }
}

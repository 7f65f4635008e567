import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Runs CNI plugin executables the way the CNI spec says a runtime must: the command and the
/// container's identity in CNI_* variables, the configuration on stdin, a result or an error
/// object on stdout.
struct PluginRunner: Sendable {
    var directories: [String]
    var timeout: Duration

    enum Command: String, Sendable { case add = "ADD", del = "DEL", check = "CHECK" }

    /// The executable for a plugin type, from the first directory that has it.
    func executable(for type: String) -> String? {
        for directory in directories {
            let path = directory + "/" + type
            if access(path, X_OK) == 0, !FileSystem.isDirectory(path) { return path }
        }
        return nil
    }

    /// Refuses a list naming a plugin no directory has, before anything is set up.
    func checkInstalled(_ list: NetworkList) throws(NetworkError) {
        for (index, type) in list.pluginTypes.enumerated() where executable(for: type) == nil {
            throw NetworkError("\(list.source): plugins[\(index)].type: plugin \"\(type)\" not found in \(directories.joined(separator: ":"))")
        }
    }

    /// Runs one plugin; returns its parsed stdout (ADD's result), or nil when it printed nothing.
    func run(
        _ command: Command, type: String, network: String, containerID: String, namespace: String,
        interface: String, configuration: CNIValue
    ) throws(NetworkError) -> CNIValue? {
        let what = "CNI plugin \(type) (network \"\(network)\", \(command.rawValue))"
        guard let path = executable(for: type) else {
            throw NetworkError("\(what): not found in \(directories.joined(separator: ":"))")
        }
        // A clean environment: nothing of berthd's own leaks into the plugins, but PATH, which
        // they need to find iptables.
        var child = ChildProcess(path: path, arguments: [path], environment: [
            "CNI_COMMAND=\(command.rawValue)", "CNI_CONTAINERID=\(containerID)", "CNI_NETNS=\(namespace)",
            "CNI_IFNAME=\(interface)", "CNI_PATH=\(directories.joined(separator: ":"))",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ])
        child.input = try configuration.jsonBytes()
        child.timeout = timeout
        let output: ChildProcess.Output
        do {
            output = try child.run()
        } catch {
            throw NetworkError("\(what): \(error)")
        }
        guard output.status == .exited(0) else {
            throw NetworkError("\(what): \(Self.failure(output))")
        }
        let text = output.standardOutputText.trimmingCharacters(in: " \n\t\r")
        if text.isEmpty { return nil }
        return try CNIValue.parse(output.standardOutput, source: "\(what) result")
    }

    /// The plugin's error object (`{"code", "msg", "details"}`) as a phrase, else its stderr.
    static func failure(_ output: ChildProcess.Output) -> String {
        if let value = try? CNIValue.parse(output.standardOutput, source: "error"), let message = value["msg"]?.string {
            var text = message
            if let details = value["details"]?.string, !details.isEmpty { text += ": " + details }
            if let code = value["code"]?.integer { text += " (code \(code))" }
            return text
        }
        let stderr = output.standardErrorText.trimmingCharacters(in: " \n\t\r")
        let stdout = output.standardOutputText.trimmingCharacters(in: " \n\t\r")
        let said = stderr.isEmpty ? stdout : stderr
        return "\(output.status)" + (said.isEmpty ? "" : ": " + said)
    }
}

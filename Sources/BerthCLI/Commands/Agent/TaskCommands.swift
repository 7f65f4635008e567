import ArgumentParser
import BerthAPI
import BerthLinux
import BerthOCI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// `berth task ...`: tasks on berthd.
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Launch, list, inspect, kill and follow berthd's tasks.",
        subcommands: [TaskLaunchCommand.self, TaskListCommand.self, TaskShowCommand.self, TaskKillCommand.self,
                      TaskLogsCommand.self, TaskWatchCommand.self])
}

struct TaskLaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "launch", abstract: "Launch a task from its JSON definition.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Launch from this offer (else from the free resources).") var offer: String?
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The task definition (- for stdin).") var file: String

    func run() throws {
        let definition = try readRequest(TaskDefinition.self, from: file)
        let query = offer.map { "?offerId=" + Routes.percentEncoded($0) } ?? ""
        let info = try global.agentClient.call("POST", Routes.tasks + query, body: definition, as: TaskInfo.self)
        if json { return try printJSON(info) }
        let ports = info.allocation?.hostPorts ?? []
        print("\(info.definition.id) \(info.status.state.rawValue)\(ports.isEmpty ? "" : " ports \(ports.map(String.init).joined(separator: ","))")")
    }
}

struct TaskListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tasks.", aliases: ["ls"])
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let tasks = try global.agentClient.call("GET", Routes.tasks, as: [TaskInfo].self)
        if json { return try printJSON(tasks) }
        let rows = [["ID", "STATE", "REASON", "CPUS", "MEM", "PORTS", "RESTARTS", "IMAGE"]] + tasks.map { task in
            [task.definition.id, task.status.state.rawValue, task.status.reason?.rawValue ?? "-",
             formatNumber(task.definition.resources.cpus), formatNumber(task.definition.resources.mem),
             (task.allocation?.hostPorts ?? []).map(String.init).joined(separator: ",").ifEmpty("-"),
             String(task.restarts), task.definition.container?.image ?? "-"]
        }
        print(Table.render(rows), terminator: "")
    }
}

struct TaskShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One task: definition, status, allocation.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument var id: String

    func run() throws {
        let task = try global.agentClient.call("GET", Routes.task(id), as: TaskInfo.self)
        if json { return try printJSON(task) }
        let status = task.status
        var lines = [
            "id         \(task.definition.id)",
            "state      \(status.state.rawValue)\(status.reason.map { " (\($0.rawValue))" } ?? "")",
        ]
        if let message = status.message { lines.append("message    \(message)") }
        if let code = status.exitCode { lines.append("exit code  \(code)") }
        if let signal = status.signal { lines.append("signal     \(signal)") }
        if let healthy = status.healthy { lines.append("healthy    \(healthy)") }
        if let container = status.containerId { lines.append("container  \(container)") }
        lines.append("command    \(task.definition.args?.joined(separator: " ") ?? task.definition.cmd ?? "(image default)")")
        if let image = task.definition.container?.image { lines.append("image      \(image)") }
        lines.append("resources  \((task.allocation?.resources ?? []).map(describe).joined(separator: "  "))")
        if let ports = task.allocation?.hostPorts, !ports.isEmpty { lines.append("ports      \(ports.map(String.init).joined(separator: ","))") }
        if let gpus = task.allocation?.gpus, !gpus.isEmpty { lines.append("gpus       \(gpus.map(String.init).joined(separator: ","))") }
        lines.append("restarts   \(task.restarts)")
        lines.append("sandbox    \(task.sandbox)")
        print(lines.joined(separator: "\n"))
    }
}

struct TaskKillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "SIGTERM to every process of the task, SIGKILL after the grace period.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds between SIGTERM and SIGKILL (default: the task's killGracePeriodSeconds).") var grace: Double?
    @Argument var id: String

    func run() throws {
        let task = try global.agentClient.call("POST", Routes.killTask(id), body: KillRequest(graceSeconds: grace), as: TaskInfo.self)
        print("\(task.definition.id) \(task.status.state.rawValue)")
    }
}

struct TaskLogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "A task's stdout (or stderr).")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Keep printing as the task writes, until it ends.") var follow = false
    @Flag(help: "stderr instead of stdout.") var stderr = false
    @Argument var id: String

    func run() throws {
        var path = Routes.taskLogs(id) + "?stream=" + (stderr ? "stderr" : "stdout")
        if follow { path += "&follow=1" }
        try global.agentClient.stream(path) { chunk in
            (try? FileDescriptor.standardOutput.writeAll(chunk)) != nil
        }
    }
}

struct TaskWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Stream status updates as they happen.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON lines.") var json = false
    @Option(help: "Only this task's updates.") var task: String?
    @Option(help: "Stop after this many updates.") var count: Int?

    func run() throws {
        var seen = 0
        try global.agentClient.streamLines(Routes.events, as: TaskStatus.self) { status in
            if let task, status.taskId != task { return true }
            if json {
                print((try? OCIJSON.encodeString(status, pretty: false)) ?? "{}")
            } else {
                var line = "\(formatNumber(status.timestamp))  \(status.taskId)  \(status.state.rawValue)"
                if let reason = status.reason { line += "  \(reason.rawValue)" }
                if let message = status.message { line += "  \(message)" }
                print(line)
            }
            fflush(nil)
            seen += 1
            return count.map { seen < $0 } ?? true
        }
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

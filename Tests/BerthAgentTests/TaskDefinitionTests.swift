import Foundation
import Testing
import BerthAPI
import BerthOCI

/// The one line a client would see for this task JSON, or nil when it is accepted.
func taskProblem(_ json: String) -> String? {
    switch Result(catching: { () throws(APIError) in try TaskDefinition.decode(Data(json.utf8)) }) {
    case .success: return nil
    case .failure(let error): return error.description
    }
}

/// The error of a body that throws APIError, or nil.
func apiFailure<T>(_ body: () throws(APIError) -> T) -> APIError? {
    switch Result(catching: body) {
    case .success: return nil
    case .failure(let error): return error
    }
}

/// A minimal task with `fields` spliced in (`"a": 1, "b": 2`).
func taskJSON(_ fields: String = "", id: String = "web") -> String {
    let extra = fields.isEmpty ? "" : ", " + fields
    return "{\"id\": \"\(id)\", \"cmd\": \"sleep 1\"\(extra)}"
}

@Suite("TaskDefinition: decoding and validation")
struct TaskDefinitionTests {
    @Test func minimalTaskGetsTheDocumentedDefaults() throws {
        let task = try TaskDefinition.decode(Data(#"{"id": "hello", "cmd": "echo hello"}"#.utf8))
        #expect(task.id == "hello")
        #expect(task.cmd == "echo hello")
        #expect(task.args == nil)
        #expect(task.resources == TaskResources(cpus: 0.1, mem: 32, disk: 0, gpus: 0, ports: 0))
        #expect(task.role == "*")
        #expect(task.network == NetworkInfo(mode: .host, name: nil, portMappings: []))
        #expect(task.killGracePeriodSeconds == 3)
        #expect(task.restart == RestartPolicy(policy: .never, maxRetries: nil, backoffSeconds: 1, backoffFactor: 1.15, maxBackoffSeconds: 300))
        #expect(task.healthChecks.isEmpty)
        #expect(task.container == nil)
    }

    @Test func fullMarathonLikeDefinitionRoundTrips() throws {
        let json = """
        {
          "id": "api.v2-1",
          "args": ["/bin/server", "--port", "$PORT0"],
          "env": {"MODE": "prod", "EMPTY": ""},
          "labels": {"team": "core", "tier/level": "1"},
          "resources": {"cpus": 0.5, "mem": 256, "disk": 100, "gpus": 0, "ports": 1},
          "role": "web",
          "user": "nobody",
          "container": {"image": "docker.io/library/busybox:latest"},
          "network": {"mode": "bridge", "name": "berth0",
                      "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"},
                                       {"containerPort": 53, "hostPort": 31053, "protocol": "udp"}]},
          "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "intervalSeconds": 2,
                            "timeoutSeconds": 1, "gracePeriodSeconds": 5, "maxConsecutiveFailures": 2},
                           {"protocol": "COMMAND", "command": "test -f /ready"},
                           {"protocol": "TCP", "port": 8080}],
          "killGracePeriodSeconds": 10,
          "restart": {"policy": "on-failure", "maxRetries": 5, "backoffSeconds": 2, "backoffFactor": 2, "maxBackoffSeconds": 60}
        }
        """
        let task = try TaskDefinition.decode(Data(json.utf8))
        #expect(task.args == ["/bin/server", "--port", "$PORT0"])
        #expect(task.network.portMappings[1] == PortMapping(containerPort: 53, hostPort: 31053, protocol: .udp))
        #expect(task.healthChecks[0].protocol == .http)
        #expect(task.healthChecks[1].intervalSeconds == 10)
        #expect(task.restart.policy == .onFailure)
        #expect(task.hostPortCount == 3)
        let again = try TaskDefinition.decode(Data(try OCIJSON.encode(task)))
        #expect(again == task)
    }

    @Test func unknownFieldsAreRefusedNamingThePath() {
        #expect(taskProblem(taskJSON(#""cpu": 1"#)) == "cpu: unknown field")
        #expect(taskProblem(taskJSON(#""resources": {"cpu": 1}"#)) == "resources.cpu: unknown field")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"hostport": 1}]}"#))
            == "network.portMappings[0].hostport: unknown field")
        #expect(taskProblem(taskJSON(#""healthChecks": [{"protocol": "TCP", "port": 1, "interval": 3}]"#))
            == "healthChecks[0].interval: unknown field")
        #expect(taskProblem(taskJSON(#""restart": {"policy": "always", "retries": 3}"#)) == "restart.retries: unknown field")
    }

    @Test func wrongTypesAreRefusedNamingThePath() {
        #expect(taskProblem(#"{"id": 5, "cmd": "x"}"#) == "id: expected a string, found a number")
        #expect(taskProblem(taskJSON(#""resources": {"cpus": "2"}"#)) == "resources.cpus: expected a number, found a string")
        #expect(taskProblem(taskJSON(#""resources": {"gpus": 1.5}"#)) == "resources.gpus: expected an integer, found 1.5")
        #expect(taskProblem(taskJSON(#""resources": {"ports": 1e30}"#))
            == "resources.ports: 1e30 is out of range (-9223372036854775808...9223372036854775807)")
        #expect(taskProblem(taskJSON(#""env": {"A": 1}"#)) == "env.A: expected a string, found a number")
        #expect(taskProblem(taskJSON(#""env": {"MY-VAR": true}"#)) == #"env["MY-VAR"]: expected a string, found a boolean"#)
        #expect(taskProblem(taskJSON(#""args": "ls""#)) == "args: expected an array, found a string")
        #expect(taskProblem(taskJSON(#""network": []"#)) == "network: expected an object, found an array")
        #expect(taskProblem(taskJSON(#""killGracePeriodSeconds": null"#)) == nil)  // null means "default"
        #expect(taskProblem(#"{"cmd": "x"}"#) == "id: missing")
        let deep = "{\"id\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + ", \"cmd\": \"x\"}"
        #expect(taskProblem(deep).map { $0.hasPrefix("not valid JSON: ") } == true)
        #expect(taskProblem(#"[1, 2]"#) == "expected an object, found an array")
        #expect(taskProblem("").map { $0.hasPrefix("not valid JSON: the document is empty") } == true)
        #expect(taskProblem(#"{"id": "a", "cmd": "x",}"#).map { $0.hasPrefix("not valid JSON: ") } == true)
    }

    @Test func unknownEnumValuesNameTheFieldAndTheChoices() {
        #expect(taskProblem(taskJSON(#""network": {"mode": "overlay"}"#))
            == #"network.mode: unknown network mode "overlay" (expected host, none or bridge)"#)
        #expect(taskProblem(taskJSON(#""network": {"mode": "bridge", "portMappings": [{"containerPort": 1, "protocol": "sctp"}]}"#))
            == #"network.portMappings[0].protocol: unknown port protocol "sctp" (expected tcp or udp)"#)
        #expect(taskProblem(taskJSON(#""healthChecks": [{"protocol": "UDP"}]"#))
            == #"healthChecks[0].protocol: unknown health check protocol "UDP" (expected COMMAND, HTTP or TCP)"#)
        #expect(taskProblem(taskJSON(#""healthChecks": [{"command": "true"}]"#)) == "healthChecks[0].protocol: missing")
        #expect(taskProblem(taskJSON(#""restart": {"policy": "sometimes"}"#))
            == #"restart.policy: unknown restart policy "sometimes" (expected never, on-failure or always)"#)
    }

    @Test func idsMustBeSafeDirectoryNames() {
        #expect(taskProblem(taskJSON(id: "")) == "id: must not be empty")
        #expect(taskProblem(taskJSON(id: "../etc")) == #"id: must not contain "..", got "../etc""#)
        #expect(taskProblem(taskJSON(id: "a..b")) == #"id: must not contain "..", got "a..b""#)
        #expect(taskProblem(taskJSON(id: "a/b")) == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got "a/b""#)
        #expect(taskProblem(taskJSON(id: "-rf")) == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got "-rf""#)
        #expect(taskProblem(taskJSON(id: ".hidden")) == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got ".hidden""#)
        #expect(taskProblem(taskJSON(id: "caf\\u00e9")) == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got "café""#)
        #expect(taskProblem(taskJSON(id: "a\\u0000b")) == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got "a\u0000b""#)
        #expect(taskProblem(taskJSON(id: String(repeating: "a", count: 128))) == nil)
        #expect(taskProblem(taskJSON(id: String(repeating: "a", count: 129)))?.hasPrefix("id: must match") == true)
        #expect(taskProblem(taskJSON(id: "A_b.c-9")) == nil)
    }

    @Test func commandIsExactlyOneOfCmdOrArgs() {
        #expect(taskProblem(#"{"id": "a"}"#) == "cmd: one of cmd or args is required (or container.image)")
        #expect(taskProblem(#"{"id": "a", "cmd": "x", "args": ["x"]}"#) == "cmd: give either cmd or args, not both")
        #expect(taskProblem(#"{"id": "a", "cmd": ""}"#) == "cmd: must not be empty")
        #expect(taskProblem(#"{"id": "a", "args": []}"#) == "args: must not be empty")
        #expect(taskProblem(#"{"id": "a", "args": [""]}"#) == "args[0]: must not be empty")
        #expect(taskProblem(#"{"id": "a", "args": ["ls", "a\u0000b"]}"#) == "args[1]: contains a NUL byte")
        let many = "[" + Array(repeating: "\"x\"", count: 4097).joined(separator: ",") + "]"
        #expect(taskProblem("{\"id\": \"a\", \"args\": \(many)}") == "args: more than 4096 arguments")
        let huge = String(repeating: "x", count: 65537)
        #expect(taskProblem("{\"id\": \"a\", \"cmd\": \"\(huge)\"}") == "cmd: longer than 65536 bytes")
    }

    @Test func absurdResourcesAreRefused() {
        #expect(taskProblem(taskJSON(#""resources": {"cpus": -1}"#)) == "resources.cpus: must be between 0.001 and 4096, got -1")
        #expect(taskProblem(taskJSON(#""resources": {"cpus": 0}"#)) == "resources.cpus: must be between 0.001 and 4096, got 0")
        #expect(taskProblem(taskJSON(#""resources": {"cpus": 4097}"#)) == "resources.cpus: must be between 0.001 and 4096, got 4097")
        #expect(taskProblem(taskJSON(#""resources": {"cpus": 1e308}"#))
            == "resources.cpus: must be between 0.001 and 4096, got 1e+308")
        #expect(taskProblem(taskJSON(#""resources": {"mem": 2}"#)) == "resources.mem: must be between 4 and 16777216, got 2")
        #expect(taskProblem(taskJSON(#""resources": {"mem": 16777217}"#)) == "resources.mem: must be between 4 and 16777216, got 16777217")
        #expect(taskProblem(taskJSON(#""resources": {"disk": -0.5}"#)) == "resources.disk: must be between 0 and 1073741824, got -0.5")
        #expect(taskProblem(taskJSON(#""resources": {"gpus": -1}"#)) == "resources.gpus: must be between 0 and 1024, got -1")
        #expect(taskProblem(taskJSON(#""resources": {"ports": 70000}"#)) == "resources.ports: must be between 0 and 1024, got 70000")
        #expect(taskProblem(taskJSON(#""resources": {"cpus": 0.001, "mem": 4}"#)) == nil)
    }

    @Test func envLabelsRoleAndUserAreChecked() {
        #expect(taskProblem(taskJSON(#""env": {"1A": "x"}"#)) == #"env["1A"]: variable names must match [A-Za-z_][A-Za-z0-9_]{0,255}"#)
        #expect(taskProblem(taskJSON(#""env": {"A=B": "x"}"#)) == #"env["A=B"]: variable names must match [A-Za-z_][A-Za-z0-9_]{0,255}"#)
        #expect(taskProblem(taskJSON(#""env": {"A": "x\u0000y"}"#)) == "env.A: contains a NUL byte")
        let bigEnv = (0..<40).map { "\"V\($0)\": \"" + String(repeating: "x", count: 30000) + "\"" }.joined(separator: ", ")
        #expect(taskProblem(taskJSON("\"env\": {\(bigEnv)}")) == "env: larger than 1048576 bytes in all")
        #expect(taskProblem(taskJSON(#""labels": {"": "x"}"#)) == #"labels[""]: label keys must be 1 to 256 bytes without NUL"#)
        #expect(taskProblem(taskJSON(#""role": "a/b""#)) == #"role: must be "*" or match [a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}, got "a/b""#)
        #expect(taskProblem(taskJSON(#""user": "root:root""#)) == #"user: must be a user name or uid, got "root:root""#)
        #expect(taskProblem(taskJSON(#""user": """#)) == "user: must not be empty")
        #expect(taskProblem(taskJSON(#""container": {"image": ""}"#)) == "container.image: must not be empty")
        #expect(taskProblem(taskJSON(#""container": {}"#)) == "container.image: missing")
    }

    @Test func networkAndPortMappingsAreChecked() {
        #expect(taskProblem(taskJSON(#""network": {"mode": "none", "portMappings": [{"hostPort": 0}]}"#))
            == "network.portMappings: not allowed with network mode none")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"hostPort": 70000}]}"#))
            == "network.portMappings[0].hostPort: must be between 0 and 65535, got 70000")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"hostPort": -1}]}"#))
            == "network.portMappings[0].hostPort: must be between 0 and 65535, got -1")
        #expect(taskProblem(taskJSON(#""network": {"mode": "bridge", "portMappings": [{"hostPort": 0}]}"#))
            == "network.portMappings[0].containerPort: must be between 1 and 65535, got 0")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"containerPort": 80, "hostPort": 31000}]}"#))
            == "network.portMappings[0].containerPort: must be 0 or equal to hostPort in network mode host, got 80")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"name": "http"}, {"name": "http"}]}"#))
            == #"network.portMappings[1].name: duplicate port name "http""#)
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"hostPort": 31000}, {"hostPort": 31000}]}"#))
            == "network.portMappings[1].hostPort: port 31000/tcp is mapped twice")
        #expect(taskProblem(taskJSON(#""network": {"portMappings": [{"hostPort": 31053}, {"hostPort": 31053, "protocol": "udp"}]}"#)) == nil)
        #expect(taskProblem(taskJSON(#""network": {"name": "berth0"}"#)) == "network.name: only allowed with network mode bridge")
        #expect(taskProblem(taskJSON(#""network": {"mode": "bridge", "name": "../x"}"#))
            == #"network.name: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}, got "../x""#)
    }

    @Test func healthChecksAreChecked() {
        func check(_ body: String, ports: String = "") -> String? {
            taskProblem(taskJSON("\"healthChecks\": [\(body)]" + ports))
        }
        #expect(check(#"{"protocol": "COMMAND"}"#) == "healthChecks[0].command: required for protocol COMMAND")
        #expect(check(#"{"protocol": "COMMAND", "command": "true", "port": 80}"#) == "healthChecks[0].port: not allowed for protocol COMMAND")
        #expect(check(#"{"protocol": "HTTP"}"#) == "healthChecks[0].portIndex: one of portIndex or port is required for protocol HTTP")
        #expect(check(#"{"protocol": "TCP", "port": 1, "portIndex": 0}"#, ports: #", "resources": {"ports": 1}"#)
            == "healthChecks[0].port: give either portIndex or port, not both")
        #expect(check(#"{"protocol": "HTTP", "portIndex": 2}"#, ports: #", "resources": {"ports": 1}"#)
            == "healthChecks[0].portIndex: 2 is out of range (the task has 1 host port)")
        #expect(check(#"{"protocol": "HTTP", "portIndex": 0}"#) == "healthChecks[0].portIndex: 0 is out of range (the task has 0 host ports)")
        #expect(check(#"{"protocol": "TCP", "port": 0}"#) == "healthChecks[0].port: must be between 1 and 65535, got 0")
        #expect(check(#"{"protocol": "TCP", "port": 80, "path": "/"}"#) == "healthChecks[0].path: only allowed for protocol HTTP")
        #expect(check(#"{"protocol": "HTTP", "port": 80, "path": "x y"}"#)
            == #"healthChecks[0].path: must start with / and hold no spaces or line breaks, got "x y""#)
        #expect(check(#"{"protocol": "HTTP", "port": 80, "intervalSeconds": 0}"#)
            == "healthChecks[0].intervalSeconds: must be between 0.001 and 86400, got 0")
        #expect(check(#"{"protocol": "HTTP", "port": 80, "timeoutSeconds": -1}"#)
            == "healthChecks[0].timeoutSeconds: must be between 0.001 and 86400, got -1")
        #expect(check(#"{"protocol": "HTTP", "port": 80, "gracePeriodSeconds": -3}"#)
            == "healthChecks[0].gracePeriodSeconds: must be between 0 and 86400, got -3")
        #expect(check(#"{"protocol": "HTTP", "port": 80, "maxConsecutiveFailures": -1}"#)
            == "healthChecks[0].maxConsecutiveFailures: must be between 0 and 1000, got -1")
        #expect(check(#"{"protocol": "TCP", "portIndex": 0}"#, ports: #", "network": {"portMappings": [{"name": "http"}]}"#) == nil)
    }

    @Test func graceAndRestartPolicyAreChecked() {
        #expect(taskProblem(taskJSON(#""killGracePeriodSeconds": -1"#)) == "killGracePeriodSeconds: must be between 0 and 3600, got -1")
        #expect(taskProblem(taskJSON(#""killGracePeriodSeconds": 86400"#)) == "killGracePeriodSeconds: must be between 0 and 3600, got 86400")
        #expect(taskProblem(taskJSON(#""restart": {"maxRetries": -1}"#)) == "restart.maxRetries: must be between 0 and 1000000, got -1")
        #expect(taskProblem(taskJSON(#""restart": {"backoffFactor": 0.5}"#)) == "restart.backoffFactor: must be between 1 and 100, got 0.5")
        #expect(taskProblem(taskJSON(#""restart": {"backoffSeconds": -2}"#)) == "restart.backoffSeconds: must be between 0 and 86400, got -2")
        #expect(taskProblem(taskJSON(#""restart": {"backoffSeconds": 10, "maxBackoffSeconds": 5}"#))
            == "restart.maxBackoffSeconds: must not be less than backoffSeconds (10), got 5")
    }

    @Test func restartPolicyDecidesAndBacksOff() {
        let policy = RestartPolicy(policy: .onFailure, maxRetries: 2, backoffSeconds: 1, backoffFactor: 2, maxBackoffSeconds: 5)
        #expect(policy.delay(beforeRestart: 0) == 1)
        #expect(policy.delay(beforeRestart: 1) == 2)
        #expect(policy.delay(beforeRestart: 2) == 4)
        #expect(policy.delay(beforeRestart: 3) == 5)
        #expect(policy.delay(beforeRestart: 1_000_000) == 5)
        #expect(policy.shouldRestart(after: .failed, reason: .exited, restarts: 0))
        #expect(policy.shouldRestart(after: .failed, reason: .oomKilled, restarts: 1))
        #expect(!policy.shouldRestart(after: .failed, reason: .exited, restarts: 2))
        #expect(!policy.shouldRestart(after: .finished, reason: .exited, restarts: 0))
        #expect(!policy.shouldRestart(after: .killed, reason: .killedByScheduler, restarts: 0))
        let always = RestartPolicy(policy: .always)
        #expect(always.shouldRestart(after: .finished, reason: .exited, restarts: 100))
        #expect(!always.shouldRestart(after: .killed, reason: .killedByScheduler, restarts: 0))
        #expect(!always.shouldRestart(after: .running, reason: nil, restarts: 0))
        #expect(!RestartPolicy().shouldRestart(after: .failed, reason: .exited, restarts: 0))
    }

    /// Every top-level and nested field replaced by every JSON kind: the result is either a valid
    /// task or one line naming a field inside the one that was broken. Never a crash.
    @Test func everyFieldWithEveryWrongKindIsRefusedCleanly() throws {
        let base: [String: String] = [
            "id": #""t1""#, "cmd": #""sleep 1""#, "env": #"{"A": "1"}"#, "labels": #"{"k": "v"}"#,
            "resources": #"{"cpus": 1, "mem": 64, "disk": 0, "gpus": 0, "ports": 1}"#, "role": #""*""#,
            "user": #""nobody""#, "container": #"{"image": "busybox"}"#,
            "network": #"{"mode": "host", "portMappings": [{"hostPort": 0, "name": "p"}]}"#,
            "healthChecks": #"[{"protocol": "TCP", "portIndex": 0}]"#, "killGracePeriodSeconds": "3",
            "restart": #"{"policy": "always", "maxRetries": 1}"#,
        ]
        let kinds = ["null", "true", "-1", "0", "1e999", "1.5", #""""#, #""x""#, "[]", "[1]", "{}", #"{"zz": 1}"#]
        func document(_ fields: [String: String]) -> String {
            "{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!)" }.joined(separator: ", ") + "}"
        }
        #expect(taskProblem(document(base)) == nil)
        var refused = 0
        for key in base.keys.sorted() {
            for kind in kinds {
                var fields = base
                fields[key] = kind
                guard let problem = taskProblem(document(fields)) else { continue }
                refused += 1
                let namesField = problem.hasPrefix(key) || problem.hasPrefix("cmd:") || problem.hasPrefix("not valid JSON")
                #expect(namesField, "\(key) = \(kind): \(problem)")
                #expect(!problem.contains("\n"))
            }
        }
        #expect(refused > base.count * 6)
    }

    @Test func taskStatesAndStatusesEncodeAsMesosNamesThem() throws {
        #expect(TaskState.allCases.map(\.rawValue) == ["STAGING", "STARTING", "RUNNING", "KILLING", "FINISHED", "FAILED", "KILLED", "ERROR", "LOST"])
        #expect(TaskState.allCases.filter(\.isTerminal) == [.finished, .failed, .killed, .error, .lost])
        let status = TaskStatus(taskId: "t", state: .failed, reason: .oomKilled, message: "OOM-killed", exitCode: nil,
                                signal: 9, healthy: false, containerId: "berth-t-1", timestamp: 1_700_000_000.5)
        let text = try OCIJSON.encodeString(status, pretty: false)
        #expect(text == #"{"containerId":"berth-t-1","healthy":false,"message":"OOM-killed","reason":"oomKilled","signal":9,"state":"FAILED","taskId":"t","timestamp":1700000000.5}"#)
        let back = try OCIJSON.decode(TaskStatus.self, from: Data(text.utf8), source: "status", rejectingUnknownFields: true)
        #expect(back == status)
        let bad = apiFailure { () throws(APIError) in
            try APIJSON.decode(TaskStatus.self, from: Data(#"{"taskId":"t","state":"DONE","timestamp":1}"#.utf8))
        }
        #expect(bad?.description == #"state: unknown task state "DONE" (expected STAGING, STARTING, RUNNING, KILLING, FINISHED, FAILED, KILLED, ERROR or LOST)"#)
    }

    @Test func apiErrorsTravelAsOneLineJSON() throws {
        let error = APIError.badRequest("resources.cpus", "must be between 0.001 and 4096, got -1")
        #expect(error.description == "resources.cpus: must be between 0.001 and 4096, got -1")
        let body = try OCIJSON.encodeString(error.body, pretty: false)
        #expect(body == #"{"error":"resources.cpus: must be between 0.001 and 4096, got -1","field":"resources.cpus"}"#)
        let decoded = try OCIJSON.decode(APIErrorBody.self, from: Data(body.utf8), source: "response")
        #expect(APIError(status: 400, body: decoded) == error)
        #expect(APIError(status: 404, body: APIErrorBody(error: "no such task")).description == "no such task")
        #expect(APIError.conflict(nil, "x").status == 409)
    }

    @Test func acceptAndDeclineRequestsAreValidated() {
        func acceptProblem(_ json: String) -> String? {
            apiFailure { () throws(APIError) in
                try APIJSON.decode(AcceptRequest.self, from: Data(json.utf8)).validate()
            }?.description
        }
        #expect(acceptProblem(#"{"offerIds": [], "operations": []}"#) == "offerIds: must not be empty")
        #expect(acceptProblem(#"{"offerIds": ["a", "a"], "operations": []}"#) == #"offerIds[1]: duplicate offer id "a""#)
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": []}"#) == "operations: must not be empty")
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "DESTROY"}]}"#)
            == #"operations[0].type: unknown operation type "DESTROY" (expected LAUNCH, LAUNCH_GROUP, RESERVE or UNRESERVE)"#)
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "LAUNCH"}]}"#) == "operations[0].tasks: must not be empty for LAUNCH")
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "LAUNCH", "tasks": [{"id": "x", "cmd": "y", "resources": {"mem": 1}}]}]}"#)
            == "operations[0].tasks[0].resources.mem: must be between 4 and 16777216, got 1")
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "LAUNCH", "tasks": [{"id": "x", "cmd": "y"}]}, {"type": "LAUNCH", "tasks": [{"id": "x", "cmd": "z"}]}]}"#)
            == #"operations[1].tasks[0].id: duplicate task id "x""#)
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "RESERVE", "resources": [{"name": "cpus", "type": "scalar", "scalar": 1}]}]}"#)
            == #"operations[0].resources[0].role: must name the role to reserve for, not "*""#)
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "RESERVE", "resources": [{"name": "cpus", "type": "scalar", "role": "web"}]}]}"#)
            == "operations[0].resources[0].scalar: required for a resource of type scalar")
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "LAUNCH_GROUP", "tasks": [{"id": "x", "cmd": "y"}, {"id": "z", "cmd": "y", "network": {"mode": "none"}}]}]}"#)
            == "operations[0].tasks[1].network: tasks of a LAUNCH_GROUP share one network; it must equal the first task's")
        #expect(acceptProblem(#"{"offerIds": ["a"], "operations": [{"type": "LAUNCH", "tasks": [{"id": "x", "cmd": "y"}]}], "refuseSeconds": -1}"#)
            == "refuseSeconds: must be between 0 and 31536000, got -1")
        let decline = apiFailure { () throws(APIError) in
            try APIJSON.decode(DeclineRequest.self, from: Data(#"{"offerIds": ["a"], "refuseSeconds": -5}"#.utf8)).validate()
        }
        #expect(decline?.description == "refuseSeconds: must be between 0 and 31536000, got -5")
        #expect(apiFailure { () throws(APIError) in try APIJSON.decode(DeclineRequest.self, from: Data(#"{"offerIds": ["a"]}"#.utf8)) } == nil)
    }
}

import Foundation
import Testing
@testable import BerthOCI

@Suite struct DecodingTests {
    @Test func wrongTypeForUID() {
        let json = #"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":"0","gid":0}}}"#
        #expect(problem(json) == "config.json: process.user.uid: expected an unsigned integer, found a string")
    }

    @Test func negativeUID() {
        let json = #"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":-1,"gid":0}}}"#
        #expect(problem(json) == "config.json: process.user.uid: expected an unsigned integer, found -1")
    }

    @Test func uidOutOfRange() {
        let json = #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":4294967296,"gid":0}}}"#
        #expect(problem(json) == "config.json: process.user.uid: 4294967296 is out of range (0...4294967295)")
    }

    @Test func fractionalNumber() {
        let json = #"{"ociVersion":"1.2.0","linux":{"resources":{"memory":{"limit":1.5}}}}"#
        #expect(problem(json) == "config.json: linux.resources.memory.limit: expected an integer, found 1.5")
    }

    @Test func integralExponentIsAccepted() throws {
        let json = #"{"ociVersion":"1.2.0","linux":{"resources":{"memory":{"limit":1e6}}}}"#
        let spec = try Spec.decode(Data(json.utf8))
        #expect(spec.linux?.resources?.memory?.limit == 1_000_000)
    }

    @Test func missingNamespaceType() {
        let json = #"{"ociVersion":"1.2.0","linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"path":"/proc/1/ns/net"}]}}"#
        #expect(problem(json) == "config.json: linux.namespaces[2].type: missing")
    }

    @Test func nullForRequiredField() {
        let json = #"{"ociVersion":"1.2.0","root":{"path":null}}"#
        #expect(problem(json) == "config.json: root.path: expected a string, found null")
    }

    @Test func wrongContainerType() {
        let json = #"{"ociVersion":"1.2.0","mounts":{"destination":"/proc"}}"#
        #expect(problem(json) == "config.json: mounts: expected an array, found an object")
    }

    @Test func mapKeysAreQuotedInPaths() {
        let json = #"{"ociVersion":"1.2.0","linux":{"sysctl":{"net.ipv4.ip_forward":1}}}"#
        #expect(problem(json) == #"config.json: linux.sysctl["net.ipv4.ip_forward"]: expected a string, found a number"#)
    }

    @Test func invalidJSONHasLineAndColumn() {
        let json = "{\n  \"ociVersion\": \"1.2.0\"\n  \"root\": {}\n}"
        #expect(problem(json) == "config.json: not valid JSON: expected ',' or '}', found character '\"' at line 3, column 3")
    }

    @Test func trailingCommaIsNotJSON() {
        let json = "{\"ociVersion\": \"1.2.0\",\n}"
        #expect(problem(json) == "config.json: not valid JSON: expected a string key, found character '}' at line 2, column 1")
    }

    @Test func emptyAndTruncatedDocuments() {
        #expect(problem("") == "config.json: not valid JSON: the document is empty")
        #expect(problem("{\"ociVersion\": \"1.2") == "config.json: not valid JSON: unterminated string at line 1, column 16")
        #expect(problem("[1]") == "config.json: expected an object, found an array")
    }

    @Test func stringEscapesDecode() throws {
        let json = #"{"ociVersion":"1.2.0","hostname":"a\u00e9\ud83d\ude00\n\"b\""}"#
        let spec = try Spec.decode(Data(json.utf8))
        #expect(spec.hostname == "aé😀\n\"b\"")
    }

    @Test func realisticConfigDecodesAndIgnoresUnknownFields() throws {
        let spec = try Spec.decode(Data(realisticConfig.utf8))
        try spec.validate()
        #expect(spec.process?.user.additionalGids == [10, 11])
        #expect(spec.process?.capabilities?.bounding?.count == 4)
        #expect(spec.process?.rlimits?.first == Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 20000, soft: 20000))
        #expect(spec.mounts?.count == 4)
        #expect(spec.mounts?[3].options == ["rbind", "ro", "rprivate"])
        #expect(spec.hooks?.createRuntime?.first?.timeout == 10)
        #expect(spec.linux?.namespaces?.count == 5)
        #expect(spec.linux?.namespaces?[1].path == "/var/run/netns/cni-1234")
        #expect(spec.linux?.resources?.memory?.limit == 536_870_912)
        #expect(spec.linux?.resources?.memory?.swap == -1)
        #expect(spec.linux?.resources?.cpu?.quota == 50000)
        #expect(spec.linux?.resources?.pids?.limit == 4096)
        #expect(spec.linux?.resources?.blockIO?.throttleReadBpsDevice?.first?.rate == 1_048_576)
        #expect(spec.linux?.resources?.unified?["memory.high"] == "400M")
        #expect(spec.linux?.seccomp?.syscalls?[1].args?.first?.op == "SCMP_CMP_MASKED_EQ")
        #expect(spec.linux?.sysctl?["net.ipv4.ping_group_range"] == "0 0")
        #expect(spec.linux?.devices?.first?.fileMode == 438)
        #expect(spec.annotations?["io.podman.annotations.autoremove"] == "FALSE")
    }

    @Test func processFileUsesItsOwnSource() throws {
        let bad = #"{"cwd":"/","args":["ls"],"user":{"uid":0,"gid":"x"}}"#
        #expect(throws: OCIError(source: "process.json", path: "user.gid", message: "expected an unsigned integer, found a string")) {
            _ = try Spec.Process.decode(Data(bad.utf8))
        }
        let relative = try Spec.Process.decode(Data(#"{"cwd":"tmp","args":["ls"],"user":{"uid":0,"gid":0},"extra":true}"#.utf8))
        #expect(throws: OCIError(source: "process.json", path: "cwd", message: "must be an absolute path, got \"tmp\"")) {
            try relative.validate()
        }
        let noCwd = #"{"args":["ls"],"user":{"uid":0,"gid":0}}"#
        #expect((try? Spec.Process.decode(Data(noCwd.utf8))) == nil)
    }

    @Test func loadFromBundle() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-oci-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: OCIError(source: "config.json", path: "",
                                 message: "cannot read \(dir.path)/config.json: No such file or directory")) {
            _ = try Spec.load(bundle: dir.path)
        }
        try Data(Spec.defaultSpec().encode()).write(to: dir.appendingPathComponent("config.json"))
        #expect(try Spec.load(bundle: dir.path) == Spec.defaultSpec())
    }
}

let realisticConfig = #"""
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [10, 11]},
    "args": ["/bin/sh", "-c", "exec sleep 1000"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web", "EMPTY="],
    "cwd": "/srv",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_SETUID"],
      "effective": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
      "futureSet": ["CAP_WHATEVER"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000}, {"type": "RLIMIT_NPROC", "hard": 4096, "soft": 4096}],
    "noNewPrivileges": true,
    "oomScoreAdj": 100,
    "someFutureProcessField": {"nested": [1, 2, {"x": null}]}
  },
  "root": {"path": "/var/lib/containers/storage/overlay/abc/merged", "readonly": false},
  "hostname": "web",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/etc/resolv.conf", "type": "bind", "source": "/run/containers/resolv.conf", "options": ["rbind", "ro", "rprivate"]}
  ],
  "hooks": {
    "createRuntime": [{"path": "/usr/libexec/podman/hook", "args": ["hook", "create"], "env": ["A=1"], "timeout": 10}],
    "poststop": [{"path": "/usr/bin/podman", "args": ["podman", "cleanup"]}]
  },
  "annotations": {"io.podman.annotations.autoremove": "FALSE", "org.opencontainers.image.stopSignal": "15"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/cni-1234"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}],
    "cgroupsPath": "/berth/web",
    "resources": {
      "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}],
      "memory": {"limit": 536870912, "swap": -1, "swappiness": 60, "disableOOMKiller": false},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
      "pids": {"limit": 4096},
      "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
      "unified": {"memory.high": "400M"},
      "someFutureController": {"knob": 1}
    },
    "rootfsPropagation": "rprivate",
    "sysctl": {"net.ipv4.ping_group_range": "0 0", "kernel.shmmax": "68719476736"},
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
      ]
    },
    "maskedPaths": ["/proc/kcore", "/sys/firmware"],
    "readonlyPaths": ["/proc/sys"]
  },
  "solaris": {"anet": []},
  "x-vendor-extension": true
}
"""#

@Suite struct StrictDecodingTests {
    struct Request: Decodable, Equatable {
        struct Limits: Decodable, Equatable { var cpus: Double }
        var id: String
        var labels: [String: String]?
        var limits: [Limits]?
    }

    private func strictProblem(_ json: String) -> String? {
        do {
            _ = try OCIJSON.decode(Request.self, from: Data(json.utf8), source: "task", rejectingUnknownFields: true)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func unknownTopLevelFieldIsNamed() {
        #expect(strictProblem(#"{"id":"a","cpu":1}"#) == "task: cpu: unknown field")
    }

    @Test func unknownNestedFieldIsNamedWithItsPath() {
        #expect(strictProblem(#"{"id":"a","limits":[{"cpus":1},{"cpus":1,"mem":2}]}"#) == "task: limits[1].mem: unknown field")
    }

    @Test func dictionaryKeysAreNotFields() {
        #expect(strictProblem(#"{"id":"a","labels":{"anything":"goes"}}"#) == nil)
    }

    @Test func lenientByDefaultAsTheRuntimeSpecRequires() throws {
        let r = try OCIJSON.decode(Request.self, from: Data(#"{"id":"a","future":true}"#.utf8), source: "x")
        #expect(r.id == "a")
    }
}

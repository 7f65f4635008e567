import Testing
@testable import BerthOCI

/// The tree readers (TreeReading.swift) must read every document they take exactly as Codable
/// does, and leave the rest to it.
@Suite struct SpecReadingTests {
    @Test("every field of config.json, set: the tree readers take it and read what Codable reads")
    func everyField() throws {
        let bytes = Array(Self.everyField.utf8)
        let codable = try OCIJSON.decode(Spec.self, from: bytes, source: "config.json")
        // The document sets every field of every type; a field added to a type and not here fails.
        #expect(Self.unsetFields(of: codable, at: "config.json") == [])
        let read = try Spec(tree: try JSONParser.parse(bytes))
        #expect(read == codable)
        #expect(try Spec.decode(bytes) == codable)
    }

    @Test("the default spec reads the same both ways")
    func defaultSpec() throws {
        let bytes = try OCIJSON.encodeBytes(Spec.defaultSpec())
        #expect(try Spec(tree: try JSONParser.parse(bytes)) == Spec.defaultSpec())
    }

    @Test("what the tree readers refuse, Codable reads or names", arguments: [
        // An integer written as 1e3 or 2.0 is exact: Codable takes it.
        #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":1e3,"gid":2.0}}}"#,
        // A wrong kind, a missing required field, an out-of-range number: Codable's errors.
        #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":"0","gid":0}}}"#,
        #"{"ociVersion":"1.2.0","root":{"readonly":true}}"#,
        #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":4294967296,"gid":0}}}"#,
        #"{"ociVersion":"1.2.0","mounts":[{"destination":"/x","options":"ro"}]}"#,
        #"{"ociVersion":null}"#,
        #"[]"#,
    ])
    func refusedGoToCodable(_ json: String) throws {
        let bytes = Array(json.utf8)
        #expect(throws: Unreadable.self) { try Spec(tree: try JSONParser.parse(bytes)) }
        let viaCodable = Result { () throws(OCIError) in try OCIJSON.decode(Spec.self, from: bytes, source: "config.json") }
        let viaDecode = Result { () throws(OCIError) in try Spec.decode(bytes) }
        switch (viaCodable, viaDecode) {
        case (.success(let a), .success(let b)): #expect(a == b)
        case (.failure(let a), .failure(let b)): #expect(a.description == b.description)
        default: Issue.record("Spec.decode and Codable disagree on \(json)")
        }
    }

    /// The paths of optional fields left nil, anywhere in `value`.
    static func unsetFields(of value: Any, at path: String) -> [String] {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return [path] }
            return unsetFields(of: wrapped, at: path)
        }
        switch mirror.displayStyle {
        case .struct, .collection, .dictionary:
            return mirror.children.enumerated().flatMap { index, child in
                unsetFields(of: child.value, at: path + "." + (child.label ?? String(index)))
            }
        case .tuple:
            return mirror.children.flatMap { unsetFields(of: $0.value, at: path) }
        default:
            return []
        }
    }

    static let everyField = #"""
{
 "annotations": {
  "key126": "annotations-127"
 },
 "domainname": "domainname-59",
 "hooks": {
  "createContainer": [
   {
    "args": [
     "args-98"
    ],
    "env": [
     "env-100"
    ],
    "path": "path-96",
    "timeout": 102
   }
  ],
  "createRuntime": [
   {
    "args": [
     "args-90"
    ],
    "env": [
     "env-92"
    ],
    "path": "path-88",
    "timeout": 94
   }
  ],
  "poststart": [
   {
    "args": [
     "args-114"
    ],
    "env": [
     "env-116"
    ],
    "path": "path-112",
    "timeout": 118
   }
  ],
  "poststop": [
   {
    "args": [
     "args-122"
    ],
    "env": [
     "env-124"
    ],
    "path": "path-120",
    "timeout": 126
   }
  ],
  "prestart": [
   {
    "args": [
     "args-82"
    ],
    "env": [
     "env-84"
    ],
    "path": "path-80",
    "timeout": 86
   }
  ],
  "startContainer": [
   {
    "args": [
     "args-106"
    ],
    "env": [
     "env-108"
    ],
    "path": "path-104",
    "timeout": 110
   }
  ]
 },
 "hostname": "hostname-58",
 "linux": {
  "cgroupsPath": "cgroupsPath-159",
  "devices": [
   {
    "fileMode": 155,
    "gid": 157,
    "major": 152,
    "minor": 153,
    "path": "path-150",
    "type": "type-149",
    "uid": 156
   }
  ],
  "gidMappings": [
   {
    "containerID": 142,
    "hostID": 143,
    "size": 144
   }
  ],
  "intelRdt": {
   "closID": "closID-265",
   "enableCMT": true,
   "enableMBM": true,
   "l3CacheSchema": "l3CacheSchema-266",
   "memBwSchema": "memBwSchema-267"
  },
  "maskedPaths": [
   "maskedPaths-260"
  ],
  "mountLabel": "mountLabel-263",
  "namespaces": [
   {
    "path": "path-132",
    "type": "type-131"
   }
  ],
  "netDevices": {
   "key156": {
    "name": "name-158"
   }
  },
  "personality": {
   "domain": "domain-271",
   "flags": [
    "flags-273"
   ]
  },
  "readonlyPaths": [
   "readonlyPaths-262"
  ],
  "resources": {
   "blockIO": {
    "leafWeight": 194,
    "throttleReadBpsDevice": [
     {
      "major": 202,
      "minor": 203,
      "rate": 205
     }
    ],
    "throttleReadIOPSDevice": [
     {
      "major": 212,
      "minor": 213,
      "rate": 215
     }
    ],
    "throttleWriteBpsDevice": [
     {
      "major": 207,
      "minor": 208,
      "rate": 210
     }
    ],
    "throttleWriteIOPSDevice": [
     {
      "major": 217,
      "minor": 218,
      "rate": 220
     }
    ],
    "weight": 193,
    "weightDevice": [
     {
      "leafWeight": 200,
      "major": 196,
      "minor": 197,
      "weight": 199
     }
    ]
   },
   "cpu": {
    "burst": 183,
    "cpus": "cpus-185",
    "idle": 188,
    "mems": "mems-186",
    "period": 184,
    "quota": 181,
    "realtimePeriod": 186,
    "realtimeRuntime": 184,
    "shares": 181
   },
   "devices": [
    {
     "access": "access-167",
     "allow": true,
     "major": 166,
     "minor": 167,
     "type": "type-164"
    }
   ],
   "hugepageLimits": [
    {
     "limit": 224,
     "pageSize": "pageSize-221"
    }
   ],
   "memory": {
    "checkBeforeUpdate": true,
    "disableOOMKiller": true,
    "kernel": 173,
    "kernelTCP": 174,
    "limit": 170,
    "reservation": 171,
    "swap": 172,
    "swappiness": 176,
    "useHierarchy": true
   },
   "network": {
    "classID": 226,
    "priorities": [
     {
      "name": "name-227",
      "priority": 230
     }
    ]
   },
   "pids": {
    "limit": 190
   },
   "rdma": {
    "key229": {
     "hcaHandles": 233,
     "hcaObjects": 234
    }
   },
   "unified": {
    "key233": "unified-234"
   }
  },
  "rootfsPropagation": "rootfsPropagation-235",
  "seccomp": {
   "architectures": [
    "architectures-240"
   ],
   "defaultAction": "defaultAction-237",
   "defaultErrnoRet": 240,
   "flags": [
    "flags-242"
   ],
   "listenerMetadata": "listenerMetadata-244",
   "listenerPath": "listenerPath-243",
   "syscalls": [
    {
     "action": "action-249",
     "args": [
      {
       "index": 255,
       "op": "op-256",
       "value": 256,
       "valueTwo": 257
      }
     ],
     "errnoRet": 252,
     "names": [
      "names-248"
     ]
    }
   ]
  },
  "sysctl": {
   "key257": "sysctl-258"
  },
  "timeOffsets": {
   "key143": {
    "nanosecs": 148,
    "secs": 146
   }
  },
  "uidMappings": [
   {
    "containerID": 137,
    "hostID": 138,
    "size": 139
   }
  ]
 },
 "mounts": [
  {
   "destination": "destination-62",
   "gidMappings": [
    {
     "containerID": 76,
     "hostID": 77,
     "size": 78
    }
   ],
   "options": [
    "options-66"
   ],
   "source": "source-64",
   "type": "type-63",
   "uidMappings": [
    {
     "containerID": 71,
     "hostID": 72,
     "size": 73
    }
   ]
  }
 ],
 "ociVersion": "ociVersion-1",
 "process": {
  "apparmorProfile": "apparmorProfile-37",
  "args": [
   "args-15"
  ],
  "capabilities": {
   "ambient": [
    "ambient-30"
   ],
   "bounding": [
    "bounding-22"
   ],
   "effective": [
    "effective-24"
   ],
   "inheritable": [
    "inheritable-26"
   ],
   "permitted": [
    "permitted-28"
   ]
  },
  "commandLine": "commandLine-16",
  "consoleSize": {
   "height": 7,
   "width": 8
  },
  "cwd": "cwd-19",
  "env": [
   "env-18"
  ],
  "execCPUAffinity": {
   "final": "final-54",
   "initial": "initial-53"
  },
  "ioPriority": {
   "class": "class-41",
   "priority": 43
  },
  "noNewPrivileges": true,
  "oomScoreAdj": 39,
  "rlimits": [
   {
    "hard": 36,
    "soft": 37,
    "type": "type-33"
   }
  ],
  "scheduler": {
   "deadline": 52,
   "flags": [
    "flags-48"
   ],
   "nice": 46,
   "period": 53,
   "policy": "policy-44",
   "priority": 47,
   "runtime": 51
  },
  "selinuxLabel": "selinuxLabel-39",
  "terminal": true,
  "user": {
   "additionalGids": [
    14
   ],
   "gid": 11,
   "uid": 10,
   "umask": 12,
   "username": "username-13"
  }
 },
 "root": {
  "path": "path-56",
  "readonly": true
 }
}
"""#
}

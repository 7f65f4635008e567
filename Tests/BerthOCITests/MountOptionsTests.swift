import Foundation
import Testing
@testable import BerthOCI

@Suite struct MountOptionsTests {
    @Test func flagValuesMatchLinux() {
        #expect(MountFlag.rdonly == 1 && MountFlag.nosuid == 2 && MountFlag.nodev == 4 && MountFlag.noexec == 8)
        #expect(MountFlag.synchronous == 16 && MountFlag.remount == 32 && MountFlag.mandlock == 64 && MountFlag.dirsync == 128)
        #expect(MountFlag.noatime == 1024 && MountFlag.nodiratime == 2048 && MountFlag.bind == 4096 && MountFlag.rec == 16384)
        #expect(MountFlag.unbindable == 0x20000 && MountFlag.private == 0x40000 && MountFlag.slave == 0x80000 && MountFlag.shared == 0x100000)
        #expect(MountFlag.relatime == 0x200000 && MountFlag.strictatime == 0x1000000)
    }

    @Test func devTmpfs() throws {
        let o = try MountOptions.parse(["nosuid", "strictatime", "mode=755", "size=65536k"])
        #expect(o.flags == MountFlag.nosuid | MountFlag.strictatime)
        #expect(o.data == "mode=755,size=65536k")
        #expect(!o.isBind && o.propagation.isEmpty && !o.hasRecursiveAttrs)
    }

    @Test func devpts() throws {
        let o = try MountOptions.parse(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"])
        #expect(o.flags == MountFlag.nosuid | MountFlag.noexec)
        #expect(o.data == "newinstance,ptmxmode=0666,mode=0620,gid=5")
    }

    @Test func readOnlyRecursiveBind() throws {
        let o = try MountOptions.parse(["rbind", "ro", "nosuid", "nodev", "rprivate"])
        #expect(o.flags == MountFlag.bind | MountFlag.rec | MountFlag.rdonly | MountFlag.nosuid | MountFlag.nodev)
        #expect(o.isBind && o.isRecursiveBind)
        #expect(o.propagation == [MountFlag.private | MountFlag.rec])
        #expect(o.data == "")
    }

    @Test func laterOptionWins() throws {
        let o = try MountOptions.parse(["ro", "rw", "noexec", "exec", "suid"])
        #expect(o.flags == 0)
        #expect(o.clearedFlags == MountFlag.rdonly | MountFlag.noexec | MountFlag.nosuid)
    }

    @Test func propagationKeepsOrder() throws {
        let o = try MountOptions.parse(["bind", "shared", "rslave", "unbindable"])
        #expect(o.flags == MountFlag.bind)
        #expect(!o.isRecursiveBind)
        #expect(o.propagation == [MountFlag.shared, MountFlag.slave | MountFlag.rec, MountFlag.unbindable])
    }

    @Test func remaingMount8Names() throws {
        let o = try MountOptions.parse(["sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime"])
        #expect(o.flags == MountFlag.synchronous | MountFlag.dirsync | MountFlag.remount | MountFlag.mandlock
            | MountFlag.noatime | MountFlag.nodiratime | MountFlag.relatime)
        let off = try MountOptions.parse(["async", "nomand", "atime", "diratime", "norelatime", "nostrictatime", "dev", "defaults"])
        #expect(off.flags == 0)
    }

    @Test func recursiveAttributes() throws {
        let o = try MountOptions.parse(["rbind", "rro", "rnosuid", "rnoatime"])
        #expect(o.recursiveAttrSet == MountAttr.rdonly | MountAttr.nosuid | MountAttr.noatime)
        #expect(o.recursiveAttrClear == MountAttr.atimeMask)
        #expect(o.flags == MountFlag.bind | MountFlag.rec)
    }

    @Test func unsupportedOptions() {
        for name in ["idmap", "ridmap", "tmpcopyup"] {
            #expect(throws: MountOptionError(index: 1, option: name, message: "\"\(name)\" is not supported by berth")) {
                _ = try MountOptions.parse(["ro", name])
            }
        }
    }

    @Test func bindTypeImpliesBind() throws {
        let m = Spec.Mount(destination: "/etc/hosts", type: "bind", source: "/etc/hosts", options: ["ro"])
        let o = try m.parsedOptions()
        #expect(o.isBind && o.flags & MountFlag.rdonly != 0)
    }
}

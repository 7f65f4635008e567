import BerthLinux
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// Waits for a container process in the foreground, as `berth run` and `berth exec` do: signals
/// sent to berth go to the process, and with a terminal its pty is copied to and from ours.
public enum Foreground {
    /// The signals berth passes on. Block them (with `blockForwardedSignals`) before any thread
    /// exists, so no thread takes them and they wait in the signalfd.
    static let forwarded: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT, SIGTSTP,
        SIGTTIN, SIGTTOU, SIGURG, SIGPROF, SIGVTALRM, SIGPWR, SIGXCPU, SIGXFSZ, SIGSYS,
    ]

    public static func blockForwardedSignals() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in forwarded { sigaddset(&set, signal) }
        return set
    }

    /// Runs until `process` exits and returns how it ended. `master` is the pty master to proxy,
    /// or nil when the process has our stdio directly.
    static func wait(for process: ProcessHandle, master: FileDescriptor?) throws -> ExitStatus {
        var set = signalSet()
        let signals = try sys("signalfd") { signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK)) }
        defer { close(signals) }
        var rawTerminal: RawTerminal?
        if let master {
            rawTerminal = RawTerminal(fd: 0)
            copyWindowSize(to: master)
        }
        defer { rawTerminal?.restore() }

        var stdinOpen = master != nil
        var masterOpen = master != nil
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: process.pidfd.rawValue, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if let master, masterOpen { fds.append(pollfd(fd: master.rawValue, events: Int16(POLLIN), revents: 0)) }
            if master != nil, stdinOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll")
            }
            for entry in fds where entry.revents != 0 {
                switch entry.fd {
                case signals:
                    var info = signalfd_siginfo()
                    while read(signals, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
                        let signal = Int32(info.ssi_signo)
                        if signal == SIGWINCH, let master { copyWindowSize(to: master); continue }
                        try? process.signal(signal)
                    }
                case 0:
                    let count = read(0, &buffer, buffer.count)
                    if count <= 0 { stdinOpen = false; continue }
                    _ = try? master?.writeAll(buffer[0..<count])
                case process.pidfd.rawValue:
                    if let master, masterOpen { drain(master, into: &buffer) }
                    return try process.wait() ?? .exited(255)
                default:
                    let count = read(entry.fd, &buffer, buffer.count)
                    // EIO: every slave end is closed.
                    if count <= 0 { masterOpen = false; continue }
                    _ = try? FileDescriptor.standardOutput.writeAll(buffer[0..<count])
                }
            }
        }
    }

    /// Copies what is left in the pty after the process exited.
    private static func drain(_ master: FileDescriptor, into buffer: inout [UInt8]) {
        let flags = fcntl(master.rawValue, F_GETFL)
        _ = fcntl(master.rawValue, F_SETFL, flags | O_NONBLOCK)
        while true {
            let count = read(master.rawValue, &buffer, buffer.count)
            if count <= 0 { return }
            _ = try? FileDescriptor.standardOutput.writeAll(buffer[0..<count])
        }
    }

    private static func copyWindowSize(to master: FileDescriptor) {
        var rows: UInt16 = 0, columns: UInt16 = 0
        if berth_get_winsize(0, &rows, &columns) == 0 {
            _ = berth_set_winsize(master.rawValue, rows, columns)
        }
    }
}

/// Puts a tty in raw mode and puts it back.
struct RawTerminal {
    let fd: Int32
    var saved = termios()
    var active = false

    init?(fd: Int32) {
        self.fd = fd
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        active = tcsetattr(fd, TCSANOW, &raw) == 0
    }

    func restore() {
        var saved = self.saved
        if active { tcsetattr(fd, TCSANOW, &saved) }
    }
}

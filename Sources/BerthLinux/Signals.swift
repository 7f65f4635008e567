#if canImport(Glibc)
import Glibc
#endif

/// Signal names as users write them: "TERM", "SIGTERM", "sigterm" or "15".
public enum Signals {
    public static let byName: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP,
        "ABRT": SIGABRT, "IOT": SIGABRT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL,
        "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM,
        "TERM": SIGTERM, "STKFLT": SIGSTKFLT, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
        "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU,
        "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO,
        "POLL": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    /// Returns nil for anything that is not a signal.
    public static func parse(_ text: String) -> Int32? {
        if let number = Int32(text) { return (1...64).contains(number) ? number : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let signal = byName[name] { return signal }
        // RTMIN+n / RTMAX-n
        if name.hasPrefix("RTMIN") {
            let rest = name.dropFirst(5)
            let offset = rest.isEmpty ? 0 : Int32(rest.dropFirst()) ?? -1
            let value = 34 + offset
            return rest.isEmpty || rest.first == "+" ? ((34...64).contains(value) ? value : nil) : nil
        }
        if name.hasPrefix("RTMAX") {
            let rest = name.dropFirst(5)
            let offset = rest.isEmpty ? 0 : Int32(rest.dropFirst()) ?? -1
            let value = 64 - offset
            return rest.isEmpty || rest.first == "-" ? ((34...64).contains(value) ? value : nil) : nil
        }
        return nil
    }
}

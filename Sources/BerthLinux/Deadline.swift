#if canImport(Glibc)
import Glibc
#endif

/// A point on CLOCK_MONOTONIC, for timeouts. Not ContinuousClock: that lives in Swift
/// concurrency's library, and with it libdispatch, which `berth`, started for every container,
/// would otherwise link, relocate and initialise for no other reason.
public struct Deadline: Sendable, Comparable {
    private let nanoseconds: Int64

    private init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static var now: Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    /// `duration` from now. Saturates: a timeout too long to count is as good as none.
    public static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        let bound: Int64 = 1 << 32  // seconds: 136 years either way
        let span = min(max(seconds, -bound), bound) * 1_000_000_000 + attoseconds / 1_000_000_000
        return Deadline(nanoseconds: now.nanoseconds + span)
    }

    /// What is left until it; zero once it has passed.
    public var remaining: Duration { .nanoseconds(max(0, nanoseconds - Deadline.now.nanoseconds)) }

    public var hasPassed: Bool { Deadline.now >= self }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

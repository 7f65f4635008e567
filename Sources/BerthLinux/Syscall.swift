#if canImport(Glibc)
import Glibc
#endif

/// Runs a raw call that returns -1 and sets errno on failure, retrying EINTR.
/// This is the one place where interrupted calls are retried.
@inline(__always)
public func retryingInterrupts<T: FixedWidthInteger>(_ call: () -> T) -> (T, Errno?) {
    while true {
        let result = call()
        if result != -1 { return (result, nil) }
        let error = Errno.current
        if error != .interrupted { return (result, error) }
    }
}

/// Runs a raw call, retrying EINTR, and throws `SystemError(step, errno)` on failure.
@discardableResult
@inline(__always)
public func sys<T: FixedWidthInteger>(_ step: @autoclosure () -> String, _ call: () -> T) throws(SystemError) -> T {
    let (result, error) = retryingInterrupts(call)
    if let error { throw SystemError(step(), error) }
    return result
}

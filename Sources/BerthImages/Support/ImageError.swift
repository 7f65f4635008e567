import BerthLinux
import BerthOCI

/// Why an image operation was refused, as one line naming the image, blob or layer entry:
/// `layer sha256:4f1c…: entry "../etc/passwd": path leaves the layer (".." component)`.
public struct ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// Prefixes the context the caller knows ("layer sha256:…", "blobs/sha256/…").
    func within(_ context: String) -> ImageError { ImageError("\(context): \(message)") }

    init(_ error: SystemError) { self.message = error.description }
    init(_ error: OCIError) { self.message = error.description }
}

/// Runs a body that throws SystemError or OCIError and reports it as an ImageError.
/// (A `catch let e as T` over typed throws crashes this compiler; typed closures do not.)
@discardableResult
func imageStep<T>(_ body: () throws(SystemError) -> T) throws(ImageError) -> T {
    switch Result(catching: body) {
    case .success(let value): return value
    case .failure(let error): throw ImageError(error)
    }
}

func decoding<T>(_ body: () throws(OCIError) -> T) throws(ImageError) -> T {
    switch Result(catching: body) {
    case .success(let value): return value
    case .failure(let error): throw ImageError(error)
    }
}

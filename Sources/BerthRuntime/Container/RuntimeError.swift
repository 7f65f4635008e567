/// A refusal or failure of a runtime operation, as the one line the user sees.
public struct RuntimeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func notFound(_ id: String) -> RuntimeError {
        RuntimeError("container \"\(id)\" does not exist")
    }
}

import BerthLinux
import BerthOCI

/// Why a network could not be set up or torn down, in one line that names the field, the
/// network or the CNI plugin: `network.portMappings[1].hostPort: 70000 is outside 1-65535`.
public struct NetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        // Plugins write multi-line messages; a refusal stays one line.
        self.message = message.split(whereSeparator: \.isNewline).map { String($0).trimmingCharacters(in: " \t") }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }

    public init(_ error: SystemError) { self.init(error.description) }
    public init(_ error: OCIError) { self.init(error.description) }

    public var description: String { message }
}

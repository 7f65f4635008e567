/// What can go wrong talking to berthd, phrased for the one-line CLI error.
public enum APIClientError: Error, CustomStringConvertible, Sendable {
    /// Nothing answers on the socket.
    case unreachable(String, String)
    /// The exchange broke off or the answer was not HTTP.
    case broken(String)
    /// berthd refused the request: its status and its one-line reason.
    case refused(status: Int, message: String)
    /// berthd answered with something this client cannot read.
    case undecodable(String)

    public var description: String {
        switch self {
        case .unreachable(let path, let reason):
            return "cannot reach berthd at \(path): \(reason) (is berthd running? see --socket)"
        case .broken(let reason):
            return "berthd connection: \(reason)"
        case .refused(_, let message):
            return message
        case .undecodable(let reason):
            return "berthd answered something unreadable: \(reason)"
        }
    }

    public var status: Int? {
        if case .refused(let status, _) = self { return status }
        return nil
    }
}

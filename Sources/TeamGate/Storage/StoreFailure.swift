import Foundation

/// The database could not do what was asked, for a reason of the moment rather than of the request: worth a
/// retry in a little while. The doors answer 503 (507 for a full disk) with `Retry-After`, never a 500, and
/// never a 2xx: a write that failed so was not committed.
public enum StoreFailure: Error, Equatable, CustomStringConvertible {
    /// No answer within the deadline, or the connection broke (the database restarting, the network cut).
    case unavailable(String)
    /// The disk is full: reads go on, writes wait for space.
    case full
    /// More writes are waiting than the writer will queue: the database is slower than the load.
    case overloaded

    public var description: String {
        switch self {
        case .unavailable(let reason): "The database cannot be reached: \(reason)"
        case .full: "The database's disk is full"
        case .overloaded: "Too many writes are waiting for the database"
        }
    }
}

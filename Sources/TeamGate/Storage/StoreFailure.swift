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
    /// The disk reported a write error (an fsync that failed): the pages it did not write may be reported
    /// written by a later fsync, so nothing this process writes can be trusted any more. The writer takes no
    /// more writes and the process exits for its supervisor to restart it, as PostgreSQL panics on one.
    case diskFailed

    /// After this one the writer does not go on.
    public var isFatal: Bool { self == .diskFailed }

    public var description: String {
        switch self {
        case .unavailable(let reason): "The database cannot be reached: \(reason)"
        case .full: "The database's disk is full"
        case .overloaded: "Too many writes are waiting for the database"
        case .diskFailed: "The database's disk reported a write error; this instance is stopping"
        }
    }
}

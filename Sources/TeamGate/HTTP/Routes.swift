import Hummingbird
import Synchronization

/// Which methods each registered path answers, so a wrong method gets 405 with `Allow` instead of 404.
/// Paths may have `{parameter}` segments, which match any one segment.
final class RouteTable: Sendable {
    private let table = Mutex<[String: Set<HTTPRequest.Method>]>([:])

    func register(_ method: HTTPRequest.Method, _ path: String) {
        _ = table.withLock { $0[path, default: []].insert(method) }
    }

    func methods(for path: String) -> Set<HTTPRequest.Method>? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return table.withLock { table in
            var found: Set<HTTPRequest.Method>?
            for (pattern, methods) in table {
                let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
                guard parts.count == segments.count,
                    zip(parts, segments).allSatisfy({ $0.0.hasPrefix("{") || $0.0 == $0.1 })
                else { continue }
                found = (found ?? []).union(methods)
            }
            return found
        }
    }
}

/// Where a controller adds its routes: a router or a group, with the table of paths kept alongside.
/// Every controller exposes `addRoutes(to:)` taking one of these.
struct Routes<Context: RequestContext> {
    let router: any RouterMethods<Context>
    let table: RouteTable

    /// Adds a route and records it in the table.
    func on(_ method: HTTPRequest.Method, _ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        table.register(method, path)
        router.on(RouterPath(path), method: method, use: handler)
    }
}

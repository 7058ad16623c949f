import Hummingbird
import Logging
import Synchronization

/// Turns every error into a JSON response in the NestJS shape: domain errors by their meaning,
/// unknown paths as 404, a known path with another method as 405, and anything unexpected as a 500
/// that shows the client only a request id (the details go to the log under the same id).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as TeamGateError {
            return APIError(error).response()
        } catch let error as HTTPError {
            return map(error, request: request, context: context).response()
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(.internalServerError, "Internal server error", extra: ["requestId": context.id]).response()
        }
    }

    private func map(_ error: HTTPError, request: Request, context: Context) -> APIError {
        let path = request.uri.path
        switch error.status {
        case .notFound:
            if let allowed = routes.methods(for: path), !allowed.isEmpty {
                let names = allowed.map(\.rawValue).sorted()
                return APIError(
                    .methodNotAllowed, "Method \(request.method.rawValue) is not allowed on \(path); use \(names.joined(separator: " or "))",
                    headers: [.allow: names.joined(separator: ", ")])
            }
            return APIError(.notFound, "Cannot \(request.method.rawValue) \(path)")
        case .contentTooLarge:
            return APIError(.contentTooLarge, "Request body is too large")
        default:
            if error.status.code >= 500 {
                context.logger.error("HTTP error", metadata: ["status": "\(error.status.code)"])
                return APIError(.internalServerError, "Internal server error", extra: ["requestId": context.id])
            }
            return APIError(error.status, error.body ?? error.status.reasonPhrase)
        }
    }
}

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

extension Router where Context == TeamGateRequestContext {
    /// Adds a route and records it in `routes`.
    @discardableResult
    func on(
        _ method: HTTPRequest.Method,
        _ path: String,
        routes: RouteTable,
        use handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> Self {
        routes.register(method, path)
        return on(RouterPath(path), method: method, use: handler)
    }
}

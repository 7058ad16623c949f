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
        } catch let error as HTTPError {
            return map(error, request: request, context: context).response()
        } catch {
            if let answer = APIError(mapping: error) {
                // A body that did not arrive in time is still arriving: once answered, the connection closes, rather
                // than Hummingbird reading the trickle to its end before the next request.
                return answer.status == .requestTimeout ? answer.response(closingInputOf: context.channel) : answer.response()
            }
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

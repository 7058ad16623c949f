import Hummingbird
import Logging
import Synchronization

/// Turns every error into a JSON response in the NestJS shape (in SCIM's Error shape under `/scim/v2`): domain
/// errors by their meaning, unknown paths as 404, a known path with another method as 405, and anything unexpected
/// as a 500 that shows the client only a request id (the details go to the log under the same id).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            return answer(map(error, request: request, context: context), to: request, context: context)
        } catch let failure as SCIMFailure {
            return SCIMError(failure).response()
        } catch {
            if let answer = APIError(mapping: error) { return self.answer(answer, for: error, to: request, context: context) }
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return answer(APIError(.internalServerError, "Internal server error", extra: ["requestId": context.id]), to: request, context: context)
        }
    }

    /// The answer in the shape of the protocol the path speaks.
    private func answer(_ answer: APIError, for error: (any Error)? = nil, to request: Request, context: Context) -> Response {
        // A body that did not arrive in time is still arriving: once answered, the connection closes, rather
        // than Hummingbird reading the trickle to its end before the next request.
        let closing = answer.status == .requestTimeout
        guard SCIMError.covers(request.uri.path) else { return closing ? answer.response(closingInputOf: context.channel) : answer.response() }
        let scim = SCIMError(answer, from: error)
        guard closing else { return scim.response() }
        var headers = scim.headers
        headers[.contentType] = SCIMController.contentType
        return APIError.response(status: scim.status, headers: headers, body: scim.body.text, closingInputOf: context.channel)
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

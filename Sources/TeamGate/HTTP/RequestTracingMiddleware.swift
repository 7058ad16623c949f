import HTTPTypes
import Hummingbird
import Instrumentation
import Tracing

/// A server span per request, joined to the caller's trace when the request carries one (W3C `traceparent`).
/// Named and labelled by the route's pattern, method and status, with the request id. Written here rather than
/// Hummingbird's `TracingMiddleware`, which records the path as sent and the query string: paths hold ids, and
/// `GET /me/events?token=` a session token. Writes made inside the span (a logout's) are linked from their group
/// commit's span (`GroupCommitWriter`).
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var trace = InstrumentationContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &trace, using: HTTPFieldsExtractor())
        return try await withSpan("\(request.method.rawValue)", context: trace, ofKind: .server) { span in
            span.attributes["http.request.method"] = request.method.rawValue
            span.attributes["teamgate.request_id"] = context.id
            do {
                let response = try await next(request, context)
                describe(span, method: request.method, route: context.endpointPath, status: response.status.code)
                return response
            } catch {
                describe(span, method: request.method, route: context.endpointPath, status: 500)
                throw error
            }
        }
    }

    private func describe(_ span: any Span, method: HTTPRequest.Method, route: String?, status: Int) {
        let route = route ?? "unmatched"
        span.operationName = "\(method.rawValue) \(route)"
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }
}

/// Reads trace headers (`traceparent`, `tracestate`) from a request.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}

import Foundation
import HTTPTypes
import Hummingbird

/// Gives every answer its request id (`X-Request-Id`) and, when `accessLog` is set, writes one line per request.
/// Sits inside `ClientAddressMiddleware` (which settles the client's address and a trusted proxy's request id)
/// and outside `ErrorMiddleware`, so it sees the status the client gets.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let accessLog: AccessLog?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let requestID = context.id
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = requestID
            accessLog?.record(
                method: request.method, route: context.endpointPath, status: response.status.code,
                nanoseconds: DispatchTime.now().uptimeNanoseconds - start, requestID: requestID, client: context.clientIP)
            return response
        } catch {
            // ErrorMiddleware answers every error; what still arrives here ends the connection.
            accessLog?.record(
                method: request.method, route: context.endpointPath, status: 500,
                nanoseconds: DispatchTime.now().uptimeNanoseconds - start, requestID: requestID, client: context.clientIP)
            throw error
        }
    }
}

/// The access log: one `info` line per request, in the server's log format, with the method, the route's
/// pattern (`/team/members/{memberId}`, never the path as sent, and never its query string, which may hold a
/// token), the status, the duration, the request id and the client's address. Never a header or a body.
///
/// Written here rather than through swift-log: at tens of thousands of requests a second, a `Logger` call with a
/// metadata dictionary cost several times this (measured with scripts/bench). The line is the same shape as
/// `TeamGateLogHandler`'s, and goes to the same batched output.
struct AccessLog: Sendable {
    let format: LogFormat
    let output: LogOutput

    func record(method: HTTPRequest.Method, route: String?, status: Int, nanoseconds: UInt64, requestID: String, client: String?) {
        let time = Date().iso8601Milliseconds
        let milliseconds = Self.milliseconds(nanoseconds)
        let route = route ?? "unmatched"
        let client = client ?? "-"
        let line: String
        switch format {
        case .text:
            line = "\(time) info teamgate: client=\(client) duration_ms=\(milliseconds) hb.request.id=\(requestID) method=\(method.rawValue) "
                + "route=\(route) status=\(status) [TeamGate] request\n"
        case .json:
            line = #"{"time":"\#(time)","level":"info","logger":"teamgate","source":"TeamGate","message":"request","client":"\#(client)","#
                + #""duration_ms":\#(milliseconds),"hb.request.id":"\#(requestID)","method":\#(JSONText.string(method.rawValue)),"#
                + #""route":\#(JSONText.string(route)),"status":\#(status)}"# + "\n"
        }
        output.write(line, atOnce: false)
    }

    /// `0.412`: milliseconds to the microsecond, without Foundation's number formatting.
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let microseconds = nanoseconds / 1_000
        let fraction = microseconds % 1_000
        let digits = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(microseconds / 1_000).\(digits)"
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}

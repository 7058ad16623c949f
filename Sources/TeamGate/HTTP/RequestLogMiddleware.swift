import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Gives every answer its request id (`X-Request-Id`), `X-Content-Type-Options: nosniff` and, unless the route
/// set one, `Cache-Control: no-store`; counts it in the request metrics and, when `accessLog` is
/// set, writes its access-log line. Sits inside `ClientAddressMiddleware` (which settles the client's address and a
/// trusted proxy's request id) and outside `ErrorMiddleware`, so it sees the status the client gets.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let accessLog: AccessLog?
    let metrics: RequestMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let requestID = context.id
        let status: Int
        defer {
            let nanoseconds = DispatchTime.now().uptimeNanoseconds - start
            // Read once: the router keeps it behind a lock.
            let route = context.endpointPath
            metrics?.record(method: request.method, route: route, status: status, nanoseconds: nanoseconds)
            accessLog?.record(method: request.method, route: route, status: status, nanoseconds: nanoseconds, requestID: requestID, client: context.clientIP)
        }
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = requestID
            // API answers are per caller: `x-public-key` is not `Authorization`, so a shared cache could keep
            // `GET /team` for the next caller. Pages and assets say their own.
            if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
            response.headers[.xContentTypeOptions] = "nosniff"
            status = response.status.code
            return response
        } catch {
            // ErrorMiddleware answers every error; what still arrives here ends the connection.
            status = 500
            throw error
        }
    }
}

/// Requests by route pattern, method and status, with their durations (to the response's head: the body is
/// written after), through swift-metrics: `http_server_requests_total` and `http_server_request_duration_seconds`.
///
/// Written here rather than with Hummingbird's `MetricsMiddleware`, which cut `/health`'s throughput by about a
/// quarter in scripts/bench (it wraps every body in a post-write closure), and labels any method a client invents:
/// here a method other than the standard ones is counted as `other`, so no client can grow the label set.
final class RequestMetrics: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct Series: Sendable {
        let requests: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }

    private let series = Mutex<[Key: Series]>([:])
    private static let standardMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    func record(method: HTTPRequest.Method, route: String?, status: Int, nanoseconds: UInt64) {
        let key = Key(route: route ?? "unmatched", method: Self.standardMethods.contains(method.rawValue) ? method.rawValue : "other", status: status)
        let found = series.withLock { series in
            if let found = series[key] { return found }
            let dimensions = [("http.route", key.route), ("http.request.method", key.method), ("http.response.status_code", String(key.status))]
            let made = Series(
                requests: CoreMetrics.Counter(label: "http.server.requests.total", dimensions: dimensions),
                duration: CoreMetrics.Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds))
            series[key] = made
            return made
        }
        found.requests.increment()
        found.duration.recordNanoseconds(Int64(clamping: nanoseconds))
    }
}

/// The access log: one `info` line per request, in the server's log format, with the method, the route's
/// pattern (`/revocations/{id}`, never the path as sent, and never its query string, which may hold a token),
/// the status, the duration, the request id and the client's address. Never a header or a body.
///
/// The line is made as bytes, with no string of its own: every part is an HTTP method
/// token, a route pattern, digits, an IP address or a request id of plain characters (`ClientAddressMiddleware`
/// keeps no other), so nothing needs escaping, in text or JSON. The same shape as `TeamGateLogHandler`'s lines.
struct AccessLog: Sendable {
    let format: LogFormat
    let output: LogOutput
    /// The lines' time: the real one in a server (`WallClock.system`), as every other log line's.
    var clock: WallClock = .system

    func record(method: HTTPRequest.Method, route: String?, status: Int, nanoseconds: UInt64, requestID: String, client: String?) {
        let now = Int64(clock.now().timeIntervalSince1970 * 1_000_000_000)
        let route = route ?? "unmatched"
        let client = client ?? "-"
        // Built outside the log's lock, which then only takes a copy: two threads logging at once wait for
        // each other as little as possible.
        var line: [UInt8] = []
        line.reserveCapacity(256)
        switch format {
        case .text:
            LogTime.append(now, to: &line)
            line.append(contentsOf: " info teamgate: client=".utf8)
            line.append(contentsOf: client.utf8)
            line.append(contentsOf: " duration_ms=".utf8)
            Self.appendMilliseconds(nanoseconds, to: &line)
            line.append(contentsOf: " hb.request.id=".utf8)
            line.append(contentsOf: requestID.utf8)
            line.append(contentsOf: " method=".utf8)
            line.append(contentsOf: method.rawValue.utf8)
            line.append(contentsOf: " route=".utf8)
            line.append(contentsOf: route.utf8)
            line.append(contentsOf: " status=".utf8)
            Self.appendDecimal(UInt64(max(0, status)), to: &line)
            line.append(contentsOf: " [TeamGate] request\n".utf8)
        case .json:
            line.append(contentsOf: #"{"time":""#.utf8)
            LogTime.append(now, to: &line)
            line.append(contentsOf: #"","level":"info","logger":"teamgate","source":"TeamGate","message":"request","client":""#.utf8)
            line.append(contentsOf: client.utf8)
            line.append(contentsOf: #"","duration_ms":"#.utf8)
            Self.appendMilliseconds(nanoseconds, to: &line)
            line.append(contentsOf: #","hb.request.id":""#.utf8)
            line.append(contentsOf: requestID.utf8)
            line.append(contentsOf: #"","method":""#.utf8)
            line.append(contentsOf: method.rawValue.utf8)
            line.append(contentsOf: #"","route":""#.utf8)
            line.append(contentsOf: route.utf8)
            line.append(contentsOf: #"","status":"#.utf8)
            Self.appendDecimal(UInt64(max(0, status)), to: &line)
            line.append(contentsOf: "}\n".utf8)
        }
        output.append { batch in batch.append(contentsOf: line) }
    }

    /// `0.412`: milliseconds to the microsecond.
    static func appendMilliseconds(_ nanoseconds: UInt64, to bytes: inout [UInt8]) {
        let microseconds = nanoseconds / 1_000
        appendDecimal(microseconds / 1_000, to: &bytes)
        let fraction = microseconds % 1_000
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        guard value >= 10 else { return bytes.append(UInt8(ascii: "0") + UInt8(value)) }
        appendDecimal(value / 10, to: &bytes)
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// `appendMilliseconds` as a string (for tests).
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        var bytes: [UInt8] = []
        appendMilliseconds(nanoseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A response whose body is known in full, so it can also be kept for an Idempotency-Key replay.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var body: ByteBuffer
    var headers: HTTPFields = [:]

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Reply {
        Reply(status: status, body: ByteBuffer(bytes: try JSONResponse.encoder.encode(value)))
    }

    init(status: HTTPResponse.Status, body: ByteBuffer, headers: HTTPFields = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    init(_ error: APIError) {
        self.init(status: error.status, body: ByteBuffer(string: error.body), headers: error.headers)
    }

    /// A handler's response with its body read in full (the bodies of API answers are small).
    init(collecting response: Response) async throws {
        let sink = BodySink()
        try await response.body.write(sink)
        self.init(status: response.status, body: sink.buffer, headers: response.headers)
    }

    var response: Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}

extension Reply: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) -> Response { response }
}

/// Keeps what a response body writes.
private final class BodySink: ResponseBodyWriter, @unchecked Sendable {
    // Written by one response body, then read once it has finished: never shared at the same time.
    var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        self.buffer.writeBuffer(&buffer)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

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

    var response: Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}

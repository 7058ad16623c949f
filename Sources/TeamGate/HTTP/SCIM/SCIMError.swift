import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error as a SCIM client reads it (RFC 7644 §3.12): the Error schema, `status` as a string, `scimType` where SCIM
/// names one. Every answer under `/scim/v2` that is no success takes this shape, 401, 404, 405, 413 and 429 included:
/// `ErrorMiddleware` words it from the same mapping as the API's errors.
struct SCIMError: Error, Sendable {
    var status: HTTPResponse.Status
    var scimType: String?
    var detail: String
    var headers: HTTPFields = [:]

    /// The paths whose errors take this shape.
    static func covers(_ path: String) -> Bool {
        path == SCIMController.base || path.hasPrefix(SCIMController.base + "/")
    }

    init(_ failure: SCIMFailure) {
        switch failure.kind {
        case .notFound: self.init(status: .notFound, scimType: nil, detail: failure.detail)
        case .notSupported: self.init(status: .forbidden, scimType: nil, detail: failure.detail)
        case .notImplemented: self.init(status: .notImplemented, scimType: nil, detail: failure.detail)
        case .uniqueness: self.init(status: .conflict, scimType: failure.kind.rawValue, detail: failure.detail)
        default: self.init(status: .badRequest, scimType: failure.kind.rawValue, detail: failure.detail)
        }
    }

    init(status: HTTPResponse.Status, scimType: String?, detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
        self.headers = headers
    }

    /// The API's answer to the same error, in SCIM's shape; the team's rules get SCIM's types for what they refuse.
    init(_ answer: APIError, from error: (any Error)? = nil) {
        var scimType: String?
        var status = answer.status
        switch error as? TeamGateError {
        case .userNameTaken, .memberAlreadyProvisioned, .memberExists, .phoneAlreadyOnTeam:
            scimType = "uniqueness"
            status = .conflict
        case .ownerCannotBeDeactivated, .ownerCannotBeRemoved, .ownerRoleCannotChange, .ownerRoleCannotBeAssigned:
            scimType = "mutability"
            status = .badRequest
        case .validation:
            scimType = "invalidValue"
        case .invalidAPIKey:
            self.init(status: .unauthorized, scimType: nil, detail: "The provisioning token is not valid, or was revoked.", headers: answer.headers)
            return
        default:
            // SCIM has no 422: a request the rules refuse is a bad one.
            if status == .unprocessableContent { status = .badRequest }
        }
        self.init(status: status, scimType: scimType, detail: answer.message.text, headers: answer.headers)
    }

    func response() -> Response {
        var headers = self.headers
        headers[.contentType] = SCIMController.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.text)))
    }

    var body: ExactJSON {
        var fields: [(String, ExactJSON)] = [("schemas", .array([.string(SCIMSchema.error)])), ("status", .string(String(status.code)))]
        if let scimType { fields.append(("scimType", .string(scimType))) }
        fields.append(("detail", .string(detail)))
        return .object(fields)
    }
}

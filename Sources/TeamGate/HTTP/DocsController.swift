import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The contract and the interactive reference: `/openapi.json`, `/docs`, `/docs/reference/<operationId>`.
/// Files are resources of the library, read once at start-up; the page loads nothing from elsewhere.
struct DocsController: Sendable {
    let openAPI: ByteBuffer
    let page: ByteBuffer
    let assets: [String: (contentType: String, body: ByteBuffer)]
    let operationIDs: Set<String>

    enum LoadError: Error, CustomStringConvertible {
        case missingResource(String)
        case malformedSpec
        var description: String {
            switch self {
            case .missingResource(let name): "The library's resource \(name) is missing from its bundle"
            case .malformedSpec: "The library's openapi.json has no paths with operation ids"
            }
        }
    }

    init() throws {
        func load(_ name: String) throws -> Data {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources") else {
                throw LoadError.missingResource(name)
            }
            return try Data(contentsOf: url)
        }
        let spec = try load("openapi.json")
        openAPI = ByteBuffer(bytes: spec)
        page = ByteBuffer(bytes: try load("docs/index.html"))
        assets = [
            "reference.js": ("text/javascript; charset=utf-8", ByteBuffer(bytes: try load("docs/reference.js"))),
            "reference.css": ("text/css; charset=utf-8", ByteBuffer(bytes: try load("docs/reference.css"))),
            "console.js": ("text/javascript; charset=utf-8", ByteBuffer(bytes: try load("docs/console.js"))),
            "console.css": ("text/css; charset=utf-8", ByteBuffer(bytes: try load("docs/console.css"))),
        ]
        operationIDs = try Self.operationIDs(in: spec)
    }

    /// Everything the page needs comes from this origin; the policy makes the browser enforce it.
    static let pagePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: openAPI))
        }
        routes.on(.get, "/docs") { _, _ in htmlPage() }
        routes.on(.get, "/docs/reference/{operationID}") { _, context -> Response in
            guard operationIDs.contains(try context.parameters.require("operationID")) else {
                throw APIError(.notFound, "No operation with this id in the API reference")
            }
            return htmlPage()
        }
        routes.on(.get, "/docs/assets/{file}") { _, context -> Response in
            guard let asset = assets[try context.parameters.require("file")] else {
                throw APIError(.notFound, "No such asset")
            }
            return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: asset.body))
        }
    }

    private func htmlPage() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: Self.pagePolicy, .cacheControl: "no-cache"],
            body: .init(byteBuffer: page)
        )
    }

    static func operationIDs(in spec: Data) throws -> Set<String> {
        guard let document = try JSONSerialization.jsonObject(with: spec) as? [String: Any], let paths = document["paths"] as? [String: [String: Any]]
        else { throw LoadError.malformedSpec }
        return Set(paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } })
    }
}

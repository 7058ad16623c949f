import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The member's side, served like the reference page (the library's resources, nothing from elsewhere): `/app`,
/// the member's page, its assets, and `/sdk/teamgate.js`, the client it is built on, for apps to load or bundle.
struct MemberAppController: Sendable {
    let page: ByteBuffer
    let assets: [String: (contentType: String, body: ByteBuffer)]
    let sdk: ByteBuffer

    init() throws {
        func load(_ name: String) throws -> ByteBuffer {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources") else {
                throw DocsController.LoadError.missingResource(name)
            }
            return ByteBuffer(bytes: try Data(contentsOf: url))
        }
        page = try load("app/index.html")
        assets = [
            "app.js": ("text/javascript; charset=utf-8", try load("app/app.js")),
            "app.css": ("text/css; charset=utf-8", try load("app/app.css")),
        ]
        sdk = try load("app/teamgate.js")
    }

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/app") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: DocsController.pagePolicy, .cacheControl: "no-cache"],
                body: .init(byteBuffer: page))
        }
        routes.on(.get, "/app/assets/{file}") { _, context -> Response in
            guard let asset = assets[try context.parameters.require("file")] else { throw APIError(.notFound, "No such asset") }
            return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: asset.body))
        }
        routes.on(.get, "/sdk/teamgate.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: sdk))
        }
    }
}

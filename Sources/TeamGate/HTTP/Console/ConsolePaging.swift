import Foundation
import Hummingbird
import HummingbirdCore

/// Previous and next links over a list the store pages forward only, by cursor (the API's cursors). The cursors
/// of the pages before this one travel in the links (`back`, comma-separated, `-` for the first page), at most
/// `maximumTrail` of them: beyond that, Previous goes back as far as the trail reaches, then to the first page.
struct ConsolePaging {
    let path: String
    /// The filters every link keeps.
    let filters: [(name: String, value: String)]
    let cursor: String?
    let trail: [String]

    static let maximumTrail = 50
    static let firstPage = "-"

    init(path: String, filters: [(name: String, value: String)], parameters: FlatDictionary<Substring, Substring>) {
        self.path = path
        self.filters = filters.filter { !$0.value.isEmpty }
        self.cursor = parameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        self.trail = (parameters.get("back") ?? "").split(separator: ",").map(String.init).suffix(Self.maximumTrail)
    }

    /// The links: Previous unless this is the first page, Next when the store said there is more (`next`).
    func links(next: String?) -> String {
        var links: [String] = []
        if cursor != nil {
            let previous = trail.last.flatMap { $0 == Self.firstPage ? nil : $0 }
            links.append("<a href=\"\(HTML.escape(href(cursor: previous, trail: Array(trail.dropLast()))))\" rel=\"prev\">← Previous</a>")
        }
        if let next {
            let forward = Array((trail + [cursor ?? Self.firstPage]).suffix(Self.maximumTrail))
            links.append("<a href=\"\(HTML.escape(href(cursor: next, trail: forward)))\" rel=\"next\">Next →</a>")
        }
        return links.isEmpty ? "" : "<nav class=\"pager\" aria-label=\"Pages\">\(links.joined(separator: " "))</nav>"
    }

    private func href(cursor: String?, trail: [String]) -> String {
        var components = URLComponents()
        var items = filters.map { URLQueryItem(name: $0.name, value: $0.value) }
        if let cursor {
            items.append(URLQueryItem(name: "cursor", value: cursor))
            if !trail.isEmpty { items.append(URLQueryItem(name: "back", value: trail.joined(separator: ","))) }
        }
        components.queryItems = items.isEmpty ? nil : items
        return path + (components.string ?? "")
    }
}

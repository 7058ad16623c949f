import Foundation

/// Building the console's pages: text is escaped where it is interpolated, so no member name or
/// reason can become markup.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "—" }
        let text = date.formatted(.iso8601)
        return "<time datetime=\"\(text)\">\(escape(date.formatted(date: .abbreviated, time: .shortened)))</time>"
    }

    /// A form that changes something: POST, with the session's CSRF token.
    static func form(action: String, csrf: String, label: String, style: String = "ghost", fields: String = "", confirm: String? = nil) -> String {
        """
        <form method="post" action="\(escape(action))" class="inline"\(confirm.map { " data-confirm=\"\(escape($0))\"" } ?? "")>\
        <input type="hidden" name="csrf" value="\(escape(csrf))">\(fields)<button type="submit" class="\(style)">\(escape(label))</button></form>
        """
    }
}

/// Reads an `application/x-www-form-urlencoded` body.
enum FormBody {
    static func parse(_ data: Data) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// One form-encoded component. Most (tokens, codes) need no decoding: only those with `+` or `%` pay for it.
    static func decode(_ text: Substring) -> String {
        text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") })
            ? String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" : String(text)
    }
}

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
    /// Scanned as bytes, each name and value made a string once: every introspection pays for this (measured with perf).
    static func parse(_ data: Data) -> [String: String] {
        var fields: [String: String] = [:]
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                var equals = start
                while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = decode(UnsafeRawBufferPointer(rebasing: bytes[start..<equals]))
                if !name.isEmpty {
                    fields[name] = equals < end ? decode(UnsafeRawBufferPointer(rebasing: bytes[(equals + 1)..<end])) : ""
                }
                start = end + 1
            }
        }
        return fields
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) ? decode(Substring(text)) : text
    }

    /// One form-encoded component. Most (tokens, codes) need no decoding: only those with `+` or `%` pay for it.
    static func decode(_ text: Substring) -> String {
        text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") })
            ? String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" : String(text)
    }
}

/// Where a browser sign-in may send the browser back to (`/sign-in?rd=` and `/sign-out?rd=`): an absolute http or
/// https URL whose host is the cookie's domain, under it, or TeamGate's own. Anything else goes to TeamGate's own
/// page: another site, `//host`, user info (`app.example.com@evil.test`), a backslash, a space or control character,
/// a percent sign or anything but letters, digits, dots and hyphens in the host, `javascript:`. Parsed here, strictly,
/// rather than with a URL parser: browsers and parsers disagree on exactly those tricks.
public struct ReturnAddress: Sendable, Equatable {
    /// The cookie's domain (lowercased, no leading dot), if any.
    public let cookieDomain: String?
    /// TeamGate's own host (`--public-url`'s), lowercased.
    public let ownHost: String

    public init(cookieDomain: String?, publicURL: String) {
        self.cookieDomain = cookieDomain
        self.ownHost = Self.host(of: publicURL) ?? ""
    }

    /// Whether the browser may be sent to `candidate` after a sign-in or a sign-out.
    public func allows(_ candidate: String) -> Bool {
        guard let host = Self.host(of: candidate) else { return false }
        if host == ownHost { return true }
        guard let cookieDomain else { return false }
        return host == cookieDomain || host.hasSuffix("." + cookieDomain)
    }

    /// The lowercased host of an absolute http(s) URL that passes every rule above; nil otherwise.
    static func host(of url: String) -> String? {
        // Printable ASCII only, and no backslash (which browsers read as a slash).
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return nil }
        let lowered = url.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            rest = lowered.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            rest = lowered.dropFirst(7)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var host = authority
        if let colon = authority.lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let number = Int(port), number <= 65_535 else { return nil }
            host = authority[..<colon]
        }
        guard isHostName(String(host)) else { return nil }
        return String(host)
    }

    /// A DNS name or an IPv4 address: labels of lowercase letters, digits and hyphens, none empty.
    public static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

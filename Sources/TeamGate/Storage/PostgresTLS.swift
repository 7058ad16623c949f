import Foundation
import PostgresNIO

/// How the connection to PostgreSQL is encrypted, from the URL's `sslmode` and `sslrootcert` as libpq reads them.
public enum PostgresTLSMode: Sendable, Equatable {
    /// Plain TCP, as without `sslmode`: the database must be on a private network.
    case disable
    /// TLS when the server offers it, else plain; the certificate is not checked.
    case prefer
    /// TLS or no connection; the certificate is not checked, so it stops listeners but not an impostor.
    case require
    /// TLS with a certificate signed by a trusted root (the system's, plus `sslrootcert`), for any host name.
    case verifyCA(rootCertificate: String?)
    /// TLS with a certificate signed by a trusted root and issued for the URL's host.
    case verifyFull(rootCertificate: String?)

    static let modes = ["disable", "prefer", "require", "verify-ca", "verify-full"]

    init(query: [URLQueryItem]) throws(PostgresURLError) {
        let mode = query.last(where: { $0.name == "sslmode" })?.value ?? "disable"
        let root = query.last(where: { $0.name == "sslrootcert" })?.value
        switch mode {
        case "disable": self = .disable
        case "prefer": self = .prefer
        case "require": self = .require
        case "verify-ca": self = .verifyCA(rootCertificate: root)
        case "verify-full": self = .verifyFull(rootCertificate: root)
        default: throw .unknownMode(mode)
        }
        // A root that the mode never checks against would only look like protection.
        if root != nil, [.disable, .prefer, .require].contains(self) { throw .rootCertificateUnchecked(mode: mode) }
    }

    /// The URL query that reads back as this mode: empty for `disable`.
    var query: String {
        switch self {
        case .disable: ""
        case .prefer: "?sslmode=prefer"
        case .require: "?sslmode=require"
        case .verifyCA(let root): "?sslmode=verify-ca" + (root.map { "&sslrootcert=\($0)" } ?? "")
        case .verifyFull(let root): "?sslmode=verify-full" + (root.map { "&sslrootcert=\($0)" } ?? "")
        }
    }

    /// postgres-nio's setting for this mode. Reads the `sslrootcert` file, so a missing or unreadable one stops the start.
    func client() throws(PostgresURLError) -> PostgresClient.Configuration.TLS {
        switch self {
        case .disable: return .disable
        case .prefer: return .prefer(Self.unchecked())
        case .require: return .require(Self.unchecked())
        case .verifyCA(let root):
            var configuration = try Self.checked(trusting: root)
            configuration.certificateVerification = .noHostnameVerification
            return .require(configuration)
        case .verifyFull(let root): return .require(try Self.checked(trusting: root))
        }
    }

    private static func unchecked() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return configuration
    }

    private static func checked(trusting root: String?) throws(PostgresURLError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        guard let root else { return configuration }
        do {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(root))]
        } catch {
            // NIOSSL's error names no file; this one does.
            throw .unreadableRootCertificate(root)
        }
        return configuration
    }
}

/// What a PostgreSQL URL lacks, worded to follow "database must …".
public enum PostgresURLError: Error, Equatable, CustomStringConvertible {
    case malformed
    case unknownMode(String)
    case rootCertificateUnchecked(mode: String)
    case unreadableRootCertificate(String)

    public var description: String { "the PostgreSQL URL \(phrase)" }

    public var phrase: String {
        switch self {
        case .malformed: "must read postgres://user[:password]@host[:port]/database[?sslmode=MODE]"
        case .unknownMode(let mode):
            "must name an sslmode of \(PostgresTLSMode.modes.joined(separator: ", ")), not \(mode)"
        case .rootCertificateUnchecked(let mode):
            "must not give sslrootcert with sslmode=\(mode), which checks no certificate: use verify-full (or verify-ca)"
        case .unreadableRootCertificate(let path): "must name an sslrootcert file of PEM certificates; \(path) cannot be read as one"
        }
    }
}

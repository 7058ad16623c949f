import Foundation

/// An app registered by an organisation's Owner that signs its members in through TeamGate (an OpenID Connect
/// relying party). Only the organisation's own members can sign in to it.
public struct OIDCClient: Sendable, Equatable {
    public let id: String
    public let organizationID: String
    public let name: String
    /// SHA-256 of the client secret; nil for a public client (PKCE only, no secret).
    public let secretHash: Data?
    /// Compared exactly, character for character.
    public let redirectURIs: [String]
    public let postLogoutRedirectURIs: [String]
    /// Where back-channel logout tokens are POSTed, exactly as registered (query included).
    public let backchannelLogoutURI: String?
    public let createdAt: Date

    public var isPublic: Bool { secretHash == nil }

    /// An app as the API, the CLI and the console show it; the secret only in the answer that made it.
    public struct Description: Encodable, Sendable {
        public let clientId: String
        public var clientSecret: String?
        public let name: String
        public let redirectUris: [String]
        public let postLogoutRedirectUris: [String]
        public let backchannelLogoutUri: String?
        public let `public`: Bool
        public let createdAt: Date

        public init(_ client: OIDCClient, secret: String? = nil) {
            clientId = client.id
            clientSecret = secret
            name = client.name
            redirectUris = client.redirectURIs
            postLogoutRedirectUris = client.postLogoutRedirectURIs
            backchannelLogoutUri = client.backchannelLogoutURI
            `public` = client.isPublic
            createdAt = client.createdAt
        }
    }

    public init(
        id: String, organizationID: String, name: String, secretHash: Data?, redirectURIs: [String], postLogoutRedirectURIs: [String],
        backchannelLogoutURI: String?, createdAt: Date
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.secretHash = secretHash
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.backchannelLogoutURI = backchannelLogoutURI
        self.createdAt = createdAt
    }
}

/// What an app asks to register; checked by `OIDCProvider.register`.
public struct OIDCClientRequest: Sendable {
    public var name: String
    public var redirectURIs: [String]
    public var postLogoutRedirectURIs: [String]
    public var backchannelLogoutURI: String?
    public var isPublic: Bool

    public init(name: String, redirectURIs: [String], postLogoutRedirectURIs: [String] = [], backchannelLogoutURI: String? = nil, isPublic: Bool = false) {
        self.name = name
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.backchannelLogoutURI = backchannelLogoutURI
        self.isPublic = isPublic
    }
}

/// An authorization code as stored: its hash only. Single use, valid for a minute.
public struct OIDCCode: Sendable, Equatable {
    public let codeHash: Data
    public let clientID: String
    /// The TeamGate session that signed the browser in: the ID token's `sid`.
    public let ssoSessionID: String
    public let memberID: String
    public let organizationID: String
    public let redirectURI: String
    public let scope: String
    public let nonce: String?
    /// The PKCE challenge (S256), when one was sent.
    public let codeChallenge: String?
    public let authTime: Date
    public let expiresAt: Date
    public var usedAt: Date?
    /// The app session the first use opened: ended when the code is used again.
    public var grantSessionID: String?
}

/// An access or refresh token as stored: its hash, and the app session it rests on. Never changed once written:
/// whether it still works is its expiry and that session's liveness in the session index.
public struct OIDCToken: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case access, refresh
    }

    public let tokenHash: Data
    public let kind: Kind
    /// The app session (a TeamGate session of kind `app`, child of the SSO session): ends with it.
    public let grantSessionID: String
    /// The app session's own key in the session index.
    public let grantTokenHash: Data
    /// The SSO session: the ID token's `sid`.
    public let ssoSessionID: String
    public let clientID: String
    public let memberID: String
    public let scope: String
    public let authTime: Date
    public let issuedAt: Date
    public let expiresAt: Date
}

/// One back-channel logout to send: an app, the TeamGate session (`sid`) it must forget, and its member (`sub`).
public struct LogoutDelivery: Sendable, Equatable {
    public let id: String
    public let clientID: String
    public let sid: String
    public let sub: String
    public let uri: String
    public let attempts: Int
    public let nextAttemptAt: Date
}

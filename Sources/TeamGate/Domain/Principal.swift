import Foundation

/// Who is acting on a team (the actor; `Actor` is taken by Swift): every use case is told, and `TeamRules` decides from it what they may do.
/// A door authenticates its caller and names them here; it decides nothing else.
///
/// A new door (an app registered over OpenID Connect, the company's SCIM directory) adds its case here, its
/// audit label below, and its answer in each of `TeamRules`' switches, so that the compiler lists every rule
/// it must take a side on.
public enum Principal: Sendable, Equatable {
    /// The organisation's public API key (DoubleTick's API).
    case apiKey(APIKey)
    /// An Owner or Team Lead signed in to the console.
    case consoleAdmin(TeamMember)
    /// A member acting on their own session (`/me`, `/auth/logout`).
    case member(TeamMember)
    /// The operator at the command line, with the shell's full trust; `label` names them in the audit
    /// (`cli`, `demo`).
    case commandLine(label: String)
    /// An app signed in through TeamGate (an OpenID Connect client), acting on its own sign-ins.
    case app(clientID: String)
    /// The company's directory (Okta, Entra ID…) over SCIM, holding a provisioning token of the organisation.
    case directory(APIKey)
    /// TeamGate itself (housekeeping).
    case system

    /// How the audit names the actor: a key by its prefix, a member by id; never a secret.
    public var auditLabel: String {
        switch self {
        case .apiKey(let key), .directory(let key): key.actorLabel
        case .consoleAdmin(let member), .member(let member): "member:\(member.id)"
        case .commandLine(let label): label
        case .app(let clientID): "app:\(clientID)"
        case .system: "system"
        }
    }

    /// The operator at the CLI.
    public static let cli = Principal.commandLine(label: "cli")
}

/// Who asked for a change, and from where: written into the audit with it.
public struct RequestOrigin: Sendable, Equatable {
    public let actor: Principal
    public let requestID: String?
    public let clientIP: String?

    public init(actor: Principal, requestID: String? = nil, clientIP: String? = nil) {
        self.actor = actor
        self.requestID = requestID
        self.clientIP = clientIP
    }

    public static let cli = RequestOrigin(actor: .cli)
}

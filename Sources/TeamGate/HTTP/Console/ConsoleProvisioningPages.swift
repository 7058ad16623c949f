import Foundation
import Hummingbird

/// Settings → Provisioning: the company directory's SCIM tokens and the base URL to paste into Okta or Entra ID. Tokens
/// are the Owner's (`TeamRules`), made after a fresh code and shown once, as API keys are.
struct ConsoleProvisioningPages: Sendable {
    let services: TeamGateServices
    let freshCode: ConsoleFreshCode

    static let path = "/console/settings/provisioning"

    @Sendable func provisioning(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        try await page(context.admin, origin: context.origin)
    }

    private func page(_ admin: ConsoleAdmin, origin: RequestOrigin, issued: String? = nil) async throws -> Response {
        let tokens = try await services.directory.apiKeys(organizationID: admin.organizationID, purpose: .provisioning, origin: origin)
        let baseURL = HTML.escape(services.provisioning.baseURL)
        let shown =
            issued.map {
                ConsoleSettingsPages.secretCard(
                    $0, title: "Your new provisioning token", page: Self.path,
                    use: "Paste it as the directory's <strong>Secret Token</strong> (Entra ID) or <strong>API token</strong> (Okta), with the base URL <code>\(baseURL)</code>.")
            } ?? ""
        return ConsolePage(
            title: "Provisioning", section: .provisioning, admin: admin.live, csrf: admin.csrf,
            body: """
                \(shown)
                <p>Your company's directory (Okta, Microsoft Entra ID, Google Workspace, JumpCloud, OneLogin…) can keep the team for you
                over SCIM 2.0: people it assigns become members, and someone it deactivates is signed out of every device and every app
                at once. Each member signs in with the directory's <strong>mobile</strong> phone number.</p>
                <div class="field-row"><label for="scim-base">SCIM base URL</label><input id="scim-base" readonly value="\(baseURL)">
                <button type="button" class="ghost" data-copy="scim-base">Copy</button></div>
                <h2>Create a token</h2>
                <form method="post" action="/console/provisioning-tokens" class="card stack">
                <input type="hidden" name="csrf" value="\(admin.csrf)">
                <label for="token-name">Name (the directory it is for)</label>
                <input id="token-name" name="name" maxlength="200" required placeholder="e.g. Entra ID">
                <button type="submit" class="try-it">Create provisioning token</button></form>
                <h2>Tokens</h2>
                \(ConsoleSettingsPages.keyTable(tokens, csrf: admin.csrf, revoking: "/console/provisioning-tokens", refusal: "The directory will be refused from then on."))
                """
        ).render(status: issued == nil ? .ok : .created)
    }

    @Sendable func create(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        try await ConsoleSettingsPages.createKey(
            .provisioning, request, context, services: services, freshCode: freshCode, action: "/console/provisioning-tokens",
            asking: "create a provisioning token", defaultName: "directory", page: page)
    }

    @Sendable func revoke(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        _ = try await services.directory.revokeAPIKey(
            organizationID: context.admin.organizationID, idOrPrefix: try context.parameters.require("id"), purpose: .provisioning, origin: context.origin)
        return redirect(Self.path)
    }
}

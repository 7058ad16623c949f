"""The admin console in a real browser (Debian's chromium via Playwright), against a real server whose
sign-in codes go to a local webhook receiver started here: owner sign-in, key creation and use on the
reference page (after a fresh code), logout from the Team page, the audit entry, role limits, CSRF refusal, a device's token
refused as the console cookie, screenshots."""

import sys

from playwright.sync_api import expect, sync_playwright

from harness import Gateway, Screenshots, Tally, bearer, chromium, console_sign_in as sign_in, start_server

tally = Tally("console-check")
check = tally.check


def main():
    shots = Screenshots()
    shot = shots.take

    gateway = Gateway()
    otp_url = gateway.url()
    # A fresh code is asked for every time (0 minutes), so the check sees the confirmation before a key or a webhook.
    with start_server(["--otp-sender", "webhook:" + otp_url, "--webhook-allowed-hosts", "127.0.0.1", "--console-fresh-code-minutes", "0"],
                      demo=True) as server, sync_playwright() as p:
        base = server.base_url
        browser = chromium(p)
        owner = browser.new_context(viewport={"width": 1280, "height": 900})
        page = owner.new_page()
        page.on("dialog", lambda dialog: dialog.accept())

        page.goto(base + "/console")
        shot(page, "console-wide-sign-in.png", "wide, sign-in")
        sign_in(page, base, "+919300000001", gateway)
        expect(page.locator("h1")).to_have_text("Team")
        check("the owner signs in with a code sent through the webhook sender", page.url.endswith("/console/team"))
        cookie = next(c for c in owner.cookies() if c["name"] == "tg_console")
        check("the console session is an HttpOnly, SameSite=Strict cookie", cookie["httpOnly"] and cookie["sameSite"] == "Strict")
        check("the Team page lists every member with their sessions", page.locator("tbody tr").count() == 4
              and page.locator('tr[data-member="+919300000003"] td.sessions').inner_text() == "3")
        shot(page, "console-wide-team.png", "wide, Team")

        # Settings → Developer Documentation: a key, shown once, used on the reference page.
        page.click("text=Settings → Developer Documentation")
        page.fill("#key-name", "console test")
        page.click("text=Create API key")
        expect(page.locator("h1")).to_have_text("Confirm it is you")
        check("creating a key asks for a fresh code first, and makes nothing yet",
              page.locator("#new-key").count() == 0 and "create an API key" in page.inner_text("main"))
        shot(page, "console-wide-fresh-code.png", "wide, a fresh code asked for before a key is made")
        page.fill("#code", gateway.wait_code("+919300000001") or "")
        page.click("#fresh-code button[type=submit]")
        key = page.input_value("#new-key")
        check("a new key is shown once, with the seed's warning", key.startswith("key_") and "Do not share this key publicly" in page.inner_text(".new-key"))
        owner.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.click("button[data-copy=new-key]")
        check("the copy button copies the key", page.evaluate("navigator.clipboard.readText()") == key)
        shot(page, "console-wide-developer.png", "wide, Developer Documentation with a new key")
        page.reload()
        check("a reload does not show the key again", page.locator("#new-key").count() == 0 and key not in page.content())

        # Settings → Provisioning: a SCIM token, after a fresh code, shown once with the base URL; it opens /scim/v2
        # and nothing else, and is refused once revoked.
        page.click("text=Settings → Provisioning")
        base_url = page.input_value("#scim-base")
        check("the Provisioning page shows the SCIM base URL to paste", base_url.endswith("/scim/v2"), base_url)
        page.fill("#token-name", "Entra ID")
        page.click("text=Create provisioning token")
        expect(page.locator("h1")).to_have_text("Confirm it is you")
        page.fill("#code", gateway.wait_code("+919300000001") or "")
        page.click("#fresh-code button[type=submit]")
        scim_token = page.input_value("#new-key")
        check("a provisioning token is shown once, after a fresh code", scim_token.startswith("scim_") and "shown only once" in page.inner_text(".new-key"))
        shot(page, "console-wide-provisioning.png", "wide, Settings → Provisioning with a new token")
        scim_users = server.call("GET", "/scim/v2/Users", bearer(scim_token))
        check("the token opens the SCIM service", scim_users.status == 200 and scim_users.json.get("totalResults") == 0, scim_users.status)
        check("the token is no API key", server.call("GET", "/team", {"x-public-key": scim_token}).status == 401)
        page.reload()
        check("a reload does not show the token again", scim_token not in page.content())
        # The confirm() is accepted by the page's own handler above: a second one would accept it twice, which
        # Playwright reports as an error ("already handled").
        page.locator("tr", has_text="Entra ID").locator("button", has_text="Revoke").click()
        expect(page.locator("tr", has_text="Entra ID")).to_contain_text("Revoked")
        check("a revoked token is refused at once", server.call("GET", "/scim/v2/Users", bearer(scim_token)).status == 401)

        rohan = server.member("Rohan Das")
        page.goto(base + "/console/settings/developer")
        page.click("text=Logout a Team Member")
        page.fill("#credential", key)
        page.fill("#body-editor", '{"userPhoneNumber": "%s"}' % rohan.phone)
        page.click("#try-it")
        expect(page.locator("#response")).to_have_attribute("data-sequence", "1")
        check("the console's key works on the reference page's Try It (201)", page.inner_text("#response-status").startswith("201"))
        check("Rohan's devices are refused after it", all(server.call("GET", "/me", bearer(t)).status == 401 for t in rohan.tokens))

        # Team page: log Meera out, with the dry-run confirmation.
        meera = server.member("Meera Iyer")
        page.goto(base + "/console/team")
        page.locator('tr[data-member="+919300000003"] a', has_text="Log out").click()
        check("the confirmation says how many sessions will end", "end 3 sessions" in page.inner_text("#logout-preview"))
        shot(page, "console-wide-confirm-logout.png", "wide, logout confirmation")
        page.fill("#reason", "Left the company")
        page.click("button.danger-fill")
        expect(page.locator(".flash")).to_contain_text("logged out")
        check("Meera's /me is refused after the console logout", all(server.call("GET", "/me", bearer(t)).status == 401 for t in meera.tokens))

        page.click("text=Audit log")
        first = page.locator("table.audit tbody tr").first
        check("the audit log lists the logout with the owner as actor",
              "member.logged_out" in first.inner_text() and first.locator("td.actor").inner_text() == "Asha Rao"
              and "Left the company" in first.inner_text(), first.inner_text())
        page.select_option("#action", "member.logged_out")
        page.click("text=Filter")
        check("the audit log filters by action", page.locator("table.audit tbody tr").count() == 2)
        shot(page, "console-wide-audit.png", "wide, Audit log")

        # A member's page: end one device.
        page.goto(base + "/console/team")
        page.locator('tr[data-member="+919300000002"] a', has_text="Vikram Shah").click()
        before = page.locator("form[action$='/end']").count()
        page.locator("form[action$='/end'] button").first.click()
        page.wait_for_load_state()
        check("End signs one device out and leaves the others", page.locator("form[action$='/end']").count() == before - 1)
        shot(page, "console-wide-member.png", "wide, a member's sessions and history")

        page.click("text=Webhooks")
        page.fill("#url", gateway.url("/hook"))
        page.click("text=Add webhook")
        expect(page.locator("h1")).to_have_text("Confirm it is you")
        page.fill("#code", gateway.wait_code("+919300000001") or "")
        page.click("#fresh-code button[type=submit]")
        check("a webhook is added and its secret shown once", page.input_value("#new-secret").startswith("whsec_"))
        shot(page, "console-wide-webhooks.png", "wide, Webhooks")

        # Cross-site: a POST with the admin's cookie but without the form's token is refused.
        page.goto(base + "/console/team")
        href = page.locator('tr[data-member="+919300000002"] a').first.get_attribute("href")
        forged = owner.request.post(base + href + "/logout", form={"reason": "forged"}, headers={"Origin": "http://evil.example"})
        check("a cross-site POST without the CSRF token is refused (403)", forged.status == 403, str(forged.status))
        no_token = owner.request.post(base + href + "/logout", form={"reason": "forged"})
        check("a same-site POST without the CSRF token is refused too (403)", no_token.status == 403, str(no_token.status))

        narrow = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=owner.storage_state())
        small = narrow.new_page()
        for path, name, what in [("/console/team", "console-narrow-team.png", "narrow, Team"),
                                 ("/console/settings/developer", "console-narrow-developer.png", "narrow, Developer Documentation"),
                                 ("/console/audit", "console-narrow-audit.png", "narrow, Audit log")]:
            small.goto(base + path)
            overflow = small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            check(f"{path} fits 390 px", overflow <= 0, f"overflow {overflow}px")
            shot(small, name, what)

        page.click("text=Sign out")
        check("signing out ends the console session", page.url.endswith("/console") and page.locator("#phone").count() == 1)

        # A Team Lead gets in, but not to key management.
        lead = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(lead, base, "+919300000002", gateway)
        expect(lead.locator("h1")).to_have_text("Team")
        response = lead.goto(base + "/console/settings/developer")
        check("a Team Lead cannot open key management (403)", response.status == 403 and "Only the Owner" in lead.content())
        shot(lead, "console-wide-team-lead-403.png", "wide, Team Lead refused key management")
        response = lead.goto(base + "/console/webhooks")
        check("a Team Lead cannot open webhooks either (403)", response.status == 403 and "Only the Owner manages webhooks" in lead.content())
        response = lead.goto(base + "/console/settings/provisioning")
        check("nor provisioning tokens (403)", response.status == 403 and "Only the Owner manages provisioning tokens" in lead.content())
        lead.goto(base + "/console/team")
        check("a Team Lead is offered no action on the Owner", lead.locator('tr[data-member="+919300000001"] .actions a, tr[data-member="+919300000001"] .actions form').count() == 0)

        # A device's session token is no console cookie: the Owner's demo device token, set as the cookie, opens nothing.
        device_token = next(iter(server.member("Asha Rao").tokens), None)
        stolen = browser.new_context(viewport={"width": 1280, "height": 900})
        host = base.split("//", 1)[1].split(":")[0]
        stolen.add_cookies([{"name": "tg_console", "value": device_token or "none", "domain": host, "path": "/console"}])
        thief = stolen.new_page()
        thief.goto(base + "/console/settings/developer")
        check("an Owner's device token as the console cookie is refused (sent to sign in, no key management)",
              device_token is not None and thief.url.endswith("/console") and thief.locator("#phone").count() == 1
              and server.call("GET", "/me", bearer(device_token)).status == 200, device_token and thief.url)

        # A plain member cannot sign in to the console.
        plain = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(plain, base, "+919300000003", gateway)
        check("a plain team member is refused at sign-in", "The console is for the team's Owner and Team Leads" in plain.content()
              and not any(c["name"] == "tg_console" and c["value"] for c in plain.context.cookies()))
        shot(plain, "console-wide-member-refused.png", "wide, plain member refused")
        browser.close()
    gateway.stop()
    shots.report()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())

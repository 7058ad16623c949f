"""The API reference in a real browser (Debian's chromium, driven by Playwright): the seed's walk-through
on /docs/reference/logout-team-member, checked against the API itself and against the cURL snippet."""

import subprocess
import sys

from playwright.sync_api import expect, sync_playwright

from harness import Screenshots, Tally, bearer, chromium, start_server

tally = Tally("browser-check")
check = tally.check


def send(page, action=lambda page: page.click("#try-it")):
    """Sends with `action` and waits for that request's answer (the page counts answers)."""
    before = int(page.get_attribute("#response", "data-sequence") or 0)
    action(page)
    expect(page.locator("#response")).to_have_attribute("data-sequence", str(before + 1))
    return page.inner_text("#response-status"), page.inner_text("#response-meaning")


def try_it(page, phone, key=None):
    if key is not None:
        page.fill("#credential", key)
    page.fill("#body-editor", '{\n  "userPhoneNumber": "%s"\n}' % phone)
    return send(page)


def run_snippet(page):
    page.click("#tab-curl")
    command = page.inner_text("#snippet")
    result = subprocess.run(["bash", "-c", command.replace("curl ", "curl -s -o /dev/null -w '%{http_code}' ", 1)],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.strip()


def main():
    shots = Screenshots()
    with start_server(demo=True) as server, sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.base_url) else None)
        page.goto(server.base_url + "/docs/reference/logout-team-member")
        expect(page.locator("h1")).to_have_text("Logout a Team Member")
        check("the page shows the operation's parameters and every documented status",
              page.locator("table code", has_text="userPhoneNumber").count() == 1
              and all(page.locator(f'details[data-status="{s}"]').count() == 1 for s in ["201", "400", "401", "422"]))
        check("the body editor is prefilled from the example", "userPhoneNumber" in page.input_value("#body-editor"))
        shots.take(page, "reference-wide-empty.png", "wide, before sending")

        meera = server.member("Meera Iyer")
        check("Meera is signed in before", all(server.call("GET", "/me", bearer(t)).status == 200 for t in meera.tokens))

        # The seed's steps: paste the key, set the number, Try It.
        status, meaning = try_it(page, meera.phone, server.api_key)
        check("Try It answers 201 with the seed's meaning", status.startswith("201") and "logged out" in meaning, f"{status} / {meaning}")
        check("the response body says how many sessions ended", '"sessionsEnded": 3' in page.inner_text("#response-body"))
        check("every device of the member is refused through the API afterwards",
              all(server.call("GET", "/me", bearer(t)).status == 401 for t in meera.tokens))
        check("the key is masked and kept for the next visit",
              page.get_attribute("#credential", "type") == "password"
              and page.evaluate("localStorage.getItem('teamgate.credential.publicKey')") == server.api_key)
        check("the cURL snippet carries the key and the body", server.api_key in page.inner_text("#snippet")
              and meera.phone in page.inner_text("#snippet"))
        shots.take(page, "reference-wide-201.png", "wide, after a 201")

        rohan = server.member("Rohan Das")
        status, meaning = try_it(page, "+14155550100")
        check("a stranger's number shows 422 and its meaning", status.startswith("422") and "not a team member" in meaning, status)
        check("the cURL snippet gives the same status as the button (422)", run_snippet(page) == "422")

        status, meaning = try_it(page, rohan.phone, "key_wrong")
        check("a wrong key shows 401 and its meaning", status.startswith("401") and "wrong or missing API key" in meaning, status)
        check("the cURL snippet gives the same status as the button (401)", run_snippet(page) == "401")
        check("Rohan is still signed in after the refused call", server.call("GET", "/me", bearer(rohan.tokens[0])).status == 200)

        page.fill("#credential", server.api_key)
        page.fill("#body-editor", '{"userPhoneNumber": "+9193000000')
        before = page.inner_text("#response")
        page.click("#try-it")
        check("a malformed body is caught before sending", "Not valid JSON" in page.inner_text("#body-error")
              and page.inner_text("#response") == before)

        page.fill("#body-editor", '{"userPhoneNumber": "string"}')
        status, meaning = send(page)
        check("a body that is JSON but not a phone number shows 400", status.startswith("400") and "Incorrect payload" in meaning, status)

        status, _ = try_it(page, rohan.phone)
        check("Try It with the right key logs Rohan out (201), and the snippet agrees on a repeat (201)",
              status.startswith("201") and run_snippet(page) == "201")
        check("recent requests lists the calls, newest first", page.locator("#history li").count() >= 5
              and "201" in page.locator("#history li").first.inner_text())

        for language, marker in [("python", "import requests"), ("javascript", "await fetch("), ("swift", "URLSession.shared")]:
            page.click(f"#tab-{language}")
            check(f"the {language} snippet is offered", marker in page.inner_text("#snippet"))

        page.click("#forget-credential")
        check("Forget clears the stored key", page.evaluate("localStorage.getItem('teamgate.credential.publicKey')") is None
              and page.input_value("#credential") == "")

        page.fill("#search", "sign")
        check("the search box filters operations", page.locator("#operation-list a").count() >= 2
              and page.locator("#operation-list a", has_text="Logout a Team Member").count() == 0)
        page.fill("#search", "")
        page.click("#operation-list a:has-text('Check the current session')")
        expect(page.locator("h1")).to_have_text("Check the current session")
        check("operations are reachable from the list, with their own URL", page.url.endswith("/docs/reference/get-current-session")
              and page.locator("label[for=credential]").inner_text() == "Authorization: Bearer")

        # Keyboard only: Tab reaches Try It, Enter sends.
        page.goto(server.base_url + "/docs/reference/logout-team-member")
        page.fill("#credential", server.api_key)
        page.fill("#body-editor", '{"userPhoneNumber": "%s"}' % server.member("Vikram Shah").phone)
        page.focus("#copy-snippet")
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "try-it":
                break
        status, _ = send(page, lambda page: page.keyboard.press("Enter"))
        check("the keyboard alone reaches Try It and sends", status.startswith("201"), status)
        unlabelled = page.evaluate("""[...document.querySelectorAll('input, textarea')].filter(e =>
            !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""")
        check("every control is labelled", unlabelled == 0, f"{unlabelled} unlabelled")

        narrow = browser.new_context(viewport={"width": 390, "height": 844})
        phone_page = narrow.new_page()
        phone_page.goto(server.base_url + "/docs/reference/logout-team-member")
        expect(phone_page.locator("h1")).to_have_text("Logout a Team Member")
        overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        check("at 390 px nothing overflows sideways", overflow <= 0, f"overflow {overflow}px")
        status, _ = try_it(phone_page, "+14155550100", server.api_key)
        check("Try It works at 390 px", status.startswith("422"))
        shots.take(phone_page, "reference-narrow-422.png", "narrow, after a 422")
        phone_page.click("#nav-toggle")
        shots.take(phone_page, "reference-narrow-nav.png", "narrow, operations open", full=False)

        check("no request left the server's origin", not outside, str(outside[:3]))
        browser.close()
    shots.report()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())

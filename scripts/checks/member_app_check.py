"""The member's page, /app, in a real browser (Debian's chromium via Playwright) against a real demo server whose
sign-in codes go to a local webhook receiver:

1. Meera signs in on /app with the keyboard alone (labels, Tab, Enter), sees her device and her other ones, and is
   logged out through the API: within 1 s of the 201 the page says an admin logged her out, without navigating
   (same URL, same page load), with the message in an aria-live region and the focus on it. 1280 px.
2. Vikram signs in on /app; the Owner logs him out from the console's Team page in a second browser: the page
   says so within 1 s of the console's confirmation.
3. Rohan signs in on /app at 390 px; the page's network fails and the server restarts, which cuts its socket;
   Rohan is logged out meanwhile through the API; when the network is back (the browser's `online` event) the page
   reconnects and shows the logout made while it was away.

Screenshots of /app signed in and logged out at 1280 and 390 px go to artifacts/screenshots. Then the API
reference at 1280 and 390 px: the body-parameter table and the generated snippet fit their boxes (no cut text).

    python3 scripts/checks/member_app_check.py"""

import sys
import time

from playwright.sync_api import expect, sync_playwright

from harness import Gateway, Screenshots, Tally, chromium, console_sign_in, start_server

tally = Tally("member-app-check")
check = tally.check
OWNER = "+919300000001"


def api_logout(server, phone):
    return server.call("POST", "/team-member/logout", {"x-public-key": server.api_key}, {"userPhoneNumber": phone}).status


def sign_in_with_keyboard(page, base, phone, gateway):
    """Signs in on /app using only the keyboard; checks every field has its label."""
    page.goto(base + "/app")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    labelled = page.get_by_label("Phone number").count() == 1
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    page.keyboard.type(phone)
    page.keyboard.press("Enter")
    expect(page.get_by_label("6-digit code")).to_be_focused()
    labelled = labelled and page.get_by_label("This device's name").count() == 1
    page.keyboard.type(gateway.wait_code(phone) or "")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_be_visible()
    return labelled and focused == "phone"


def sign_in(page, base, phone, gateway):
    page.goto(base + "/app")
    page.get_by_label("Phone number").fill(phone)
    page.get_by_role("button", name="Send code").click()
    page.get_by_label("6-digit code").fill(gateway.wait_code(phone) or "")
    page.get_by_label("This device's name").fill("Check browser")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in")).to_be_visible()


def wait_live(page):
    expect(page.locator("#connection")).to_have_attribute("data-status", "live", timeout=10000)


def ended_within(page, started, limit):
    """Seconds from `started` until the logged-out message shows, or None after `limit` s."""
    try:
        page.locator("#ended").wait_for(state="visible", timeout=limit * 1000)
    except Exception:
        return None
    return time.perf_counter() - started


def fits(page, selector):
    """Whether every element matching `selector` shows all its content (no horizontal overflow)."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)].every(e => e.scrollWidth <= e.clientWidth + 1)""", selector)


def main():
    shots = Screenshots()
    shot = shots.take

    gateway = Gateway()
    server = start_server(["--otp-sender", "webhook:" + gateway.url(), "--webhook-allowed-hosts", "127.0.0.1"], demo=True)
    try:
        with sync_playwright() as p:
            browser = chromium(p)
            base = server.base_url

            # 1. The API's logout, 1280 px, keyboard only.
            wide = browser.new_context(viewport={"width": 1280, "height": 900})
            page = wide.new_page()
            outside = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) and not r.url.startswith(base.replace("http", "ws")) else None)
            meera = server.member("Meera Iyer")
            check("run 1: Meera signs in on /app with the keyboard alone; every field has a label", sign_in_with_keyboard(page, base, meera.phone, gateway))
            wait_live(page)
            devices = page.locator("#other-devices li").all_inner_texts()
            check("the page shows who is signed in, on which device, since when, and her other devices (from GET /me/sessions)",
                  "Meera Iyer" in page.inner_text("#who") and page.inner_text("#this-device") and page.inner_text("#since")
                  and len(devices) == 3, devices)
            shot(page, "app-wide-signed-in.png", "/app at 1280 px, signed in")
            loaded_at = page.evaluate("window.teamgateAppLoadedAt")
            url = page.url
            started = time.perf_counter()
            status = api_logout(server, meera.phone)
            took = ended_within(page, started, 1)
            check(f"the API logout (201) turns the page into the admin-logout message within 1 s ({took and round(took * 1000)} ms)",
                  status == 201 and took is not None, status)
            check("the message says an admin logged her out, and when",
                  "An admin of your team logged you out" in page.inner_text("#ended-message") and page.inner_text("#ended-when").startswith("At "),
                  page.inner_text("#ended"))
            check("without navigation: the same URL and the same page load", page.url == url and page.evaluate("window.teamgateAppLoadedAt") == loaded_at)
            expect(page.locator("#announce")).to_contain_text("An admin of your team logged you out")
            check("the message is in an aria-live region and the focus moves to it",
                  page.get_attribute("#announce", "aria-live") == "assertive" and page.evaluate("document.activeElement.id") == "ended-title")
            shot(page, "app-wide-logged-out.png", "/app at 1280 px, logged out by an admin")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            check("Sign in again, from the keyboard, returns to the sign-in form with the number field focused",
                  page.locator("#sign-in").is_visible() and page.evaluate("document.activeElement.id") == "phone")
            check("the page loaded nothing from another origin", not outside, outside)

            # 2. The console's logout.
            vikram_page = wide.new_page()
            vikram = server.member("Vikram Shah")
            sign_in(vikram_page, base, vikram.phone, gateway)
            wait_live(vikram_page)
            admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            admin.on("dialog", lambda dialog: dialog.accept())
            console_sign_in(admin, base, OWNER, gateway)
            expect(admin.locator("h1")).to_have_text("Team")
            admin.locator(f'tr[data-member="{vikram.phone}"] a', has_text="Log out").click()
            admin.fill("#reason", "Shared laptop handed on")
            started = time.perf_counter()
            admin.click("button.danger-fill")
            took = ended_within(vikram_page, started, 1)
            expect(admin.locator(".flash")).to_contain_text("logged out")
            check(f"run 2: the console's logout turns Vikram's page into the admin-logout message within 1 s ({took and round(took * 1000)} ms)",
                  took is not None and "An admin of your team logged you out" in vikram_page.inner_text("#ended-message"))

            # 3. The socket cut: offline, the server restarted, a logout meanwhile; 390 px.
            narrow = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            rohan_page = narrow.new_page()
            rohan = server.member("Rohan Das")
            sign_in(rohan_page, base, rohan.phone, gateway)
            wait_live(rohan_page)
            shot(rohan_page, "app-narrow-signed-in.png", "/app at 390 px, signed in")
            # The page's network fails (its re-check of GET /me is refused by the browser, so it cannot reconnect), then
            # the server restarts, which cuts the socket it held.
            narrow.route("**/me", lambda route: route.abort("internetdisconnected"))
            server.restart()  # SIGTERM, then the same port and database
            expect(rohan_page.locator("#connection")).to_have_attribute("data-status", "offline", timeout=5000)
            check("run 3: with the socket cut by the restart, the page says it is reconnecting", "Reconnecting" in rohan_page.inner_text("#connection"))
            status = api_logout(server, rohan.phone)
            time.sleep(1)
            check("meanwhile the server restarted and Rohan was logged out (201); the page, cut off, does not know yet",
                  status == 201 and not rohan_page.locator("#ended").is_visible())
            # The network comes back: the browser says so (the `online` event), and the page reconnects at once.
            narrow.unroute("**/me")
            rohan_page.evaluate("dispatchEvent(new Event('online'))")
            took = ended_within(rohan_page, time.perf_counter(), 10)
            check(f"back online, the page reconnects, re-checks, and shows the logout made while it was away ({took and round(took, 1)} s)",
                  took is not None and "An admin of your team logged you out" in rohan_page.inner_text("#ended-message")
                  and "offline" in rohan_page.inner_text("#ended-when"), rohan_page.inner_text("body")[:400])
            shot(rohan_page, "app-narrow-logged-out.png", "/app at 390 px, logged out while offline")

            # The API reference, readable at both widths.
            for width, height, name in [(1280, 900, "wide"), (390, 844, "narrow")]:
                reference = browser.new_context(viewport={"width": width, "height": height}).new_page()
                reference.goto(base + "/docs/reference/logout-team-member")
                expect(reference.locator("h1")).to_have_text("Logout a Team Member")
                reference.fill("#credential", server.api_key)
                check(f"the reference page at {width} px: the body-parameter table and the cURL snippet fit (nothing cut)",
                      fits(reference, ".table-scroll") and fits(reference, "#snippet")
                      and reference.locator("tr.param-description", has_text="The login phone number").is_visible())
                shot(reference, f"reference-{name}-parameters.png", f"the API reference at {width} px")
            browser.close()
    except Exception as error:
        tally.crashed(error)
    finally:
        server.stop()
    shots.report()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())

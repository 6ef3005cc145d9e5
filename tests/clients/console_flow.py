"""Tours the admin console (/console) in headless Chromium (Debian's package) with Playwright.

One JSON command per input line, one JSON answer per line. The tour drives the console as a
keyboard user would: Tab between the sign-in fields, type into the focused field, focus a
control and press Enter (or Space for a checkbox). Full-page screenshots go to the directory
given as the first argument, as console-<page>.png.

  {"do": "tour", "base", "email", "password", "backup_path": path or null}
      -> {"tenant_id", "tenant_name", "publishable_key", "secret_key", "clipboard",
          "user_id", "user_email", "sessions" (ids, newest last), "revoked_session_id",
          "revoked_status" (the badge the row shows), "session_statuses_shown" ({id: status}
          in the console), "sessions_after" ({id: status} from GET /v1/sessions),
          "webhook_id", "webhook_secret", "delivery_statuses", "receiver_hits",
          "receiver_events", "receiver_signed", "rotate_notice", "rotated_key_id",
          "key_statuses" ({kid: status}), "restored_tenant_id", "progress_values",
          "progress_max", "import_result" (the last four only with a backup_path),
          "axe" ({page: [{id, impact, help, nodes}]}, serious and critical only),
          "console_errors" (console errors, page errors, CSP violations, failed requests,
          HTTP answers >= 400), "focus_outline", "storage" ({local, session, cookies}),
          "signed_out", "seconds"}

A failed tour answers {"error": "<what failed, then where>", "partial": <what it had found,
with "failed_at": the console's URL>} and leaves console-failure.png.
"""
import json
import os
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from playwright.sync_api import expect, sync_playwright

shots = sys.argv[1]
os.makedirs(shots, exist_ok=True)

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 15_000
AXE = os.environ.get(
    "HELLOJOHN_AXE_JS",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../console/node_modules/axe-core/axe.min.js"),
)
PASSWORD = "correct horse battery staple"


# ---- keyboard helpers -------------------------------------------------------------------

def focused(locator):
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator, limit=30):
    """Presses Tab until `locator` has focus."""
    locator.wait_for()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(locator):
            return
    raise AssertionError(f"Tab never reached {locator}")


def press(locator, key="Enter"):
    """Focuses an enabled control and presses `key` on it, as a keyboard user would."""
    expect(locator).to_be_enabled()
    locator.focus()
    if not focused(locator):
        raise AssertionError(f"{locator} did not take the focus")
    locator.page.keyboard.press(key)


def nav_link(page, nav, name):
    return page.get_by_role("navigation", name=nav).get_by_role("link", name=name, exact=True)


def heading(page, name, level=None):
    if level:
        return page.get_by_role("heading", name=name, exact=True, level=level)
    return page.get_by_role("heading", name=name, exact=True)


# ---- checks run on every page -----------------------------------------------------------

class Checks:
    """axe-core on each distinct page, a screenshot of each, and everything the page logged."""

    def __init__(self, page):
        self.page = page
        self.axe = {}
        self.errors = []
        self.axe_src = open(AXE, encoding="utf-8").read()
        page.on("console", lambda m: self.errors.append(f"console.error: {m.text} ({m.location.get('url')})") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"requestfailed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None)

    def page_done(self, name):
        """Screenshots the page and runs axe-core on it, once its loads are done (the caller has
        waited for the page's own content; hash routes never fire a load event to wait for)."""
        expect(self.page.get_by_text("Loading…")).to_have_count(0)
        self.page.screenshot(path=os.path.join(shots, f"console-{name}.png"), full_page=True)
        # Playwright's evaluate runs outside the page's CSP (script-src 'self'), so axe needs no inline <script>.
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(f"() => {{ {self.axe_src}\n }}")
        found = self.page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ["violations"]});
                return r.violations
                  .filter(v => v.impact === "serious" || v.impact === "critical")
                  .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}));
            }"""
        )
        self.axe[name] = found

    def csp_violations(self):
        return self.page.evaluate("() => window.__cspViolations || []")


# Recorded from the first script of every document (an init script is outside the page's CSP).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


# ---- a webhook receiver -----------------------------------------------------------------

class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers 200 and records what it got."""

    def __init__(self):
        self.bodies = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"headers": dict(self.headers), "body": body.decode("utf-8", "replace")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # stdout is the answer channel; stderr stays quiet too
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the tour ---------------------------------------------------------------------------

def sign_in(page, checks, cmd):
    page.goto(f"{cmd['base']}/console")
    expect(heading(page, "Operator sign-in")).to_be_visible()
    checks.page_done("sign-in")
    operator = page.get_by_role("region", name="Operator sign-in")
    email = operator.get_by_label("Email", exact=True)
    password = operator.get_by_label("Password", exact=True)
    tab_to(page, email)
    page.keyboard.type(cmd["email"])
    page.keyboard.press("Tab")
    if not focused(password):
        raise AssertionError("Tab from Email did not reach Password")
    page.keyboard.type(cmd["password"])
    page.keyboard.press("Enter")
    expect(heading(page, "Tenants", 1)).to_be_visible()


def create_tenant(page, checks, out):
    create = page.get_by_role("button", name="Create tenant", exact=True)
    expect(create).to_be_visible()
    checks.page_done("tenants")
    # The focus ring of a button reached with Tab.
    tab_to(page, create, limit=60)
    out["focus_outline"] = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    name_field = dialog.get_by_label("Name", exact=True)
    expect(name_field).to_be_focused()  # showModal() focuses the first field
    name = f"Console tour {time.time_ns()}"
    page.keyboard.type(name)
    page.keyboard.press("Enter")  # submits the form
    expect(dialog.get_by_role("heading", name=f"Tenant {name} created")).to_be_visible()
    out["tenant_name"] = name
    out["publishable_key"] = dialog.get_by_label("Publishable key", exact=True).input_value()
    out["secret_key"] = dialog.get_by_label("Secret key", exact=True).input_value()
    copy = dialog.get_by_role("button", name="Copy secret key")
    press(copy)
    expect(dialog.get_by_text("Copy secret key: copied to the clipboard")).to_be_attached()
    out["clipboard"] = page.evaluate("() => navigator.clipboard.readText()")
    checks.page_done("create-tenant-dialog")
    press(dialog.get_by_role("link", name=f"Open {name}"))
    expect(heading(page, "Properties")).to_be_visible()
    out["tenant_id"] = re.search(r"#/tenants/(tnt_[0-9A-Za-z]+)", page.url).group(1)
    checks.page_done("tenant-overview")


def tenant_tabs(page, checks):
    """Every tab of the tenant's operator view but Data and Signing keys (visited later)."""
    for label, name, ready in [
        ("API keys", "tenant-api-keys", lambda: page.get_by_role("table", name="API keys")),
        ("Settings", "tenant-settings", lambda: page.get_by_role("button", name="Save settings", exact=True)),
        ("Backups", "tenant-backups", lambda: page.get_by_role("button", name="Download backup")),
        ("Social providers", "tenant-providers", lambda: page.get_by_role("table").first),
    ]:
        press(nav_link(page, "Tenant sections", label))
        expect(nav_link(page, "Tenant sections", label)).to_have_attribute("aria-current", "page")
        expect(ready()).to_be_visible()
        checks.page_done(name)


def create_user(page, checks, out):
    press(nav_link(page, "Tenant sections", "Data"))
    open_data = page.get_by_role("button", name="Open tenant data")
    expect(open_data).to_be_visible()
    checks.page_done("tenant-data")
    press(open_data)
    expect(heading(page, "Users", 1)).to_be_visible()
    expect(page.get_by_role("table", name="Users")).to_be_visible()
    checks.page_done("users")
    press(page.get_by_role("button", name="Create user", exact=True))
    dialog = page.get_by_role("dialog")
    email = dialog.get_by_label("Email", exact=True)
    expect(email).to_be_focused()
    user_email = f"tour-{time.time_ns()}@example.com"
    page.keyboard.type(user_email)
    page.keyboard.press("Tab")
    if not focused(dialog.get_by_label("Password", exact=True)):
        raise AssertionError("Tab from Email did not reach Password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    created = page.get_by_role("status").get_by_role("link", name=user_email)
    expect(created).to_be_visible()
    out["user_email"] = user_email
    out["user_id"] = re.search(r"(usr_[0-9A-Za-z]+)$", created.get_attribute("href")).group(1)
    return created


def revoke_session(page, checks, cmd, out, user_link):
    base = cmd["base"]
    for _ in range(2):
        r = requests.post(
            f"{base}/v1/auth/sign-in",
            headers={"X-Client-Id": out["publishable_key"]},
            json={"email": out["user_email"], "password": PASSWORD},
            timeout=15,
        )
        r.raise_for_status()
        out.setdefault("sessions", []).append(r.json()["session"]["id"])
    press(user_link)
    expect(heading(page, out["user_email"], 1)).to_be_visible()
    rows = page.get_by_test_id("session-row")
    expect(rows).to_have_count(2)
    checks.page_done("user")
    row = rows.first
    session_id = row.locator("td").first.inner_text().strip()
    # Row buttons are named with their row ("Revoke session ses_…"), the visible text first.
    press(row.get_by_role("button", name=f"Revoke session {session_id}", exact=True))
    expect(page.get_by_role("status").filter(has_text=f"Session {session_id} revoked.")).to_be_visible()
    out["revoked_session_id"] = session_id
    # The notice shows before the list is read again: wait for the row to show the new status.
    badge = rows.filter(has_text=session_id).locator(".badge")
    expect(badge).to_have_text("revoked")
    out["revoked_status"] = badge.inner_text()
    out["session_statuses_shown"] = {
        r.locator("td").first.inner_text().strip(): r.locator(".badge").inner_text() for r in rows.all()
    }
    listed = requests.get(
        f"{base}/v1/sessions",
        params={"user_id": out["user_id"]},
        headers={"Authorization": f"Bearer {out['secret_key']}"},
        timeout=15,
    )
    listed.raise_for_status()
    out["sessions_after"] = {s["id"]: s["status"] for s in listed.json()["data"]}


def webhook(page, checks, out):
    receiver = Receiver()
    try:
        press(nav_link(page, "Tenant data", "Webhooks"))
        expect(heading(page, "Webhooks", 1)).to_be_visible()
        expect(page.get_by_role("table", name="Webhook endpoints")).to_be_visible()
        checks.page_done("webhooks")
        press(page.get_by_role("button", name="Add webhook", exact=True))
        dialog = page.get_by_role("dialog")
        url = dialog.get_by_label("URL", exact=True)
        expect(url).to_be_focused()
        page.keyboard.type(receiver.url)
        press(dialog.get_by_label("All events (*)"), " ")  # Space ticks a checkbox
        expect(dialog.get_by_label("All events (*)")).to_be_checked()
        press(dialog.get_by_role("button", name="Create", exact=True))
        created = page.get_by_role("status").get_by_role("link", name=receiver.url)
        expect(created).to_be_visible()
        out["webhook_secret"] = page.get_by_label("Signing secret", exact=True).input_value()
        out["webhook_id"] = re.search(r"(wh_[0-9A-Za-z]+)$", created.get_attribute("href")).group(1)
        press(created)
        expect(heading(page, f"Webhook {receiver.url}", 1)).to_be_visible()
        press(page.get_by_role("button", name="Send test event", exact=True))
        expect(page.get_by_role("status").filter(has_text="Test event sent")).to_be_visible()
        rows = page.get_by_test_id("delivery-row")
        refresh = page.get_by_role("button", name="Refresh", exact=True)
        deadline = time.monotonic() + 20
        while True:
            if rows.filter(has=page.locator(".badge.succeeded")).count() > 0:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no delivery succeeded within 20 s: {rows.all_inner_texts()}")
            press(refresh)
            page.wait_for_timeout(500)
        out["delivery_statuses"] = [r.locator(".badge").inner_text() for r in rows.all()]
        out["receiver_hits"] = len(receiver.bodies)
        out["receiver_events"] = [json.loads(b["body"]).get("type") for b in receiver.bodies]
        out["receiver_signed"] = all("webhook-signature" in {k.lower() for k in b["headers"]} for b in receiver.bodies)
        checks.page_done("webhook")
    finally:
        receiver.close()


def other_data_pages(page, checks):
    for label, name, title in [
        ("Organizations", "organizations", "Organizations"),
        ("OAuth clients", "clients", "OAuth clients"),
        ("Overview", "overview", "Overview"),
    ]:
        press(nav_link(page, "Tenant data", label))
        expect(heading(page, title, 1)).to_be_visible()
        if name == "overview":
            expect(page.get_by_test_id("active-sessions")).to_be_visible()
        else:
            expect(page.get_by_role("table", name=title)).to_be_visible()
        checks.page_done(name)


def rotate_keys(page, checks, out):
    # Back to the tenant's operator view through the link in the tenant data bar.
    press(page.locator(".tenant-data-bar").get_by_role("link", name=out["tenant_name"]))
    expect(heading(page, "Properties")).to_be_visible()
    press(nav_link(page, "Tenant sections", "Signing keys"))
    table = page.get_by_role("table", name="Signing keys")
    expect(table).to_be_visible()
    before = len(table.locator("tbody tr").all())
    press(page.get_by_role("button", name="Rotate now", exact=True))
    notice = page.get_by_role("status").filter(has_text="Rotated.")
    expect(notice).to_be_visible()
    out["rotate_notice"] = notice.inner_text()
    out["rotated_key_id"] = re.search(r"signing key is now (key_[0-9A-Za-z]+)", out["rotate_notice"]).group(1)
    expect(table.locator("tbody tr")).to_have_count(before + 1)
    out["key_statuses"] = {
        r.locator("td").nth(0).inner_text(): r.locator(".badge").inner_text() for r in table.locator("tbody tr").all()
    }
    checks.page_done("tenant-signing-keys")


def restore(page, checks, cmd, out):
    press(nav_link(page, "Main", "Tenants"))
    section = page.get_by_role("region", name="Restore a tenant from a backup")
    expect(section).to_be_visible()
    # A file chooser can't be driven with the keyboard in headless Chromium: set the file directly.
    section.get_by_label("Backup file (.jsonl)").set_input_files(cmd["backup_path"])
    # Record every value the progress bar takes, from its first render on.
    page.evaluate(
        """() => {
          window.__progress = [];
          const seen = () => {
            const p = document.querySelector('[data-testid="import-progress"]');
            if (p && window.__progress[window.__progress.length - 1] !== p.value) window.__progress.push(p.value);
          };
          new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["value"]});
          const poll = () => { seen(); if (!document.querySelector('[data-testid="import-result"]')) requestAnimationFrame(poll); };
          requestAnimationFrame(poll);
        }"""
    )
    press(section.get_by_role("button", name="Restore", exact=True))
    result = section.get_by_test_id("import-result")
    expect(result).to_be_visible()
    out["progress_values"] = page.evaluate("() => window.__progress")
    out["progress_max"] = section.get_by_test_id("import-progress").evaluate("p => p.max")
    out["import_result"] = result.inner_text().strip()
    m = re.search(r"^Restored .*(tnt_[0-9A-Za-z]+)", out["import_result"])
    out["restored_tenant_id"] = m.group(1) if m else None
    if m:
        expect(page.get_by_role("table", name="Tenants").get_by_text(m.group(1))).to_be_visible()
    checks.page_done("tenants-restored")


def operator_pages(page, checks):
    for label, name, title in [("Admins", "admins", "Control-plane admins"), ("Cluster", "cluster", "Cluster")]:
        press(nav_link(page, "Main", label))
        expect(heading(page, title, 1)).to_be_visible()
        expect(page.get_by_role("table").first).to_be_visible()
        checks.page_done(name)


def tour(browser, cmd):
    started = time.monotonic()
    out = {}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=cmd["base"])
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    checks = Checks(page)
    try:
        sign_in(page, checks, cmd)
        create_tenant(page, checks, out)
        tenant_tabs(page, checks)
        user_link = create_user(page, checks, out)
        revoke_session(page, checks, cmd, out, user_link)
        webhook(page, checks, out)
        other_data_pages(page, checks)
        rotate_keys(page, checks, out)
        if cmd.get("backup_path"):
            restore(page, checks, cmd, out)
        operator_pages(page, checks)
        out["storage"] = {
            "local": page.evaluate("localStorage.length"),
            "session": page.evaluate("sessionStorage.length"),
            "cookies": len(context.cookies()),
        }
        out["csp_violations"] = checks.csp_violations()
        press(page.get_by_role("button", name="Sign out", exact=True))
        expect(heading(page, "Operator sign-in")).to_be_visible()
        out["signed_out"] = page.get_by_role("button", name="Sign in", exact=True).is_visible()
        page.screenshot(path=os.path.join(shots, "console-signed-out.png"), full_page=True)
        out["axe"] = checks.axe
        out["console_errors"] = checks.errors + out.pop("csp_violations")
        out["seconds"] = round(time.monotonic() - started, 1)
        return out
    except Exception as e:
        try:
            page.screenshot(path=os.path.join(shots, "console-failure.png"), full_page=True)
        except Exception:
            pass
        out["axe"] = checks.axe
        out["console_errors"] = checks.errors
        out["failed_at"] = page.url
        raise TourFailed(e, out) from None
    finally:
        context.close()


class TourFailed(Exception):
    """A failed tour: what failed first (Playwright's message, then the traceback), and how far it got."""

    def __init__(self, cause, partial):
        message = f"{type(cause).__name__}: {cause}"
        ours = [f for f in traceback.extract_tb(cause.__traceback__) if f.filename == os.path.abspath(__file__)]
        where = "".join(traceback.format_list(ours))
        super().__init__(f"{message[:3000]}\n{where}")
        self.partial = partial


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    for line in sys.stdin:
        partial = None
        try:
            cmd = json.loads(line)
            if cmd.get("do") != "tour":
                raise ValueError(f"unknown command {cmd.get('do')!r}")
            answer = tour(browser, cmd)
        except TourFailed as e:  # the test shows what went wrong, and how far the tour got
            answer = {"error": str(e), "partial": e.partial}
        except Exception:
            answer = {"error": traceback.format_exc()[-4000:]}
        print(json.dumps(answer), flush=True)
    browser.close()

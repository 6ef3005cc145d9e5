"""The browser side of the tour: Chromium's launch, the page every step drives, and the
checks run on each page it visits (axe-core, a screenshot, and whatever the page logged:
console errors, page errors, failed requests, HTTP errors and CSP violations)."""
import os

from playwright.sync_api import expect

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 15_000
AXE = os.environ.get(
    "HELLOJOHN_AXE_JS",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../console/node_modules/axe-core/axe.min.js"),
)

# Recorded from the first script of every document (an init script is outside the page's CSP).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


def launch(playwright):
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)


def open_page(browser, base, shots):
    """A fresh context allowed to use the clipboard on `base`, its page, and the page's Checks."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return context, page, Checks(page, shots)


class Checks:
    """axe-core on each distinct page, a screenshot of each, and everything the page logged."""

    def __init__(self, page, shots):
        self.page = page
        self.shots = shots
        self.axe = {}
        self.errors = []
        self.axe_src = open(AXE, encoding="utf-8").read()
        page.on("console", lambda m: self.errors.append(f"console.error: {m.text} ({m.location.get('url')})") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"requestfailed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None)

    def screenshot(self, name):
        """A full-page screenshot, as console-<name>.png."""
        self.page.screenshot(path=os.path.join(self.shots, f"console-{name}.png"), full_page=True)

    def page_done(self, name):
        """Screenshots the page and runs axe-core on it, once its loads are done (the caller has
        waited for the page's own content; hash routes never fire a load event to wait for)."""
        expect(self.page.get_by_text("Loading…")).to_have_count(0)
        self.screenshot(name)
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

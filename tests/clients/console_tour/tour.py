"""The tour in order, from sign-in to sign-out, and what a failed tour reports: the first
failure, where in these modules it happened, and how far the tour got."""
import os
import time
import traceback

from playwright.sync_api import expect

from .browser import open_page
from .keys import heading, press
from .operator_steps import create_tenant, operator_pages, rotate_keys, sign_in, tenant_tabs
from .restore import restore
from .tenant_data import create_user, other_data_pages, revoke_session, webhook

HERE = os.path.dirname(os.path.abspath(__file__))


def tour(browser, cmd, shots):
    """Runs the whole tour; answers what it found, or raises TourFailed."""
    started = time.monotonic()
    out = {}
    context, page, checks = open_page(browser, cmd["base"], shots)
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
        checks.screenshot("signed-out")
        out["axe"] = checks.axe
        out["console_errors"] = checks.errors + out.pop("csp_violations")
        out["seconds"] = round(time.monotonic() - started, 1)
        return out
    except Exception as e:
        try:
            checks.screenshot("failure")
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
        ours = [f for f in traceback.extract_tb(cause.__traceback__) if os.path.dirname(f.filename) == HERE]
        where = "".join(traceback.format_list(ours))
        super().__init__(f"{message[:3000]}\n{where}")
        self.partial = partial

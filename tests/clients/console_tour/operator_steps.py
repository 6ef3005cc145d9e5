"""The operator's side of the console: signing in, creating a tenant and copying its keys,
the tenant's operator tabs, rotating its signing key, and the Admins and Cluster pages."""
import re
import time

from playwright.sync_api import expect

from .keys import focused, heading, nav_link, press, tab_to


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


def operator_pages(page, checks):
    for label, name, title in [("Admins", "admins", "Control-plane admins"), ("Cluster", "cluster", "Cluster")]:
        press(nav_link(page, "Main", label))
        expect(heading(page, title, 1)).to_be_visible()
        expect(page.get_by_role("table").first).to_be_visible()
        checks.page_done(name)

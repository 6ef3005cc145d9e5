"""One tenant's data in the console: creating a user, revoking one of their sessions (made
through the API), adding a webhook and watching a test delivery reach a receiver, and the
tenant's other data pages (organizations, OAuth clients, overview)."""
import json
import re
import time

import requests
from playwright.sync_api import expect

from .keys import focused, heading, nav_link, press
from .receiver import Receiver

PASSWORD = "correct horse battery staple"


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

"""Drives the hosted pages in headless Chromium (Debian's package) with Playwright.

Each input line is a JSON command; each answer one JSON line. Forms are filled and sent
with the keyboard only (Tab, typing, Enter), as a keyboard user would. Screenshots go to
the directory given as the first argument.

  {"do": "sign_in", "url", "email", "password", "totp_secret"?, "consent"?, "shot"}
      -> {"url": where the browser ended, "focus_outline": the focused button's outline}
  {"do": "reset", "url", "password", "shot"} -> {"heading"}
  {"do": "magic", "url", "shot"} -> {"heading"}
"""
import json
import os
import sys
import time
import traceback

import pyotp
from playwright.sync_api import sync_playwright

shots = sys.argv[1]
os.makedirs(shots, exist_ok=True)

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def tab_to(page, selector, limit=20):
    """Presses Tab until `selector` has focus (keyboard-only navigation)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def submit(page):
    """Presses Enter on the focused field or button and waits for the next page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def sign_in(page, cmd):
    page.goto(cmd["url"])
    page.screenshot(path=f"{shots}/{cmd['shot']}-sign-in.png")
    tab_to(page, "#email")
    page.keyboard.type(cmd["email"])
    tab_to(page, "#password")
    page.keyboard.type(cmd["password"])
    submit(page)
    if cmd.get("totp_secret"):
        page.wait_for_selector("#code")
        page.screenshot(path=f"{shots}/{cmd['shot']}-mfa.png")
        tab_to(page, "#code")
        # The next step's code: the current one was spent by the enrollment (a code works once).
        page.keyboard.type(pyotp.TOTP(cmd["totp_secret"]).at(time.time() + 30))
        submit(page)
    outline = None
    if cmd.get("consent"):
        page.wait_for_selector("button[value=allow]")
        page.screenshot(path=f"{shots}/{cmd['shot']}-consent.png")
        tab_to(page, "button[value=allow]")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        submit(page)
    page.screenshot(path=f"{shots}/{cmd['shot']}-done.png")
    return {"url": page.url, "focus_outline": outline}


def reset(page, cmd):
    page.goto(cmd["url"])
    page.screenshot(path=f"{shots}/{cmd['shot']}-form.png")
    tab_to(page, "#new_password")
    page.keyboard.type(cmd["password"])
    submit(page)
    page.screenshot(path=f"{shots}/{cmd['shot']}-done.png")
    return {"heading": page.inner_text("h1")}


def magic(page, cmd):
    page.goto(cmd["url"])
    tab_to(page, "button[type=submit]")
    submit(page)
    page.screenshot(path=f"{shots}/{cmd['shot']}-done.png")
    return {"heading": page.inner_text("h1")}


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    for line in sys.stdin:
        context = browser.new_context()
        page = context.new_page()
        errors = []
        # Script errors and CSP violations; failed loads are judged by their URL below.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        # The landing page is the client app's (here /health), whose favicon isn't ours to serve.
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        try:
            cmd = json.loads(line)
            answer = {"sign_in": sign_in, "reset": reset, "magic": magic}[cmd["do"]](page, cmd)
            answer["console_errors"] = errors
        except Exception as e:  # the test shows what went wrong
            answer = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
        context.close()
        print(json.dumps(answer), flush=True)
    browser.close()

"""Tours the admin console (/console) in headless Chromium (Debian's package) with Playwright.

One JSON command per input line, one JSON answer per line. The tour drives the console as a
keyboard user would: Tab between the sign-in fields, type into the focused field, focus a
control and press Enter (or Space for a checkbox). Full-page screenshots go to the directory
given as the first argument, as console-<page>.png. The steps live in console_tour/, next to
this file.

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
import sys
import traceback

# The package sits next to this file, whatever the working directory.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from playwright.sync_api import sync_playwright  # noqa: E402

from console_tour.browser import launch  # noqa: E402
from console_tour.tour import TourFailed, tour  # noqa: E402

shots = sys.argv[1]
os.makedirs(shots, exist_ok=True)

with sync_playwright() as p:
    browser = launch(p)
    for line in sys.stdin:
        try:
            cmd = json.loads(line)
            if cmd.get("do") != "tour":
                raise ValueError(f"unknown command {cmd.get('do')!r}")
            answer = tour(browser, cmd, shots)
        except TourFailed as e:  # the test shows what went wrong, and how far the tour got
            answer = {"error": str(e), "partial": e.partial}
        except Exception:
            answer = {"error": traceback.format_exc()[-4000:]}
        print(json.dumps(answer), flush=True)
    browser.close()

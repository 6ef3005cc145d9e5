"""Restoring a tenant from a backup file on the Tenants page, recording every value the
import's progress bar takes and the result it shows."""
import re

from playwright.sync_api import expect

from .keys import nav_link, press

# Records every value the progress bar takes, from its first render until the result shows.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  const seen = () => {
    const p = document.querySelector('[data-testid="import-progress"]');
    if (p && window.__progress[window.__progress.length - 1] !== p.value) window.__progress.push(p.value);
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["value"]});
  const poll = () => { seen(); if (!document.querySelector('[data-testid="import-result"]')) requestAnimationFrame(poll); };
  requestAnimationFrame(poll);
}"""


def restore(page, checks, cmd, out):
    press(nav_link(page, "Main", "Tenants"))
    section = page.get_by_role("region", name="Restore a tenant from a backup")
    expect(section).to_be_visible()
    # A file chooser can't be driven with the keyboard in headless Chromium: set the file directly.
    section.get_by_label("Backup file (.jsonl)").set_input_files(cmd["backup_path"])
    page.evaluate(WATCH_PROGRESS)
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

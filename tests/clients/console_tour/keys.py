"""Keyboard helpers: the tour reaches controls with Tab or focus and presses keys on them,
as a keyboard user would, and finds links and headings by their accessible names."""
from playwright.sync_api import expect


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

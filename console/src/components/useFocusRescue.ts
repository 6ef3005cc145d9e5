// Keeps keyboard focus on the page: when the focused element disappears (its row deleted, the
// page replaced, a dialog closed whose opener is gone), focus moves to the page's h1; when it
// was only disabled for a while (busy), it gets the focus back once enabled.
import { useEffect } from "preact/hooks";

/** Focuses the page's h1 (made focusable by script only), else its <main>; true when it took. */
export function focusHeading(): boolean {
  const main = document.getElementById("main");
  const target = main?.querySelector<HTMLElement>("h1") ?? main;
  if (!target) return false;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
  return document.activeElement === target;
}

const nowhere = () => document.activeElement === null || document.activeElement === document.body;
const disabled = (el: Element) => el.matches(":disabled");

/** Installs the rescue for the app's lifetime. */
export function useFocusRescue(): void {
  useEffect(() => {
    // The element that had focus last, while it may still need rescuing.
    let last: Element | null = null;
    const onFocusIn = (e: FocusEvent) => {
      last = e.target as Element;
    };
    // Focus left for nowhere but the element is still there and enabled (a click on the page's
    // background, another window): nothing to rescue later.
    const onFocusOut = (e: FocusEvent) => {
      const target = e.target as Element;
      if (e.relatedTarget !== null) return;
      queueMicrotask(() => {
        if (last === target && target.isConnected && !disabled(target)) last = null;
      });
    };
    // A modal dialog makes the page inert, so nothing there takes focus yet: `last` stays, and
    // the dialog's close event (after its own focus restoring) tries again.
    const check = () => {
      if (!last || !nowhere()) return;
      if (!last.isConnected) {
        if (focusHeading()) last = document.activeElement;
      } else if (!disabled(last) && last instanceof HTMLElement) {
        last.focus();
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["disabled"] });
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("focusout", onFocusOut);
    document.addEventListener("close", check, true);
    return () => {
      observer.disconnect();
      document.removeEventListener("focusin", onFocusIn);
      document.removeEventListener("focusout", onFocusOut);
      document.removeEventListener("close", check, true);
    };
  }, []);
}

// A hash router: `#/tenants/tnt_…/keys`. The server serves one page, so any deep link
// works and a reload keeps the place (though it signs out: the token is in memory).
import { useEffect, useState } from "preact/hooks";

/** The current route as path segments, e.g. ["tenants", "tnt_…", "keys"]. */
export function useRoute(): string[] {
  const [route, setRoute] = useState(parse());
  useEffect(() => {
    const onChange = () => setRoute(parse());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function parse(): string[] {
  return window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

/** The href of a console path. */
export function href(...segments: string[]): string {
  return "#/" + segments.map(encodeURIComponent).join("/");
}

export function navigate(...segments: string[]): void {
  window.location.hash = href(...segments).slice(1);
}

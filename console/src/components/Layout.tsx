import type { ComponentChildren } from "preact";
import { href } from "../router";

/** One navigation entry: its label and the route prefix it opens. */
export interface NavItem {
  label: string;
  path: string[];
}

/** The page frame: a skip link, the navigation, who is signed in, and the page. */
export function Layout({
  who,
  nav,
  route,
  onSignOut,
  children,
}: {
  who: string;
  nav: NavItem[];
  route: string[];
  onSignOut: () => void;
  children: ComponentChildren;
}) {
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">hellojohn console</span>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => {
              const active = item.path.every((s, i) => route[i] === s) && (item.path.length > 0 || route.length === 0);
              return (
                <li key={item.label}>
                  <a href={href(...item.path)} aria-current={active ? "page" : undefined}>
                    {item.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <span class="who">{who}</span>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

// Small, accessible building blocks every page uses: labelled fields, error banners,
// tables, buttons. Styling lives in styles.css (no inline styles: the CSP forbids them).
import type { ComponentChildren, JSX } from "preact";
import { useId, useState } from "preact/hooks";
import { ApiError } from "../api/client";

/** An error as the API phrased it, announced to screen readers. */
export function ErrorBanner({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="banner error" role="alert">
      <strong>{error.message}</strong>
      {api && (
        <span class="muted">
          {" "}
          ({api.code}
          {api.requestId ? `, ${api.requestId}` : ""})
        </span>
      )}
    </div>
  );
}

/**
 * A polite live region for "done" messages. Render it always and pass the message (or
 * nothing) as children: screen readers announce text that changes inside a region already
 * on the page, not a region that arrives with its text.
 */
export function Notice({ children, tone = "ok" }: { children?: ComponentChildren; tone?: "ok" | "warn" }) {
  const shown = children !== null && children !== undefined && children !== false && children !== "";
  return (
    <div class={shown ? `banner ${tone}` : undefined} role="status" aria-live="polite">
      {shown ? children : null}
    </div>
  );
}

/** A link that leaves the console: a new tab, so this tab keeps its memory (and sign-in). */
export function ExternalLink({ href, children }: { href: string; children: ComponentChildren }) {
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
      <span class="visually-hidden"> (opens in a new tab)</span>
    </a>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value" | "label"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  /** What the API said is wrong with this field: marks the input invalid and shows it. */
  error?: string | null;
};

/** The ids a field's input is described by (its hint, its error), or undefined. */
function describedBy(id: string, hint?: string, error?: string | null): string | undefined {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

/** A field's hint and error text. */
function FieldNotes({ id, hint, error }: { id: string; hint?: string; error?: string | null }) {
  return (
    <>
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error inline">
          {error}
        </small>
      )}
    </>
  );
}

/** A labelled text input. */
export function Field({ label, value, onValue, hint, error, ...rest }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => onValue((e.target as HTMLInputElement).value)}
        aria-describedby={describedBy(id, hint, error)}
        aria-invalid={error ? "true" : undefined}
        {...rest}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

/** A labelled checkbox. */
export function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  const id = useId();
  return (
    <div class="field check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}

/** A labelled select. */
export function Select({
  label,
  value,
  options,
  onValue,
}: {
  label: string;
  value: string;
  options: (string | [string, string])[];
  onValue: (v: string) => void;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onValue((e.target as HTMLSelectElement).value)}>
        {options.map((o) => {
          const [v, text] = Array.isArray(o) ? o : [o, o];
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** A labelled multi-line input. */
export function TextArea({
  label,
  value,
  onValue,
  rows = 8,
  hint,
  error,
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  rows?: number;
  hint?: string;
  error?: string | null;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        rows={rows}
        value={value}
        spellcheck={false}
        aria-describedby={describedBy(id, hint, error)}
        aria-invalid={error ? "true" : undefined}
        onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

/** Copies with the old API from a selected input (or a scratch one): true when it worked. */
function execCopy(value: string, input: HTMLInputElement | null): boolean {
  const scratch = input ? null : document.createElement("textarea");
  const field = input ?? scratch!;
  if (scratch) {
    scratch.value = value;
    scratch.setAttribute("readonly", "");
    scratch.className = "visually-hidden";
    document.body.appendChild(scratch);
  }
  field.focus();
  field.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  scratch?.remove();
  return ok;
}

/**
 * Copies a value to the clipboard and says so. Without the Clipboard API (plain HTTP on a
 * host that isn't localhost) it selects the value in `inputId`'s input and copies that;
 * failing that too, it leaves the value selected and asks the user to copy it.
 */
export function CopyButton({ value, label, inputId }: { value: string; label: string; inputId?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async (button: HTMLButtonElement) => {
    setState("idle");
    try {
      if (!navigator.clipboard) throw new Error("no Clipboard API");
      await navigator.clipboard.writeText(value);
      setState("copied");
      return;
    } catch {
      // Fall through to selecting the text.
    }
    const input = inputId ? (document.getElementById(inputId) as HTMLInputElement | null) : null;
    if (execCopy(value, input)) {
      button.focus();
      setState("copied");
    } else {
      input?.focus();
      input?.select();
      setState("failed");
    }
  };
  return (
    <>
      <button type="button" class="secondary" onClick={(e) => void copy(e.currentTarget)}>
        {state === "copied" ? "Copied" : label}
      </button>
      <span class={state === "failed" ? "copy-failed" : "visually-hidden"} aria-live="polite">
        {state === "copied" ? `${label}: copied to the clipboard` : ""}
        {state === "failed" ? "The browser didn't let the console copy it. Select and copy it yourself." : ""}
      </span>
    </>
  );
}

/** A secret shown once, with a copy button. */
export function Secret({ label, value }: { label: string; value: string }) {
  const id = useId();
  return (
    <div class="secret">
      <label for={id}>{label}</label>
      <div class="row">
        <input id={id} readOnly value={value} class="mono" />
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} inputId={id} />
      </div>
    </div>
  );
}

/** A data table with a caption (visually hidden when `hideCaption`). */
export function Table({
  caption,
  head,
  children,
  empty,
}: {
  caption: string;
  head: string[];
  children: ComponentChildren;
  empty?: boolean;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {empty ? (
            <tr>
              <td colSpan={head.length} class="muted">
                Nothing here yet.
              </td>
            </tr>
          ) : (
            children
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Loading({ loading }: { loading: boolean }) {
  return loading ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

/** A timestamp as the reader's local time, the exact value in the title. */
export function When({ at }: { at?: string | null }) {
  if (!at) return <span class="muted">—</span>;
  return <time dateTime={at}>{new Date(at).toLocaleString()}</time>;
}

/** A status word with a colour class (`active`, `suspended`, `failed`, …). */
export function Badge({ value }: { value: string }) {
  return <span class={`badge ${value}`}>{value}</span>;
}

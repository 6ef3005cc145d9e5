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

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="banner ok" role="status">
      {children}
    </div>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value" | "label"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
};

/** A labelled text input. */
export function Field({ label, value, onValue, hint, ...rest }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => onValue((e.target as HTMLInputElement).value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...rest}
      />
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
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
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  rows?: number;
  hint?: string;
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
        aria-describedby={hint ? `${id}-hint` : undefined}
        onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)}
      />
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** Copies a value to the clipboard and says so. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        await navigator.clipboard.writeText(value);
        setCopied(true);
      }}
    >
      {copied ? "Copied" : label}
      <span class="visually-hidden" aria-live="polite">
        {copied ? ` ${label}: copied to the clipboard` : ""}
      </span>
    </button>
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
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
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

// Row action buttons share a look and an accessible name that says which row they act on.
import type { ComponentChildren } from "preact";

export function RowButton({
  label,
  danger,
  disabled,
  onClick,
  children,
}: {
  /** The accessible name: the action and the row, e.g. "Revoke session ses_…". */
  label: string;
  danger?: boolean;
  disabled?: boolean;
  onClick: () => void;
  children: ComponentChildren;
}) {
  return (
    <button type="button" class={danger ? "danger" : "secondary"} aria-label={label} disabled={disabled} onClick={onClick}>
      {children}
    </button>
  );
}

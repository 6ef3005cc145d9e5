// Modal dialogs on the native <dialog>: it traps focus, closes on Escape (unless told not to)
// and returns focus to the opener, which is what keyboard users expect of a modal.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { FormActions } from "./DialogForm";
import { ErrorBanner } from "./ui";

export function Dialog({
  open,
  title,
  onClose,
  dismissable = true,
  onDismissRefused,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  /** False while closing would lose something (keys shown once): Escape is refused. */
  dismissable?: boolean;
  /** Called when Escape (or another close request) was refused. */
  onDismissRefused?: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  // The latest props, for the native event handlers.
  const state = useRef({ open, dismissable });
  state.current = { open, dismissable };
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  const refuse = (e: Event) => {
    e.preventDefault();
    onDismissRefused?.();
  };
  return (
    <dialog
      ref={ref}
      aria-labelledby={id}
      onKeyDown={(e) => {
        if (e.key === "Escape" && !state.current.dismissable) refuse(e);
      }}
      onCancel={(e) => {
        if (!state.current.dismissable) refuse(e);
      }}
      onClose={() => {
        const dialog = ref.current;
        // Browsers may force a close past a refused cancel (repeated Escape): open it again.
        if (dialog && state.current.open && !state.current.dismissable) {
          dialog.showModal();
          onDismissRefused?.();
          return;
        }
        onClose();
      }}
    >
      <h2 id={id}>{title}</h2>
      {open && children}
    </dialog>
  );
}

/**
 * A destructive action confirmed by typing `phrase` (the tenant's slug, say), so one
 * stray Enter can't delete anything.
 */
export function ConfirmDialog({
  open,
  title,
  phrase,
  action,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  phrase: string;
  action: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  useEffect(() => {
    if (open) {
      setTyped("");
      setError(null);
    }
  }, [open]);
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await onConfirm();
            onClose();
          } catch (err) {
            setError(err as Error);
          } finally {
            setBusy(false);
          }
        }}
      >
        <p>This can't be undone.</p>
        <div class="field">
          <label for={id}>
            Type <strong class="mono">{phrase}</strong> to confirm
          </label>
          <input id={id} value={typed} autoComplete="off" onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        </div>
        <ErrorBanner error={error} />
        <FormActions submit={action} danger disabled={typed !== phrase || busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

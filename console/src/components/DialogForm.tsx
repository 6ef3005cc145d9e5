// The forms in dialogs (create, edit, confirm) end alike: the error, then submit and Cancel.
import type { ComponentChildren } from "preact";
import { ErrorBanner } from "./ui";
import { useAction } from "./useLoad";

/** A form's submit button and, when `onCancel` is given, its Cancel button. */
export function FormActions({
  submit,
  disabled,
  danger,
  onCancel,
}: {
  submit: string;
  disabled?: boolean;
  danger?: boolean;
  onCancel?: () => void;
}) {
  return (
    <div class="actions">
      <button type="submit" class={danger ? "danger" : undefined} disabled={disabled}>
        {submit}
      </button>
      {onCancel && (
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
    </div>
  );
}

/** A dialog's form: submitting runs `action` and hands its result to `onDone`; a failure is shown. */
export function DialogForm<T>({
  submit,
  action,
  onDone,
  onCancel,
  children,
}: {
  submit: string;
  action: () => Promise<T>;
  onDone: (result: T) => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const [run, busy, error] = useAction();
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        await run(async () => onDone(await action()));
      }}
    >
      {children}
      <ErrorBanner error={error} />
      <FormActions submit={submit} disabled={busy} onCancel={onCancel} />
    </form>
  );
}

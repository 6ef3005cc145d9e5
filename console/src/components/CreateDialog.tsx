// List pages' "Create …" button, its dialog, and the item created last (for the page's notice).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { Dialog } from "./Dialog";

export function CreateDialog<T>({
  label,
  reload,
  form,
  children,
}: {
  /** The button's text and the dialog's title. */
  label: string;
  reload: () => Promise<void>;
  /** The dialog's form, given what to call when it created something, and on Cancel. */
  form: (done: (item: T) => void, cancel: () => void) => ComponentChildren;
  /** What follows the button: the notice of the item created last (null before any). */
  children: (created: T | null) => ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  const [created, setCreated] = useState<T | null>(null);
  const close = () => setOpen(false);
  const done = (item: T) => {
    close();
    setCreated(item);
    void reload();
  };
  return (
    <>
      <div class="actions">
        <button type="button" onClick={() => setOpen(true)}>
          {label}
        </button>
      </div>
      {children(created)}
      <Dialog open={open} title={label} onClose={close}>
        {form(done, close)}
      </Dialog>
    </>
  );
}

// The "Delete" button of a detail page, with the dialog that asks for `phrase` to be typed first.
import { useState } from "preact/hooks";
import { ConfirmDialog } from "./Dialog";

export function DeleteButton({
  title,
  phrase,
  onDelete,
}: {
  title: string;
  phrase: string;
  onDelete: () => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Delete
      </button>
      <ConfirmDialog
        open={open}
        title={title}
        phrase={phrase}
        action="Delete"
        onClose={() => setOpen(false)}
        onConfirm={onDelete}
      />
    </>
  );
}

// The "clear the notice, do it, say what was done, reload" shape of most actions, in one place.
import { useState } from "preact/hooks";
import { useAction } from "./useLoad";

/**
 * `act(action)` runs `action` unless another one is running: it clears the notice first, shows
 * the message `action` returns (if any), then calls `after` (a reload, say). `done(message)`
 * does the last two for an action that ran elsewhere (a confirm dialog).
 */
export function useNoticeAction(after?: () => unknown) {
  const [run, busy, error] = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const done = async (message?: string | void) => {
    if (message) setNotice(message);
    await after?.();
  };
  const act = (action: () => Promise<string | void>) =>
    !busy &&
    run(async () => {
      setNotice(null);
      await done(await action());
    });
  return { act, busy, error, notice, setNotice, done };
}

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";

/** Loads data for a page: `{data, error, loading, reload}`; reloads when `deps` change. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setData(await load());
      setError(null);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, setData };
}

/** Runs an action, keeping its error for display: `const [run, busy, error] = useAction()`. */
export function useAction(): [(action: () => Promise<void>) => Promise<boolean>, boolean, Error | null, () => void] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(e as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error, () => setError(null)];
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/**
 * The error to show for a load repeated on a timer: the one already shown while the new one
 * says the same (same code and message, another request id), so a role="alert" banner isn't
 * announced again on every refresh; a different error (or none) replaces it.
 */
export function useStableError(error: Error | null): Error | null {
  const shown = useRef<Error | null>(null);
  const same = (a: Error, b: Error) =>
    a.message === b.message && (a instanceof ApiError ? a.code : "") === (b instanceof ApiError ? b.code : "");
  if (!error || !shown.current || !same(error, shown.current)) shown.current = error;
  return shown.current;
}

// Helpers the tenant pages share: list rows as their object type, cursor paging,
// text fields that hold lists, and JSON merge patches for metadata edits.
import { useState } from "preact/hooks";

/** The rows of a list answer (`{data, pagination}`), typed as the object the page shows. */
export function rows<T>(list: { data: unknown[] } | undefined): T[] {
  return (list?.data ?? []) as T[];
}

/** The next page's cursor of a list answer, if there is one. */
export function nextCursor(list: { pagination: { next_cursor?: string | null } } | undefined): string | null {
  return list?.pagination.next_cursor ?? null;
}

/** Cursor paging: the cursors of the pages before this one, so "Previous page" works too. */
export function usePager() {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack.length ? stack[stack.length - 1] : undefined,
    page: stack.length + 1,
    next: (cursor: string) => setStack([...stack, cursor]),
    previous: () => setStack(stack.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export type Pager = ReturnType<typeof usePager>;

/** "Previous page" and "Next page" buttons, shown when there is more than one page. */
export function PageButtons({ pager, next }: { pager: Pager; next: string | null }) {
  if (!pager.cursor && !next) return null;
  return (
    <div class="actions pager">
      <button type="button" class="secondary" disabled={!pager.cursor} onClick={pager.previous}>
        Previous page
      </button>
      <span class="muted">Page {pager.page}</span>
      <button type="button" class="secondary" disabled={!next} onClick={() => next && pager.next(next)}>
        Next page
      </button>
    </div>
  );
}

/** One entry per line, blank lines dropped. */
export function lines(text: string): string[] {
  return text
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Entries separated by commas or white space. */
export function words(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The JSON merge patch (RFC 7386, what PATCH applies to metadata) that turns `from`
 * into `to`: removed keys become `null`, changed values are sent, equal ones are not.
 */
export function mergePatch(from: Record<string, Json>, to: Record<string, Json>): Record<string, Json> {
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    const old = from[key];
    if (isObject(old) && isObject(value)) {
      const inner = mergePatch(old, value);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return patch;
}

/** Parses a metadata field: a JSON object, or an error message to show beside it. */
export function parseObject(text: string): { value?: Record<string, Json>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const value: Json = JSON.parse(text);
    if (!isObject(value)) return { error: "Not valid JSON: metadata must be a JSON object ({…})." };
    return { value };
  } catch (e) {
    return { error: `Not valid JSON: ${(e as Error).message}` };
  }
}

/** Pretty JSON for a text area. */
export function pretty(value: unknown): string {
  return JSON.stringify(value ?? {}, null, 2);
}

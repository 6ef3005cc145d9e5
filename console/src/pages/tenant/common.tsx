// Helpers the tenant pages share: text fields that hold lists, and JSON merge patches for
// metadata edits (list paging is in components/PagedTable).

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

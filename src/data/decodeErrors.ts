/**
 * Turns io-ts decode errors into JSON paths such as `$.tensors["fc1.W"].shape[1]` so a
 * message names the exact bad field. Union alternatives are not path segments.
 */
import type * as t from "io-ts";

const isUnion = (type: t.Decoder<unknown, unknown>): boolean => (type as { _tag?: string })._tag === "UnionType";

/** A path segment: `[3]`, `.name` or `["odd key"]`. */
export const segment = (key: string): string => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** The JSON path of one io-ts error, from `root` (the decoded value, default `$`). */
export const errorPath = (error: t.ValidationError, root = "$"): string => {
  let path = root;
  error.context.forEach((entry, i) => {
    if (i === 0) return;
    const parent = error.context[i - 1]!;
    if (isUnion(parent.type)) return;
    path += segment(entry.key);
  });
  return path;
};

/** One line per distinct bad path (at most `limit`), each with what was expected there. */
export const formatDecodeErrors = (errors: t.Errors, limit = 3, root = "$"): string => {
  const lines = new Map<string, string>();
  for (const e of errors) {
    const path = errorPath(e, root);
    if (lines.has(path)) continue;
    const expected = e.message ?? `expected ${e.context[e.context.length - 1]?.type.name ?? "a valid value"}`;
    lines.set(path, `${path}: ${expected}, got ${describeValue(e.value)}`);
  }
  return [...lines.values()].slice(0, limit).join("; ");
};

const describeValue = (u: unknown): string => {
  if (u === undefined) return "nothing";
  const text = JSON.stringify(u);
  return text === undefined ? typeof u : text.length > 40 ? `${text.slice(0, 40)}...` : text;
};

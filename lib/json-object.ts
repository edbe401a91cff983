/**
 * Parses `text` as a JSON object. On failure throws `makeError(<label> …)`; the message never quotes the
 * text (it may be a secret), and Node's own JSON error message, which does quote it, is dropped.
 */
export function parseJsonObject(
  text: string,
  label: string,
  expected: string,
  makeError: (message: string) => Error,
): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw makeError(`${label} is not valid JSON`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw makeError(`${label} must be a JSON object with ${expected}`);
  }
  return document as Record<string, unknown>;
}

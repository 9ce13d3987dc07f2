/** Retry timing and error triage, pure. */

/** Milliseconds to wait before retry number `attempt` (1-based): doubling from 100 ms up to `capMs`. */
export function backoffDelayMs(attempt: number, options: { capMs?: number } = {}): number {
  const capMs = options.capMs ?? 5_000;
  return Math.min(capMs, 100 * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
}

/**
 * Whether a PostgreSQL client error means "could not talk to the server" (worth waiting for)
 * rather than "the server refused the statement": socket errors, SQLSTATE class 08
 * (connection exception), 57P0x (shutting down, starting up) and 53300 (too many connections).
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error)) return false;
  const code = String((error as { code: unknown }).code);
  // Errors the server sent carry a severity and an SQLSTATE; the client's own have neither.
  if (!("severity" in error)) return true;
  return code.startsWith("08") || code.startsWith("57P") || code === "53300";
}

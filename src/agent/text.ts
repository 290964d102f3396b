/** Small text helpers for the agent's error messages. */

/** The first line of an error's message. */
export function oneLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0] ?? text
}

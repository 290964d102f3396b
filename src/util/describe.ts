/** A short, safe description of an untrusted value for error messages. */
export function describe (value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

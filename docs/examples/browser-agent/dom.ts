/** The few DOM helpers the example page needs: no framework. */

/** Attributes of {@link el}: `data-*`, `aria-*` and the like; `false` or `undefined` leaves one out. */
export type Attrs = Record<string, string | boolean | undefined>

/** A new element with attributes and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Array<Node | string | undefined>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    node.setAttribute(name, value === true ? '' : value)
  }
  for (const child of children) if (child !== undefined) node.append(child)
  return node
}

/** The element with id `id` (the page's own markup: missing is a bug). */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`index.html has no #${id}`)
  return node as T
}

/** A peer id shortened for display: `12D3KooW…x7Qa`. */
export function short (peer: string): string {
  return peer.length > 16 ? `${peer.slice(0, 8)}…${peer.slice(-4)}` : peer
}

/** JSON on one line, clipped to `max` characters. */
export function oneLine (value: unknown, max = 160): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

/** An error as a person reads it: name, stable code and message. */
export function describeError (err: unknown): string {
  const e = err as { name?: string, message?: string, code?: unknown, data?: { code?: unknown } }
  const code = typeof e.data?.code === 'string' ? e.data.code : e.code
  return `${e.name ?? 'Error'}${code === undefined ? '' : ` ${String(code)}`}: ${e.message ?? String(err)}`
}

/** Small DOM helpers: element builders and formatters. No framework. */

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>

/** Builds an HTML element: `h('td', { class: 'x', onclick: fn }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(name.slice(2), value)
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c)
  return el
}

export const SVG_NS = 'http://www.w3.org/2000/svg'

/** Builds an SVG element. */
export function s<K extends keyof SVGElementTagNameMap> (tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value))
  return el
}

/** `12D3KooW…abcd` */
export function shortPeer (peer: string): string {
  return peer.length > 16 ? `${peer.slice(0, 8)}…${peer.slice(-4)}` : peer
}

export function time (ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false })
}

/** "in 23 h", "4 min ago" */
export function relative (ms: number, now = Date.now()): string {
  const d = ms - now
  const a = Math.abs(d)
  const unit = a < 60_000 ? `${Math.round(a / 1000)} s` : a < 3_600_000 ? `${Math.round(a / 60_000)} min` : a < 172_800_000 ? `${Math.round(a / 3_600_000)} h` : `${Math.round(a / 86_400_000)} d`
  return d >= 0 ? `in ${unit}` : `${unit} ago`
}

export function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`
  return `${(n / 1073741824).toFixed(2)} GiB`
}

/** A verified / not verified badge; `reason` shown when not. */
export function verifiedBadge (ok: boolean, reason?: string): HTMLElement {
  return ok
    ? h('span', { class: 'badge ok', 'data-verified': 'true', title: 'signature and ownership checked' }, '✓ verified')
    : h('span', { class: 'badge bad', 'data-verified': 'false', title: reason ?? 'not verified' }, `✗ ${reason ?? 'unverified'}`)
}

export function kindBadge (kind: string): HTMLElement {
  return h('span', { class: `badge kind kind-${kind}` }, kind)
}

/** Replaces `el`'s children with `children`, only when `key` changed since the last call. */
export function renderIf (el: HTMLElement, key: string, make: () => Child[]): void {
  if (el.dataset.key === key) return
  el.dataset.key = key
  el.replaceChildren(...make().filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map(c => typeof c === 'number' ? String(c) : c))
}

export function empty (text: string): HTMLElement {
  return h('div', { class: 'empty' }, text)
}

/** The JSON inspector: a modal dialog with highlighted, copyable JSON. */

const TOKEN = /("(?:\\u[a-fA-F0-9]{4}|\\[^u]|[^\\"])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g

/** Highlights JSON text into spans (text nodes only: nothing from the data becomes markup). */
export function highlight (text: string): DocumentFragment {
  const out = document.createDocumentFragment()
  let last = 0
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0
    if (at > last) out.append(text.slice(last, at))
    const span = document.createElement('span')
    if (m[1] !== undefined) {
      span.className = m[2] !== undefined ? 'k' : 's'
      span.textContent = m[1]
      out.append(span)
      if (m[2] !== undefined) out.append(m[2])
    } else {
      span.className = m[3] !== undefined ? 'b' : 'n'
      span.textContent = m[0]
      out.append(span)
    }
    last = at + m[0].length
  }
  if (last < text.length) out.append(text.slice(last))
  return out
}

let current = ''

/** Opens the inspector on `value`. */
export function inspect (title: string, value: unknown): void {
  const dialog = document.getElementById('inspector') as HTMLDialogElement
  const body = document.getElementById('inspector-body') as HTMLElement
  current = JSON.stringify(value, null, 2) ?? 'undefined'
  ;(document.getElementById('inspector-title') as HTMLElement).textContent = title
  body.replaceChildren(highlight(current))
  if (!dialog.open) dialog.showModal()
}

export function setupInspector (): void {
  const dialog = document.getElementById('inspector') as HTMLDialogElement
  document.getElementById('inspector-close')?.addEventListener('click', () => { dialog.close() })
  document.getElementById('inspector-copy')?.addEventListener('click', () => { void navigator.clipboard?.writeText(current) })
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close() })
}

/**
 * Whether a relay address is one that libp2p's browser connection gater
 * refuses to dial unless the agent is created with `dialPrivateAddresses`:
 * plain `/ws` (not `/wss` or `/tls/…/ws`), or a loopback, private or
 * link-local host. A page must not probe its visitor's network, so the
 * gater refuses those by default; a relay on your own machine (`npm start`)
 * is one of them, a production relay on a public `wss` address is not.
 */

/** Why the agent dials this relay with `dialPrivateAddresses`, or `undefined` when the default gater lets it through. */
export function privateDialReason (relay: string): string | undefined {
  const parts = relay.split('/')
  const insecure = parts.includes('ws') && !parts.includes('tls')
  const host = privateHost(parts[1] ?? '', (parts[2] ?? '').toLowerCase())
  if (host === undefined && !insecure) return undefined
  const what = [host, insecure ? 'plain ws:// (not wss)' : undefined].filter(w => w !== undefined).join(', over ')
  return `This relay is ${what}. libp2p's browser connection gater refuses to dial such addresses by default (a web page must not probe its visitor's network), so this page creates the agent with dialPrivateAddresses: true. That is for development on your own machine: a production relay has a public wss address and needs none of it.`
}

/** `on loopback` or `on a private address` for such hosts, else `undefined`. */
function privateHost (proto: string, host: string): string | undefined {
  if (proto === 'ip4') {
    const [a = -1, b = -1] = host.split('.').map(Number)
    if (a === 127) return 'on loopback'
    if (a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)) return 'on a private address'
    return undefined
  }
  if (proto === 'ip6') {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return 'on loopback'
    if (/^f[cd]/.test(host) || /^fe[89ab]/.test(host)) return 'on a private address'
    return undefined
  }
  if (proto.startsWith('dns') && (host === 'localhost' || host.endsWith('.localhost'))) return 'on loopback'
  return undefined
}

/**
 * Relay configuration from flags, environment and a config file.
 *
 * Precedence, highest first: command-line flags, `PARLEY_*` environment
 * variables, the JSON config file (`--config` / `PARLEY_CONFIG`), built-in
 * defaults. List settings (listen, announce, bootstrap, dhtServers) are replaced, not
 * merged, by a higher source.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { p2pPeerOf } from '../src/util/multiaddr.js'
import { UsageError, parse } from '../src/util/args.js'
import { DEFAULT_RELAY_LIMITS } from '../src/node/relay-limits.js'
import type { RelayLimits } from '../src/node/relay-limits.js'
import { DEFAULT_LISTEN } from '../src/node/relay.js'
import type { RelayNodeOptions } from '../src/node/relay.js'
import { DEFAULT_POW_BITS } from '../src/handles/pow.js'
import { DEFAULT_STUN_PORT } from '../src/node/stun.js'
import { DEFAULT_MAILBOX_QUOTAS, DEFAULT_MAIL_TTL_MS, DEFAULT_MAX_MESSAGE_BYTES } from '../src/mailbox/constants.js'
import { DEFAULT_MAX_BYTES as MAX_ENVELOPE_BYTES } from '../src/envelope/constants.js'

export const LOG_LEVELS = ['error', 'info', 'debug', 'trace'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface RelayConfig extends Required<Pick<RelayNodeOptions, 'dataDir' | 'listen' | 'announce' | 'bootstrap' | 'dhtServers' | 'minPowBits' | 'dhtPublicOnly' | 'stunPort'>> {
  limits: RelayLimits
  httpHost: string
  httpPort: number
  /** The token dashboard actions need (undefined: a new random one each start). */
  dashboardToken: string | undefined
  logLevel: LogLevel
  /** The WebSocket listener's certificate and key (PEM text read from --ws-tls-cert and --ws-tls-key), or undefined for plain `/ws`. */
  wsTls: RelayNodeOptions['wsTls']
  /** The mailbox's TTL, largest message and quotas, or `false` when `--no-mailbox` turned it off. */
  mailbox: Exclude<RelayNodeOptions['mailbox'], undefined>
}

/** One setting: its flag, environment variable, config-file key, parser and default. */
interface Setting {
  key: string
  flag: string
  env: string
  kind: 'string' | 'list' | 'int' | 'bytes' | 'seconds' | 'bool'
  help: string
}

const SETTINGS: Setting[] = [
  { key: 'dataDir', flag: 'data-dir', env: 'PARLEY_DATA_DIR', kind: 'string', help: 'data directory: identity, datastore, multiaddrs (default ./.parley/relay)' },
  { key: 'listen', flag: 'listen', env: 'PARLEY_LISTEN', kind: 'list', help: `listen multiaddr, repeatable (default ${DEFAULT_LISTEN.join(' ')})` },
  { key: 'announce', flag: 'announce', env: 'PARLEY_ANNOUNCE', kind: 'list', help: 'multiaddr to announce instead of the listen addresses, repeatable' },
  { key: 'bootstrap', flag: 'bootstrap', env: 'PARLEY_BOOTSTRAP', kind: 'list', help: 'another relay to join (multiaddr with /p2p/<id>), repeatable; trusted as a DHT server' },
  { key: 'dhtServers', flag: 'dht-server', env: 'PARLEY_DHT_SERVERS', kind: 'list', help: 'another relay to trust as a DHT server without dialing it (peer id, or multiaddr with /p2p/<id>), repeatable' },
  { key: 'wsTlsCert', flag: 'ws-tls-cert', env: 'PARLEY_WS_TLS_CERT', kind: 'string', help: 'PEM certificate chain file: serve the WebSocket listen addresses with TLS, as /tls/ws (needs ws-tls-key)' },
  { key: 'wsTlsKey', flag: 'ws-tls-key', env: 'PARLEY_WS_TLS_KEY', kind: 'string', help: 'PEM private key file of that certificate' },
  { key: 'stunPort', flag: 'stun-port', env: 'PARLEY_STUN_PORT', kind: 'int', help: `UDP port answering STUN Binding requests on the listen IPs, 0 for none (default ${DEFAULT_STUN_PORT})` },
  { key: 'httpHost', flag: 'http-host', env: 'PARLEY_HTTP_HOST', kind: 'string', help: 'address of the HTTP endpoint: dashboard, /metrics, /healthz (default 127.0.0.1)' },
  { key: 'httpPort', flag: 'http-port', env: 'PARLEY_HTTP_PORT', kind: 'int', help: 'its port, 0 for any free port (default 9090)' },
  { key: 'dashboardToken', flag: 'dashboard-token', env: 'PARLEY_DASHBOARD_TOKEN', kind: 'string', help: 'token that dashboard actions need, 16+ URL-safe characters (default: random each start)' },
  { key: 'maxReservations', flag: 'max-reservations', env: 'PARLEY_MAX_RESERVATIONS', kind: 'int', help: `reservations held at once (default ${DEFAULT_RELAY_LIMITS.maxReservations})` },
  { key: 'maxReservationsPerIp', flag: 'max-reservations-per-ip', env: 'PARLEY_MAX_RESERVATIONS_PER_IP', kind: 'int', help: `reservations from one IP address (default ${DEFAULT_RELAY_LIMITS.maxReservationsPerIp})` },
  { key: 'reservationRatePerIp', flag: 'reservation-rate-per-ip', env: 'PARLEY_RESERVATION_RATE_PER_IP', kind: 'int', help: `new reservations per minute from one IP address, after a burst of max-reservations-per-ip (default ${DEFAULT_RELAY_LIMITS.reservationRatePerIp})` },
  { key: 'reservationRatePerPeer', flag: 'reservation-rate-per-peer', env: 'PARLEY_RESERVATION_RATE_PER_PEER', kind: 'int', help: `reservations and refreshes per minute by one peer (default ${DEFAULT_RELAY_LIMITS.reservationRatePerPeer})` },
  { key: 'maxCircuitsPerPeer', flag: 'max-circuits-per-peer', env: 'PARLEY_MAX_CIRCUITS_PER_PEER', kind: 'int', help: `open circuits one peer may dial (default ${DEFAULT_RELAY_LIMITS.maxCircuitsPerPeer})` },
  { key: 'circuitDuration', flag: 'circuit-duration', env: 'PARLEY_CIRCUIT_DURATION', kind: 'seconds', help: `longest circuit life in seconds (default ${DEFAULT_RELAY_LIMITS.circuitDurationMs / 1000})` },
  { key: 'circuitData', flag: 'circuit-data', env: 'PARLEY_CIRCUIT_DATA', kind: 'bytes', help: 'most bytes per circuit; suffixes KiB, MiB, GiB (default 64MiB)' },
  { key: 'reservationTtl', flag: 'reservation-ttl', env: 'PARLEY_RESERVATION_TTL', kind: 'seconds', help: `reservation lifetime in seconds (default ${DEFAULT_RELAY_LIMITS.reservationTtlMs / 1000})` },
  { key: 'maxConnections', flag: 'max-connections', env: 'PARLEY_MAX_CONNECTIONS', kind: 'int', help: `connections held at once (default ${DEFAULT_RELAY_LIMITS.maxConnections})` },
  { key: 'maxConnectionsPerIp', flag: 'max-connections-per-ip', env: 'PARLEY_MAX_CONNECTIONS_PER_IP', kind: 'int', help: `connections held at once with one IP address (default ${DEFAULT_RELAY_LIMITS.maxConnectionsPerIp})` },
  { key: 'inboundRate', flag: 'inbound-rate', env: 'PARLEY_INBOUND_RATE', kind: 'int', help: `new inbound connections per second per host (default ${DEFAULT_RELAY_LIMITS.inboundConnectionsPerSecond})` },
  { key: 'minPowBits', flag: 'min-pow-bits', env: 'PARLEY_MIN_POW_BITS', kind: 'int', help: `least proof of work accepted on handle records (default ${DEFAULT_POW_BITS})` },
  { key: 'dhtPublicOnly', flag: 'dht-public-only', env: 'PARLEY_DHT_PUBLIC_ONLY', kind: 'bool', help: 'route DHT queries over public addresses only (for relays on the internet)' },
  { key: 'noMailbox', flag: 'no-mailbox', env: 'PARLEY_NO_MAILBOX', kind: 'bool', help: 'keep no mail for offline agents (protocols/mailbox; on by default)' },
  { key: 'mailboxTtl', flag: 'mailbox-ttl', env: 'PARLEY_MAILBOX_TTL', kind: 'seconds', help: `seconds unacknowledged mail is kept (default ${DEFAULT_MAIL_TTL_MS / 1000}, 7 days)` },
  { key: 'mailboxMaxMessage', flag: 'mailbox-max-message', env: 'PARLEY_MAILBOX_MAX_MESSAGE', kind: 'bytes', help: `largest envelope kept, up to 256KiB (default ${DEFAULT_MAX_MESSAGE_BYTES / 1024}KiB)` },
  { key: 'mailboxPerSender', flag: 'mailbox-per-sender', env: 'PARLEY_MAILBOX_PER_SENDER', kind: 'int', help: `messages kept from one sender, all recipients together (default ${DEFAULT_MAILBOX_QUOTAS.perSender})` },
  { key: 'mailboxPerRecipient', flag: 'mailbox-per-recipient', env: 'PARLEY_MAILBOX_PER_RECIPIENT', kind: 'int', help: `messages kept for one recipient (default ${DEFAULT_MAILBOX_QUOTAS.perRecipient})` },
  { key: 'mailboxPerRecipientBytes', flag: 'mailbox-per-recipient-bytes', env: 'PARLEY_MAILBOX_PER_RECIPIENT_BYTES', kind: 'bytes', help: 'envelope bytes kept for one recipient (default 64MiB)' },
  { key: 'mailboxTotal', flag: 'mailbox-total', env: 'PARLEY_MAILBOX_TOTAL', kind: 'int', help: `messages kept in all (default ${DEFAULT_MAILBOX_QUOTAS.total})` },
  { key: 'mailboxTotalBytes', flag: 'mailbox-total-bytes', env: 'PARLEY_MAILBOX_TOTAL_BYTES', kind: 'bytes', help: 'envelope bytes kept in all (default 1GiB)' },
  { key: 'logLevel', flag: 'log-level', env: 'PARLEY_LOG_LEVEL', kind: 'string', help: `${LOG_LEVELS.join(', ')} (default info)` }
]

export const RELAY_USAGE = `Usage: parley relay [options]

Runs a Parley relay: circuit relay v2 server, Kademlia DHT server for handle
records, gossipsub router, mailbox for offline agents and bootstrap point. Prints its dialable multiaddrs
on stdout, one per line, and writes them to DATA_DIR/multiaddrs. Serves the
dev dashboard at http://HOST:PORT/ (the URL printed on stderr carries the
token that actions need), Prometheus metrics at /metrics and a health check
at /healthz.
SIGINT or SIGTERM stops it cleanly.

Options (flag, or environment variable, or config-file key):
${SETTINGS.map(s => `  --${(s.flag + (s.kind === 'bool' ? '' : ' V')).padEnd(27)} ${s.help}\n  ${''.padEnd(29)} env ${s.env}, config "${s.key}"`).join('\n')}
  --config FILE                 JSON config file with the keys above (env PARLEY_CONFIG)
  -h, --help                    show this help

Precedence: flags, then environment, then config file, then defaults.`

function parseInt10 (name: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${name} must be a non-negative integer, not "${text}"`)
  return Number(text.trim())
}

function parseBytes (name: string, text: string): bigint {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim())
  if (m === null) throw new UsageError(`${name} must be a byte count like 65536 or 64MiB, not "${text}"`)
  const unit = { b: 1n, kib: 1024n, mib: 1024n ** 2n, gib: 1024n ** 3n }[(m[2] ?? 'b').toLowerCase() as 'b']
  return BigInt(m[1] ?? '0') * unit
}

function positiveBytes (name: string, text: string): bigint {
  const n = parseBytes(name, text)
  if (n <= 0n) throw new UsageError(`${name} must be greater than 0`)
  return n
}

function parseBool (name: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true
  if (/^(0|false|no|off)$/i.test(text)) return false
  throw new UsageError(`${name} must be true or false, not "${text}"`)
}

function checkAddrs (name: string, list: string[]): string[] {
  for (const a of list) {
    try { multiaddr(a) } catch { throw new UsageError(`${name}: "${a}" is not a multiaddr`) }
  }
  return list
}

/** {@link checkAddrs}, and each must end in `/p2p/<peer id>` (the peer to authenticate). */
function checkPeerAddrs (name: string, list: string[]): string[] {
  for (const a of checkAddrs(name, list)) {
    if (p2pPeerOf(a) === undefined) {
      throw new UsageError(`${name}: "${a}" has no /p2p/<peer id>; use the whole address the other relay prints (or its DATA_DIR/multiaddrs)`)
    }
  }
  return list
}

/** Peer ids from a list of peer ids or multiaddrs ending in `/p2p/<peer id>`. */
function peerIds (name: string, list: string[]): string[] {
  return list.map(entry => {
    if (entry.startsWith('/')) return checkPeerAddrs(name, [entry]).map(a => p2pPeerOf(a) ?? '')[0] ?? ''
    try {
      return peerIdFromString(entry).toString()
    } catch {
      throw new UsageError(`${name}: "${entry}" is neither a peer id nor a multiaddr with /p2p/<peer id>`)
    }
  })
}

/**
 * Builds the relay configuration. `argv` are the arguments after `relay`.
 * Returns `undefined` when `--help` was asked for (the usage is printed).
 * Throws {@link UsageError} with a one-line reason on bad input.
 */
export function loadRelayConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): RelayConfig | undefined {
  const options: Record<string, { type: 'string' | 'boolean', multiple?: boolean }> = { config: { type: 'string' } }
  for (const s of SETTINGS) options[s.flag] = s.kind === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: s.kind === 'list' }
  const { values } = parse(argv, options)
  if (values.help === true) {
    console.log(RELAY_USAGE)
    return undefined
  }

  const configPath = (values.config as string | undefined) ?? env.PARLEY_CONFIG
  let file: Record<string, unknown> = {}
  if (configPath !== undefined) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>
    } catch (err) {
      throw new UsageError(`config file ${configPath}: ${(err as Error).message}`)
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new UsageError(`config file ${configPath}: not a JSON object`)
    const known = new Set(SETTINGS.map(s => s.key))
    for (const k of Object.keys(file)) if (!known.has(k)) throw new UsageError(`config file ${configPath}: unknown key "${k}"`)
  }

  /** The raw value of a setting from the highest source that has it, as text (lists as arrays). */
  const raw = (s: Setting): string | string[] | boolean | undefined => {
    const flag = values[s.flag]
    if (flag !== undefined) return flag as string | string[] | boolean
    const fromEnv = env[s.env]
    if (fromEnv !== undefined && fromEnv !== '') return s.kind === 'list' ? fromEnv.split(',').map(x => x.trim()).filter(x => x !== '') : fromEnv
    const fromFile = file[s.key]
    if (fromFile === undefined) return undefined
    if (s.kind === 'list') {
      if (!Array.isArray(fromFile) || fromFile.some(x => typeof x !== 'string')) throw new UsageError(`config "${s.key}" must be an array of strings`)
      return fromFile as string[]
    }
    if (s.kind === 'bool' && typeof fromFile === 'boolean') return fromFile
    return String(fromFile)
  }
  const get = new Map(SETTINGS.map(s => [s.key, raw(s)]))
  const text = (key: string): string | undefined => get.get(key) as string | undefined
  const list = (key: string): string[] | undefined => get.get(key) as string[] | undefined
  const int = (key: string, fallback: number): number => { const v = text(key); return v === undefined ? fallback : parseInt10(key, v) }
  const positive = (key: string, fallback: number): number => {
    const n = int(key, fallback)
    if (n <= 0) throw new UsageError(`${key} must be greater than 0`)
    return n
  }

  const logLevel = text('logLevel') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`log level must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`)
  const httpPort = int('httpPort', 9090)
  if (httpPort > 65535) throw new UsageError(`http port ${httpPort} is out of range`)
  const stunPort = int('stunPort', DEFAULT_STUN_PORT)
  if (stunPort > 65535) throw new UsageError(`STUN port ${stunPort} is out of range`)
  const circuitData = text('circuitData')
  const bytesSetting = (key: string, fallback: number): number => {
    const v = text(key)
    if (v === undefined) return fallback
    const n = positiveBytes(key, v)
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${key} is too large`)
    return Number(n)
  }
  const maxMessageBytes = bytesSetting('mailboxMaxMessage', DEFAULT_MAX_MESSAGE_BYTES)
  if (maxMessageBytes > MAX_ENVELOPE_BYTES) throw new UsageError(`mailboxMaxMessage must be at most 256KiB (the largest envelope), not ${maxMessageBytes}`)
  const noMailbox = get.get('noMailbox')
  const mailboxOff = typeof noMailbox === 'boolean' ? noMailbox : noMailbox === undefined ? false : parseBool('noMailbox', String(noMailbox))
  const dhtPublicOnly = get.get('dhtPublicOnly')
  const dashboardToken = text('dashboardToken')
  if (dashboardToken !== undefined && !/^[A-Za-z0-9._~-]{16,256}$/.test(dashboardToken)) {
    throw new UsageError('dashboard token must be 16 to 256 URL-safe characters (A-Z a-z 0-9 . _ ~ -)')
  }

  const wsTlsCert = text('wsTlsCert')
  const wsTlsKey = text('wsTlsKey')
  if ((wsTlsCert === undefined) !== (wsTlsKey === undefined)) throw new UsageError('ws-tls-cert and ws-tls-key go together: give both or neither')
  const pem = (name: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch (err) {
      throw new UsageError(`${name} ${path}: ${(err as Error).message}`)
    }
  }
  const wsTls = wsTlsCert === undefined || wsTlsKey === undefined ? undefined : { cert: pem('ws-tls-cert', wsTlsCert), key: pem('ws-tls-key', wsTlsKey) }

  return {
    dataDir: resolve(text('dataDir') ?? '.parley/relay'),
    listen: checkAddrs('listen', list('listen') ?? DEFAULT_LISTEN),
    announce: checkAddrs('announce', list('announce') ?? []),
    bootstrap: checkPeerAddrs('bootstrap', list('bootstrap') ?? []),
    dhtServers: peerIds('dhtServers', list('dhtServers') ?? []),
    httpHost: text('httpHost') ?? '127.0.0.1',
    httpPort,
    stunPort,
    dashboardToken,
    minPowBits: int('minPowBits', DEFAULT_POW_BITS),
    dhtPublicOnly: typeof dhtPublicOnly === 'boolean' ? dhtPublicOnly : dhtPublicOnly === undefined ? false : parseBool('dhtPublicOnly', String(dhtPublicOnly)),
    logLevel: logLevel as LogLevel,
    wsTls,
    mailbox: mailboxOff
      ? false
      : {
          ttlMs: positive('mailboxTtl', DEFAULT_MAIL_TTL_MS / 1000) * 1000,
          maxMessageBytes,
          quotas: {
            perSender: positive('mailboxPerSender', DEFAULT_MAILBOX_QUOTAS.perSender),
            perRecipient: positive('mailboxPerRecipient', DEFAULT_MAILBOX_QUOTAS.perRecipient),
            perRecipientBytes: bytesSetting('mailboxPerRecipientBytes', DEFAULT_MAILBOX_QUOTAS.perRecipientBytes),
            total: positive('mailboxTotal', DEFAULT_MAILBOX_QUOTAS.total),
            totalBytes: bytesSetting('mailboxTotalBytes', DEFAULT_MAILBOX_QUOTAS.totalBytes)
          }
        },
    limits: {
      ...DEFAULT_RELAY_LIMITS,
      maxReservations: positive('maxReservations', DEFAULT_RELAY_LIMITS.maxReservations),
      maxReservationsPerIp: positive('maxReservationsPerIp', DEFAULT_RELAY_LIMITS.maxReservationsPerIp),
      reservationRatePerIp: positive('reservationRatePerIp', DEFAULT_RELAY_LIMITS.reservationRatePerIp),
      reservationRatePerPeer: positive('reservationRatePerPeer', DEFAULT_RELAY_LIMITS.reservationRatePerPeer),
      maxCircuitsPerPeer: positive('maxCircuitsPerPeer', DEFAULT_RELAY_LIMITS.maxCircuitsPerPeer),
      circuitDurationMs: positive('circuitDuration', DEFAULT_RELAY_LIMITS.circuitDurationMs / 1000) * 1000,
      circuitDataBytes: circuitData === undefined ? DEFAULT_RELAY_LIMITS.circuitDataBytes : positiveBytes('circuitData', circuitData),
      reservationTtlMs: positive('reservationTtl', DEFAULT_RELAY_LIMITS.reservationTtlMs / 1000) * 1000,
      maxConnections: positive('maxConnections', DEFAULT_RELAY_LIMITS.maxConnections),
      inboundConnectionsPerSecond: positive('inboundRate', DEFAULT_RELAY_LIMITS.inboundConnectionsPerSecond),
      maxConnectionsPerIp: positive('maxConnectionsPerIp', DEFAULT_RELAY_LIMITS.maxConnectionsPerIp)
    }
  }
}

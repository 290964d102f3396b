/**
 * A small internet in Linux network namespaces, for tests that need real
 * NATs: a "public" segment (198.51.100.0/24, a bridge in the `pub`
 * namespace, which holds the public hosts such as a relay) and home LANs in
 * 203.0.113.0/24 subnets, each behind a router namespace that masquerades
 * (nftables) and drops unsolicited packets addressed to itself, as home
 * routers do. Nothing is created in the machine's own namespace and no
 * traffic leaves the namespaces.
 *
 * Impairments on a router's uplink ({@link Topology.impair}), in place of
 * `tc netem`, which this project's machines lack (their kernel has no
 * sch_netem, nor fq or etf, which could hold packets to a departure time):
 * - rate: a tbf qdisc on the uplink's egress at both ends (router `wan`, and
 *   its port on the public bridge);
 * - loss: nftables `numgen random` drops in netdev ingress chains at both
 *   ends, so each direction loses its share;
 * - latency with jitter: a userspace bridge (impair.py, AF_PACKET sockets)
 *   in a namespace of its own spliced into the uplink when the home is built
 *   with `impair: true`: `wan` <-> [`<router>-im`: veths `w`, `p`, no
 *   addresses, IPv6 off] <-> public bridge. It delays every frame by its own
 *   base ± uniform jitter, in both directions. The devices that feed it have
 *   checksum and segmentation offloads turned off (ethtool), so what it reads
 *   are whole frames it can send on as they are.
 *
 * Every namespace is named `pn<pid>-<name>`; {@link Topology.destroy} kills
 * the processes started in them and deletes them, and runs by itself on
 * process exit and on SIGINT/SIGTERM, and namespaces left by a test process
 * that no longer exists are deleted when a new topology is built.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { fileURLToPath } from 'node:url'
import { Proc } from './proc.js'

/** The delay bridge, run from the source tree (python, not compiled: dist/test/net -> test/net). */
const IMPAIR_PY = fileURLToPath(new URL('../../../test/net/impair.py', import.meta.url))

/** How a router maps its LAN hosts' ports. */
export type NatKind =
  /** Linux masquerade: a host's port is kept for every destination (endpoint-independent mapping). */
  | 'endpoint-independent'
  /** `masquerade random`: a new random port for each destination (symmetric NAT). */
  | 'symmetric'

export interface HomeSpec {
  /** Router name (its namespace: `pn<pid>-<name>`). */
  router: string
  nat: NatKind
  /** Host namespaces on its LAN. */
  hosts: string[]
  /** Splice a delay bridge (impair.py) into its uplink, for {@link Impairment.delayMs}. */
  impair?: boolean
}

/** What {@link Topology.impair} does to a router's uplink, each direction alike; `{}` clears all. */
export interface Impairment {
  /** Added one-way delay of each frame crossing the uplink (needs a home built with `impair: true`). */
  delayMs?: number
  /** ± uniform jitter around `delayMs` (frames may be reordered, as with netem). */
  jitterMs?: number
  /** Fraction of packets dropped in each direction (0.02: 2 %). */
  loss?: number
  /** Rate limit in kbit/s in each direction (tbf). */
  rateKbit?: number
}

export interface Topology {
  /** The namespace of `name` (`pub`, a router or a host). */
  ns: (name: string) => string
  /** The IP address of `name` (`pub`: the public host; a router: its public side; a host: its LAN address). */
  ip: (name: string) => string
  /** Runs a command inside `name`'s namespace and returns its stdout. */
  run: (name: string, command: string[], input?: string) => string
  /** Kills `child` (started some other way inside a namespace) in {@link destroy}, if it is still running. */
  adopt: (child: ChildProcess) => void
  /** Deletes directory `path` in {@link destroy} (also on SIGINT, when the test's own hooks do not run). */
  adoptDir: (path: string) => void
  /** Starts a long-running command inside `name`'s namespace; it is killed by {@link destroy}. */
  spawn: (name: string, command: string[], env?: NodeJS.ProcessEnv) => ChildProcess
  /** The command prefix that runs something inside `name`'s namespace. */
  wrap: (name: string) => string[]
  /**
   * Sets (replacing what was set) or, with `{}`, clears the impairments on
   * `router`'s uplink. A home built with `impair: true` has no uplink until
   * its delay bridge has started: call this (`{}` will do) before using it.
   */
  impair: (router: string, impairment: Impairment) => Promise<void>
  /** Kills what was started in the namespaces and deletes them. Safe to call more than once. */
  destroy: () => void
}

/** The public host's address: where the tests' relay listens (TCP 4001, WebSocket 4002, STUN 3478). */
export const PUBLIC_HOST = '198.51.100.10'

function ip (args: string[], input?: string): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) })
}

/** Deletes namespaces left by test processes that have gone (killed before they could clean up). */
function deleteLeftovers (): void {
  let names: string[]
  try {
    names = ip(['netns', 'list']).split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n !== '')
  } catch {
    return
  }
  for (const name of names) {
    const m = /^pn(\d+)-/.exec(name)
    if (m === null) continue
    const pid = Number(m[1])
    let alive = true
    try { process.kill(pid, 0) } catch (err) { alive = (err as { code?: string }).code === 'EPERM' }
    if (!alive) {
      try { ip(['netns', 'del', name]) } catch { /* gone meanwhile */ }
    }
  }
}

/**
 * Can this process create network namespaces (root, `ip` and `nft`
 * installed)? Returns the reason it cannot, or undefined.
 */
export function namespacesUnavailable (): string | undefined {
  const probe = `pn${process.pid}-probe`
  try {
    ip(['netns', 'add', probe])
  } catch (err) {
    return `cannot create a network namespace (${firstLine(err)}): run as root with iproute2 installed`
  }
  try {
    execFileSync('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return `nftables does not work in a namespace (${firstLine(err)}): install nftables`
  } finally {
    try { ip(['netns', 'del', probe]) } catch { /* best effort */ }
  }
}

/**
 * Can this machine impair links as {@link Topology.impair} does (tc with
 * tbf, ethtool, python3)? Returns what is missing, or undefined.
 */
export function impairmentsUnavailable (): string | undefined {
  for (const [command, args, pkg] of [['tc', ['-V'], 'iproute2'], ['ethtool', ['--version'], 'ethtool'], ['python3', ['--version'], 'python3']] as const) {
    try {
      execFileSync(command, args, { stdio: 'pipe' })
    } catch (err) {
      return `${command} does not run (${firstLine(err)}): install ${pkg}`
    }
  }
  return undefined
}

function firstLine (err: unknown): string {
  const e = err as { stderr?: Buffer | string, message?: string }
  const text = (e.stderr?.toString() ?? '') !== '' ? String(e.stderr) : String(e.message ?? err)
  return text.trim().split('\n')[0] ?? ''
}

/** The nftables ruleset of a home router: masquerade out of `wan`, nothing in that was not asked for. */
function routerRules (nat: NatKind): string {
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${nat === 'symmetric' ? 'masquerade random' : 'masquerade'}
  }
}
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname { "lo", "lan" } accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    # between two hosts on the LAN bridge, where br_netfilter passes bridged packets through here
    iifname "lan" oifname "lan" accept
  }
}
`
}

/**
 * Builds the public segment and `homes` (at most 4, a /26 of 203.0.113.0/24
 * each). Throws if anything fails, after deleting what it made.
 */
export function buildTopology (homes: HomeSpec[]): Topology {
  if (homes.length > 4) throw new Error('at most 4 home LANs (one /26 each)')
  deleteLeftovers()
  const prefix = `pn${process.pid}-`
  const ns = (name: string): string => prefix + name
  const made: string[] = []
  const children = new Set<ChildProcess>()
  const dirs: string[] = []
  const addresses = new Map<string, string>([['pub', PUBLIC_HOST]])
  /** Per router: its index (its uplink's port on the public bridge is `up<i>`) and its delay bridge. */
  const uplinks = new Map<string, { index: number, bridge?: Proc }>()
  let destroyed = false

  const destroy = (): void => {
    if (destroyed) return
    destroyed = true
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) { try { child.kill('SIGKILL') } catch { /* gone */ } }
    }
    for (const name of made.reverse()) {
      try { ip(['netns', 'del', name]) } catch { /* already gone */ }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    process.off('exit', destroy)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    destroy()
    process.kill(process.pid, signal)
  }
  process.once('exit', destroy)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const add = (name: string): string => {
    const n = ns(name)
    ip(['netns', 'add', n])
    made.push(n)
    ip(['-n', n, 'link', 'set', 'lo', 'up'])
    return n
  }
  const run = (name: string, command: string[], input?: string): string =>
    execFileSync('ip', ['netns', 'exec', ns(name), ...command], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) })

  try {
    const pub = add('pub')
    ip(['-n', pub, 'link', 'add', 'br0', 'type', 'bridge'])
    ip(['-n', pub, 'addr', 'add', `${PUBLIC_HOST}/24`, 'dev', 'br0'])
    ip(['-n', pub, 'link', 'set', 'br0', 'up'])
    homes.forEach((home, i) => {
      const router = add(home.router)
      const wanIp = `198.51.100.${i + 1}`
      const base = 64 * i
      const lanIp = `203.0.113.${base + 1}`
      addresses.set(home.router, wanIp)
      // the router's public side, on the public bridge (through a delay bridge if asked)
      uplinks.set(home.router, { index: i })
      if (home.impair === true) {
        const im = add(`${home.router}-im`)
        ip(['netns', 'exec', im, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'])
        ip(['-n', router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', 'w', 'netns', im])
        ip(['-n', im, 'link', 'add', 'p', 'type', 'veth', 'peer', 'name', `up${i}`, 'netns', pub])
        for (const dev of ['w', 'p']) ip(['-n', im, 'link', 'set', dev, 'up'])
        // whole, checksummed, MTU-sized frames into the bridge (it sends on what it reads, as it is)
        execFileSync('ip', ['netns', 'exec', router, 'ethtool', '-K', 'wan', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'pipe' })
        execFileSync('ip', ['netns', 'exec', pub, 'ethtool', '-K', `up${i}`, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'pipe' })
        for (const dev of ['w', 'p']) execFileSync('ip', ['netns', 'exec', im, 'ethtool', '-K', dev, 'gro', 'off'], { stdio: 'pipe' })
      } else {
        ip(['-n', router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `up${i}`, 'netns', pub])
      }
      ip(['-n', pub, 'link', 'set', `up${i}`, 'master', 'br0'])
      ip(['-n', pub, 'link', 'set', `up${i}`, 'up'])
      ip(['-n', router, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan'])
      ip(['-n', router, 'link', 'set', 'wan', 'up'])
      // its LAN: a bridge its hosts hang from
      ip(['-n', router, 'link', 'add', 'lan', 'type', 'bridge'])
      ip(['-n', router, 'addr', 'add', `${lanIp}/26`, 'dev', 'lan'])
      ip(['-n', router, 'link', 'set', 'lan', 'up'])
      run(home.router, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
      // a LAN switch filters nothing: keep bridged frames out of the router's netfilter where the kernel allows
      try { run(home.router, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0']) } catch { /* br_netfilter not loaded: nothing to turn off */ }
      run(home.router, ['nft', '-f', '-'], routerRules(home.nat))
      home.hosts.forEach((hostName, j) => {
        const host = add(hostName)
        const hostIp = `203.0.113.${base + 10 + j}`
        addresses.set(hostName, hostIp)
        ip(['-n', host, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `h${j}`, 'netns', router])
        ip(['-n', router, 'link', 'set', `h${j}`, 'master', 'lan'])
        ip(['-n', router, 'link', 'set', `h${j}`, 'up'])
        ip(['-n', host, 'addr', 'add', `${hostIp}/26`, 'dev', 'eth0'])
        ip(['-n', host, 'link', 'set', 'eth0', 'up'])
        ip(['-n', host, 'route', 'add', 'default', 'via', lanIp])
      })
    })
  } catch (err) {
    destroy()
    throw new Error(`building the namespaces failed: ${firstLine(err)}`, { cause: err })
  }

  const wrap = (name: string): string[] => ['ip', 'netns', 'exec', ns(name)]
  const spawnIn = (name: string, command: string[], env?: NodeJS.ProcessEnv): ChildProcess => {
    const [cmd, ...args] = [...wrap(name), ...command] as [string, ...string[]]
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env })
    children.add(child)
    child.once('exit', () => { children.delete(child) })
    return child
  }
  // the delay bridges, passing frames straight through until told otherwise; ahead of the
  // agents for the CPU (nice -10), so a busy machine delays frames less than it would
  for (const home of homes) {
    const uplink = uplinks.get(home.router)
    if (home.impair === true && uplink !== undefined) uplink.bridge = new Proc(`${home.router}-im`, spawnIn(`${home.router}-im`, ['nice', '-n', '-10', 'python3', '-u', IMPAIR_PY, 'w', 'p']))
  }
  const impair = async (router: string, m: Impairment): Promise<void> => {
    const uplink = uplinks.get(router)
    if (uplink === undefined) throw new Error(`no such router: ${router}`)
    const port = `up${uplink.index}`
    const table = `impair_${router.replace(/\W/g, '_')}`
    // both ends of the uplink: the router's `wan` and its port on the public bridge
    const ends: Array<[string, string]> = [[router, 'wan'], ['pub', port]]
    for (const [name, dev] of ends) {
      // rate: tbf on egress (burst: 32 kbit, as much as 400 ms queued)
      try { run(name, ['tc', 'qdisc', 'del', 'dev', dev, 'root']) } catch { /* none set */ }
      if (m.rateKbit !== undefined) run(name, ['tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${m.rateKbit}kbit`, 'burst', '32kbit', 'latency', '400ms'])
      // loss: a random draw per packet in an ingress chain (in ten-thousandths)
      const drop = m.loss === undefined || m.loss <= 0
        ? ''
        : `table netdev ${table} {
  chain ingress {
    type filter hook ingress device "${dev}" priority 0; policy accept;
    numgen random mod 10000 < ${Math.round(m.loss * 10_000)} drop
  }
}
`
      run(name, ['nft', '-f', '-'], `table netdev ${table} {}
delete table netdev ${table}
${drop}`)
    }
    const bridge = uplink.bridge
    if (bridge === undefined) {
      if ((m.delayMs ?? 0) > 0 || (m.jitterMs ?? 0) > 0) throw new Error(`${router} was built without \`impair: true\`: no delay bridge on its uplink`)
      return
    }
    await bridge.waitFor(e => e.event === 'ready', 10_000)
    const since = bridge.events.length
    bridge.send({ delayMs: m.delayMs ?? 0, jitterMs: m.jitterMs ?? 0 })
    await bridge.waitFor(e => e.event === 'set', 10_000, since)
  }
  return {
    ns,
    ip: (name) => {
      const a = addresses.get(name)
      if (a === undefined) throw new Error(`no such node: ${name}`)
      return a
    },
    run,
    wrap,
    adoptDir: (path) => { dirs.push(path) },
    adopt: (child) => {
      children.add(child)
      child.once('exit', () => { children.delete(child) })
    },
    spawn: spawnIn,
    impair,
    destroy
  }
}

/**
 * Starts (or restarts, on the same data dir) a `parley relay` on the public
 * host of `topo`: TCP 4001 and WebSocket 4002 on {@link PUBLIC_HOST}, STUN on
 * its default port; it is killed in {@link Topology.destroy}.
 */
export async function startPublicRelay (topo: Topology, dataDir: string, options: { minPowBits?: number } = {}): Promise<RelayProcess> {
  const relay = await startRelayProcess({
    dataDir,
    listen: [`/ip4/${PUBLIC_HOST}/tcp/4001`, `/ip4/${PUBLIC_HOST}/tcp/4002/ws`],
    stunPort: null,
    ...(options.minPowBits === undefined ? {} : { minPowBits: options.minPowBits }),
    wrap: topo.wrap('pub')
  })
  topo.adopt(relay.child)
  return relay
}

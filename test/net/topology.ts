/**
 * A small internet in Linux network namespaces, for tests that need real
 * NATs: a "public" segment (198.51.100.0/24, a bridge in the `pub`
 * namespace, which holds the public hosts such as a relay) and home LANs in
 * 203.0.113.0/24 subnets, each behind a router namespace that masquerades
 * (nftables) and drops unsolicited packets addressed to itself, as home
 * routers do. Nothing is created in the machine's own namespace and no
 * traffic leaves the namespaces.
 *
 * Every namespace is named `pn<pid>-<name>`; {@link Topology.destroy} kills
 * the processes started in them and deletes them, and runs by itself on
 * process exit and on SIGINT/SIGTERM, and namespaces left by a test process
 * that no longer exists are deleted when a new topology is built.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

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
  /** Kills what was started in the namespaces and deletes them. Safe to call more than once. */
  destroy: () => void
}

const PUBLIC_HOST = '198.51.100.10'

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
      // the router's public side, on the public bridge
      ip(['-n', router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `up${i}`, 'netns', pub])
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
    spawn: (name, command, env) => {
      const [cmd, ...args] = [...wrap(name), ...command] as [string, ...string[]]
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env })
      children.add(child)
      child.once('exit', () => { children.delete(child) })
      return child
    },
    destroy
  }
}

/**
 * The artifact is what is tested: `npm pack`, then install the tarball into a
 * fresh project outside the repository (so nothing resolves through the
 * repository's node_modules), and there run, as a user would:
 *
 * - the relay example (`parley relay --config docs/examples/relay.json`), which
 *   the other programs then use;
 * - every program in docs/examples/ (the agent ones twice against the same
 *   relay: they must be repeatable) and the CLI session script;
 * - every ```js block of the README, and its `npx parley-mesh` lines that end
 *   by themselves (`id`, `demo`, `--help`);
 * - `parley --help` and `parley-mesh --help`;
 * - a TypeScript type-check of all of them under `strict` (`checkJs`);
 * - on a Node.js older than 22, when the machine has one, the clear refusal.
 */
import { expect } from 'chai'
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { freeUdpPort } from '../helpers/relay-process.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const EXAMPLES = join(ROOT, 'docs', 'examples')
/** Node 22 first on PATH, as it is for a user who has it (the repository's own is not on a consumer's PATH). */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`

interface Ran { stdout: string, stderr: string }

/** The README's ```js blocks. */
export function readmeBlocks (readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string[] {
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map(m => m[1] ?? '')
}

/** The README's `npx parley-mesh …` lines that finish on their own. */
export function readmeCommands (readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string[] {
  const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(m => (m[1] ?? '').split('\n'))
  return lines.map(l => l.trim()).filter(l => /^npx parley-mesh (id|demo|--help|verify)\b/.test(l))
}

describe('the npm package, installed from its tarball into a fresh project', function () {
  this.timeout(600_000)
  let work: string
  let project: string
  let relay: ChildProcess | undefined
  let relayAddr = ''
  let relayErr = ''
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH, PARLEY_RELAY: relayAddr, PARLEY_WEBRTC_BIND: '127.0.0.1', npm_config_yes: 'true' })
  const inProject = async (file: string, args: string[], timeout = 120_000): Promise<Ran> =>
    run(file, args, { cwd: project, env: env(), encoding: 'utf8', timeout, maxBuffer: 16 * 1024 * 1024 })

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'parley-pack-'))
    project = join(work, 'consumer')
    mkdirSync(project)
    // dist/ was built by pretest; pack exactly what `files` selects
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH } })
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>
    if (info === undefined) throw new Error('npm pack printed no tarball')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'parley-consumer', private: true, type: 'module' }, null, 2))
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, info.filename), '@types/node@22', '@modelcontextprotocol/sdk@1.32.2', 'zod@4', '@a2a-js/sdk@1.3.0'], { cwd: project, encoding: 'utf8', env: { ...process.env, PATH }, timeout: 400_000 })
    // the files only: a folder (browser-agent/) is an example of its own, tested from the repository (test/browser/example-page.spec.ts)
    for (const entry of readdirSync(EXAMPLES, { withFileTypes: true })) if (entry.isFile()) copyFileSync(join(EXAMPLES, entry.name), join(project, entry.name))
    readmeBlocks().forEach((code, i) => { writeFileSync(join(project, `readme-${i}.mjs`), '// @ts-check\n' + code) })

    // the relay example, on ports the OS picks (flags override the config file)
    relay = spawn(join(project, 'node_modules', '.bin', 'parley'), ['relay', '--config', 'relay.json', '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--http-port', '0', '--stun-port', String(await freeUdpPort())],
      { cwd: project, env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    relay.stderr?.setEncoding('utf8').on('data', (d: string) => { relayErr += d })
    relayAddr = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`the example relay did not start:\n${relayErr}`)) }, 30_000)
      relay?.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const first = out.split('\n')[0]
        if (out.includes('\n') && first !== undefined) { clearTimeout(timer); resolve(first) }
      })
      relay?.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the example relay exited (${code}):\n${relayErr}`)) })
    })
  })

  after(async () => {
    relay?.kill('SIGKILL')
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('ships no test vectors, tests or build tools, and its relay example answers /healthz', async () => {
    const pkg = join(project, 'node_modules', 'parley-mesh')
    expect(existsSync(join(pkg, 'dist', 'test'))).to.equal(false)
    expect(existsSync(join(pkg, 'dist', 'src', 'build'))).to.equal(false)
    expect(existsSync(join(pkg, 'dist', 'src', 'dashboard', 'bundle.js'))).to.equal(false)
    expect(relayAddr).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)
    const health = /health (http:\/\/\S+\/healthz)/.exec(relayErr)?.[1]
    expect(health, relayErr).to.be.a('string')
    const res = await fetch(health ?? '')
    expect(((await res.json()) as { status: string }).status).to.equal('ok')
  })

  it('runs docs/examples/sign-and-verify.mjs', async () => {
    const { stdout } = await inProject(process.execPath, ['sign-and-verify.mjs'])
    expect(stdout).to.include("method: 'ping'")
    expect(stdout).to.include('ERR_REPLAYED')
  })

  it('runs docs/examples/two-agents.mjs, twice against the same relay', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await inProject(process.execPath, ['two-agents.mjs'])
      expect(stdout).to.include("handle: 'rapidplumb'")
      expect(stdout).to.include("for: 'alices-assistant'")
    }
  })

  it('runs docs/examples/negotiation.mjs, twice against the same relay', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await inProject(process.execPath, ['negotiation.mjs'])
      expect(stdout).to.include('held')
      expect(stdout).to.include("{ currency: 'GBP', value: 26 }")
    }
  })

  it('runs docs/examples/mcp.mjs (with the MCP SDK installed beside the package), twice against the same relay', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await inProject(process.execPath, ['mcp.mjs'])
      expect(stdout).to.include("[ 'forecast' ]")
      expect(stdout).to.include('sunny in Leeds, asked by @alices-mcp-host')
    }
  })

  it('runs docs/examples/a2a.mjs (with the A2A SDK installed beside the package), twice against the same relay', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await inProject(process.execPath, ['a2a.mjs'])
      expect(stdout).to.include("[ 'one', 'two', 'three' ]")
    }
  })

  it('runs docs/examples/cli-session.sh, twice', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await inProject('sh', ['cli-session.sh'], 180_000)
      expect(stdout).to.include('@cli-plumber: held')
      expect(stdout).to.include('@cli-me (agent): 2pm is fine, thanks')
      expect(stdout).to.include('verified')
    }
  })

  it('runs every ```js block of the README as written', async () => {
    const blocks = readmeBlocks()
    expect(blocks.length).to.be.greaterThan(1)
    for (let i = 0; i < blocks.length; i++) {
      const { stdout } = await inProject(process.execPath, [`readme-${i}.mjs`])
      expect(stdout.length, `README block ${i} printed nothing`).to.be.greaterThan(0)
    }
  })

  it('runs the README\'s npx parley-mesh commands, and --help of both bins', async () => {
    const commands = readmeCommands()
    expect(commands.length).to.be.greaterThan(0)
    for (const line of commands) {
      const [, ...args] = line.split(/\s+/)
      await inProject('npx', ['--no-install', ...args], 180_000)
    }
    for (const bin of ['parley', 'parley-mesh']) {
      const { stdout } = await inProject(join('node_modules', '.bin', bin), ['--help'])
      expect(stdout).to.match(/^parley \d+\.\d+\.\d+: a peer-to-peer mesh for AI agents/)
    }
  })

  it('type-checks the examples and README blocks under strict TypeScript (checkJs)', async () => {
    const files = readdirSync(project).filter(f => f.endsWith('.mjs'))
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, allowJs: true, checkJs: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', types: ['node'], skipLibCheck: true },
      files
    }))
    try {
      await inProject(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
    } catch (err) {
      throw new Error(`the examples do not type-check:\n${(err as Ran).stdout}`, { cause: err })
    }
  })

  it('on Node.js older than 22 (when this machine has one) refuses clearly, at import and from the CLI', async function () {
    const old = ['/usr/bin/node', '/usr/local/bin/node'].find(p => existsSync(p))
    if (old === undefined) this.skip()
    const version = (await run(old ?? '', ['--version'], { encoding: 'utf8' })).stdout.trim()
    if (Number(/^v(\d+)/.exec(version)?.[1]) >= 22) this.skip()
    const imported = await run(old ?? '', ['-e', "import('parley-mesh').then(() => console.log('imported'), e => { console.error(e.code + ': ' + e.message); process.exit(3) })"], { cwd: project, encoding: 'utf8' }).catch((e: Ran & { code: number }) => e)
    expect(imported.stderr).to.include('ERR_UNSUPPORTED_RUNTIME: parley-mesh needs Node.js 22 or newer')
    const cli = await run(old ?? '', [join('node_modules', '.bin', 'parley'), '--help'], { cwd: project, encoding: 'utf8' }).catch((e: Ran & { code: number }) => e)
    expect(cli.stderr).to.include('Node.js 22 or newer is required')
    expect(cli.stderr).to.not.include('npm install" in the package')
  })
})

import { expect } from 'chai'
import { readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { startRelayProcess } from './helpers/relay-process.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

/** The README's ```js blocks, each run as written: inside the package, 'parley-mesh' resolves to this package (self-reference). */
function blocks (): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map(m => m[1] ?? '')
}

async function runBlock (name: string, code: string, env: Record<string, string> = {}): Promise<string> {
  const file = join(root, 'dist', `readme-${name}.mjs`)
  try {
    writeFileSync(file, code)
    const { stdout } = await run(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
    return stdout
  } finally {
    rmSync(file, { force: true })
  }
}

describe('README', function () {
  this.timeout(90_000)

  it('the two-agent example runs as written against a relay', async () => {
    const code = blocks().find(b => b.includes('createAgent'))
    expect(code, 'an agent example').to.be.a('string')
    const dir = mkdtempSync(join(tmpdir(), 'parley-readme-'))
    // the relay with the default proof-of-work difficulty, as `npm start` runs it
    const relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 19 })
    try {
      const out = await runBlock('agents', code ?? '', { PARLEY_RELAY: relay.tcp.toString(), PARLEY_WEBRTC_BIND: '127.0.0.1' })
      expect(out).to.include("handle: 'rapidplumb'")
      expect(out).to.include("kind: 'agent'")
      expect(out).to.include("for: 'alices-assistant'")
      expect(out).to.include('price: 180')
    } finally {
      await relay.stop('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the negotiation example runs as written: held for the human, approved, agreement verified', async () => {
    const code = blocks().find(b => b.includes('verifyAgreement'))
    expect(code, 'a negotiation example').to.be.a('string')
    const dir = mkdtempSync(join(tmpdir(), 'parley-readme-'))
    const relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 19 })
    try {
      const out = await runBlock('negotiation', code ?? '', { PARLEY_RELAY: relay.tcp.toString(), PARLEY_WEBRTC_BIND: '127.0.0.1' })
      expect(out).to.include('held')
      expect(out).to.include('accept kettle with @kettle-shop')
      expect(out).to.include("{ currency: 'GBP', value: 26 }")
    } finally {
      await relay.stop('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the envelope example runs as written', async () => {
    const code = blocks().find(b => b.includes('signEnvelope'))
    expect(code, 'an envelope example').to.be.a('string')
    const out = await runBlock('envelope', (code ?? '') + '\nconsole.log(JSON.stringify(envelope.body))\n')
    expect(JSON.parse(out)).to.deep.equal({ jsonrpc: '2.0', id: 1, method: 'ping' })
  })
})

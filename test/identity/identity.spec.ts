import { expect } from 'chai'
import { mkdtemp, rm, readFile, writeFile, stat, chmod, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { hkdfSync, createPrivateKey, createPublicKey } from 'node:crypto'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { x25519 } from '@noble/curves/ed25519.js'
import {
  createIdentity, saveIdentity, loadIdentity, loadOrCreateIdentity, IDENTITY_FILE, IDENTITY_KINDS, isIdentityKind
} from '../../src/identity/index.js'
import type { IdentityKind } from '../../src/identity/index.js'
import { verifySignature } from '../../src/crypto/signature.js'
import { concat, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js'

const isWindows = process.platform === 'win32'
// RFC 8032 §7.1 TEST 1
const RFC_SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')

interface Rejection { name: string, code: unknown, message: string }

/** Awaits a promise that must reject and returns the error's stable parts. */
async function rejection (p: Promise<unknown>): Promise<Rejection> {
  try {
    await p
  } catch (err) {
    const e = err as Error & { code?: unknown }
    return { name: e.name, code: e.code, message: e.message }
  }
  throw new Error('expected a rejection')
}

function b64 (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}

describe('identity', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-identity-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('in memory', () => {
    it('lists the kinds', () => {
      expect([...IDENTITY_KINDS]).to.deep.equal(['agent', 'human'])
      expect(isIdentityKind('agent')).to.equal(true)
      expect(isIdentityKind('robot')).to.equal(false)
    })

    it('has a peer id, public key and libp2p key that agree', async () => {
      const id = await createIdentity({ kind: 'agent' })
      expect(id.kind).to.equal('agent')
      expect(id.peerIdString).to.equal(peerIdFromPrivateKey(id.privateKey).toString())
      expect(id.peerIdString).to.equal(id.peerId.toString())
      expect(id.peerIdString).to.match(/^12D3KooW/)
      expect(id.privateKey.type).to.equal('Ed25519')
      expect(id.publicKey).to.have.length(32)
      expect(toHex(id.publicKey)).to.equal(toHex(id.privateKey.publicKey.raw))
      expect(id.x25519PublicKey).to.have.length(32)
    })

    it('signs so that both the Parley rule and libp2p verify', async () => {
      const id = await createIdentity({ kind: 'human' })
      const data = utf8('hello parley')
      const sig = await id.sign(data)
      expect(sig).to.have.length(64)
      expect(await verifySignature(id.publicKey, data, sig)).to.equal(true)
      expect(await id.privateKey.publicKey.verify(data, sig)).to.equal(true)
      expect(await verifySignature(id.publicKey, utf8('hello parlez'), sig)).to.equal(false)
      // libp2p's own signature is the same (Ed25519 is deterministic)
      expect(toHex(await id.privateKey.sign(data))).to.equal(toHex(sig))
    })

    it('is deterministic for a fixed seed', async () => {
      const a = await createIdentity({ kind: 'agent', seed: RFC_SEED })
      const b = await createIdentity({ kind: 'human', seed: RFC_SEED })
      expect(toHex(a.publicKey)).to.equal('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
      expect(a.peerIdString).to.equal('12D3KooWQK1wnefoLrcVHbbnf5tLzbopUd3K3bFAoJpA7YJgL5pV')
      expect(b.peerIdString).to.equal(a.peerIdString)
      expect(toHex(a.x25519PublicKey)).to.equal('f5e16d5ff5eb3de3beaaae20c56ac3c96c9eeb909f4d7a49f0eff9cbeef46429')
      expect(toHex(await a.sign(new Uint8Array(0)))).to.equal(
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
    })

    it('derives the X25519 key as documented (checked with node:crypto)', async () => {
      const seed = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff')
      const id = await createIdentity({ kind: 'agent', seed })
      const d = Buffer.from(hkdfSync('sha256', seed, new Uint8Array(0), 'parley/x25519/v1', 32))
      const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: d.toString('base64url'), x: '' }, format: 'jwk' })
      const x = createPublicKey(priv).export({ format: 'jwk' }).x
      expect(Buffer.from(id.x25519PublicKey).toString('base64url')).to.equal(x)
      expect(toHex(x25519.getPublicKey(d))).to.equal(toHex(id.x25519PublicKey))
    })

    it('agrees on an X25519 shared secret with another identity', async () => {
      const a = await createIdentity({ kind: 'agent' })
      const b = await createIdentity({ kind: 'human' })
      const ab = a.x25519SharedSecret(b.x25519PublicKey)
      const ba = b.x25519SharedSecret(a.x25519PublicKey)
      expect(ab).to.have.length(32)
      expect(toHex(ab)).to.equal(toHex(ba))
      const c = await createIdentity({ kind: 'agent' })
      expect(toHex(a.x25519SharedSecret(c.x25519PublicKey))).to.not.equal(toHex(ab))
    })

    it('refuses a bad X25519 peer key', async () => {
      const a = await createIdentity({ kind: 'agent' })
      for (const bad of [new Uint8Array(31), new Uint8Array(32), concat(new Uint8Array([1]), new Uint8Array(31))]) {
        let caught: unknown
        try { a.x25519SharedSecret(bad) } catch (err) { caught = err }
        expect(caught).to.include({ name: 'IdentityError', code: 'ERR_INVALID_ARGUMENT' })
      }
    })

    it('does not leak the private key through JSON', async () => {
      const id = await createIdentity({ kind: 'agent', seed: RFC_SEED })
      expect(JSON.parse(JSON.stringify(id))).to.deep.equal({ kind: 'agent', peerId: id.peerIdString })
    })

    it('refuses a seed that is not 32 bytes', async () => {
      for (const seed of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(64)]) {
        expect(await rejection(createIdentity({ kind: 'agent', seed }))).to.include({ name: 'IdentityError', code: 'ERR_INVALID_ARGUMENT' })
      }
    })

    it('refuses an unknown kind', async () => {
      for (const kind of ['robot', '', 'Agent', undefined]) {
        const r = await rejection(createIdentity({ kind: kind as IdentityKind }))
        expect(r).to.include({ name: 'IdentityError', code: 'ERR_INVALID_ARGUMENT' })
      }
      expect(await rejection(loadOrCreateIdentity({ dataDir: dir, kind: 'robot' as IdentityKind })))
        .to.include({ name: 'IdentityError', code: 'ERR_INVALID_ARGUMENT' })
      expect(await readdir(dir)).to.deep.equal([])
    })
  })

  describe('key file', () => {
    it('round-trips through save and load', async () => {
      const id = await createIdentity({ kind: 'human' })
      await saveIdentity(dir, id)
      const loaded = await loadIdentity(dir)
      expect(loaded.peerIdString).to.equal(id.peerIdString)
      expect(loaded.kind).to.equal('human')
      expect(toHex(loaded.x25519PublicKey)).to.equal(toHex(id.x25519PublicKey))
      const data = utf8('x')
      expect(toHex(await loaded.sign(data))).to.equal(toHex(await id.sign(data)))
      expect(await readdir(dir)).to.deep.equal([IDENTITY_FILE])
    })

    it('writes the documented format', async () => {
      const id = await createIdentity({ kind: 'agent', seed: RFC_SEED })
      await saveIdentity(dir, id)
      const text = await readFile(join(dir, IDENTITY_FILE), 'utf8')
      expect(text.endsWith('}\n')).to.equal(true)
      expect(Object.keys(JSON.parse(text))).to.deep.equal(['v', 'kind', 'peerId', 'privateKey'])
      expect(JSON.parse(text)).to.deep.equal({
        v: 1,
        kind: 'agent',
        peerId: id.peerIdString,
        privateKey: b64(privateKeyToProtobuf(id.privateKey))
      })
    })

    it('creates the file with mode 0600 and the directory with mode 0700', async function () {
      if (isWindows) this.skip()
      const dataDir = join(dir, 'nested', 'data')
      await saveIdentity(dataDir, await createIdentity({ kind: 'agent' }))
      expect((await stat(join(dataDir, IDENTITY_FILE))).mode & 0o777).to.equal(0o600)
      expect((await stat(dataDir)).mode & 0o777).to.equal(0o700)
    })

    it('saveIdentity refuses to overwrite, unless asked to', async () => {
      const first = await createIdentity({ kind: 'agent' })
      const second = await createIdentity({ kind: 'agent' })
      await saveIdentity(dir, first)
      const before = await readFile(join(dir, IDENTITY_FILE))
      const r = await rejection(saveIdentity(dir, second))
      expect(r).to.include({ name: 'IdentityError', code: 'ERR_INVALID_ARGUMENT' })
      expect(r.message).to.include(join(dir, IDENTITY_FILE))
      expect(toHex(await readFile(join(dir, IDENTITY_FILE)))).to.equal(toHex(before))
      expect(await readdir(dir)).to.deep.equal([IDENTITY_FILE])
      await saveIdentity(dir, second, { overwrite: true })
      expect((await loadIdentity(dir)).peerIdString).to.equal(second.peerIdString)
      expect(await readdir(dir)).to.deep.equal([IDENTITY_FILE])
    })

    it('loadIdentity rejects with ENOENT when there is no file', async () => {
      expect(await rejection(loadIdentity(dir))).to.include({ code: 'ENOENT' })
    })

    it('loadOrCreateIdentity creates once, then loads without rewriting', async () => {
      const dataDir = join(dir, 'data')
      const first = await loadOrCreateIdentity({ dataDir, kind: 'agent' })
      const file = join(dataDir, IDENTITY_FILE)
      const before = await stat(file)
      const bytes = await readFile(file)
      await new Promise(resolve => setTimeout(resolve, 20))
      const second = await loadOrCreateIdentity({ dataDir, kind: 'agent' })
      expect(second.peerIdString).to.equal(first.peerIdString)
      const after = await stat(file)
      expect(after.mtimeMs).to.equal(before.mtimeMs)
      expect(after.ino).to.equal(before.ino)
      expect(toHex(await readFile(file))).to.equal(toHex(bytes))
    })

    it('rejects a kind mismatch', async () => {
      await saveIdentity(dir, await createIdentity({ kind: 'human' }))
      expect(await rejection(loadIdentity(dir, { kind: 'agent' }))).to.include({ name: 'IdentityError', code: 'ERR_KIND_MISMATCH' })
      expect(await rejection(loadOrCreateIdentity({ dataDir: dir, kind: 'agent' })))
        .to.include({ name: 'IdentityError', code: 'ERR_KIND_MISMATCH' })
      expect((await loadIdentity(dir, { kind: 'human' })).kind).to.equal('human')
    })

    it('refuses a key file readable by group or others, and leaves it alone', async function () {
      if (isWindows) this.skip()
      const id = await createIdentity({ kind: 'agent' })
      await saveIdentity(dir, id)
      const file = join(dir, IDENTITY_FILE)
      const bytes = await readFile(file)
      await chmod(file, 0o644)
      const r = await rejection(loadIdentity(dir))
      expect(r).to.include({ name: 'IdentityError', code: 'ERR_KEY_PERMISSIONS' })
      expect(r.message).to.include(file)
      expect(r.message).to.include('0644')
      expect(r.message).to.include(`chmod 600 ${file}`)
      expect(await rejection(loadOrCreateIdentity({ dataDir: dir, kind: 'agent' })))
        .to.include({ name: 'IdentityError', code: 'ERR_KEY_PERMISSIONS' })
      expect(toHex(await readFile(file))).to.equal(toHex(bytes))
      expect((await stat(file)).mode & 0o777).to.equal(0o644)
      expect(await readdir(dir)).to.deep.equal([IDENTITY_FILE])
      await chmod(file, 0o640)
      expect(await rejection(loadIdentity(dir))).to.include({ code: 'ERR_KEY_PERMISSIONS' })
      await chmod(file, 0o600)
      expect((await loadIdentity(dir)).peerIdString).to.equal(id.peerIdString)
    })

    describe('corrupt key files', () => {
      async function validFields (): Promise<Record<string, unknown>> {
        const id = await createIdentity({ kind: 'agent' })
        return { v: 1, kind: 'agent', peerId: id.peerIdString, privateKey: b64(privateKeyToProtobuf(id.privateKey)) }
      }
      function json (fields: Record<string, unknown>): Uint8Array {
        return utf8(JSON.stringify(fields) + '\n')
      }
      async function foreignKey (key: PrivateKey): Promise<Uint8Array> {
        return json({ v: 1, kind: 'agent', peerId: peerIdFromPrivateKey(key).toString(), privateKey: b64(privateKeyToProtobuf(key)) })
      }

      const cases: Array<[string, () => Promise<Uint8Array>]> = [
        ['garbage bytes', async () => Uint8Array.from([0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81])],
        ['an empty file', async () => new Uint8Array(0)],
        ['truncated JSON', async () => json(await validFields()).subarray(0, 40)],
        ['a JSON array', async () => utf8('[1,2,3]\n')],
        ['wrong v', async () => json({ ...await validFields(), v: 2 })],
        ['v as a string', async () => json({ ...await validFields(), v: '1' })],
        ['a missing field', async () => { const f = await validFields(); delete f.peerId; return json(f) }],
        ['an extra unknown field', async () => json({ ...await validFields(), extra: true })],
        ['an unknown kind', async () => json({ ...await validFields(), kind: 'robot' })],
        ['the peerId of another key', async () => json({ ...await validFields(), peerId: (await createIdentity({ kind: 'agent' })).peerIdString })],
        ['privateKey not base64', async () => json({ ...await validFields(), privateKey: 'not base64!' })],
        ['privateKey the base64 of 10 random bytes', async () => {
          const bytes = new Uint8Array(10)
          globalThis.crypto.getRandomValues(bytes)
          return json({ ...await validFields(), privateKey: b64(bytes) })
        }],
        ['a secp256k1 key', async () => foreignKey(await generateKeyPair('secp256k1'))],
        ['an RSA key', async () => foreignKey(await generateKeyPair('RSA', 1024))],
        ['an Ed25519 key whose public half is not its seed\'s', async () => {
          const a = await createIdentity({ kind: 'agent' })
          const b = await createIdentity({ kind: 'agent' })
          // protobuf: KeyType Ed25519 (field 1 = 1), Data (field 2, 64 bytes) = seed(a) ‖ publicKey(b)
          const raw = concat(a.privateKey.raw.subarray(0, 32), b.publicKey)
          const pb = concat(Uint8Array.from([0x08, 0x01, 0x12, 0x40]), raw)
          return json({ v: 1, kind: 'agent', peerId: b.peerIdString, privateKey: b64(pb) })
        }]
      ]

      for (const [name, make] of cases) {
        it(`refuses ${name} and leaves the file unchanged`, async () => {
          const file = join(dir, IDENTITY_FILE)
          const bytes = await make()
          await writeFile(file, bytes, { mode: 0o600 })
          await chmod(file, 0o600)
          const r = await rejection(loadIdentity(dir))
          expect(r).to.include({ name: 'IdentityError', code: 'ERR_KEY_CORRUPT' })
          expect(r.message).to.include(file)
          const r2 = await rejection(loadOrCreateIdentity({ dataDir: dir, kind: 'agent' }))
          expect(r2).to.include({ name: 'IdentityError', code: 'ERR_KEY_CORRUPT' })
          expect(toHex(await readFile(file))).to.equal(toHex(bytes))
          expect(await readdir(dir)).to.deep.equal([IDENTITY_FILE])
        })
      }
    })

    it('two concurrent loadOrCreateIdentity calls end with one identity', async () => {
      const dataDir = join(dir, 'data')
      const ids = await Promise.all(Array.from({ length: 8 }, async () => loadOrCreateIdentity({ dataDir, kind: 'agent' })))
      const peers = new Set(ids.map(id => id.peerIdString))
      expect(peers.size).to.equal(1)
      expect((await loadIdentity(dataDir)).peerIdString).to.equal(ids[0]?.peerIdString)
      expect(await readdir(dataDir)).to.deep.equal([IDENTITY_FILE])
    })

    it('concurrent processes creating the same identity end with one identity', async () => {
      const dataDir = join(dir, 'data')
      const moduleUrl = new URL('../../src/identity/index.js', import.meta.url).href
      const script = `const m = await import(${JSON.stringify(moduleUrl)});` +
        `const id = await m.loadOrCreateIdentity({ dataDir: process.argv[1], kind: 'agent' });` +
        'process.stdout.write(id.peerIdString)'
      const run = async (): Promise<string> => new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
        child.on('error', reject)
        child.on('close', code => { if (code === 0) resolve(out); else reject(new Error(`child exited with ${code}`)) })
      })
      const peers = await Promise.all(Array.from({ length: 4 }, run))
      expect(new Set(peers).size).to.equal(1)
      expect((await loadIdentity(dataDir)).peerIdString).to.equal(peers[0])
      expect(await readdir(dataDir)).to.deep.equal([IDENTITY_FILE])
    })
  })
})

/**
 * Envelope benchmarks: the bare native Ed25519 floor, the full envelope
 * paths on every backend, and the CKN reference figures beside them.
 */
import { createSign, createVerify } from './node-ed25519.js'
import { measure, table, fmt } from './harness.js'
import type { Result } from './harness.js'
import { signEnvelope, verifyEnvelope, ReplayGuard, decodeEnvelope } from '../../src/envelope/index.js'
import type { JsonRpcMessage } from '../../src/envelope/index.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { candidateBackends, setBackend } from '../../src/crypto/signature.js'
import { createIdentity } from '../../src/identity/index.js'

/** CKN reference (Node 22, 1000 iterations), as published. */
export const CKN = {
  signMeanUs: 405, signP50Us: 291, verifyMeanUs: 268, verifyP50Us: 406, jsonEncodeUs: 0.55
}

const body: JsonRpcMessage = {
  jsonrpc: '2.0', id: 7, method: 'tools/call',
  params: { name: 'availability', arguments: { date: '2026-11-21', window: 'afternoon', postcode: 'SW1A 1AA', job: 'leaking kitchen tap' } }
}

export async function benchEnvelope (iterations: number): Promise<string> {
  const alice = await createIdentity({ kind: 'agent', seed: new Uint8Array(32).fill(1) })
  const bob = await createIdentity({ kind: 'agent', seed: new Uint8Array(32).fill(2) })
  const draft = { handle: 'alice', to: { handle: 'rapidplumb', peer: bob.peerIdString }, body }
  const sample = await signEnvelope(alice, draft)
  const inputs = await Promise.all(Array.from({ length: iterations }, async () => decodeEnvelope((await signEnvelope(alice, draft)).bytes)))
  const frames = inputs.map(d => d.bytes)

  const out: string[] = []
  out.push(`Envelope: ${sample.bytes.length} bytes on the wire (a tools/call request with handles on both sides), ${iterations} iterations each.`)

  // the floor: native Ed25519 on the very bytes an envelope signs
  const nodeSign = createSign(new Uint8Array(32).fill(1))
  const nodeVerify = createVerify(alice.publicKey)
  const floorSign = await measure('bare native Ed25519 sign (floor)', i => nodeSign(inputs[i]?.signingInput ?? new Uint8Array()), { iterations })
  const floorVerify = await measure('bare native Ed25519 verify (floor)', i => nodeVerify(inputs[i]?.signingInput ?? new Uint8Array(), inputs[i]?.signature ?? new Uint8Array()), { iterations })

  const results: Result[] = [floorSign, floorVerify]
  const ratios = new Map<string, string>([[floorSign.name, '1.00'], [floorVerify.name, '1.00']])
  for (const backend of candidateBackends()) {
    setBackend(backend)
    const id = await createIdentity({ kind: 'agent', seed: new Uint8Array(32).fill(1) })
    const n = backend.name === 'noble' ? Math.min(iterations, 500) : iterations
    const s = await measure(`envelope encode + sign (${backend.name})`, () => signEnvelope(id, draft), { iterations: n })
    const guard = new ReplayGuard({ capacity: iterations * 4 })
    const v = await measure(`envelope decode + verify (${backend.name})`, i => verifyEnvelope(frames[i] ?? new Uint8Array(), { expectedSigner: alice.peerIdString, self: { peer: bob.peerIdString, handles: ['rapidplumb'] }, replayGuard: guard }), { iterations: n, warmup: 0 })
    results.push(s, v)
    ratios.set(s.name, fmt(s.meanUs / floorSign.meanUs, 2))
    ratios.set(v.name, fmt(v.meanUs / floorVerify.meanUs, 2))
  }
  setBackend(undefined)
  const enc = await measure('JSON encode (canonicalize the body)', () => canonicalize(body), { iterations: iterations * 4 })
  results.push(enc)

  out.push('')
  out.push(table(results, r => [ratios.get(r.name) ?? '', cknFor(r)], ['× floor (mean)', 'CKN mean']))
  out.push('')
  const nodeS = results.find(r => r.name === 'envelope encode + sign (node)')
  const nodeV = results.find(r => r.name === 'envelope decode + verify (node)')
  if (nodeS !== undefined && nodeV !== undefined) {
    out.push(`Targets: full path ≤ 1.25× its floor — sign ${fmt(nodeS.meanUs / floorSign.meanUs, 2)}× ${nodeS.meanUs / floorSign.meanUs <= 1.25 ? 'met' : 'MISSED'}, verify ${fmt(nodeV.meanUs / floorVerify.meanUs, 2)}× ${nodeV.meanUs / floorVerify.meanUs <= 1.25 ? 'met' : 'MISSED'}; below the CKN means — sign ${fmt(nodeS.meanUs)} < ${CKN.signMeanUs} µs ${nodeS.meanUs < CKN.signMeanUs ? 'met' : 'MISSED'}, verify ${fmt(nodeV.meanUs)} < ${CKN.verifyMeanUs} µs ${nodeV.meanUs < CKN.verifyMeanUs ? 'met' : 'MISSED'}.`)
  }
  return out.join('\n')
}

function cknFor (r: Result): string {
  if (r.name.startsWith('envelope encode')) return `${CKN.signMeanUs} (p50 ${CKN.signP50Us})`
  if (r.name.startsWith('envelope decode')) return `${CKN.verifyMeanUs} (p50 ${CKN.verifyP50Us})`
  if (r.name.startsWith('JSON encode')) return `${CKN.jsonEncodeUs}`
  return ''
}

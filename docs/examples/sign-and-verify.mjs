// @ts-check
// Sign and verify an envelope between two identities: no network, no relay.
//   node sign-and-verify.mjs
import { createIdentity } from 'parley-mesh/identity'
import { signEnvelope, verifyEnvelope, ReplayGuard, EnvelopeError } from 'parley-mesh/envelope'

const alice = await createIdentity({ kind: 'agent' })
const bob = await createIdentity({ kind: 'human' })

const { bytes } = await signEnvelope(alice, {
  handle: 'alice',
  to: { peer: bob.peerIdString },
  body: { jsonrpc: '2.0', id: 1, method: 'ping' }
})

const guard = new ReplayGuard()
const { envelope } = await verifyEnvelope(bytes, {
  expectedSigner: alice.peerIdString, // the peer the connection authenticated
  self: { peer: bob.peerIdString },
  replayGuard: guard
})
console.log(envelope.body) // { jsonrpc: '2.0', id: 1, method: 'ping' }

try {
  await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, self: { peer: bob.peerIdString }, replayGuard: guard })
} catch (err) {
  if (!(err instanceof EnvelopeError)) throw err
  console.log(err.code) // 'ERR_REPLAYED': a second delivery of the same bytes is refused
}

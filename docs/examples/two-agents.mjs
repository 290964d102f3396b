// @ts-check
// Two agents talking through a relay: a plumber's agent registers @rapidplumb and serves one
// method; a personal assistant reaches it cold, by handle. Run it any number of times: each
// agent keeps its key in a data directory, so it renews its handle instead of losing it.
//   PARLEY_RELAY=$(head -1 .parley/relay/multiaddrs) node two-agents.mjs
import { createAgent } from 'parley-mesh'

const relay = process.env.PARLEY_RELAY // e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
if (relay === undefined) throw new Error('set PARLEY_RELAY to a relay address (npm start prints it)')

// a plumber's agent: registers @rapidplumb and serves one method; its key stays in dataDir,
// so the next run renews the handle (a new key would find it taken for a day)
const plumber = await createAgent({ handle: 'rapidplumb', dataDir: '.parley/rapidplumb', relays: [relay] })
plumber.handle('quote', (params, { caller }) => ({ job: params.job, price: 180, currency: 'GBP', for: caller.handle }))
await plumber.start()

// a personal assistant reaches it cold, by handle
const assistant = await createAgent({ handle: 'alices-assistant', dataDir: '.parley/alices-assistant', relays: [relay] })
await assistant.start()
const session = await assistant.connect('@rapidplumb')
console.log(session.remote) // { peer: '12D3KooW…', handle: 'rapidplumb', kind: 'agent' } (verified)
const quote = await session.request('quote', { job: 'leaking tap' })
console.log(quote) // { job: 'leaking tap', price: 180, currency: 'GBP', for: 'alices-assistant' }

await assistant.close()
await plumber.close()

// @ts-check
// Negotiate with a human in the loop: offers and counters are routine, accepting binds a
// person, so each side's policy asks its human unless they trust the other side for that
// amount. Here the buyer's human approves from code; `parley approve` or the dashboard do the
// same for a running agent.
//   PARLEY_RELAY=$(head -1 .parley/relay/multiaddrs) node negotiation.mjs
import { createAgent, verifyAgreement } from 'parley-mesh'

const relay = process.env.PARLEY_RELAY
if (relay === undefined) throw new Error('set PARLEY_RELAY to a relay address (npm start prints it)')
const seller = await createAgent({ handle: 'kettle-shop', dataDir: '.parley/kettle-shop', relays: [relay] })
const buyer = await createAgent({ handle: 'penny-buyer', dataDir: '.parley/penny-buyer', relays: [relay], policy: { amountThreshold: { value: 100, currency: 'GBP' } } })
await seller.start()
await buyer.start()
await seller.setTrust('@penny-buyer', 2, { limits: { maxAmount: 50, currency: 'GBP' } }) // the shop's human trusts this buyer up to £50

/** @type {Promise<import('parley-mesh').TransitionEvent>} */
const received = new Promise(resolve => seller.negotiations.addEventListener('transition', e => resolve(e.detail), { once: true }))
const { negotiation } = await buyer.propose('@kettle-shop', { subject: 'kettle', terms: { type: 'commerce.purchase', item: 'kettle', price: { value: 28, currency: 'GBP' } } })
const { transition: offer } = await received // the shop's agent sees the offer…
if (offer.type !== 'propose') throw new Error(`expected the offer, got ${offer.type}`)
await seller.negotiations.move(negotiation, 'counter', { terms: { ...offer.terms, price: { value: 26, currency: 'GBP' } } }) // …and counters

const move = await buyer.negotiations.move(negotiation, 'accept')
console.log(move.status) // 'held': the buyer does not trust the shop yet, so its human decides
const approval = buyer.pending().find(p => p.id === move.approval)
if (approval === undefined) throw new Error('nothing waits for the buyer\'s human')
console.log(approval.summary) // 'accept kettle with @kettle-shop: {…"price":{"currency":"GBP","value":26}…} (… needs the human's approval)'
await buyer.approve(approval.id) // signed by the buyer's key, bound to the held accept's hash; the accept goes out

const agreement = buyer.negotiations.agreement(negotiation)
console.log((await verifyAgreement(agreement)).terms.price) // { currency: 'GBP', value: 26 }: both signatures check offline

await buyer.close()
await seller.close()

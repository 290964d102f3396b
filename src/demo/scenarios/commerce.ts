/**
 * Commerce scenarios: book a plumber, request for quote, cheapest quote, and
 * a purchase over an approval threshold.
 */
import { verifyAgreement } from '../../negotiation/agreement.js'
import { checkSignature } from '../../negotiation/transition.js'
import type { Transition } from '../../negotiation/transition.js'
import { verifyDocument } from '../../store/verify-document.js'
import { infoRequestParams } from '../../methods/index.js'
import { decide, nextMove, sessionWith, settled } from '../scenario.js'
import { GBP, nineTurns, serveAssistant, servePlumber } from '../plumbing.js'
import { joinByVoice } from '../voice.js'
import type { Scenario } from '../scenario.js'


export const bookPlumber: Scenario = {
  name: 'book-plumber',
  summary: 'a personal assistant reaches @rapidplumb cold; nine turns settle slot, scope and price; £180 call-out, deposit to confirm, approved by both humans',
  async run (ctx) {
    const { mesh, say } = ctx
    const plumber = await mesh.agent({ handle: 'rapidplumb' })
    const assistant = await mesh.agent({ handle: 'alices-assistant' })
    servePlumber(plumber)
    serveAssistant(assistant)

    say('@alices-assistant reaches @rapidplumb cold, by handle (resolved through the DHT, session through the relay)')
    const open0 = ctx.transcript.elapsed()
    const session = await assistant.connect('@rapidplumb')
    const back = sessionWith(plumber, assistant.peerId)
    say(`session open in ${(ctx.transcript.elapsed() - open0).toFixed(1)} ms; @rapidplumb verified its caller: ${back.remote.kind} @${back.remote.handle ?? '-'}`)
    const t0 = performance.now()
    const id = await nineTurns(assistant, plumber, session, back)
    const nineTurnsMs = performance.now() - t0
    const offer = assistant.negotiations.get(id)?.offer
    say(`nine turns in ${nineTurnsMs.toFixed(1)} ms; on the table: £${String((offer?.terms.price as { value?: number } | undefined)?.value)} call-out, deposit £20 to confirm (by @rapidplumb)`)

    // the assistant's agent would accept; accepting binds Alice, so her human is asked
    const held = await assistant.negotiations.move(id, 'accept')
    say(`@alices-assistant's accept is ${held.status} for Alice`)
    await decide(ctx, assistant)
    // the plumber's agent receives the accept; confirming a job binds the plumber: its human is
    // asked, and comes onto the session by voice to confirm while on the line
    const line = await joinByVoice(ctx, plumber, back, assistant, '@rapidplumb\'s human')
    await decide(ctx, plumber)
    await line.leave()
    const mine = await settled(assistant, id)
    const theirs = await settled(plumber, id)
    const agreement = assistant.negotiations.agreement(id)
    const verified = await verifyAgreement(JSON.parse(JSON.stringify(agreement)))
    say(`agreement verified offline: ${verified.offeredBy === plumber.peerId ? '@rapidplumb' : '?'} offered, ${verified.acceptedBy === assistant.peerId ? '@alices-assistant' : '?'} accepted, terms hash ${verified.termsHash.slice(0, 16)}…`)
    return {
      facts: [
        `nine automated turns: ${nineTurnsMs.toFixed(1)} ms`,
        `state: ${mine.state} at both ends (${JSON.stringify(mine.toJSON()) === JSON.stringify(theirs.toJSON()) ? 'identical' : 'DIFFERENT'})`,
        `terms: ${JSON.stringify(verified.terms)}`,
        `signatures checked on receipt: ${ctx.transcript.verified} envelopes ✓, ${ctx.transcript.refused} refused`,
        `the plumber on the line by voice (${line.codec}, open in ${line.openMs.toFixed(0)} ms): heard ${(100 * line.humanHeard).toFixed(0)} %, was heard ${(100 * line.agentHeard).toFixed(0)} %; confirmed while on the line`
      ],
      voice: { openMs: line.openMs, codec: line.codec, agentHeard: line.agentHeard, humanHeard: line.humanHeard, parties: line.parties },
      nineTurnsMs,
      state: [mine.state, theirs.state],
      identical: JSON.stringify(mine.toJSON()) === JSON.stringify(theirs.toJSON()),
      terms: verified.terms,
      agreement,
      callerKind: back.remote.kind,
      approvals: [assistant.desk.approvals.list().length, plumber.desk.approvals.list().length]
    }
  }
}

export const rfq: Scenario = {
  name: 'rfq',
  summary: 'a procurement agent and a supplier agent, neither with a public address, exchange a signed RFQ and a signed quote; each log holds the other\'s signature',
  async run (ctx) {
    const { mesh, say } = ctx
    const buyer = await mesh.agent({ handle: 'acme-procurement' })
    const supplier = await mesh.agent({ handle: 'bolt-supplies' })
    const listening = [...buyer.libp2p.getMultiaddrs(), ...supplier.libp2p.getMultiaddrs()].map(a => a.toString())
    say(`listen addresses: ${listening.every(a => a.includes('/p2p-circuit')) ? 'only relay circuits (and WebRTC through them)' : listening.join(' ')}`)
    const quoteReady = nextMove(supplier)
    const rfqMove = await buyer.propose('@bolt-supplies', { subject: 'RFQ: M8 hex bolts', terms: { type: 'commerce.quote', item: 'M8x40 hex bolt, A2 stainless', quantity: 5000, deliverBy: '2026-12-05' } })
    const id = rfqMove.negotiation
    await quoteReady
    await supplier.negotiations.move(id, 'counter', { terms: { type: 'commerce.quote', item: 'M8x40 hex bolt, A2 stainless', quantity: 5000, price: { value: 0.12, currency: 'GBP' }, total: { value: 600, currency: 'GBP' }, validUntil: '2026-11-28' } })
    const n = buyer.negotiations.get(id)
    const [buyerLog, supplierLog] = await Promise.all([buyer.exportLog(), supplier.exportLog()])
    const theirs = (log: typeof buyerLog, peer: string): Transition[] => log.entries
      .map(e => e.data.transition as Transition | undefined)
      .filter((t): t is Transition => t !== undefined && t.by === peer)
    const inBuyer = theirs(buyerLog, supplier.peerId)
    const inSupplier = theirs(supplierLog, buyer.peerId)
    for (const t of [...inBuyer, ...inSupplier]) await checkSignature(t)
    const reports = [await verifyDocument(JSON.parse(JSON.stringify(buyerLog))), await verifyDocument(JSON.parse(JSON.stringify(supplierLog)))]
    say(`@acme-procurement's log holds @bolt-supplies' signed quote (${inBuyer.map(t => t.type).join(', ')}); @bolt-supplies' log holds the signed RFQ (${inSupplier.map(t => t.type).join(', ')}); both logs verify`)
    return {
      facts: [
        `quote: ${JSON.stringify(n?.offer.terms)}`,
        ...reports.flatMap(r => r.lines)
      ],
      state: n?.state,
      quote: n?.offer.terms,
      supplierTransitionsInBuyerLog: inBuyer.length,
      buyerTransitionsInSupplierLog: inSupplier.length,
      logs: [buyerLog, supplierLog],
      onlyCircuits: listening.every(a => a.includes('/p2p-circuit'))
    }
  }
}

export const cheapestQuote: Scenario = {
  name: 'cheapest-quote',
  summary: 'a buyer asks two merchants (£28 and £32) for a quote and buys from the cheaper',
  async run (ctx) {
    const { mesh, say } = ctx
    const buyer = await mesh.agent({ handle: 'penny-buyer' })
    const merchants = [await mesh.agent({ handle: 'kettle-king' }), await mesh.agent({ handle: 'brew-depot' })]
    const prices = [32, 28]
    for (const [i, m] of merchants.entries()) {
      m.handle('info/request', (params) => {
        const { topic } = infoRequestParams(params)
        return { topic, data: { item: 'kettle, 1.7 l', price: GBP(prices[i] as number), stock: 12 }, source: `@${m.handleName ?? ''}` }
      })
      // a merchant accepts purchases at its own price from anyone (a routine sale)
      m.negotiations.addEventListener('transition', (e) => {
        const { negotiation, transition, by } = e.detail
        if (by === 'remote' && transition.type === 'propose' && (transition.terms.price as { value?: number } | undefined)?.value === prices[i]) {
          void m.negotiations.move(negotiation.id, 'accept').catch(() => {})
        }
      })
      await m.setTrust(buyer.peerId, 2, { limits: { maxAmount: 100, currency: 'GBP' } })
    }
    const quotes = await Promise.all(merchants.map(async m => {
      const s = await buyer.connect(`@${m.handleName ?? ''}`)
      const q = await s.request('info/request', { topic: 'quote', context: { item: 'kettle, 1.7 l' } }) as { data: { price: { value: number } } }
      return { merchant: `@${m.handleName ?? ''}`, price: q.data.price.value }
    }))
    const best = quotes.reduce((a, b) => b.price < a.price ? b : a)
    say(`quotes: ${quotes.map(q => `${q.merchant} £${q.price}`).join(', ')}; buying from ${best.merchant}`)
    // the buyer's human lets its agent buy from the cheaper merchant without asking again, up to £50
    await buyer.setTrust(best.merchant, 2, { limits: { maxAmount: 50, currency: 'GBP' } })
    const move = await buyer.propose(best.merchant, { subject: 'kettle purchase', terms: { type: 'commerce.purchase', item: 'kettle, 1.7 l', quantity: 1, price: GBP(best.price) } })
    const n = await settled(buyer, move.negotiation)
    return {
      facts: [`bought from ${best.merchant} at £${best.price}: ${n.state}`],
      quotes,
      chosen: best.merchant,
      price: best.price,
      state: n.state
    }
  }
}

export const approvalThreshold: Scenario = {
  name: 'approval-threshold',
  summary: 'a £500 purchase exceeds the buyer\'s £100 threshold and waits for a human: approval lets it through, rejection stops it',
  async run (ctx) {
    const { mesh, say } = ctx
    const buyer = await mesh.agent({ handle: 'office-buyer', policy: { amountThreshold: GBP(100) } })
    const merchant = await mesh.agent({ handle: 'desk-world' })
    // the buyer trusts this merchant for routine purchases up to £1000; the node's £100 threshold still applies
    await buyer.setTrust('@desk-world', 2, { limits: { maxAmount: 1000, currency: 'GBP' } })
    await merchant.setTrust('@office-buyer', 2, { limits: { maxAmount: 10_000, currency: 'GBP' } })
    const results: Array<{ item: string, price: number, decision: string, state: string, held: string }> = []
    const plan = [['monitor arm', 45, 'approve'], ['standing desk', 500, 'approve'], ['standing desk', 500, 'reject']] as const
    for (const [item, price, answer] of plan) {
      const offer = nextMove(buyer)
      await merchant.propose('@office-buyer', { subject: `${item} order`, terms: { type: 'commerce.purchase', item, quantity: 1, price: GBP(price) } })
      const { negotiation } = await offer
      const move = await buyer.negotiations.move(negotiation.id, 'accept')
      let decision = 'automatic'
      if (move.status === 'held') decision = (await decide(ctx, buyer, answer)).decision
      const n = await settled(buyer, negotiation.id)
      say(`${item} at £${price}: accept ${move.status === 'held' ? 'held for the human' : 'sent at once'}, ${decision} → ${n.state}`)
      results.push({ item, price, decision, state: n.state, held: move.status })
    }
    return {
      facts: results.map(r => `£${r.price} ${r.item}: ${r.held === 'held' ? `waited for the human (${r.decision})` : 'within limits, automatic'} → ${r.state}`),
      results
    }
  }
}

export const commerceScenarios: Scenario[] = [bookPlumber, rfq, cheapestQuote, approvalThreshold]

/**
 * Shared by the negotiation tests: the fixed keys, a way to read the code a
 * promise fails with, and a deep snapshot of a negotiation's state.
 */
import { expect } from 'chai'
import type { Negotiation } from '../../src/negotiation/index.js'
import { testKey } from '../vectors/keys.js'

export const alice = testKey('alice')
export const bob = testKey('bob')
export const mallory = testKey('mallory')

/** 'ok' when `p` resolves, else the NegotiationError code it rejects with. */
export async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (err) {
    expect(err, String(err)).to.have.property('name', 'NegotiationError')
    return (err as { code: string }).code
  }
}

/** A deep, detached copy of everything a negotiation holds. */
export function snapshot (n: Negotiation): unknown {
  return JSON.parse(JSON.stringify({ json: n.toJSON(), lastHash: n.lastHash, terminal: n.terminal }))
}

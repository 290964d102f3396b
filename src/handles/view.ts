/**
 * A handle record as a node shows it (the dashboard's handle directory, a
 * relay's DHT store): the record's claims and whether it validated when it
 * was looked at. No imports: the dashboard page's own type check reads it.
 */

/** A handle record the node holds (relay: its DHT store) or resolved (agent). */
export interface HandleView {
  /** The handle, without `@`. */
  handle: string
  /** The holder's peer id. */
  peer: string
  /** The kind the record names. */
  kind: 'agent' | 'human'
  /** Record expiry, ms since the Unix epoch. */
  expires: number
  /** The record's sequence number. */
  seq: number
  /** The record validated now: signature, proof of work, expiry. */
  verified: boolean
  /** Why it did not validate (error code), when `verified` is false. */
  reason?: string
}

import type { CounterGroup } from '@libp2p/interface'

/**
 * Counts events by label. Created before libp2p exists (gaters and datastore
 * hooks need it first) and attached to a metrics counter group once it does.
 */
export class Tally {
  /** The count of each label seen. */
  readonly counts = new Map<string, number>()
  #sink: CounterGroup | undefined

  /** Counts `n` (default 1) more of `label`. */
  add (label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n)
    this.#sink?.increment({ [label]: n })
  }

  /** The count of `label` (0 if never seen). */
  get (label: string): number {
    return this.counts.get(label) ?? 0
  }

  /** Sends this tally's counts, past and future, to `sink`. */
  attach (sink: CounterGroup | undefined): void {
    this.#sink = sink
    for (const [label, n] of this.counts) sink?.increment({ [label]: n })
  }
}

/**
 * Resolution across DHT servers (protocols/handle-record §15): which record a
 * resolver believes when the servers it trusts answer a handle lookup.
 *
 * One server's answer is not enough to trust: a DHT server that does not
 * apply first come, first served (§9), or a rogue one, can answer with a
 * record of its own. A resolver therefore takes answers only from servers it
 * trusts (an agent: its relays), validates each (§7), and then
 * {@link chooseRecord} picks among them: records of one owner, or linked by
 * rotations, form a lineage; the lineage that most servers answered with
 * wins, a tie between lineages is a conflict, and within the winning lineage
 * succession (§9) decides which record is current.
 *
 * @example
 * ```ts
 * import { chooseRecord } from 'parley-mesh/handles'
 * import type { HandleRecordJson } from 'parley-mesh/handles'
 *
 * declare const fromRelayA: HandleRecordJson
 * declare const fromRelayB: HandleRecordJson
 * const choice = chooseRecord([{ server: 'relay-a', record: fromRelayA }, { server: 'relay-b', record: fromRelayB }], Date.now())
 * if (choice.record !== undefined) console.log(choice.record.peer, 'answered by', choice.servers)
 * ```
 */
import { HandleRecordErrorCode } from '../errors.js'
import type { HandleRecordJson } from './record.js'
import { succession } from './record.js'

/** One trusted server's validated answer. */
export interface ServerAnswer<R extends HandleRecordJson = HandleRecordJson> {
  /** The server that answered (its peer id). */
  readonly server: string
  /** Its record, already validated (§7) against the handle's key. */
  readonly record: R
}

/** What {@link chooseRecord} decided. */
export interface ResolutionChoice<R extends HandleRecordJson = HandleRecordJson> {
  /** The current record, unless `code` says why there is none. */
  readonly record?: R
  /** The servers whose answers belong to the chosen record's lineage. */
  readonly servers: readonly string[]
  /** `ERR_NOT_FOUND` (no unexpired answer) or `ERR_HANDLE_CONFLICT` (lineages tied). */
  readonly code?: typeof HandleRecordErrorCode.NOT_FOUND | typeof HandleRecordErrorCode.HANDLE_CONFLICT
}

/**
 * Picks the record to believe among trusted servers' answers at `now`:
 *
 * 1. answers that have expired (`expires <= now`) are dropped, and a server
 *    counts once (its first answer);
 * 2. keys linked by a rotation (`rotation.prev`) in any answer form one
 *    lineage with the key they name;
 * 3. the lineage answered by the most servers wins; a tie between two or
 *    more lineages is `ERR_HANDLE_CONFLICT`, no answer `ERR_NOT_FOUND`;
 * 4. the winning lineage's records, in ascending `seq` (ties: later
 *    `expires` last), are applied in turn by succession (§9) from the first:
 *    the last one accepted is the current record. A record of an earlier
 *    key after its hand-over is refused there, as the servers refuse it.
 */
export function chooseRecord<R extends HandleRecordJson> (answers: ReadonlyArray<ServerAnswer<R>>, now: number): ResolutionChoice<R> {
  const byServer = new Map<string, R>()
  for (const a of answers) {
    if (a.record.expires > now && !byServer.has(a.server)) byServer.set(a.server, a.record)
  }
  if (byServer.size === 0) return { servers: [], code: HandleRecordErrorCode.NOT_FOUND }

  // lineages: union of each key with the key its rotation names
  const parent = new Map<string, string>()
  const find = (k: string): string => {
    let root = k
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root) as string
    parent.set(k, root)
    return root
  }
  const union = (a: string, b: string): void => {
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb)
  }
  for (const r of byServer.values()) {
    find(r.peer)
    if (r.rotation !== undefined) union(r.peer, r.rotation.prev)
  }

  const support = new Map<string, string[]>()
  for (const [server, r] of byServer) {
    const lineage = find(r.peer)
    support.set(lineage, [...(support.get(lineage) ?? []), server])
  }
  const ranked = [...support.entries()].sort((x, y) => y[1].length - x[1].length)
  const [best, second] = ranked
  if (best === undefined) return { servers: [], code: HandleRecordErrorCode.NOT_FOUND }
  if (second !== undefined && second[1].length === best[1].length) {
    return { servers: [...best[1], ...second[1]].sort(), code: HandleRecordErrorCode.HANDLE_CONFLICT }
  }

  const candidates = [...byServer.values()]
    .filter(r => find(r.peer) === best[0])
    .sort((x, y) => (x.seq - y.seq) || (x.expires - y.expires))
  let current: R | undefined
  for (const r of candidates) {
    try {
      if (succession(current, r, now) === 'accept') current = r
    } catch {
      // another key's record that the current holder did not hand over to: refused (§9)
    }
  }
  return { record: current as R, servers: best[1].slice().sort() }
}

/**
 * Shared machinery of the decoder fuzz specs (test/fuzz/*.spec.ts).
 *
 * Budget: every property runs {@link runs}`(n)` times: `n` by default (small
 * enough for the whole fuzz suite to take well under 20 s in `npm test`), or
 * `PARLEY_FUZZ_RUNS` times when that is set, e.g.
 *
 *     PARLEY_FUZZ_RUNS=20000 PARLEY_FUZZ_SEED=42 node_modules/node/bin/node node_modules/mocha/bin/mocha.js \
 *       --no-config --timeout 0 --exit 'dist/test/fuzz/*.spec.js'
 *
 * `PARLEY_FUZZ_SEED` fixes fast-check's seed; on failure fast-check's error
 * message gives the seed and the counterexample's path, which replay it.
 * Failures are reported unshrunk (shrinking the chained mutations can take
 * minutes); `PARLEY_FUZZ_SHRINK=1` shrinks them.
 *
 * Every spec asserts, per decoder: anything thrown is the module's typed
 * error (a `ParleyError` subclass with a documented `code`, or a verdict
 * where the decoder returns one); no call takes a second; mutations of the
 * valid protocol vectors are refused, or accepted as exactly the original
 * (no mutation yields a valid signature by someone else).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { ParleyError } from '../../src/errors.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'

const envRuns = Number.parseInt(process.env.PARLEY_FUZZ_RUNS ?? '', 10)
const envSeed = Number.parseInt(process.env.PARLEY_FUZZ_SEED ?? '', 10)

/** True when `PARLEY_FUZZ_RUNS` asks for a longer run (specs then lift mocha's timeout). */
export const LONG_RUN = Number.isSafeInteger(envRuns) && envRuns > 0

/** Runs per property: `PARLEY_FUZZ_RUNS` when set, else `defaultRuns`. */
export function runs (defaultRuns: number): number {
  return LONG_RUN ? envRuns : defaultRuns
}

/** fast-check parameters for a property whose default budget is `defaultRuns`. */
export function params<T = unknown> (defaultRuns: number): fc.Parameters<T> {
  return {
    numRuns: runs(defaultRuns),
    ...(Number.isSafeInteger(envSeed) ? { seed: envSeed } : {}),
    // report the first counterexample with its seed and path: shrinking the chained mutation
    // arbitraries can take minutes (set PARLEY_FUZZ_SHRINK=1 to shrink anyway)
    endOnFailure: process.env.PARLEY_FUZZ_SHRINK !== '1'
  }
}

/** Mocha timeout for a fuzz `describe`: generous by default, none for a long run. */
export const TIMEOUT = LONG_RUN ? 0 : 60_000

/** No single decoder call may take longer than this (ms). */
export const CALL_LIMIT_MS = 1000

/** What a decoder call gave: its value, or the typed error's code. */
export type Outcome<T> = { ok: true, value: T } | { ok: false, code: string, error: ParleyError }

/**
 * Runs `fn` and classifies the result. Anything thrown must be a
 * {@link ParleyError} named `name` whose `code` is one of `codes`; the
 * call must return within {@link CALL_LIMIT_MS}.
 */
export async function outcome<T> (fn: () => T | Promise<T>, name: string, codes: readonly string[]): Promise<Outcome<T>> {
  const start = performance.now()
  let result: Outcome<T>
  try {
    result = { ok: true, value: await fn() }
  } catch (err) {
    expectTyped(err, name, codes)
    result = { ok: false, code: (err as ParleyError).code, error: err as ParleyError }
  }
  const ms = performance.now() - start
  expect(ms, `one call took ${ms.toFixed(0)} ms`).to.be.below(CALL_LIMIT_MS)
  return result
}

/** Asserts that `err` is a typed Parley error: class `name`, a `code` among `codes`. */
export function expectTyped (err: unknown, name: string, codes: readonly string[]): void {
  if (!(err instanceof ParleyError)) {
    const e = err as { name?: string, message?: string, stack?: string }
    expect.fail(`untyped throw: ${e?.name ?? typeof err}: ${e?.message ?? String(err)}\n${e?.stack ?? ''}`)
  }
  expect(err.name, err.message).to.equal(name)
  expect(codes, `${err.name} ${err.code}: ${err.message}`).to.include(err.code)
}

/** Times `fn` (a large explicit case) and asserts it returned or threw within {@link CALL_LIMIT_MS}. */
export async function withinLimit<T> (fn: () => T | Promise<T>): Promise<T | undefined> {
  const start = performance.now()
  let value: T | undefined
  try {
    value = await fn()
  } finally {
    const ms = performance.now() - start
    expect(ms, `the call took ${ms.toFixed(0)} ms`).to.be.below(CALL_LIMIT_MS)
  }
  return value
}

export const encoder = new TextEncoder()
export const utf8 = (s: string): Uint8Array => encoder.encode(s)
export const latin = (b: Uint8Array): string => new TextDecoder('utf-8').decode(b)

// ---------------------------------------------------------------------------
// Arbitrary input

/** Strings of any UTF-16 code units, lone surrogates included. */
export const anyString = (maxLength = 64): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/** Anything a network peer can send as bytes: random bytes, random text, random JSON. */
export function junkBytes (maxLength = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength }),
    anyString(maxLength).map(utf8),
    fc.jsonValue({ maxDepth: 4 }).map(v => utf8(JSON.stringify(v) ?? 'null')),
    fc.jsonValue({ maxDepth: 4 }).map(v => utf8(canonicalOr(v)))
  )
}

/** Canonical JSON of `v`, or `JSON.stringify` where it has none. */
export function canonicalOr (v: unknown): string {
  try {
    return canonicalize(v)
  } catch {
    return JSON.stringify(v) ?? 'null'
  }
}

// ---------------------------------------------------------------------------
// Structured mutations of valid input

type Path = Array<string | number>

/** Every path in a JSON value, the root (`[]`) included. */
export function pathsOf (value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix)
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out))
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out)
  return out
}

function clone<T> (v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function getAt (root: unknown, path: Path): unknown {
  let v = root
  for (const p of path) v = (v as Record<string | number, unknown>)[p]
  return v
}

/** Returns a copy of `root` with the value at `path` replaced (`undefined`: removed). */
function setAt (root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value
  const copy = clone(root)
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown> | unknown[]
  const last = path[path.length - 1] as string | number
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1)
    else delete parent[last]
  } else if (Array.isArray(parent)) {
    parent[last as number] = value
  } else {
    Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true })
  }
  return copy
}

/** Values that probe edges: numbers at and past the safe range, odd strings, empty containers. */
const edgeValue: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(
  0, -0, -1, 0.5, 1e21, 1e-7, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 8.64e15 + 1, 1.7976931348623157e308, 5e-324,
  '', '\ud800', '\udfff', 'a\u0000b', '\u2028', '\ufeff', 'x'.repeat(300), '12D3KooW', '__proto__', 'constructor',
  [], {}, null, true, false, [[[[[]]]]], { __proto__: null }, { constructor: 1 }
)

/** A JSON value to put somewhere: arbitrary JSON, an edge value, or a string of any code units. */
export const someValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: edgeValue },
  { weight: 1, arbitrary: anyString(40) }
)

/** Nests `v` in `depth` arrays or objects. */
export function nest (v: unknown, depth: number, kind: 'array' | 'object'): unknown {
  let out = v
  for (let i = 0; i < depth; i++) out = kind === 'array' ? [out] : { a: out }
  return out
}

/**
 * One structural change to a JSON value: replace a value (anywhere) by
 * another, remove a member or item, add a member (often a known name),
 * or nest a value deeply.
 */
export function mutateValue (value: unknown, names: readonly string[] = []): fc.Arbitrary<unknown> {
  const paths = pathsOf(value)
  const path = fc.nat(paths.length - 1).map(i => paths[i] as Path)
  // (not path.filter(…): a primitive has no inner path, and the filter would never be satisfied)
  const inner = paths.length > 1 ? fc.nat(paths.length - 2).map(i => paths[i + 1] as Path) : fc.constant(undefined)
  const name = fc.oneof(fc.constantFrom(...names, 'sig', 'v', 'x'), anyString(8))
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(path, someValue).map(([p, v]) => setAt(value, p, v)) },
    { weight: 2, arbitrary: inner.map(p => p === undefined ? value : setAt(value, p, undefined)) },
    {
      weight: 2,
      arbitrary: fc.tuple(path, name, someValue).map(([p, k, v]) => {
        const target = getAt(value, p)
        if (typeof target !== 'object' || target === null || Array.isArray(target)) return setAt(value, p, v)
        return setAt(value, [...p, k], v)
      })
    },
    { weight: 1, arbitrary: fc.tuple(path, fc.integer({ min: 1, max: 300 }), fc.constantFrom('array' as const, 'object' as const)).map(([p, d, k]) => setAt(value, p, nest(getAt(value, p), d, k))) }
  )
}

/** `value` serialized with one object member written twice (the injected one first or last). */
export function withDuplicate (value: unknown, names: readonly string[] = []): fc.Arbitrary<string> {
  const objects = pathsOf(value).filter(p => { const v = getAt(value, p); return typeof v === 'object' && v !== null && !Array.isArray(v) })
  if (objects.length === 0) return fc.constant(JSON.stringify(value))
  return fc.tuple(fc.nat(objects.length - 1), fc.oneof(fc.constantFrom(...names, 'v', 'sig'), anyString(6)), someValue, fc.boolean()).map(([i, key, extra, first]) => {
    const target = getAt(value, objects[i] as Path)
    const write = (v: unknown): string => {
      if (Array.isArray(v)) return '[' + v.map(write).join(',') + ']'
      if (typeof v === 'object' && v !== null) {
        const members = Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + write((v as Record<string, unknown>)[k]))
        if (v === target) {
          const existing = Object.keys(v)
          const k = existing.length > 0 && first ? existing[0] as string : key
          const dup = JSON.stringify(k) + ':' + (JSON.stringify(extra) ?? 'null')
          if (first) members.unshift(dup)
          else members.push(dup)
        }
        return '{' + members.join(',') + '}'
      }
      return JSON.stringify(v) ?? 'null'
    }
    return write(value)
  })
}

/** Serializations of a (mutated) value: canonical where it has one, insertion order, or indented. */
export function serialize (value: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(canonicalOr(value)) },
    { weight: 1, arbitrary: fc.constant(JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: fc.constant(JSON.stringify(value, null, 1) ?? 'null') }
  )
}

/** Text edits: insert text, remove a span, escape a character, truncate. */
export function mutateText (text: string): fc.Arbitrary<string> {
  const at = fc.nat(text.length)
  return fc.oneof(
    fc.tuple(at, fc.oneof(anyString(6), fc.constantFrom(' ', '\n', ',', '"', '\\', '{', '}', '[', ']', ':', '0', '\ufeff'))).map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    fc.tuple(at, fc.integer({ min: 1, max: 8 })).map(([i, n]) => text.slice(0, i) + text.slice(i + n)),
    at.map(i => {
      const c = text.charCodeAt(i)
      if (Number.isNaN(c)) return text
      return text.slice(0, i) + '\\u' + c.toString(16).padStart(4, '0') + text.slice(i + 1)
    }),
    at.map(i => text.slice(0, i))
  )
}

type ByteEdit = { kind: 'flip', at: number, mask: number } | { kind: 'cut', at: number } | { kind: 'insert', at: number, bytes: Uint8Array } | { kind: 'delete', at: number, n: number }

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }) }
)

function applyEdit (b: Uint8Array, e: ByteEdit): Uint8Array {
  const at = b.length === 0 ? 0 : e.at % (b.length + 1)
  switch (e.kind) {
    case 'flip': {
      if (b.length === 0) return b
      const out = b.slice()
      const i = e.at % b.length
      out[i] = (out[i] as number) ^ e.mask
      return out
    }
    case 'cut': return b.slice(0, at)
    case 'insert': {
      const out = new Uint8Array(b.length + e.bytes.length)
      out.set(b.subarray(0, at), 0)
      out.set(e.bytes, at)
      out.set(b.subarray(at), at + e.bytes.length)
      return out
    }
    case 'delete': {
      const out = new Uint8Array(Math.max(0, b.length - Math.min(e.n, b.length - at)))
      out.set(b.subarray(0, at), 0)
      out.set(b.subarray(at + e.n), at)
      return out
    }
  }
}

/** One to four byte edits: flip bits, truncate, insert, delete. */
export function mutateBytes (bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(byteEdit, { minLength: 1, maxLength: 4 }).map(edits => edits.reduce(applyEdit, bytes))
}

/**
 * Mutations of a valid JSON text, as bytes: a structural change of its value
 * (serialized canonically or not), a duplicated member, a text edit, or byte
 * edits, sometimes after a structural change.
 */
export function mutatedJsonBytes (text: string, names: readonly string[] = []): fc.Arbitrary<Uint8Array> {
  const value = JSON.parse(text) as unknown
  const bytes = utf8(text)
  return fc.oneof(
    { weight: 5, arbitrary: mutateValue(value, names).chain(serialize).map(utf8) },
    { weight: 1, arbitrary: withDuplicate(value, names).map(utf8) },
    { weight: 2, arbitrary: mutateText(text).map(utf8) },
    { weight: 2, arbitrary: mutateBytes(bytes) },
    { weight: 1, arbitrary: mutateValue(value, names).map(v => utf8(canonicalOr(v))).chain(mutateBytes) }
  )
}

/** Mutations of a valid JSON value, as values (for decoders that take parsed JSON). */
export function mutatedJsonValues (value: unknown, names: readonly string[] = []): fc.Arbitrary<unknown> {
  const text = JSON.stringify(value)
  return fc.oneof(
    { weight: 6, arbitrary: mutateValue(value, names) },
    { weight: 1, arbitrary: mutateValue(value, names).chain(v => mutateValue(v, names)) },
    { weight: 1, arbitrary: withDuplicate(value, names).map(t => JSON.parse(t) as unknown) },
    {
      weight: 1,
      arbitrary: mutateText(text).map(t => {
        try { return JSON.parse(t) as unknown } catch { return t }
      })
    }
  )
}

/** Splits `bytes` into chunks at arbitrary points (some empty). */
export function chunkings (bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  return fc.array(fc.nat(bytes.length), { maxLength: 12 }).map(cuts => {
    const points = [0, ...cuts.sort((a, b) => a - b), bytes.length]
    const out: Uint8Array[] = []
    for (let i = 1; i < points.length; i++) out.push(bytes.slice(points[i - 1], points[i]))
    return out
  })
}

/** `text` as a deeply nested JSON array: `[[[…x…]]]`. */
export function deepArrayText (depth: number, inner = '1'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth)
}

/** `text` as a deeply nested JSON object: `{"a":{"a":…}}`. */
export function deepObjectText (depth: number, inner = '1'): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth)
}

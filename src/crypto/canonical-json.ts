/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * JCS defines a unique text for every JSON value: object members sorted by
 * the UTF-16 code units of their names, no insignificant whitespace, strings
 * escaped as ECMAScript `JSON.stringify` escapes them, and numbers written as
 * ECMAScript writes a double. ECMAScript's own serializers therefore produce
 * JCS for every primitive, which makes this implementation short and fast:
 * only member ordering and the refusal of non-JSON input are ours.
 *
 * Inputs are refused (with {@link CanonicalJsonError}) when they cannot be
 * I-JSON (RFC 7493): non-finite numbers, strings or names with lone
 * surrogates, values that are not plain JSON data, or nesting deeper than
 * {@link MAX_DEPTH}. Members whose value is `undefined` are omitted, as
 * `JSON.stringify` omits them.
 */
import { ParleyError } from '../errors.js'

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
/** A JSON object. */
export interface JsonObject { [key: string]: JsonValue | undefined }

/** Deepest nesting of arrays and objects accepted. */
export const MAX_DEPTH = 64

/** Thrown for input that has no canonical JSON form. */
export class CanonicalJsonError extends ParleyError<'ERR_NOT_CANONICALIZABLE'> {
  static override readonly name = 'CanonicalJsonError'
  constructor (message: string) {
    super('ERR_NOT_CANONICALIZABLE', message)
  }
}

/** Returns the RFC 8785 canonical text of `value`. */
export function canonicalize (value: unknown): string {
  // Values whose members are already in canonical order at every depth (anything
  // JSON.parse returns from canonical text, for one) serialize exactly as
  // JSON.stringify writes them, which is native and three times faster.
  return inCanonicalOrder(value, 0) ? JSON.stringify(value) : write(value, 0)
}

/**
 * True when `JSON.stringify(value)` is already canonical: plain JSON data,
 * finite numbers, well-formed strings, no `undefined`, and object members
 * enumerated in code-unit order (integer-like names, which engines enumerate
 * first, fail the order test unless they happen to sort, and take the slow path).
 */
function inCanonicalOrder (value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string': return value.isWellFormed()
    case 'number': return Number.isFinite(value)
    case 'boolean': return true
    case 'object': {
      if (value === null) return true
      if (depth >= MAX_DEPTH) return false
      if (Array.isArray(value)) {
        for (const item of value) if (!inCanonicalOrder(item, depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      let previous: string | undefined
      for (const key in value) {
        if (previous !== undefined && !(previous < key)) return false
        if (!key.isWellFormed() || !inCanonicalOrder((value as Record<string, unknown>)[key], depth + 1)) return false
        previous = key
      }
      return true
    }
    default: return false
  }
}

function str (s: string): string {
  if (!s.isWellFormed()) throw new CanonicalJsonError('string contains a lone surrogate')
  return JSON.stringify(s)
}

/** Member names repeat from message to message (`jsonrpc`, `method`, `params`…): their JSON text is kept. */
const names = new Map<string, string>()

function name (s: string): string {
  let text = names.get(s)
  if (text === undefined) {
    text = str(s)
    if (names.size < 4096 && s.length <= 64) names.set(s, text)
  }
  return text
}

function write (value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return str(value)
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('number is not finite')
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object': {
      if (value === null) return 'null'
      if (depth >= MAX_DEPTH) throw new CanonicalJsonError(`nesting deeper than ${MAX_DEPTH}`)
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ','
          const item: unknown = value[i]
          // JSON.stringify writes null for undefined array items; JSON data never has them
          if (item === undefined) throw new CanonicalJsonError('array item is undefined')
          out += write(item, depth + 1)
        }
        return out + ']'
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError('value is not a plain JSON object')
      }
      const obj = value as Record<string, unknown>
      const keys = Object.keys(obj).sort()
      let out = '{'
      let first = true
      for (const key of keys) {
        const member = obj[key]
        if (member === undefined) continue
        if (!first) out += ','
        first = false
        out += name(key) + ':' + write(member, depth + 1)
      }
      return out + '}'
    }
    default:
      throw new CanonicalJsonError(`${typeof value} is not JSON`)
  }
}

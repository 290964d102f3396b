/**
 * Handles: `@name` → handle record in the DHT (`protocols/handle-record`).
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { HandleRecordError, HandleRecordErrorCode, ParleyError } from '../errors.js'
export * from './record.js'
export * from './pow.js'
export * from './resolution.js'
export * from './lookup.js'
export * from './card.js'

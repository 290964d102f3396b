/**
 * Handles: `@name` → handle record in the DHT (`protocols/handle-record`).
 *
 * @packageDocumentation
 */
export * from './record.js'
export * from './pow.js'

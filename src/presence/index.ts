/**
 * Presence: signed announcements of who is on the mesh, on gossipsub
 * (`protocols/presence`).
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export * from './announcement.js'
export * from './presence.js'
export * from './scoring.js'

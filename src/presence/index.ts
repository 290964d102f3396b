/**
 * Presence: signed announcements of who is on the mesh, on gossipsub
 * (`protocols/presence`).
 *
 * @packageDocumentation
 */
export * from './announcement.js'
export * from './presence.js'

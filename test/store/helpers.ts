/**
 * Datastores for the store tests: a LevelDB one in a temporary directory
 * (for restarts), and a memory one that counts writes and can be told to fail.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Batch, Key } from 'interface-datastore'

/** A LevelDB datastore directory that can be opened, closed and reopened. */
export class LevelDir {
  readonly path = mkdtempSync(join(tmpdir(), 'parley-store-'))

  async open (): Promise<LevelDatastore> {
    const ds = new LevelDatastore(join(this.path, 'db'))
    await ds.open()
    return ds
  }

  remove (): void {
    rmSync(this.path, { recursive: true, force: true })
  }
}

/** A memory datastore that counts puts and batch commits, and fails the next `failures` writes. */
export class CountingDatastore extends MemoryDatastore {
  puts = 0
  commits = 0
  failures = 0

  override put (key: Key, value: Uint8Array): ReturnType<MemoryDatastore['put']> {
    this.#maybeFail()
    this.puts++
    return super.put(key, value)
  }

  override batch (): Batch {
    const ops: Array<() => void> = []
    return {
      put: (key, value) => { ops.push(() => super.put(key, value)) },
      delete: (key) => { ops.push(() => { super.delete(key) }) },
      commit: async () => {
        this.#maybeFail()
        this.commits++
        for (const op of ops) op()
      }
    }
  }

  #maybeFail (): void {
    if (this.failures > 0) {
      this.failures--
      throw new Error('disk full (test)')
    }
  }
}

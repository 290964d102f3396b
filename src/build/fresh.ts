/**
 * Whether `dist/` is up to date with the sources, so that `npm start` and
 * `npm pack` build only when something changed. `node dist/src/build/fresh.js`
 * exits 0 when no file under the watched paths is newer than the stamp the
 * last build wrote, 1 otherwise (and when there is no stamp);
 * `--stamp` writes the stamp (the last step of `npm run build`).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const STAMP = join(root, 'dist', '.build-stamp')
/** What the build reads. */
const WATCHED = ['src', 'relay', 'test', 'protocols', 'tsconfig.json', 'package.json']

/** The newest modification time under `path` (ms), following no links. */
function newest (path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  let max = stat.mtimeMs
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)))
  return max
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, new Date().toISOString() + '\n')
} else {
  const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0
  const changed = Math.max(...WATCHED.map(p => newest(join(root, p))))
  process.exitCode = changed > built ? 1 : 0
  if (process.exitCode === 1) console.error('sources changed since the last build: building')
}

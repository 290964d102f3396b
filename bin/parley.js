#!/usr/bin/env node
// The `parley` (and `parley-mesh`) command. Parley needs Node >= 22 (libp2p 3). Inside a clone
// of the repository, when the `node` on PATH is older, this launcher re-runs itself on the Node 22
// that the `node` devDependency installed (node_modules/node/bin/node), so a fresh clone works
// after `npm install` alone. An installed package has no such Node: it says what is needed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MIN_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
const self = fileURLToPath(import.meta.url)

if (major >= MIN_MAJOR) {
  await import('../dist/src/cli/main.js')
} else {
  const bundled = join(dirname(self), '..', 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(bundled)) {
    console.error(`parley: Node.js ${MIN_MAJOR} or newer is required (this is ${process.version}); install Node.js ${MIN_MAJOR}+, or run it once with: npx -p node@${MIN_MAJOR} -p parley-mesh parley …`)
    process.exit(1)
  }
  const child = spawn(bundled, [self, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => { child.kill(signal) })
  }
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1)
    // die of the same signal, so supervisors see what happened
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
}

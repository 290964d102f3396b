import { expect } from 'chai'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('README', () => {
  it('the envelope example runs as written, importing parley-mesh by name', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(block, 'a ```js block in README.md').to.be.a('string')
    // inside the package, Node resolves 'parley-mesh/…' to this package's exports (self-reference)
    const file = join(root, 'dist', 'readme-example.mjs')
    try {
      writeFileSync(file, (block ?? '') + '\nconsole.log(JSON.stringify(envelope.body))\n')
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8' })
      expect(JSON.parse(out)).to.deep.equal({ jsonrpc: '2.0', id: 1, method: 'ping' })
    } finally {
      rmSync(file, { force: true })
    }
  })
})

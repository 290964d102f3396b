import { expect } from 'chai'
import { readFileSync, readdirSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// run from dist/test/docs/
const root = fileURLToPath(new URL('../../../', import.meta.url))
const src = join(root, 'src')
const UI = join(src, 'dashboard', 'ui')

/** One ```ts block of an `@example` tag, `line` being the line of its opening fence. */
interface Example { file: string, line: number, code: string }

function sources (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (path !== UI) out.push(...sources(path))
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(path)
    }
  }
  return out.sort()
}

/**
 * The `@example` blocks of every TSDoc comment in `file`, and the problems
 * that make an example uncheckable (no ```ts fence, an unclosed fence).
 */
function examplesOf (file: string): { examples: Example[], problems: string[] } {
  const text = readFileSync(file, 'utf8')
  const rel = relative(root, file)
  const examples: Example[] = []
  const problems: string[] = []
  for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const first = text.slice(0, m.index).split('\n').length
    const lines = m[0].replace(/^\/\*\*/, '').replace(/\*\/$/, '').split('\n').map(l => l.replace(/^\s*\* ?/, ''))
    let example: { line: number, blocks: number } | undefined
    let fence: { line: number, code: string[] } | undefined
    const endExample = (): void => {
      if (example !== undefined && example.blocks === 0) problems.push(`${rel}:${example.line}: @example without a \`\`\`ts block`)
      example = undefined
    }
    lines.forEach((l, i) => {
      const line = first + i
      if (fence !== undefined) {
        if (/^\s*```\s*$/.test(l)) {
          examples.push({ file: rel, line: fence.line, code: fence.code.join('\n') })
          fence = undefined
        } else {
          fence.code.push(l)
        }
        return
      }
      const tag = /^\s*(@\w+)/.exec(l)?.[1]
      if (tag !== undefined) {
        endExample()
        if (tag === '@example') example = { line, blocks: 0 }
        return
      }
      if (example === undefined) return
      const open = /^\s*```(\w*)/.exec(l)
      if (open === null) return
      example.blocks++
      if (open[1] === 'ts' || open[1] === 'typescript') fence = { line, code: [] }
      else problems.push(`${rel}:${line}: @example block fenced as \`\`\`${open[1] ?? ''}, not \`\`\`ts`)
    })
    if (fence !== undefined) problems.push(`${rel}:${fence.line}: unclosed \`\`\`ts block`)
    endExample()
  }
  return { examples, problems }
}

const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]\.\.?\//

/** Fails listing `problems`, one a line, under `title`. */
function noProblems (title: string, problems: string[]): void {
  if (problems.length > 0) expect.fail(`${problems.length} ${title}:\n  ${problems.join('\n  ')}`)
}

/**
 * Writes each example into `workDir` as a module of its own and type-checks them all in
 * one `tsc --noEmit` run under `strict`; fails listing each error at its source line.
 */
function typeCheck (examples: Example[], workDir: string): void {
  const byName = new Map<string, Example>()
  for (const e of examples) {
    const name = `${e.file.replace(/\.ts$/, '').replace(/[^\w]+/g, '_')}_L${e.line}.ts`
    byName.set(name, e)
    // `export {}` keeps an example without imports a module of its own
    writeFileSync(join(workDir, name), `${e.code}\nexport {}\n`)
  }
  writeFileSync(join(workDir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true,
      target: 'ES2023',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      noEmit: true,
      skipLibCheck: true
    },
    include: ['*.ts']
  }, null, 2))
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: workDir, encoding: 'utf8' })
  const errors = `${tsc.stdout}${tsc.stderr}`.split('\n').filter(l => l.trim() !== '').map(l => {
    // foo_L12.ts(3,5): error TS2304: …  →  src/foo.ts:15: error TS2304: …
    const m = /^([^()]+\.ts)\((\d+),\d+\): (.*)$/.exec(l)
    const e = m === null ? undefined : byName.get(m[1] ?? '')
    return m === null || e === undefined ? l : `${e.file}:${e.line + Number(m[2])}: ${m[3] ?? ''}`
  })
  noProblems('type errors in examples', errors)
  expect(tsc.status, 'tsc exit code').to.equal(0)
}

describe('API docs', function () {
  // typedoc and tsc over the whole source tree: 20-40 s each on two cores
  this.timeout(180_000)

  const found = sources(src).map(examplesOf)
  const examples = found.flatMap(f => f.examples)

  it('every @example is a ```ts block', () => {
    expect(examples.length, 'examples found').to.be.greaterThan(10)
    noProblems('uncheckable @example blocks', found.flatMap(f => f.problems))
  })

  it('examples import from parley-mesh, not from relative paths', () => {
    const relativeImports = examples.flatMap(e => e.code.split('\n').flatMap((l, i) => RELATIVE_IMPORT.test(l) ? [`${e.file}:${e.line + 1 + i}: ${l.trim()}`] : []))
    noProblems('relative imports in examples (import from \'parley-mesh\' or a subpath in package.json "exports")', relativeImports)
  })

  it('every @example type-checks under strict against the built package', () => {
    // inside the repo, 'parley-mesh' resolves to this package through package.json "exports" (self-reference) to dist/src/*.d.ts;
    // a directory of its own, so that two test runs at once do not share one
    const workDir = mkdtempSync(join(root, 'dist', 'doc-examples-'))
    try {
      typeCheck(examples, workDir)
    } finally {
      rmSync(workDir, { recursive: true, force: true })
    }
  })

  it('typedoc validation passes: every public export is documented, every link resolves', () => {
    const typedoc = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none'], { cwd: root, encoding: 'utf8' })
    // eslint-disable-next-line no-control-regex
    const output = `${typedoc.stdout}${typedoc.stderr}`.replace(/\x1b\[[0-9;]*m/g, '')
    const problems = output.split('\n').filter(l => /^\[(warning|error)\]/.test(l) && !/git remote .* was not valid|^\[\w+\] Found \d+ errors/.test(l))
    noProblems('typedoc warnings (run `npx typedoc`)', problems)
    expect(typedoc.status, `typedoc exit code; output:\n${output}`).to.equal(0)
  })
})

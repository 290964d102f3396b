/**
 * The layer rule of docs/architecture.md ("Layers"), checked on the sources:
 * ground → services → assemblies → front doors, each importing only its own
 * layer and the ones below, with no cycle between folders, and nothing in
 * src/ or relay/ importing from outside them (protocols/, test/). The
 * import graph is read from the TypeScript sources (every import, export …
 * from, dynamic import and type-only import), so it holds before any build
 * tool drops type imports.
 */
import { expect } from 'chai'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// run from dist/test/docs/
const root = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The layers, lowest first, and the folders (or files) in each, relative to
 * the repository root. docs/architecture.md lists the same, checked below.
 */
const LAYERS: ReadonlyArray<{ name: string, units: readonly string[] }> = [
  { name: 'ground', units: ['src/util', 'src/errors.ts', 'src/crypto', 'src/identity', 'src/envelope', 'src/handles', 'src/methods'] },
  { name: 'services', units: ['src/session', 'src/negotiation', 'src/presence', 'src/store', 'src/mcp', 'src/a2a', 'src/mailbox', 'src/media'] },
  { name: 'assemblies', units: ['src/agent', 'src/node'] },
  { name: 'front doors', units: ['src/cli', 'src/dashboard', 'src/demo', 'relay', 'src/index.ts', 'src/browser.ts', 'src/build'] }
]

/**
 * Imports that break the rule today in files this change could not touch,
 * each with what removes it. An entry that no longer occurs fails the test,
 * so the list only shrinks.
 */
const KNOWN: ReadonlyArray<{ file: string, specifier: string, why: string }> = []

/** One relative import of a source file. */
interface Edge {
  /** The importing file, relative to the root. */
  file: string
  /** The specifier as written. */
  specifier: string
  /** The file it resolves to, relative to the root. */
  target: string
}

function sources (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sources(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out.sort()
}

function posix (path: string): string {
  return path.split(sep).join('/')
}

/** The unit (layer member) holding `file`, or undefined. */
function unitOf (file: string): string | undefined {
  for (const layer of LAYERS) {
    for (const unit of layer.units) if (file === unit || file.startsWith(unit + '/')) return unit
  }
  return undefined
}

/** The index of the layer holding `unit`. */
function rankOf (unit: string): number {
  return LAYERS.findIndex(l => l.units.includes(unit))
}

function layerName (unit: string): string {
  return LAYERS[rankOf(unit)]?.name ?? '?'
}

/** Every relative import of every source file under src/ and relay/. */
function edges (files: string[]): Edge[] {
  const out: Edge[] = []
  for (const path of files) {
    const file = posix(relative(root, path))
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true)
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) continue
      const target = posix(relative(root, resolve(dirname(path), specifier.replace(/\.js$/, '.ts'))))
      out.push({ file, specifier, target })
    }
  }
  return out
}

/** Strongly connected components of more than one node (Tarjan). */
function cycles (graph: Map<string, Set<string>>): string[][] {
  let index = 0
  const stack: string[] = []
  const on = new Set<string>()
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const out: string[][] = []
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0)) } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string | undefined
      do { w = stack.pop(); if (w !== undefined) { on.delete(w); scc.push(w) } } while (w !== undefined && w !== v)
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v)
  return out
}

describe('layers (docs/architecture.md)', () => {
  const files = [...sources(join(root, 'src')), ...sources(join(root, 'relay'))]
  const all = edges(files)
  const known = (e: Edge): boolean => KNOWN.some(k => k.file === e.file && k.specifier === e.specifier)

  it('reads a real import graph', () => {
    // guards the checks below against passing on an empty or misread graph
    expect(files.length).to.be.greaterThan(100)
    expect(all.some(e => e.file.startsWith('src/agent/') && e.target === 'src/session/session.ts')).to.equal(true)
    expect(all.some(e => e.file === 'src/crypto/signature.ts' && e.target === 'src/crypto/self-check.ts')).to.equal(true)
  })

  it('places every source file in a layer', () => {
    const unplaced = files.map(f => posix(relative(root, f))).filter(f => unitOf(f) === undefined)
    expect(unplaced, 'files in no layer: add their folder to LAYERS and to docs/architecture.md').to.deep.equal([])
  })

  it('imports nothing from outside src/ and relay/ (no protocols/ or test/ files at run time)', () => {
    const outside = all.filter(e => unitOf(e.target) === undefined).map(e => `${e.file} imports ${e.specifier}`)
    expect(outside).to.deep.equal([])
  })

  it('imports only from the same layer or below', () => {
    const upward = all
      .filter(e => !known(e))
      .filter(e => {
        const from = unitOf(e.file); const to = unitOf(e.target)
        return from !== undefined && to !== undefined && rankOf(to) > rankOf(from)
      })
      .map(e => `${e.file} imports ${e.specifier} (${layerName(unitOf(e.file) ?? '')} → ${layerName(unitOf(e.target) ?? '')})`)
    expect(upward).to.deep.equal([])
  })

  it('has no cycle between folders', () => {
    const graph = new Map<string, Set<string>>()
    const example = new Map<string, Edge>()
    for (const e of all) {
      const from = unitOf(e.file); const to = unitOf(e.target)
      if (from === undefined || to === undefined || from === to || known(e)) continue
      const targets = graph.get(from) ?? new Set<string>()
      targets.add(to)
      graph.set(from, targets)
      if (!example.has(`${from} ${to}`)) example.set(`${from} ${to}`, e)
    }
    const found = cycles(graph).map(scc => {
      const arrows = scc.flatMap(a => scc.filter(b => graph.get(a)?.has(b) === true).map(b => {
        const e = example.get(`${a} ${b}`)
        return `${a} → ${b} (${e?.file} imports ${e?.specifier})`
      }))
      return `cycle between ${scc.join(', ')}: ${arrows.join('; ')}`
    })
    expect(found).to.deep.equal([])
  })

  it('lists only exceptions that still occur', () => {
    const stale = KNOWN.filter(k => !all.some(e => e.file === k.file && e.specifier === k.specifier)).map(k => `${k.file} ${k.specifier}`)
    expect(stale).to.deep.equal([])
  })

  it('matches the Layers table of docs/architecture.md', () => {
    const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8')
    const section = /\n## Layers\n([\s\S]*?)(\n## |$)/.exec(doc)?.[1]
    expect(section, 'docs/architecture.md has a "## Layers" section').to.be.a('string')
    const rows = new Map<string, string[]>()
    for (const m of (section ?? '').matchAll(/^\| \*\*([a-z ]+)\*\* \|([^|]*)\|/gm)) {
      rows.set(m[1] ?? '', [...(m[2] ?? '').matchAll(/`([^`]+)`/g)].map(c => (c[1] ?? '').replace(/\/$/, '')).sort())
    }
    expect([...rows.keys()]).to.deep.equal(LAYERS.map(l => l.name))
    for (const layer of LAYERS) expect(rows.get(layer.name), layer.name).to.deep.equal([...layer.units].sort())
  })
})

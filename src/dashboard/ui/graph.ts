/**
 * The mesh graph: a d3-force layout drawn as plain SVG elements, one `<g>`
 * per peer and one `<path>` per link, kept across updates (keyed by peer id
 * and by pair + transport) so that a new state moves nothing that did not
 * change. Every element carries data attributes (`data-peer`, `data-kind`,
 * `data-verified`, `data-transport`, `data-source`) for tests and styling.
 */
import { forceCenter, forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY } from 'd3-force'
import type { ForceLink, Simulation, SimulationLinkDatum, SimulationNodeDatum } from 'd3-force'
import { select } from 'd3-selection'
import { zoom, zoomIdentity } from 'd3-zoom'
import type { ZoomBehavior } from 'd3-zoom'
import { h, s, shortPeer } from './dom.js'

export interface GraphNodeInput {
  id: string
  kind: string
  /** `browser` or `node`, as the peer's libp2p says (drawn with a marker), when known. */
  platform?: string
  label: string
  verified: boolean
  self: boolean
  /** Known only from records, not connected or announced: drawn faded. */
  offline: boolean
  title: string
}

export interface GraphLinkInput {
  from: string
  to: string
  transport: string
  source: string
}

interface GNode extends SimulationNodeDatum, GraphNodeInput {
  el: SVGGElement
  circle: SVGCircleElement
  ring: SVGCircleElement
  text: SVGTextElement
  r: number
}

interface GLink extends SimulationLinkDatum<GNode> {
  key: string
  transport: string
  linkSource: string
  /** 0 for the only link of a pair; ±1, ±2 … bend parallel links apart. */
  lane: number
  el: SVGPathElement
  source: GNode
  target: GNode
}

/** Nodes beyond which labels are shown only on hover (and the layout is tuned for size). */
const LARGE = 60

export class Graph {
  readonly #container: HTMLElement
  readonly #svg: SVGSVGElement
  readonly #root: SVGGElement
  readonly #linkLayer: SVGGElement
  readonly #nodeLayer: SVGGElement
  readonly #tooltip: HTMLElement
  readonly #nodes = new Map<string, GNode>()
  readonly #links = new Map<string, GLink>()
  readonly #sim: Simulation<GNode, GLink>
  readonly #linkForce: ForceLink<GNode, GLink>
  readonly #zoom: ZoomBehavior<SVGSVGElement, unknown>
  readonly #onSelect: (id: string) => void
  #selected: string | undefined
  #width = 800
  #height = 520
  #userZoomed = false
  #ticks = 0
  #large = false

  constructor (container: HTMLElement, onSelect: (id: string) => void) {
    this.#container = container
    this.#onSelect = onSelect
    this.#svg = s('svg', { role: 'img' })
    this.#root = s('g', { class: 'viewport' })
    this.#linkLayer = s('g', { class: 'links' })
    this.#nodeLayer = s('g', { class: 'nodes' })
    this.#root.append(this.#linkLayer, this.#nodeLayer)
    this.#svg.append(this.#root)
    this.#tooltip = h('div', { class: 'tooltip', hidden: true })
    container.append(this.#svg, this.#tooltip)

    this.#linkForce = forceLink<GNode, GLink>([]).id(d => d.id).distance(l => l.transport === 'circuit' ? 130 : 100).strength(0.6)
    this.#sim = forceSimulation<GNode, GLink>([])
      .force('link', this.#linkForce)
      .force('charge', forceManyBody<GNode>().strength(-320).distanceMax(480))
      .force('collide', forceCollide<GNode>(d => d.r + 6))
      .force('x', forceX<GNode>(0).strength(0.04))
      .force('y', forceY<GNode>(0).strength(0.06))
      .force('center', forceCenter(0, 0))
      .on('tick', () => { this.#draw() })

    this.#zoom = zoom<SVGSVGElement, unknown>().scaleExtent([0.15, 4]).on('zoom', (event: { transform: { toString: () => string }, sourceEvent: unknown }) => {
      if (event.sourceEvent !== null && event.sourceEvent !== undefined) this.#userZoomed = true
      this.#root.setAttribute('transform', event.transform.toString())
    })
    select(this.#svg).call(this.#zoom).on('dblclick.zoom', null)
    new ResizeObserver(() => { this.#resize() }).observe(container)
    this.#resize()
  }

  get size (): { nodes: number, links: number } {
    return { nodes: this.#nodes.size, links: this.#links.size }
  }

  /** Marks `id` as selected (outline). */
  select (id: string | undefined): void {
    if (this.#selected !== undefined) this.#nodes.get(this.#selected)?.el.classList.remove('selected')
    this.#selected = id
    if (id !== undefined) this.#nodes.get(id)?.el.classList.add('selected')
  }

  /** Applies a new set of nodes and links; returns true when the topology changed. */
  update (nodes: GraphNodeInput[], links: GraphLinkInput[]): boolean {
    let changed = false
    this.#large = nodes.length > LARGE
    const seen = new Set<string>()
    for (const input of nodes) {
      seen.add(input.id)
      let node = this.#nodes.get(input.id)
      if (node === undefined) {
        node = this.#createNode(input)
        this.#nodes.set(input.id, node)
        changed = true
      }
      this.#updateNode(node, input)
    }
    for (const [id, node] of this.#nodes) {
      if (seen.has(id)) continue
      node.el.remove()
      this.#nodes.delete(id)
      changed = true
    }

    const seenLinks = new Set<string>()
    for (const l of links) {
      const a = this.#nodes.get(l.from)
      const b = this.#nodes.get(l.to)
      if (a === undefined || b === undefined || a === b) continue
      const [x, y] = l.from < l.to ? [l.from, l.to] : [l.to, l.from]
      const key = `${x}|${y}|${l.transport}`
      if (seenLinks.has(key)) continue
      seenLinks.add(key)
      let link = this.#links.get(key)
      if (link === undefined) {
        const el = s('path', {})
        this.#linkLayer.append(el)
        link = { key, transport: l.transport, linkSource: '', lane: 0, el, source: a, target: b }
        this.#links.set(key, link)
        changed = true
      }
      if (link.linkSource !== l.source) {
        link.linkSource = l.source
        link.el.setAttribute('class', `link tr-${l.transport} transport-${l.transport} source-${l.source}`)
        link.el.dataset.from = l.from
        link.el.dataset.to = l.to
        link.el.dataset.transport = l.transport
        link.el.dataset.source = l.source
      }
    }
    for (const [key, link] of this.#links) {
      if (seenLinks.has(key) && this.#nodes.has(link.source.id) && this.#nodes.has(link.target.id)) continue
      link.el.remove()
      this.#links.delete(key)
      changed = true
    }

    if (changed) {
      // parallel links between one pair (a circuit and a WebRTC connection, say) bend apart
      const pairs = new Map<string, GLink[]>()
      for (const link of this.#links.values()) {
        const pair = link.key.slice(0, link.key.lastIndexOf('|'))
        pairs.set(pair, [...(pairs.get(pair) ?? []), link])
      }
      for (const group of pairs.values()) {
        group.sort((x, y) => x.transport.localeCompare(y.transport))
        group.forEach((link, i) => { link.lane = group.length === 1 ? 0 : i - (group.length - 1) / 2 })
      }
      const large = this.#nodes.size > LARGE
      this.#container.classList.toggle('large', large)
      const many = this.#nodes.size
      // bigger graphs: weaker repulsion, shorter links, a faster cool-down so they settle in about a second
      ;(this.#sim.force('charge') as ReturnType<typeof forceManyBody<GNode>>).strength(large ? -40 - 6000 / many : -320)
      this.#linkForce.distance(l => (l.transport === 'circuit' ? 130 : 100) * (large ? 0.45 : 1))
      this.#sim.alphaDecay(large ? 0.05 : 0.0228)
      this.#sim.nodes([...this.#nodes.values()])
      this.#linkForce.links([...this.#links.values()])
      this.#sim.alpha(Math.max(this.#sim.alpha(), 0.5)).restart()
    }
    return changed
  }

  #createNode (input: GraphNodeInput): GNode {
    const el = s('g', { class: 'node' })
    const circle = s('circle', { r: 7 })
    const ring = s('circle', { class: 'ring', r: 11 })
    const text = s('text', { x: 11, y: 4 })
    el.append(circle, ring, text)
    el.addEventListener('click', (e) => { e.stopPropagation(); this.#onSelect(input.id) })
    el.addEventListener('mouseenter', () => { this.#showTooltip(input.id) })
    el.addEventListener('mouseleave', () => { this.#tooltip.hidden = true })
    this.#nodeLayer.append(el)
    // place a newcomer next to a neighbour already laid out, or near the middle
    const angle = Math.random() * 2 * Math.PI
    const node: GNode = { ...input, el, circle, ring, text, r: 0, x: Math.cos(angle) * 60, y: Math.sin(angle) * 60 }
    if (input.self) { node.x = 0; node.y = 0 }
    return node
  }

  #updateNode (node: GNode, input: GraphNodeInput): void {
    const large = this.#large
    const r = input.kind === 'relay' ? 11 : large ? 4.5 : 7
    const cls = `node kind-${input.kind}${input.self ? ' self' : ''}${input.verified || input.self ? '' : ' unverified'}${input.offline ? ' offline' : ''}${this.#selected === input.id ? ' selected' : ''}`
    if (node.el.getAttribute('class') !== cls) node.el.setAttribute('class', cls)
    const d = node.el.dataset
    if (d.peer !== input.id) d.peer = input.id
    if (d.kind !== input.kind) d.kind = input.kind
    if ((d.platform ?? '') !== (input.platform ?? '')) {
      if (input.platform === undefined) delete d.platform
      else d.platform = input.platform
    }
    const verified = String(input.verified)
    if (d.verified !== verified) d.verified = verified
    if (d.self !== String(input.self)) d.self = String(input.self)
    if (node.r !== r) {
      node.r = r
      node.circle.setAttribute('r', String(r))
      node.ring.setAttribute('r', String(r + 3.5))
      // this node's label sits under it, the others' to the right
      if (input.self) {
        node.text.setAttribute('x', '0')
        node.text.setAttribute('y', String(r + 14))
        node.text.setAttribute('text-anchor', 'middle')
      } else {
        node.text.setAttribute('x', String(r + 4))
      }
    }
    if (node.text.textContent !== input.label) node.text.textContent = input.label
    node.kind = input.kind
    node.label = input.label
    node.verified = input.verified
    node.offline = input.offline
    node.title = input.title
  }

  #showTooltip (id: string): void {
    const node = this.#nodes.get(id)
    if (node === undefined) return
    this.#tooltip.replaceChildren(h('div', {}, h('b', {}, node.label)), h('div', { class: 'mono' }, shortPeer(node.id)), h('div', { class: 'muted' }, node.title))
    const box = this.#container.getBoundingClientRect()
    const at = node.el.getBoundingClientRect()
    this.#tooltip.style.left = `${Math.min(at.right - box.left + 8, box.width - 240)}px`
    this.#tooltip.style.top = `${at.top - box.top}px`
    this.#tooltip.hidden = false
  }

  #resize (): void {
    const box = this.#container.getBoundingClientRect()
    this.#width = Math.max(200, box.width)
    this.#height = Math.max(200, box.height)
    this.#svg.setAttribute('viewBox', `0 0 ${this.#width} ${this.#height}`)
    if (!this.#userZoomed) this.#fit()
  }

  /** Centres the layout (until the user pans or zooms). */
  #fit (): void {
    let minX = Infinity; let maxX = -Infinity; let minY = Infinity; let maxY = -Infinity
    for (const n of this.#nodes.values()) {
      minX = Math.min(minX, n.x ?? 0); maxX = Math.max(maxX, n.x ?? 0)
      minY = Math.min(minY, n.y ?? 0); maxY = Math.max(maxY, n.y ?? 0)
    }
    if (!Number.isFinite(minX)) { minX = maxX = minY = maxY = 0 }
    const pad = 60
    const scale = Math.min(1.8, this.#width / (maxX - minX + 2 * pad), this.#height / (maxY - minY + 2 * pad))
    const t = zoomIdentity.translate(this.#width / 2 - scale * (minX + maxX) / 2, this.#height / 2 - scale * (minY + maxY) / 2).scale(scale)
    select(this.#svg).call(this.#zoom.transform, t)
  }

  #draw (): void {
    for (const l of this.#links.values()) {
      const x1 = l.source.x ?? 0; const y1 = l.source.y ?? 0; const x2 = l.target.x ?? 0; const y2 = l.target.y ?? 0
      if (l.lane === 0) {
        l.el.setAttribute('d', `M${x1.toFixed(1)},${y1.toFixed(1)}L${x2.toFixed(1)},${y2.toFixed(1)}`)
        continue
      }
      // bend by a fixed distance, the same way whichever end is the source
      const flip = l.source.id < l.target.id ? 1 : -1
      const dx = x2 - x1; const dy = y2 - y1
      const len = Math.hypot(dx, dy) || 1
      const cx = (x1 + x2) / 2 - dy / len * 22 * l.lane * flip
      const cy = (y1 + y2) / 2 + dx / len * 22 * l.lane * flip
      l.el.setAttribute('d', `M${x1.toFixed(1)},${y1.toFixed(1)}Q${cx.toFixed(1)},${cy.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`)
    }
    for (const n of this.#nodes.values()) {
      n.el.setAttribute('transform', `translate(${(n.x ?? 0).toFixed(1)},${(n.y ?? 0).toFixed(1)})`)
    }
    // refit now and then while the layout moves, not every frame
    if (!this.#userZoomed && (this.#ticks++ % 8 === 0 || this.#sim.alpha() < this.#sim.alphaMin() * 1.5)) this.#fit()
  }
}

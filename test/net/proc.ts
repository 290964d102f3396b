/**
 * A child process (usually in a network namespace) that prints JSON lines,
 * one event a line, and reads commands as JSON lines on stdin: what the
 * namespace and browser tests drive their agent processes with.
 */
import type { ChildProcess } from 'node:child_process'

export type Event = Record<string, unknown> & { event: string }

/** A process in a namespace that prints JSON lines. */
export class Proc {
  readonly events: Event[] = []
  stderr = ''
  readonly #waiters = new Set<() => void>()

  constructor (readonly name: string, readonly child: ChildProcess) {
    let buffer = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line.trim() === '') continue
        try { this.events.push(JSON.parse(line) as Event) } catch { this.stderr += `(stdout) ${line}\n` }
      }
      for (const w of this.#waiters) w()
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d })
    child.once('exit', () => { for (const w of this.#waiters) w() })
  }

  /** The first event from index `since` on that matches, waiting up to `ms` for it. */
  async waitFor (match: (e: Event) => boolean, ms: number, since = 0): Promise<Event> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = this.events.slice(since).find(match)
      if (found !== undefined) return found
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.stderr}\n${JSON.stringify(this.events)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no matching event in ${ms} ms; events: ${JSON.stringify(this.events)}\n${this.stderr}`)
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); this.#waiters.delete(done); resolve() }
        const timer = setTimeout(done, left)
        this.#waiters.add(done)
      })
    }
  }

  send (command: object): void {
    this.child.stdin?.write(JSON.stringify(command) + '\n')
  }

  /** Closes its stdin (the agents stop on that) and waits up to `graceMs` for it to exit; then kills it. */
  async stop (graceMs = 3000): Promise<void> {
    const exited = (): boolean => this.child.exitCode !== null || this.child.signalCode !== null
    this.child.stdin?.end()
    if (!exited()) await Promise.race([new Promise(resolve => this.child.once('exit', resolve)), new Promise(resolve => setTimeout(resolve, graceMs))])
    if (!exited()) this.child.kill('SIGKILL')
  }
}

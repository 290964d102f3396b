import { expect } from 'chai'
import { KeyedSerial, Serial } from '../../src/util/serial.js'

const tick = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('serial task queues (src/util/serial)', () => {
  it('Serial runs tasks one at a time, in order; a failure rejects only its own task', async () => {
    const serial = new Serial()
    const order: string[] = []
    const a = serial.run(async () => { await tick(20); order.push('a') })
    const b = serial.run(() => { throw new Error('b failed') })
    const c = serial.run(() => { order.push('c'); return 'c' })
    await a
    await b.then(() => expect.fail('b resolved'), (err: Error) => { expect(err.message).to.equal('b failed') })
    expect(await c).to.equal('c')
    await serial.idle()
    expect(order).to.deep.equal(['a', 'c'])
  })

  it('KeyedSerial orders tasks per key, and tasks on other keys do not wait', async () => {
    const keyed = new KeyedSerial()
    const order: string[] = []
    const slow = keyed.run('n1', async () => { await tick(30); order.push('n1 first') })
    const failing = keyed.run('n1', () => { throw new Error('refused') })
    const after = keyed.run('n1', () => { order.push('n1 second') })
    const other = keyed.run('n2', () => { order.push('n2') })
    await Promise.all([slow, other, after, failing.catch(() => {})])
    expect(order).to.deep.equal(['n2', 'n1 first', 'n1 second'])
    await failing.then(() => expect.fail('resolved'), (err: Error) => { expect(err.message).to.equal('refused') })
  })
})

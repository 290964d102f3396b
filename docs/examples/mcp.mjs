// @ts-check
// MCP over the mesh, with the official MCP SDK unmodified: a weather agent serves an MCP server
// under @weather-desk; an assistant's MCP client reaches it by handle (through the relay, then
// WebRTC) and calls its tool. The server sees who called, as Parley verified it.
// Needs the SDK beside parley-mesh: npm install @modelcontextprotocol/sdk zod
//   PARLEY_RELAY=$(head -1 .parley/relay/multiaddrs) node mcp.mjs
import { createAgent, serveMcp, ParleyClientTransport } from 'parley-mesh'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { z } from 'zod'

const relay = process.env.PARLEY_RELAY // e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
if (relay === undefined) throw new Error('set PARLEY_RELAY to a relay address (npm start prints it)')

// the server side: any MCP server, one instance per session that opens MCP
const desk = await createAgent({ handle: 'weather-desk', dataDir: '.parley/weather-desk', relays: [relay] })
serveMcp(desk, () => {
  const server = new McpServer({ name: 'weather', version: '1.0.0' })
  server.registerTool('forecast', { description: 'Tomorrow\'s weather in a city', inputSchema: { city: z.string() } }, async ({ city }, extra) => ({
    // authInfo.clientId is the caller's peer id; extra.handle its verified handle
    content: [{ type: 'text', text: `sunny in ${city}, asked by @${String(extra.authInfo?.extra?.handle)}` }]
  }))
  return server
})
await desk.start()

// the client side: an MCP client on a Parley session, opened by handle
const assistant = await createAgent({ handle: 'alices-mcp-host', dataDir: '.parley/alices-mcp-host', relays: [relay] })
await assistant.start()
const client = new Client({ name: 'alices-host', version: '1.0.0' })
await client.connect(new ParleyClientTransport(assistant, await assistant.connect('@weather-desk')))
console.log((await client.listTools()).tools.map(t => t.name)) // [ 'forecast' ]
const result = await client.callTool({ name: 'forecast', arguments: { city: 'Leeds' } })
console.log(result.content) // [ { type: 'text', text: 'sunny in Leeds, asked by @alices-mcp-host' } ]

await client.close()
await assistant.close()
await desk.close()

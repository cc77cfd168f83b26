// A client built on the official TypeScript SDK (@modelcontextprotocol/sdk), for the client
// leg's tests.
//
//     node tests/peers/ts_client.mjs SERVER-COMMAND...     (stdio)
//     node tests/peers/ts_client.mjs http://HOST:PORT/mcp  (Streamable HTTP)
//
// Declares roots, sampling and elicitation (answering each), initializes with the SDK's
// own handshake, lists the tools, calls the first one (asking for progress) and closes.
// Exits 1 when the SDK refuses the session (an unsupported version, say).

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

function transportFor(args) {
  if (args.length === 1 && /^https?:\/\//.test(args[0])) {
    return new StreamableHTTPClientTransport(new URL(args[0]));
  }
  return new StdioClientTransport({ command: args[0], args: args.slice(1), stderr: "inherit" });
}

async function main(args) {
  // The official elicitation-sep1034-client-defaults scenario's contract: the SDK fills the
  // form's defaults into an accepted answer (its applyDefaults option).
  const defaults = process.env.MCP_CONFORMANCE_SCENARIO === "elicitation-sep1034-client-defaults";
  const client = new Client(
    { name: "mcp-conformance-ts-sdk-client", version: "0.1.0" },
    { capabilities: { roots: { listChanged: false }, sampling: {},
                      elicitation: { form: defaults ? { applyDefaults: true } : {} } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: "file:///tmp/project", name: "project" }],
  }));
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: "assistant", content: { type: "text", text: "Hello." }, model: "scripted",
  }));
  client.setRequestHandler(ElicitRequestSchema, async () =>
    (defaults ? { action: "accept", content: {} } : { action: "decline" }));
  await client.connect(transportFor(args), { timeout: 10000 });
  try {
    const { tools } = await client.listTools();
    const focal = tools.find((tool) => tool.name === "json_schema_2020_12_tool");
    if (process.env.MCP_CONFORMANCE_SCENARIO === "json-schema-2020-12-preservation" && focal) {
      // the official scenario's contract: echo the inputSchema the SDK holds for the tool
      await client.callTool({ name: "json_schema_echo", arguments: { schema: focal.inputSchema } });
    } else if (tools.length > 0) {
      await client.callTool({ name: tools[0].name, arguments: { text: "hi" } }, undefined,
        { onprogress: () => {}, timeout: 10000 });
    }
  } finally {
    await client.close();
  }
}

if (process.argv.length < 3) {
  console.error("usage: ts_client.mjs SERVER-COMMAND... | URL");
  process.exit(2);
}
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error) => {
    console.error(`ts client: ${error?.message ?? error}`);
    process.exit(1);
  },
);

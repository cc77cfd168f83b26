// An OAuth client built on the official TypeScript SDK (@modelcontextprotocol/sdk), for the
// client leg's auth scenarios.
//
//     node tests/peers/ts_auth_client.mjs http://HOST:PORT/mcp
//
// Driven only by the official conformance environment contract, so it runs unchanged under the
// official suite and under ours: MCP_CONFORMANCE_SCENARIO picks the SDK provider
// (auth/client-credentials-basic: ClientCredentialsProvider; auth/client-credentials-jwt:
// PrivateKeyJwtProvider; anything else: the SDK's authorization-code flow, through an
// OAuthClientProvider with a headless redirect and CIMD), MCP_CONFORMANCE_CONTEXT (JSON) supplies
// credentials. The SDK's transport runs the flow on a 401 (or a 403 insufficient_scope) and
// throws UnauthorizedError after the redirect; we then hand the code to transport.finishAuth and
// retry the step that failed, at most three authorizations per run. Connects over Streamable HTTP, lists the tools,
// calls the first one with {} and closes. Exits 1 with the error on stderr on failure; gives up
// after 20 s.

import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider, PrivateKeyJwtProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REDIRECT_URI = "http://localhost:3000/callback";
const CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json";
const MAX_AUTHORIZATIONS = 3;

// The SDK's OAuthClientProvider interface, in memory; the "browser" GETs the authorization URL
// without following the redirect and keeps the code from its Location header.
class HeadlessProvider {
  clientMetadataUrl = CLIENT_METADATA_URL;
  authorizations = 0;

  constructor(clientInformation) {
    this._clientInformation = clientInformation;
  }
  get redirectUrl() { return REDIRECT_URI; }
  get clientMetadata() {
    return { client_name: "mcp-conformance-ts-auth-client", redirect_uris: [REDIRECT_URI],
             grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
             application_type: "native" };
  }
  state() { return (this._state = randomBytes(16).toString("base64url")); }
  clientInformation() { return this._clientInformation; }
  saveClientInformation(info) { this._clientInformation = info; }
  tokens() { return this._tokens; }
  saveTokens(tokens) { this._tokens = tokens; }
  saveCodeVerifier(verifier) { this._verifier = verifier; }
  codeVerifier() { return this._verifier; }
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "tokens") this._tokens = undefined;
    if (scope === "all" || scope === "client") this._clientInformation = undefined;
  }

  async redirectToAuthorization(url) {
    if (++this.authorizations > MAX_AUTHORIZATIONS) {
      throw new Error(`giving up after ${MAX_AUTHORIZATIONS} authorization requests`);
    }
    const response = await fetch(url, { redirect: "manual" });
    const location = response.headers.get("location");
    if (!location) throw new Error(`authorization endpoint answered ${response.status} without a redirect`);
    const query = new URL(location).searchParams;
    if (!query.get("code")) throw new Error(`no authorization code in the redirect: ${location}`);
    if (query.get("state") !== this._state) throw new Error(`state mismatch in the redirect: ${location}`);
    this.code = query.get("code");
  }
}

function providerFor(scenario, context) {
  if (scenario === "auth/client-credentials-basic") {
    return new ClientCredentialsProvider({ clientId: context.client_id, clientSecret: context.client_secret });
  }
  if (scenario === "auth/client-credentials-jwt") {
    return new PrivateKeyJwtProvider({ clientId: context.client_id, privateKey: context.private_key_pem,
                                       algorithm: context.signing_algorithm ?? "ES256" });
  }
  const preRegistered = context.client_id
    ? { client_id: context.client_id, client_secret: context.client_secret, redirect_uris: [REDIRECT_URI] }
    : undefined;
  return new HeadlessProvider(preRegistered);
}

async function main(url) {
  const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || "{}");
  const provider = providerFor(process.env.MCP_CONFORMANCE_SCENARIO ?? "", context);
  let transport, client;
  // Run one step; when the SDK stops at the redirect (UnauthorizedError), let it exchange the code
  // (transport.finishAuth) and run the step again. A failed connect closes its transport, so
  // connecting builds a fresh one; later steps retry on the same session.
  const withAuth = async (step) => {
    for (;;) {
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof UnauthorizedError) || !provider.code) throw error;
        const code = provider.code;
        provider.code = undefined;
        await transport.finishAuth(code);
      }
    }
  };
  try {
    await withAuth(() => {
      transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
      client = new Client({ name: "mcp-conformance-ts-auth-client", version: "0.1.0" }, { capabilities: {} });
      return client.connect(transport, { timeout: 10000 });
    });
    const { tools } = await withAuth(() => client.listTools());
    if (tools.length > 0) await withAuth(() => client.callTool({ name: tools[0].name, arguments: {} }));
  } finally {
    await client?.close();
  }
}

if (process.argv.length !== 3) {
  console.error("usage: ts_auth_client.mjs URL");
  process.exit(2);
}
setTimeout(() => {
  console.error("ts auth client: gave up after 20 s");
  process.exit(1);
}, 20000).unref();
main(process.argv[2]).then(
  () => process.exit(0),
  (error) => {
    console.error(`ts auth client: ${error?.message ?? error}`);
    process.exit(1);
  },
);

// An OAuth-protected MCP server built on the official TypeScript SDK (@modelcontextprotocol/sdk),
// for the suite's authorization (resource-server) checks.
//
//     node tests/peers/ts_auth_server.mjs --port N --auth-issuer URL [--auth-scope mcp]
//
// Streamable HTTP at http://127.0.0.1:N/mcp (stateful sessions, the SDK's
// StreamableHTTPServerTransport, as in the SDK's simpleStreamableHttp example) behind the SDK's
// own requireBearerAuth, with the SDK's mcpAuthMetadataRouter serving the protected resource
// metadata. The SDK is used as it is. Only the token verifier is ours: a JWT (ES256 or RS256)
// checked with jose against the issuer's JWKS ($MCP_CONFORMANCE_AUTH_JWKS_URI, else
// URL/jwks.json): signature, `iss` equal to URL, `aud` equal to the resource URL, exp/nbf.
// The authorization server's metadata is fetched from URL/.well-known/oauth-authorization-server
// at startup (built from URL if that fails). --auth-scope names the scope every request needs
// (default `mcp`; several separated by spaces; "" for none). One read-only tool (`echo`) and one
// resource (`notes://welcome`). Listens on 127.0.0.1 only; exits on SIGTERM or SIGINT.

import { randomUUID } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as z from "zod/v4";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from "@modelcontextprotocol/sdk/server/auth/router.js";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";

const USAGE = "usage: node ts_auth_server.mjs --port N --auth-issuer URL [--auth-scope SCOPES]";

function commandLine(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!["--port", "--auth-issuer", "--auth-scope"].includes(flag) || value === undefined || flag in options) {
      fail(USAGE);
    }
    options[flag] = value;
  }
  if (!/^\d+$/.test(options["--port"] ?? "") || !URL.canParse(options["--auth-issuer"] ?? "")) fail(USAGE);
  return {
    port: Number(options["--port"]),
    issuer: options["--auth-issuer"],
    scopes: (options["--auth-scope"] ?? "mcp").split(/\s+/).filter(Boolean),
  };
}

function fail(message) {
  process.stderr.write(`ts_auth_server: ${message}\n`);
  process.exit(2);
}

// The authorization server's RFC 8414 metadata (mcpAuthMetadataRouter needs it and mirrors it).
async function authorizationServerMetadata(issuer) {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/oauth-authorization-server`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const metadata = await response.json();
    if (metadata.issuer !== issuer) throw new Error(`its issuer is ${JSON.stringify(metadata.issuer)}`);
    return metadata;
  } catch (error) {
    process.stderr.write(`ts_auth_server: no usable metadata at ${url} (${error.message}); built from the issuer\n`);
    const base = issuer.replace(/\/$/, "");
    return {
      issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    };
  }
}

// The SDK's OAuthTokenVerifier: AuthInfo for a good token, InvalidTokenError otherwise. The
// error's message goes verbatim into the SDK's WWW-Authenticate header, so it holds no quotes.
function jwtVerifier({ issuer, jwksUri, resourceUrl }) {
  const jwks = createRemoteJWKSet(new URL(jwksUri));
  return {
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer, audience: resourceUrl.href, algorithms: ["ES256", "RS256"],
        }));
      } catch (error) {
        const claim = typeof error?.claim === "string" ? ` (${error.claim})` : "";
        throw new InvalidTokenError(`Invalid token: ${error?.code ?? "malformed"}${claim}`);
      }
      return {
        token,
        clientId: String(payload.client_id ?? payload.azp ?? "unknown"),
        scopes: typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [],
        expiresAt: payload.exp,
        resource: resourceUrl, // jwtVerify checked aud
        extra: { sub: payload.sub, iss: payload.iss },
      };
    },
  };
}

function mcpServer() {
  const server = new McpServer({ name: "conformance-ts-auth-peer", version: "1.0.0" });
  server.registerTool("echo", {
    title: "Echo",
    description: "Return the text it is given.",
    inputSchema: { text: z.string() },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, async ({ text }) => ({ content: [{ type: "text", text }] }));
  server.registerResource("welcome", "notes://welcome", {
    title: "Welcome note", description: "A static note.", mimeType: "text/plain",
  }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/plain", text: "Hello from the TypeScript SDK peer." }],
  }));
  return server;
}

async function main() {
  const { port, issuer, scopes } = commandLine(process.argv.slice(2));
  const resourceUrl = new URL(`http://127.0.0.1:${port}/mcp`);
  const jwksUri = process.env.MCP_CONFORMANCE_AUTH_JWKS_URI || `${issuer.replace(/\/$/, "")}/jwks.json`;
  const oauthMetadata = await authorizationServerMetadata(issuer);

  const app = createMcpExpressApp(); // host 127.0.0.1: the SDK's DNS-rebinding (Host) check
  app.use(mcpAuthMetadataRouter({
    oauthMetadata, resourceServerUrl: resourceUrl, scopesSupported: scopes, resourceName: "conformance-ts-auth-peer",
  }));
  const auth = requireBearerAuth({
    verifier: jwtVerifier({ issuer, jwksUri, resourceUrl }),
    requiredScopes: scopes,
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resourceUrl),
    expectedResource: resourceUrl,
  });

  const sessions = new Map(); // session id -> transport
  const sessionNotFound = (res) =>
    res.status(404).json({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });

  app.post("/mcp", auth, async (req, res) => {
    const sessionId = req.headers["mcp-session-id"];
    try {
      if (sessionId) {
        const transport = sessions.get(sessionId);
        if (!transport) return sessionNotFound(res);
        return await transport.handleRequest(req, res, req.body);
      }
      if (!isInitializeRequest(req.body)) {
        return res.status(400).json({
          jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: No valid session ID provided" }, id: null,
        });
      }
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
      await mcpServer().connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (error) {
      process.stderr.write(`ts_auth_server: ${error?.stack ?? error}\n`);
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: "2.0", error: { code: -32603, message: "Internal server error" }, id: null });
      }
    }
  });
  const onSession = async (req, res) => { // GET (the SSE stream) and DELETE
    const sessionId = req.headers["mcp-session-id"];
    if (!sessionId) return res.status(400).send("Missing session ID");
    const transport = sessions.get(sessionId);
    if (!transport) return sessionNotFound(res);
    await transport.handleRequest(req, res);
  };
  app.get("/mcp", auth, onSession);
  app.delete("/mcp", auth, onSession);

  const listener = app.listen(port, "127.0.0.1", (error) => {
    if (error) fail(`cannot listen on 127.0.0.1:${port}: ${error.message}`);
  });
  const stop = async () => {
    for (const transport of sessions.values()) await transport.close().catch(() => {});
    listener.close();
    listener.closeAllConnections?.();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => fail(error?.stack ?? String(error)));

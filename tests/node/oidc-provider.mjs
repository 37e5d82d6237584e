// A real OpenID Connect provider for the tests (oidc-provider, certified), run by tests/web/oidc.py.
// Not a mock: it signs ID tokens and JWT access tokens with its own keys, publishes them as a
// JWKS, runs the authorization code flow with PKCE, userinfo and RP-initiated logout.
//
// Configuration comes as JSON in the environment (OP_CONFIG): issuer, port, TLS key/cert, clients,
// users. Test-only endpoints under /__test: rotate the signing key (a new Provider instance with
// the new key first, the old one still published or dropped) without restarting the process.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OP_CONFIG);
const users = config.users; // login -> claims (sub, name, meerpunt_role, meerpunt_org, bsn, acr)
const clientClaims = config.client_claims || {}; // client_id -> claims of its own access tokens
const shortLived = new Set(config.short_lived_clients || []);

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), alg: 'ES256', use: 'sig' };
}

let keys = [newKey()];
const cookieKeys = [crypto.randomBytes(32).toString('hex')];

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function build() {
  const provider = new Provider(config.issuer, {
    clients: config.clients,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    pkce: { methods: ['S256'], required: () => true },
    scopes: ['openid', 'profile', 'meerpunt', 'bsn', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name'],
      meerpunt: ['meerpunt_role', 'meerpunt_org'],
      bsn: ['bsn'],
    },
    acrValues: [
      'http://eidas.europa.eu/LoA/low',
      'http://eidas.europa.eu/LoA/substantial',
      'http://eidas.europa.eu/LoA/high',
    ],
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.api_audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api',
          audience: config.api_audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    ttl: {
      ClientCredentials: (ctx, token, client) => (shortLived.has(client.clientId) ? 1 : 600),
      AccessToken: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') return clientClaims[token.clientId] || {};
      if (token.accountId && users[token.accountId]) {
        const { sub, acr, ...claims } = users[token.accountId];
        return claims;
      }
      return {};
    },
    async findAccount(ctx, id) {
      if (!users[id]) return undefined;
      return {
        accountId: id,
        async claims() {
          const { acr, ...claims } = users[id];
          return { ...claims, sub: id };
        },
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  provider.proxy = false;
  return provider;
}

let provider = build();

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (action === 'login' && req.method === 'POST') {
      const form = await readForm(req);
      const login = form.get('login');
      if (!users[login]) return send(res, 400, 'unknown user');
      return provider.interactionFinished(req, res, { login: { accountId: login, acr: users[login].acr } }, { mergeWithLastSubmission: false });
    }
    const options = Object.keys(users).map((u) => `<option value="${escapeHtml(u)}">${escapeHtml(u)}</option>`).join('');
    return send(res, 200, `<!DOCTYPE html><html lang="en"><head><title>Test provider sign-in</title></head><body>
<main><h1>Test provider: sign in</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Account</label> <select id="login" name="login">${options}</select>
<button type="submit">Sign in</button></form></main></body></html>`);
  }
  // Consent: the test accounts agree to what the client asks for.
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const server = https.createServer(
  { key: fs.readFileSync(config.tls_key), cert: fs.readFileSync(config.tls_cert), minVersion: 'TLSv1.2' },
  async (req, res) => {
    try {
      const url = new URL(req.url, config.issuer);
      if (url.pathname === '/__test/rotate' && req.method === 'POST') {
        const dropOld = url.searchParams.get('drop_old') === '1';
        keys = dropOld ? [newKey()] : [newKey(), ...keys];
        provider = build();
        return send(res, 200, JSON.stringify({ kids: keys.map((k) => k.kid) }), 'application/json');
      }
      const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
      if (match) return await interaction(req, res, match[1], match[2]);
      return provider.callback()(req, res);
    } catch (err) {
      console.error(err);
      if (!res.headersSent) send(res, 500, 'provider error', 'text/plain');
    }
  },
);
server.listen(config.port, '127.0.0.1', () => console.log(`ready ${config.issuer}`));

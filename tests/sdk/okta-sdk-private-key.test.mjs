// Okta's management SDK in `PrivateKey` mode against Tessera's org authorization server: a
// service app registers an RSA public key, an admin grants it okta.* scopes and the API Access
// Management admin role, and the SDK — signing its client assertion with the private key —
// gets an access token from {org}/oauth2/v1/token and manages an authorization server with it.
// A token without the right scope, or a role that does not cover the resource, is refused with
// 403. A second service app with DPoP-bound tokens gets them through the SDK's nonce retry and
// uses them with a proof per request. Run by the Rust test `okta_sdk_private_key` with TESSERA_ORG_URL and TESSERA_API_TOKEN.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import okta from '@okta/okta-sdk-nodejs';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const orgUrl = env('TESSERA_ORG_URL');
const apiToken = env('TESSERA_API_TOKEN');
let passed = 0;
let failed = 0;

async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

const admin = new okta.Client({ orgUrl, token: apiToken, cacheStore: new okta.MemoryStore() });
const kid = 'sdk-key-1';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256' };

/** A management client that authenticates with the private key and asks for `scopes`. */
const withKey = (clientId, scopes) => new okta.Client({
  orgUrl, authorizationMode: 'PrivateKey', clientId, scopes, privateKey: privateJwk, keyId: kid,
  cacheStore: new okta.MemoryStore(),
});

const statusOf = async (promise) => {
  try {
    await promise;
    return 200;
  } catch (err) {
    return err.status ?? err.statusCode ?? err.code ?? String(err);
  }
};

await step('the org authorization server publishes its discovery document and keys', async () => {
  const meta = await (await fetch(`${orgUrl}/.well-known/openid-configuration`)).json();
  assert.equal(meta.issuer, orgUrl);
  assert.equal(meta.token_endpoint, `${orgUrl}/oauth2/v1/token`);
  assert.ok(meta.scopes_supported.includes('okta.authorizationServers.manage'));
  const jwks = await (await fetch(meta.jwks_uri)).json();
  assert.ok(jwks.keys.length >= 1);
});

let clientId;
let appId;
await step('a service app registers its public key', async () => {
  const res = await fetch(`${orgUrl}/api/v1/apps`, {
    method: 'POST',
    headers: { authorization: `SSWS ${apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'oidc_client', label: 'sdk automation', signOnMode: 'OPENID_CONNECT',
      credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt' } },
      settings: { oauthClient: { application_type: 'service', grant_types: ['client_credentials'], jwks: { keys: [publicJwk] } } },
    }),
  });
  const app = await res.json();
  assert.equal(res.status, 200, JSON.stringify(app));
  appId = app.id;
  clientId = app.credentials.oauthClient.client_id;
});

await step('an admin grants okta.* scopes and a role to the app through the SDK', async () => {
  for (const scopeId of ['okta.authorizationServers.manage', 'okta.users.read']) {
    const grant = await admin.applicationApi.grantConsentToScope({
      appId, oAuth2ScopeConsentGrant: { issuer: orgUrl, scopeId },
    });
    assert.equal(grant.scopeId, scopeId);
  }
  const role = await admin.roleAssignmentApi.assignRoleToClient({
    clientId, assignRoleRequest: { type: 'API_ACCESS_MANAGEMENT_ADMIN' },
  });
  assert.equal(role.type, 'API_ACCESS_MANAGEMENT_ADMIN');
});

await step('PrivateKey mode: the SDK gets a token and manages an authorization server', async () => {
  const sdk = withKey(clientId, ['okta.authorizationServers.manage']);
  const server = await sdk.authorizationServerApi.createAuthorizationServer({
    authorizationServer: { name: 'made-with-a-key', description: 'via PrivateKey', audiences: ['api://made-with-a-key'] },
  });
  assert.match(server.id, /^aus/);
  const names = [];
  for await (const s of await sdk.authorizationServerApi.listAuthorizationServers()) names.push(s.name);
  assert.ok(names.includes('made-with-a-key'), names.join(','));
});

await step('a token without the right okta.* scope is refused with 403', async () => {
  const readUsersOnly = withKey(clientId, ['okta.users.read']);
  assert.equal(await statusOf(readUsersOnly.authorizationServerApi.getAuthorizationServer({ authServerId: 'default' })), 403);
});

await step('a scope the role does not cover is refused with 403', async () => {
  // okta.users.read is granted, but an API Access Management admin may not read users.
  const readUsersOnly = withKey(clientId, ['okta.users.read']);
  assert.equal(await statusOf(readUsersOnly.userApi.getUser({ userId: 'nobody@example.com' })), 403);
});

await step('the token endpoint refuses scopes not granted to the app and custom scopes', async () => {
  // The SDK hands back the token endpoint's answer, error or not.
  const ask = (scope) => withKey(clientId, [scope]).oauth.getAccessToken();
  const groups = await ask('okta.groups.read');
  assert.equal(groups.error, 'invalid_scope');
  assert.match(groups.error_description, /not granted to the client: \[okta\.groups\.read\]/);
  const custom = await ask('reports:read');
  assert.equal(custom.error_description, 'Custom scopes are not allowed for this request');
  const granted = await ask('okta.users.read');
  assert.equal(granted.token_type, 'Bearer');
  assert.equal(granted.expires_in, 3600);
});

// DPoP (RFC 9449): a service app with dpop_bound_access_tokens. The SDK's first token request
// carries a proof without a nonce, gets use_dpop_nonce with a DPoP-Nonce header, and retries
// with it; it then calls the management API with `Authorization: DPoP` and a proof per request.
const publicThumbprint = createHash('sha256')
  .update(JSON.stringify({ e: publicJwk.e, kty: publicJwk.kty, n: publicJwk.n }))
  .digest('base64url');
let dpopClientId;
await step('DPoP: the SDK receives a DPoP-bound token and manages servers with it', async () => {
  const res = await fetch(`${orgUrl}/api/v1/apps`, {
    method: 'POST',
    headers: { authorization: `SSWS ${apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'oidc_client', label: 'sdk automation with DPoP', signOnMode: 'OPENID_CONNECT',
      credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt' } },
      settings: { oauthClient: { application_type: 'service', grant_types: ['client_credentials'], dpop_bound_access_tokens: true, jwks: { keys: [publicJwk] } } },
    }),
  });
  const app = await res.json();
  assert.equal(res.status, 200, JSON.stringify(app));
  dpopClientId = app.credentials.oauthClient.client_id;
  await admin.applicationApi.grantConsentToScope({
    appId: app.id, oAuth2ScopeConsentGrant: { issuer: orgUrl, scopeId: 'okta.authorizationServers.manage' },
  });
  await admin.roleAssignmentApi.assignRoleToClient({
    clientId: dpopClientId, assignRoleRequest: { type: 'API_ACCESS_MANAGEMENT_ADMIN' },
  });
  const sdk = withKey(dpopClientId, ['okta.authorizationServers.manage']);
  const names = [];
  for await (const s of await sdk.authorizationServerApi.listAuthorizationServers()) names.push(s.name);
  assert.ok(names.includes('made-with-a-key'), names.join(','));
  assert.equal(sdk.oauth.isDPoP, true);
  const token = sdk.oauth.accessToken;
  assert.equal(token.token_type, 'DPoP');
  const claims = JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url').toString());
  assert.equal(claims.cnf.jkt, publicThumbprint);
});

await step('DPoP: the bound token without its proof is refused', async () => {
  const sdk = withKey(dpopClientId, ['okta.authorizationServers.manage']);
  const bound = await sdk.oauth.getAccessToken();
  assert.equal(sdk.oauth.isDPoP, true, 'set only when the first answer was the nonce challenge');
  const res = await fetch(`${orgUrl}/api/v1/authorizationServers`, { headers: { authorization: `Bearer ${bound.access_token}` } });
  assert.equal(res.status, 401);
  const noProof = await fetch(`${orgUrl}/api/v1/authorizationServers`, { headers: { authorization: `DPoP ${bound.access_token}` } });
  assert.equal(noProof.status, 401);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Dynamic client registration (RFC 7591/7592, Okta's Client API): a registrar service app
// with okta.clients.register gets an org-server token (private_key_jwt), and openid-client's
// dynamicClientRegistration registers a client with it as the initial access token. The new
// client gets tokens at once, is an app of the Apps API (consent_method REQUIRED, as Okta
// defaults registered clients), and is read, replaced and deleted at /oauth2/v1/clients; a
// token that may only register cannot read or delete. Run by the Rust test
// `openid_client_registers_a_client_dynamically` with TESSERA_ORG_URL and TESSERA_API_TOKEN.
import assert from 'node:assert/strict';
import * as client from 'openid-client';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const orgUrl = env('TESSERA_ORG_URL');
const ssws = { authorization: `SSWS ${env('TESSERA_API_TOKEN')}`, 'content-type': 'application/json', accept: 'application/json' };
const insecure = { execute: [client.allowInsecureRequests] };
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

const api = async (method, path, body, headers = ssws) => {
  const res = await fetch(`${orgUrl}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

let registrarToken;
await step('a registrar app with okta.clients.register gets an org-server token', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const made = await api('POST', '/api/v1/apps', {
    name: 'oidc_client', label: 'registrar', signOnMode: 'OPENID_CONNECT',
    credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt' } },
    settings: { oauthClient: { application_type: 'service', grant_types: ['client_credentials'],
      jwks: { keys: [{ kty, crv, x, y, kid: 'registrar-1', alg: 'ES256', use: 'sig' }] } } },
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const clientId = made.body.credentials.oauthClient.client_id;
  const grant = await api('POST', `/api/v1/apps/${made.body.id}/grants`, { issuer: orgUrl, scopeId: 'okta.clients.register' });
  assert.equal(grant.status, 201, JSON.stringify(grant.body));
  const role = await api('POST', `/oauth2/v1/clients/${clientId}/roles`, { type: 'APP_ADMIN' });
  assert.equal(role.status, 200, JSON.stringify(role.body));
  const auth = client.PrivateKeyJwt({ key: pair.privateKey, kid: 'registrar-1' }, {
    [client.modifyAssertion]: (header, payload) => { payload.aud = `${orgUrl}/oauth2/v1/token`; },
  });
  const org = await client.discovery(new URL(orgUrl), clientId, undefined, auth, insecure);
  const tokens = await client.clientCredentialsGrant(org, { scope: 'okta.clients.register' });
  registrarToken = tokens.access_token;
});

let registered;
await step('dynamicClientRegistration registers a client with the initial access token', async () => {
  const config = await client.dynamicClientRegistration(new URL(`${orgUrl}/oauth2/default`), {
    client_name: 'registered service', application_type: 'service',
    // openid-client authenticates a registered client with client_secret_post by default.
    grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post',
  }, undefined, { ...insecure, initialAccessToken: registrarToken });
  registered = config.clientMetadata();
  assert.ok(registered.client_id);
  assert.ok(registered.client_secret);
  assert.equal(registered.client_secret_expires_at, 0);
  assert.equal(registered.client_name, 'registered service');
  const tokens = await client.clientCredentialsGrant(config, { scope: 'reports.read' });
  assert.equal(tokens.scope, 'reports.read');
});

await step('the registered client is an app of the Apps API, consent REQUIRED', async () => {
  const apps = await api('GET', '/api/v1/apps?limit=200');
  const app = apps.body.find((a) => a.credentials.oauthClient.client_id === registered.client_id);
  assert.ok(app, 'listed under /api/v1/apps');
  assert.equal(app.settings.oauthClient.consent_method, 'REQUIRED');
  assert.equal(app.label, 'registered service');
});

await step('a token that may only register can neither read nor delete clients', async () => {
  const bearer = { authorization: `Bearer ${registrarToken}`, accept: 'application/json' };
  assert.equal((await api('GET', `/oauth2/v1/clients/${registered.client_id}`, undefined, bearer)).status, 403);
  assert.equal((await api('DELETE', `/oauth2/v1/clients/${registered.client_id}`, undefined, bearer)).status, 403);
});

await step('read, replace and delete at /oauth2/v1/clients/{clientId} (RFC 7592)', async () => {
  const read = await api('GET', `/oauth2/v1/clients/${registered.client_id}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.client_name, 'registered service');
  const replaced = await api('PUT', `/oauth2/v1/clients/${registered.client_id}`, {
    client_name: 'renamed service', application_type: 'service', grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  assert.equal(replaced.body.client_name, 'renamed service');
  assert.equal((await api('DELETE', `/oauth2/v1/clients/${registered.client_id}`)).status, 204);
  assert.equal((await api('GET', `/oauth2/v1/clients/${registered.client_id}`)).status, 404);
});

await step('bad metadata is refused with RFC 7591 errors, and nothing is registered', async () => {
  const before = (await api('GET', '/oauth2/v1/clients?limit=200')).body.length;
  const nameless = await api('POST', '/oauth2/v1/clients', { grant_types: ['client_credentials'], application_type: 'service' });
  assert.deepEqual([nameless.status, nameless.body.error], [400, 'invalid_client_metadata']);
  assert.match(nameless.body.error_description, /client_name/);
  const badRedirect = await api('POST', '/oauth2/v1/clients', { client_name: 'web', redirect_uris: ['not a uri'] });
  assert.deepEqual([badRedirect.status, badRedirect.body.error], [400, 'invalid_redirect_uri']);
  assert.equal((await api('GET', '/oauth2/v1/clients?limit=200')).body.length, before);
  const anonymous = await fetch(`${orgUrl}/oauth2/v1/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_name":"x"}' });
  assert.equal(anonymous.status, 401);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

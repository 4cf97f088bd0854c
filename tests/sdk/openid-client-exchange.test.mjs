// openid-client exchanges a user's access token for one to call the next API as that user
// (RFC 8693 token exchange, Okta's On-Behalf-Of flow) with genericGrantRequest, as the API's
// service app; @okta/jwt-verifier verifies the new token: the same user, the exchanging client.
// Run by the Rust test `openid_client_exchanges_a_users_token` with TESSERA_ISSUER,
// TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET (the service app), TESSERA_SUBJECT_TOKEN,
// TESSERA_USER_ID and TESSERA_USERNAME.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import OktaJwtVerifier from '@okta/jwt-verifier';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
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

let config;
let exchanged;

await step('discovery lists the token-exchange grant', async () => {
  const secret = env('TESSERA_CLIENT_SECRET');
  config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), secret, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
  });
  assert.ok(config.serverMetadata().grant_types_supported.includes(EXCHANGE));
});

await step('genericGrantRequest exchanges the subject token', async () => {
  exchanged = await client.genericGrantRequest(config, EXCHANGE, {
    subject_token: env('TESSERA_SUBJECT_TOKEN'),
    subject_token_type: ACCESS_TOKEN,
    audience: 'api://default',
    scope: 'orders.read',
  });
  assert.equal(exchanged.token_type.toLowerCase(), 'bearer');
  assert.equal(exchanged.issued_token_type, ACCESS_TOKEN);
  assert.equal(exchanged.scope, 'orders.read');
  assert.equal(exchanged.refresh_token, undefined);
  assert.equal(exchanged.id_token, undefined);
});

await step('@okta/jwt-verifier verifies it: the same user, the exchanging client', async () => {
  const verifier = new OktaJwtVerifier({ issuer, testing: { disableHttpsCheck: true } });
  const jwt = await verifier.verifyAccessToken(exchanged.access_token, 'api://default');
  assert.equal(jwt.claims.uid, env('TESSERA_USER_ID'));
  assert.equal(jwt.claims.sub, env('TESSERA_USERNAME'));
  assert.equal(jwt.claims.cid, env('TESSERA_CLIENT_ID'));
  assert.deepEqual(jwt.claims.scp, ['orders.read']);
});

await step('another audience is invalid_target', async () => {
  await assert.rejects(client.genericGrantRequest(config, EXCHANGE, {
    subject_token: env('TESSERA_SUBJECT_TOKEN'), subject_token_type: ACCESS_TOKEN, audience: 'api://elsewhere', scope: 'orders.read',
  }), (err) => err.error === 'invalid_target');
});

await step('a service app asking for OpenID Connect scopes is invalid_scope', async () => {
  await assert.rejects(client.genericGrantRequest(config, EXCHANGE, {
    subject_token: env('TESSERA_SUBJECT_TOKEN'), subject_token_type: ACCESS_TOKEN, audience: 'api://default', scope: 'openid orders.read',
  }), (err) => err.error === 'invalid_scope');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// openid-client runs Cross App Access end to end: the user signs in to the org authorization
// server (authorization code with PKCE, on the hosted page), the app exchanges the ID token there
// for an identity assertion (RFC 8693 with requested_token_type id-jag; token_type N_A), and
// presents the assertion to a custom authorization server with the JWT bearer grant (RFC 7523
// §2.1, genericGrantRequest) for an access token that @okta/jwt-verifier verifies. A replayed
// assertion, one for another server and an ID token in its place are invalid_grant. Run by the
// Rust test `openid_client_trades_an_identity_assertion_for_an_access_token` with
// TESSERA_ORG, TESSERA_ISSUER, TESSERA_OTHER_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET,
// TESSERA_REDIRECT_URI, TESSERA_USERNAME, TESSERA_PASSWORD and TESSERA_USER_ID.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import OktaJwtVerifier from '@okta/jwt-verifier';
import { signIn } from './hosted-sign-in.mjs';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
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

const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString());
const secret = env('TESSERA_CLIENT_SECRET');
const discover = (url) => client.discovery(new URL(url), env('TESSERA_CLIENT_ID'), secret, client.ClientSecretBasic(secret), {
  execute: [client.allowInsecureRequests],
});
let org;
let resource;
let idToken;
let assertion;

await step('discovery: the org server exchanges tokens, the custom server takes JWT bearer', async () => {
  org = await discover(env('TESSERA_ORG'));
  resource = await discover(issuer);
  assert.ok(org.serverMetadata().grant_types_supported.includes(EXCHANGE));
  assert.ok(resource.serverMetadata().grant_types_supported.includes(JWT_BEARER));
});

await step('the user signs in to the org server', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(org, {
    redirect_uri: env('TESSERA_REDIRECT_URI'), scope: 'openid', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const { callback } = await signIn(url, env('TESSERA_USERNAME'), env('TESSERA_PASSWORD'));
  const tokens = await client.authorizationCodeGrant(org, callback, { pkceCodeVerifier: verifier, expectedState: state });
  idToken = tokens.id_token;
  assert.equal(tokens.claims().sub, env('TESSERA_USER_ID'));
});

const askForAssertion = (audience) => client.genericGrantRequest(org, EXCHANGE, {
  requested_token_type: ID_JAG, subject_token: idToken, subject_token_type: ID_TOKEN, audience, scope: 'orders.read',
});

await step('the org server exchanges the ID token for an identity assertion', async () => {
  const res = await askForAssertion(issuer);
  assert.equal(res.token_type, 'n_a');
  assert.equal(res.issued_token_type, ID_JAG);
  assert.ok(res.expires_in > 0 && res.expires_in <= 300, `${res.expires_in}`);
  assertion = res.access_token;
  assert.equal(part(assertion, 0).typ, 'oauth-id-jag+jwt');
  const claims = part(assertion, 1);
  assert.equal(claims.iss, org.serverMetadata().issuer);
  assert.equal(claims.aud, issuer);
  assert.equal(claims.client_id, env('TESSERA_CLIENT_ID'));
  assert.equal(claims.sub, env('TESSERA_USER_ID'));
  assert.equal(claims.scope, 'orders.read');
});

let accessToken;
await step('genericGrantRequest trades it for an access token (JWT bearer)', async () => {
  const res = await client.genericGrantRequest(resource, JWT_BEARER, { assertion });
  assert.equal(res.token_type, 'bearer');
  assert.equal(res.scope, 'orders.read');
  assert.equal(res.refresh_token, undefined);
  assert.equal(res.id_token, undefined);
  accessToken = res.access_token;
});

await step('@okta/jwt-verifier verifies it: the user, the client', async () => {
  const verifier = new OktaJwtVerifier({ issuer, testing: { disableHttpsCheck: true } });
  const jwt = await verifier.verifyAccessToken(accessToken, 'api://default');
  assert.equal(jwt.claims.uid, env('TESSERA_USER_ID'));
  assert.equal(jwt.claims.sub, env('TESSERA_USERNAME'));
  assert.equal(jwt.claims.cid, env('TESSERA_CLIENT_ID'));
  assert.deepEqual(jwt.claims.scp, ['orders.read']);
});

await step('the same assertion again is invalid_grant (single use)', async () => {
  await assert.rejects(client.genericGrantRequest(resource, JWT_BEARER, { assertion }),
    (err) => err.error === 'invalid_grant' && /already been used/.test(err.error_description));
});

await step('an assertion for another server is invalid_grant', async () => {
  const other = (await askForAssertion(env('TESSERA_OTHER_ISSUER'))).access_token;
  await assert.rejects(client.genericGrantRequest(resource, JWT_BEARER, { assertion: other }),
    (err) => err.error === 'invalid_grant' && /audience/.test(err.error_description));
});

await step('the ID token in place of an assertion is invalid_grant', async () => {
  await assert.rejects(client.genericGrantRequest(resource, JWT_BEARER, { assertion: idToken }),
    (err) => err.error === 'invalid_grant');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// openid-client sends the `claims` authorization request parameter (OpenID Connect Core §5.5)
// with only the `openid` scope: the ID token carries the standard claims requested for it, and
// /userinfo the ones requested for it — what the scopes alone would not give. A malformed
// `claims` parameter comes back as invalid_request. Run by the Rust test
// `openid_client_asks_for_individual_claims` with TESSERA_ISSUER, TESSERA_CLIENT_ID,
// TESSERA_CLIENT_SECRET, TESSERA_REDIRECT_URI, TESSERA_USERNAME and TESSERA_PASSWORD.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { signIn } from './hosted-sign-in.mjs';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const redirectUri = env('TESSERA_REDIRECT_URI');
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
let tokens;

await step('discovery says the claims parameter is supported', async () => {
  const secret = env('TESSERA_CLIENT_SECRET');
  config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), secret, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
  });
  assert.equal(config.serverMetadata().claims_parameter_supported, true);
});

await step('the ID token carries the claims requested for it', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    claims: JSON.stringify({
      id_token: { email: { essential: true }, given_name: null },
      userinfo: { family_name: null, preferred_username: { essential: true } },
    }),
  });
  const { callback } = await signIn(url, env('TESSERA_USERNAME'), env('TESSERA_PASSWORD'));
  tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const claims = tokens.claims();
  assert.equal(claims.email, env('TESSERA_USERNAME'));
  assert.equal(claims.given_name, 'Ada');
  assert.equal(claims.family_name, undefined, 'asked for at /userinfo only');
  assert.equal(tokens.scope, 'openid');
});

await step('/userinfo returns the claims requested for it', async () => {
  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(info.family_name, 'Lovelace');
  assert.equal(info.preferred_username, env('TESSERA_USERNAME'));
  assert.equal(info.given_name, undefined, 'asked for in the ID token only');
});

await step('a malformed claims parameter is invalid_request at the redirect URI', async () => {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', state: 's',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    claims: '{"userinfo": ["email"]}',
  });
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'invalid_request');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

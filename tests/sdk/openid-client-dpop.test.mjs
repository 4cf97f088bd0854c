// openid-client binds tokens to a DPoP key (RFC 9449) with a DPoP handle (randomDPoPKeyPair,
// getDPoPHandle) for an app with dpop_bound_access_tokens: the authorization code is redeemed
// (the first proof has no nonce: Tessera answers use_dpop_nonce with a DPoP-Nonce header and
// openid-client retries with it), the tokens are refreshed and /userinfo is called with proofs
// of the same key. The access token's cnf.jkt is the key's thumbprint and token_type is DPoP;
// the same token as a Bearer token is refused. Run by the Rust test
// `openid_client_binds_tokens_to_a_dpop_key` with TESSERA_ISSUER, TESSERA_CLIENT_ID,
// TESSERA_CLIENT_SECRET, TESSERA_REDIRECT_URI, TESSERA_USERNAME and TESSERA_PASSWORD.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
/** RFC 7638 thumbprint of an EC public key. */
const thumbprint = ({ crv, kty, x, y }) => createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');

let config;
let keyPair;
let dpop;
let tokens;
let jkt;

await step('discovery, and a DPoP handle for a fresh ES256 key', async () => {
  const secret = env('TESSERA_CLIENT_SECRET');
  config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), secret, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
  });
  assert.ok(config.serverMetadata().dpop_signing_alg_values_supported.includes('ES256'));
  keyPair = await client.randomDPoPKeyPair('ES256');
  dpop = client.getDPoPHandle(config, keyPair);
  jkt = thumbprint(await crypto.subtle.exportKey('jwk', keyPair.publicKey));
});

await step('the code is redeemed with a proof (after the nonce challenge): a DPoP-bound token', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile offline_access', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const { callback } = await signIn(url, env('TESSERA_USERNAME'), env('TESSERA_PASSWORD'));
  tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  assert.equal(payload(tokens.access_token).cnf.jkt, jkt);
  assert.ok(tokens.refresh_token);
});

await step('the refresh is proven with the same key and stays bound', async () => {
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
  assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
  assert.equal(payload(refreshed.access_token).cnf.jkt, jkt);
  tokens = refreshed;
});

await step('/userinfo takes the token with a proof (DPoP scheme, ath)', async () => {
  const info = await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck, { DPoP: dpop });
  assert.equal(info.preferred_username, env('TESSERA_USERNAME'));
});

await step('the bound token as a Bearer token is refused', async () => {
  const res = await fetch(`${issuer}/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(res.status, 401);
});

await step('a refresh proven with another key is refused', async () => {
  const other = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: other }),
    (err) => err.error === 'invalid_dpop_proof');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

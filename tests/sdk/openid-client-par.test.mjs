// openid-client pushes its authorization request (RFC 9126) with buildAuthorizationUrlWithPAR
// for an app that requires it, a form driver signs in on the hosted page (the request is
// resumed through a fresh request_uri), and openid-client redeems the code with PKCE and
// validates the ID token. The same request_uri a second time is refused, and the app's
// unpushed request is refused. Run by the Rust test `openid_client_pushes_its_authorization_request`
// with TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET, TESSERA_REDIRECT_URI,
// TESSERA_USERNAME and TESSERA_PASSWORD.
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
let pushedUrl;

await step('discovery lists the pushed authorization request endpoint', async () => {
  const secret = env('TESSERA_CLIENT_SECRET');
  config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), secret, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
  });
  assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${issuer}/v1/par`);
});

await step('buildAuthorizationUrlWithPAR, sign-in, code + PKCE: openid-client validates the ID token', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  pushedUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  assert.deepEqual([...pushedUrl.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  const { callback, resume } = await signIn(pushedUrl, env('TESSERA_USERNAME'), env('TESSERA_PASSWORD'));
  assert.ok(resume.searchParams.get('request_uri'), 'resumed through a pushed request');
  assert.equal(resume.searchParams.get('state'), null, 'no pushed parameter in the URL');
  assert.ok(callback.href.startsWith(redirectUri));
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
  });
  assert.equal(tokens.claims().nonce, nonce);
});

await step('a request_uri is single use', async () => {
  const res = await fetch(pushedUrl, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /already used/);
});

await step('the app requires pushed requests: a plain authorize URL is refused', async () => {
  const plain = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const res = await fetch(plain, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /must push/);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

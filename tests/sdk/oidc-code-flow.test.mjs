// openid-client runs the authorization-code + PKCE flow against Tessera through discovery. The
// hosted sign-in form is filled by a plain HTTP form driver (fetch, manual redirects, one
// cookie); openid-client validates the ID token (state, nonce, at_hash) and refreshes.
// Run by the Rust test `oidc_code_flow` with TESSERA_ISSUER, TESSERA_CLIENT_ID,
// TESSERA_CLIENT_SECRET, TESSERA_REDIRECT_URI, TESSERA_USERNAME and TESSERA_PASSWORD.
import assert from 'node:assert/strict';
import * as client from 'openid-client';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const clientId = env('TESSERA_CLIENT_ID');
const clientSecret = env('TESSERA_CLIENT_SECRET');
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

/** Follows the browser part of the flow and returns the callback URL the client receives. */
async function signIn(authorizationUrl) {
  let cookie = '';
  const go = async (url, init = {}) => fetch(new URL(url, authorizationUrl), {
    redirect: 'manual', ...init, headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
  });
  let res = await go(authorizationUrl);
  assert.equal(res.status, 302);
  const loginUrl = new URL(res.headers.get('location'), authorizationUrl);
  res = await go(loginUrl);
  // The sign-in page sets a pre-login cookie that its form must come back with, as in a browser.
  cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const html = await res.text();
  const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];
  res = await go(new URL(loginUrl.pathname, loginUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      csrf: field('csrf'), pending: field('pending'), username: env('TESSERA_USERNAME'), password: env('TESSERA_PASSWORD'),
    }),
  });
  assert.equal(res.status, 303);
  cookie = res.headers.getSetCookie()[0].split(';')[0];
  res = await go(res.headers.get('location'));
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location'));
}

let config;
let tokens;

await step('discovery lists the authorization endpoint', async () => {
  config = await client.discovery(new URL(issuer), clientId, clientSecret, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
  });
  assert.equal(config.serverMetadata().authorization_endpoint, `${issuer}/v1/authorize`);
});

await step('authorization code + PKCE: openid-client validates state, nonce and at_hash', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const callback = await signIn(url);
  assert.ok(callback.href.startsWith(redirectUri));
  tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.nonce, nonce);
  assert.ok(claims.at_hash);
  assert.ok(tokens.refresh_token);
});

await step('openid-client refreshes the tokens', async () => {
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.ok(refreshed.refresh_token);
});

await step('userinfo for the signed-in user', async () => {
  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(info.sub, tokens.claims().sub);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// openid-client runs the device authorization grant (RFC 8628) against Tessera through
// discovery: initiateDeviceAuthorization, then pollDeviceAuthorizationGrant while the user
// approves on the hosted activation page (filled by a plain HTTP form driver: fetch, manual
// redirects, a cookie jar). The ID token is validated by openid-client; the refresh token it
// receives (offline_access) is then used, and /userinfo names the user who approved. A second device is denied by its user and the poll
// fails with access_denied. Run by the Rust test `openid_client_runs_the_device_grant` with
// TESSERA_ORG, TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_USERNAME and TESSERA_PASSWORD.
import assert from 'node:assert/strict';
import * as client from 'openid-client';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
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

/** A browser's part of the flow: a cookie jar and fetch without following redirects. */
function browser() {
  const jar = new Map();
  return async (url, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      redirect: 'manual', ...init, headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
}

/** Opens verification_uri_complete, signs in, and answers `decision` on the approval page. */
async function answer(verificationUriComplete, decision) {
  const go = browser();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  let res = await go(verificationUriComplete);
  assert.equal(res.status, 302, 'no session yet: off to sign in');
  const loginUrl = new URL(res.headers.get('location'), verificationUriComplete);
  res = await go(loginUrl);
  let html = await res.text();
  const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];
  res = await go(new URL(loginUrl.pathname, loginUrl), {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({
      csrf: field('csrf'), pending: field('pending'), username: env('TESSERA_USERNAME'), password: env('TESSERA_PASSWORD'),
    }),
  });
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'), loginUrl);
  assert.equal(back.pathname, new URL(verificationUriComplete).pathname, 'back to the activation page');
  res = await go(back);
  assert.equal(res.status, 200);
  html = await res.text();
  assert.match(html, /Connect /);
  res = await go(back.origin + back.pathname, {
    method: 'POST', headers: form, body: new URLSearchParams({ approval: field('approval'), decision }),
  });
  assert.equal(res.status, 200);
  return res.text();
}

let config;
let tokens;

await step('discovery lists the device authorization endpoint and grant', async () => {
  config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const meta = config.serverMetadata();
  assert.equal(meta.device_authorization_endpoint, `${issuer}/v1/device/authorize`);
  assert.ok(meta.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'));
});

await step('initiateDeviceAuthorization + pollDeviceAuthorizationGrant while the user approves', async () => {
  const started = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
  assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
  assert.equal(started.verification_uri, `${env('TESSERA_ORG')}/activate`);
  assert.equal(started.verification_uri_complete, `${started.verification_uri}?user_code=${started.user_code}`);
  assert.equal(started.interval, 5);
  assert.equal(started.expires_in, 600);
  const polling = client.pollDeviceAuthorizationGrant(config, started);
  const page = await answer(started.verification_uri_complete, 'allow');
  assert.match(page, /Device activated/);
  tokens = await polling;
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.deepEqual(tokens.scope.split(' ').sort(), ['offline_access', 'openid', 'profile']);
  const claims = tokens.claims();
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, env('TESSERA_CLIENT_ID'));
  // The user who approved on the page is the token's user.
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.preferred_username, env('TESSERA_USERNAME'));
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
});

await step('the refresh token from the device grant refreshes', async () => {
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
});

await step('a device its user denies gets access_denied from the poll', async () => {
  const started = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const polling = client.pollDeviceAuthorizationGrant(config, started);
  const page = await answer(started.verification_uri_complete, 'deny');
  assert.match(page, /denied/);
  await assert.rejects(polling, (err) => err.error === 'access_denied');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

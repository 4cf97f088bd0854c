// A single-page app built on Okta's own browser SDK, @okta/okta-auth-js (unchanged, its
// browser bundle from npm), in a real browser (Debian's headless Chromium, driven by
// playwright-core) with normal web security. The app is served from its own origin, different from Tessera's,
// so every call it makes to Tessera is a CORS call (okta-auth-js sends
// X-Okta-User-Agent-Extended, so each is preflighted). Each step of a user's day is asserted:
// signInWithRedirect → the hosted sign-in page → handleLoginRedirect (the PKCE code exchange
// across origins) → getUser (userinfo) → tokenManager.renew with a refresh token → the same
// renewal without one, through the hidden iframe (response_mode=okta_post_message) →
// revokeAccessToken → signOut → the next signInWithRedirect asks for the password again. No
// console error is allowed.
// Run by the Rust test `an_okta_auth_js_spa_signs_in_renews_and_signs_out_in_a_real_browser`
// with TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_SPA_ORIGIN (an origin on the same site as the
// issuer: the hidden iframe carries the session cookie, SameSite=Lax, to same-site frames only),
// TESSERA_USERNAME, TESSERA_PASSWORD and TESSERA_SCREENSHOTS (a directory for two PNGs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const clientId = env('TESSERA_CLIENT_ID');
const spaOrigin = env('TESSERA_SPA_ORIGIN');
const shots = env('TESSERA_SCREENSHOTS');
const redirectUri = `${spaOrigin}/login/callback`;
const postLogoutRedirectUri = `${spaOrigin}/logged-out`;
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

// The SDK exactly as npm ships it.
const sdkBundle = readFileSync(new URL('./node_modules/@okta/okta-auth-js/dist/okta-auth-js.min.js', import.meta.url));

// The app: one page on every path. On /login/callback it finishes the sign-in the way the SDK's
// guides show; elsewhere it only creates the client. The test calls the SDK through
// `window.authClient`.
const appPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Reports SPA</title>
<style>body{font:16px system-ui,sans-serif;margin:3rem;color:#1d2433} code{background:#eef1f6;padding:.1rem .3rem}</style>
<script src="/okta-auth-js.js"></script></head>
<body><h1>Reports</h1><p id="who">Not signed in.</p>
<script>
const Ctor = typeof OktaAuth === 'function' ? OktaAuth : OktaAuth.OktaAuth;
window.authClient = new Ctor({
  issuer: ${JSON.stringify(issuer)},
  clientId: ${JSON.stringify(clientId)},
  redirectUri: ${JSON.stringify(redirectUri)},
  postLogoutRedirectUri: ${JSON.stringify(postLogoutRedirectUri)},
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  pkce: true,
  tokenManager: { autoRenew: false, autoRemove: false },
});
window.showUser = async () => {
  const user = await authClient.getUser();
  document.getElementById('who').textContent = 'Signed in as ' + user.name + ' (' + user.email + ')';
  return user;
};
if (location.pathname === '/login/callback') {
  authClient.handleLoginRedirect().catch((e) => { console.error('handleLoginRedirect failed', e); document.title = 'failed'; });
} else {
  // What an app does on load: start the SDK's services (which also drops the tokens that
  // signOut() marked for removal before it left for the logout endpoint).
  window.started = authClient.start();
}
</script></body></html>`;

const requests = [];
const spa = createServer((req, res) => {
  requests.push(req.url);
  if (req.url === '/okta-auth-js.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdkBundle);
  } else if (req.url === '/favicon.ico') {
    res.writeHead(204).end();
  } else {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(appPage);
  }
});
await new Promise((resolve) => spa.listen(Number(new URL(spaOrigin).port), '127.0.0.1', resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const consoleErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 760, height: 560 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e}`));
  const issuerOrigin = new URL(issuer).origin;
  const tokens = () => page.evaluate(async () => {
    const t = await authClient.tokenManager.getTokens();
    return {
      access: t.accessToken && t.accessToken.accessToken,
      refresh: t.refreshToken && t.refreshToken.refreshToken,
      id: t.idToken && t.idToken.idToken,
    };
  });

  async function signInPage() {
    await page.goto(`${spaOrigin}/`);
    await Promise.all([
      page.waitForURL((u) => u.origin === issuerOrigin && u.pathname.endsWith('/login')),
      page.evaluate(() => { authClient.signInWithRedirect({ originalUri: '/home' }); }),
    ]);
    assert.match(await page.title(), /^Sign in/);
    assert.ok(await page.getByLabel('Password').isVisible(), 'the password is asked for');
  }

  await step('signInWithRedirect() goes to the hosted sign-in page', async () => {
    await signInPage();
    await page.getByLabel('Username').fill(env('TESSERA_USERNAME'));
    await page.screenshot({ path: path.join(shots, 'spa-sign-in.png') });
  });

  await step('signing in returns to the app and handleLoginRedirect() exchanges the code (PKCE, CORS)', async () => {
    await page.getByLabel('Password').fill(env('TESSERA_PASSWORD'));
    await Promise.all([
      page.waitForURL(`${spaOrigin}/home`, { timeout: 15000 }),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    const t = await tokens();
    assert.ok(t.access && t.id && t.refresh, JSON.stringify(t));
    assert.ok(requests.some((u) => u.startsWith('/login/callback?code=')), 'the code came back to the app');
  });

  await step('getUser() reads userinfo cross-origin', async () => {
    const user = await page.evaluate(() => showUser());
    assert.equal(user.email, env('TESSERA_USERNAME'));
    assert.ok(user.sub);
    await page.screenshot({ path: path.join(shots, 'spa-signed-in.png') });
  });

  await step("tokenManager.renew('accessToken') uses the refresh token, which rotates", async () => {
    const before = await tokens();
    await page.evaluate(() => authClient.tokenManager.renew('accessToken'));
    const after = await tokens();
    assert.ok(after.access && after.access !== before.access, 'a new access token');
    assert.ok(after.refresh && after.refresh !== before.refresh, 'a new refresh token');
  });

  await step("without a refresh token, renew('accessToken') renews through the hidden iframe (okta_post_message)", async () => {
    await page.evaluate(() => authClient.tokenManager.remove('refreshToken'));
    const before = await tokens();
    assert.equal(before.refresh, undefined);
    const framed = [];
    page.on('request', (r) => { if (r.url().includes('response_mode=okta_post_message')) framed.push(r.url()); });
    await page.evaluate(() => authClient.tokenManager.renew('accessToken'));
    const after = await tokens();
    assert.ok(after.access && after.access !== before.access, 'a new access token');
    assert.equal(framed.length, 1, 'one prompt=none request from the hidden iframe');
    assert.match(framed[0], /prompt=none/);
  });

  await step('revokeAccessToken() revokes it (Basic client_id: at /revoke)', async () => {
    const { access } = await tokens();
    await page.evaluate(() => authClient.revokeAccessToken());
    // Asked from the app's origin too: a public client introspects with its client_id.
    const answer = await page.evaluate(async ([url, token, id]) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token', client_id: id }),
      });
      return { status: res.status, body: await res.json() };
    }, [`${issuer}/v1/introspect`, access, clientId]);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.active, false);
  });

  await step('signOut() ends the session and comes back to the app', async () => {
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(postLogoutRedirectUri), { timeout: 15000 }),
      page.evaluate(() => { authClient.signOut(); }),
    ]);
    await page.evaluate(() => window.started);
    const t = await tokens();
    assert.equal(t.access, undefined);
    assert.equal(t.id, undefined);
  });

  await step('the next signInWithRedirect() asks for the password again', async () => {
    await signInPage();
  });
} finally {
  await browser.close();
  spa.close();
}

await step('no console error in the app or on the hosted pages', async () => {
  assert.deepEqual(consoleErrors, []);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

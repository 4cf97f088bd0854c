// A real browser (Debian's headless Chromium, driven by playwright-core) goes through the hosted
// sign-in page: a wrong password shows the generic failure, the right one lands on the
// client's redirect URI with a code that the token endpoint exchanges (PKCE, public client), and
// `response_mode=form_post` posts the code to the client, its one script allowed by the page's
// Content-Security-Policy. The client is a small HTTP server on the loopback port of the
// registered redirect URI that records what the browser brings it.
// Run by the Rust test `a_real_browser_signs_in_on_the_hosted_page` with TESSERA_ISSUER,
// TESSERA_CLIENT_ID, TESSERA_REDIRECT_URI, TESSERA_USERNAME, TESSERA_PASSWORD and
// TESSERA_SCREENSHOT (where to save the sign-in page as PNG).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set`); return v; };
const issuer = env('TESSERA_ISSUER');
const clientId = env('TESSERA_CLIENT_ID');
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

const b64url = (buf) => buf.toString('base64url');
const verifier = b64url(randomBytes(32));
const challenge = b64url(createHash('sha256').update(verifier).digest());

function authorizeUrl(extra = {}) {
  const url = new URL(`${issuer}/v1/authorize`);
  url.search = new URLSearchParams({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile',
    state: b64url(randomBytes(12)), nonce: b64url(randomBytes(12)),
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  }).toString();
  return url;
}

// The client application: whatever the browser brings to it is recorded and answered.
const arrivals = [];
const clientApp = createServer((req, res) => {
  if (req.url === '/favicon.ico') { res.writeHead(404).end(); return; }
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    arrivals.push({ method: req.method, url: new URL(req.url, redirectUri).href, body });
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>client</title><p>back at the client</p>');
  });
});
await new Promise((resolve) => clientApp.listen(Number(new URL(redirectUri).port), '127.0.0.1', resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  const first = authorizeUrl();
  await step('authorize without a session shows the hosted sign-in page', async () => {
    await page.goto(first.href);
    assert.equal(await page.title(), `Sign in · ${new URL(issuer).pathname.split('/')[2]}`);
    assert.ok(await page.getByLabel('Username').isVisible());
    await page.screenshot({ path: env('TESSERA_SCREENSHOT') });
  });

  await step('a wrong password shows the generic failure and keeps the username', async () => {
    await page.getByLabel('Username').fill(env('TESSERA_USERNAME'));
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    assert.match(await page.getByRole('alert').innerText(), /Sign-in failed/);
    assert.equal(await page.getByLabel('Username').inputValue(), env('TESSERA_USERNAME'));
    assert.equal(arrivals.length, 0);
  });

  let code;
  await step('signing in lands on the redirect URI with a code and the state', async () => {
    await page.getByLabel('Password').fill(env('TESSERA_PASSWORD'));
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(redirectUri)),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), first.searchParams.get('state'));
    code = landed.searchParams.get('code');
    assert.ok(code);
    assert.equal(arrivals.length, 1);
  });

  await step('the code is exchanged with the PKCE verifier for an access and an ID token', async () => {
    const res = await fetch(`${issuer}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.access_token && body.id_token);
  });

  await step('form_post: the session is reused and the page posts the code to the client', async () => {
    const url = authorizeUrl({ response_mode: 'form_post' });
    await page.goto(url.href);
    await page.waitForURL(redirectUri);
    assert.equal(await page.title(), 'client');
    const posted = arrivals.at(-1);
    assert.equal(posted.method, 'POST');
    const form = new URLSearchParams(posted.body);
    assert.ok(form.get('code'));
    assert.equal(form.get('state'), url.searchParams.get('state'));
  });
} finally {
  await browser.close();
  clientApp.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

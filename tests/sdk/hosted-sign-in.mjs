// The browser's part of an authorization-code flow, as a plain HTTP form driver: follows
// /authorize to the hosted sign-in page, posts the form (with the pre-login cookie, as a browser
// does), follows the resumed request, and returns where it ends: the callback URL the client
// receives, and the URL the request was resumed at.
import assert from 'node:assert/strict';

export async function signIn(authorizationUrl, username, password) {
  let cookie = '';
  const go = async (url, init = {}) => fetch(new URL(url, authorizationUrl), {
    redirect: 'manual', ...init, headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
  });
  let res = await go(authorizationUrl);
  assert.equal(res.status, 302);
  const loginUrl = new URL(res.headers.get('location'), authorizationUrl);
  res = await go(loginUrl);
  cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const html = await res.text();
  const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];
  res = await go(new URL(loginUrl.pathname, loginUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: field('csrf'), pending: field('pending'), username, password }),
  });
  assert.equal(res.status, 303);
  const resume = new URL(res.headers.get('location'), loginUrl);
  cookie = res.headers.getSetCookie()[0].split(';')[0];
  res = await go(resume);
  assert.equal(res.status, 302);
  return { callback: new URL(res.headers.get('location')), resume };
}

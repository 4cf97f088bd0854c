// openid-client authenticates with private_key_jwt (RFC 7523) as an app whose keys are not
// uploaded but published at its jwks_uri — served here, on loopback, by this script. Tessera
// fetches the set through its outbound guard, caches it, and fetches it again once when an
// assertion names a kid it lacks (a rotated key); a kid the set does not have is refused.
// Run by the Rust test `openid_client_signs_with_a_key_published_at_its_jwks_uri` with
// TESSERA_ISSUER, TESSERA_CLIENT_ID and TESSERA_JWKS_PORT (the port its jwks_uri names), in a
// deployment that allows loopback outbound calls.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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

/** A fresh ES256 key pair and its public JWK under `kid`. */
async function keyPair(kid) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

let published = [];
let fetches = 0;
const server = createServer((req, res) => {
  fetches += 1;
  res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=600' });
  res.end(JSON.stringify({ keys: published }));
});
await new Promise((resolve) => server.listen(Number(env('TESSERA_JWKS_PORT')), '127.0.0.1', resolve));

// Okta (and Tessera) want the assertion's `aud` to be the token endpoint's URL; openid-client
// puts the issuer there unless told otherwise, through its modifyAssertion hook.
const tokenEndpoint = `${issuer}/v1/token`;
const grant = async (key, kid) => {
  const auth = client.PrivateKeyJwt({ key, kid }, {
    [client.modifyAssertion]: (header, payload) => { payload.aud = tokenEndpoint; },
  });
  const config = await client.discovery(new URL(issuer), env('TESSERA_CLIENT_ID'), undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
  return client.clientCredentialsGrant(config, { scope: 'reports.read' });
};
/** openid-client reports a 401 with a WWW-Authenticate challenge; its `error` is in there. */
const challengeError = (err) => err.cause?.[0]?.parameters?.error ?? err.error;

const first = await keyPair('key-1');
await step('private_key_jwt with a key published at the jwks_uri', async () => {
  published = [first.jwk];
  const tokens = await grant(first.privateKey, 'key-1');
  assert.equal(tokens.scope, 'reports.read');
  assert.equal(fetches, 1);
});

await step('the fetched set is cached', async () => {
  await grant(first.privateKey, 'key-1');
  assert.equal(fetches, 1);
});

await step('a rotated key (a kid the cache lacks) makes Tessera fetch the set again', async () => {
  // At most one fetch per client every 10 s: a rotation comes later than that after a fetch.
  await new Promise((resolve) => setTimeout(resolve, 10_500));
  const second = await keyPair('key-2');
  published = [first.jwk, second.jwk];
  const tokens = await grant(second.privateKey, 'key-2');
  assert.ok(tokens.access_token);
  assert.equal(fetches, 2);
});

await step('a kid the published set does not have is invalid_client', async () => {
  const stranger = await keyPair('key-unknown');
  await assert.rejects(grant(stranger.privateKey, 'key-unknown'), (err) => challengeError(err) === 'invalid_client');
  assert.equal(fetches, 2, 'a made-up kid right after a fetch does not fetch again');
});

server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Standard clients against Tessera: openid-client discovers the default authorization server
// and obtains a client-credentials token; @okta/jwt-verifier verifies it against the JWKS with
// the expected audience, and refuses it for another audience. Run by the Rust test
// `oidc_clients` with TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET and TESSERA_SCOPE.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import OktaJwtVerifier from '@okta/jwt-verifier';

const issuer = process.env.TESSERA_ISSUER;
const clientId = process.env.TESSERA_CLIENT_ID;
const clientSecret = process.env.TESSERA_CLIENT_SECRET;
const scope = process.env.TESSERA_SCOPE;
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
let accessToken;

await step('openid-client discovers the authorization server', async () => {
  config = await client.discovery(new URL(issuer), clientId, clientSecret, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
  });
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, issuer);
  assert.equal(meta.token_endpoint, `${issuer}/v1/token`);
});

await step('openid-client obtains a client-credentials token', async () => {
  const tokens = await client.clientCredentialsGrant(config, { scope });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, scope);
  assert.ok(tokens.expires_in > 0);
  accessToken = tokens.access_token;
});

await step('@okta/jwt-verifier verifies it against the JWKS with the expected audience', async () => {
  const verifier = new OktaJwtVerifier({ issuer, testing: { disableHttpsCheck: true } });
  const jwt = await verifier.verifyAccessToken(accessToken, 'api://default');
  assert.equal(jwt.claims.cid, clientId);
  assert.equal(jwt.claims.iss, issuer);
  assert.deepEqual(jwt.claims.scp, scope.split(' '));
});

await step('@okta/jwt-verifier refuses it for another audience', async () => {
  const verifier = new OktaJwtVerifier({ issuer, testing: { disableHttpsCheck: true } });
  await assert.rejects(verifier.verifyAccessToken(accessToken, 'api://someone-else'));
});

await step('openid-client introspects the token (RFC 7662)', async () => {
  const meta = config.serverMetadata();
  assert.equal(meta.introspection_endpoint, `${issuer}/v1/introspect`);
  const result = await client.tokenIntrospection(config, accessToken);
  assert.equal(result.active, true);
  assert.equal(result.client_id, clientId);
  assert.equal(result.scope, scope);
});

await step('openid-client revokes the token (RFC 7009) and it introspects inactive', async () => {
  await client.tokenRevocation(config, accessToken);
  const result = await client.tokenIntrospection(config, accessToken);
  assert.equal(result.active, false);
});

await step('openid-client surfaces OAuth errors from the token endpoint', async () => {
  await assert.rejects(client.clientCredentialsGrant(config, { scope: 'openid' }), (err) => err.error === 'invalid_scope');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

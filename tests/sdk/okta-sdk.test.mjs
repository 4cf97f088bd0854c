// Okta's own management SDK against Tessera: creates and reads back an authorization server,
// a scope, a claim, a policy, a rule, an OIDC app, a user and a group, and lists with
// pagination. Run by the Rust test `okta_sdk` with TESSERA_ORG_URL and TESSERA_API_TOKEN set;
// exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import okta from '@okta/okta-sdk-nodejs';

const orgUrl = process.env.TESSERA_ORG_URL;
const token = process.env.TESSERA_API_TOKEN;
assert.ok(orgUrl && token, 'TESSERA_ORG_URL and TESSERA_API_TOKEN must be set');

const client = new okta.Client({ orgUrl, token, cacheStore: new okta.MemoryStore() });
const as = client.authorizationServerApi;
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

let server, scope, claim, policy, rule, app, user, group;

await step('create and read an authorization server', async () => {
  server = await as.createAuthorizationServer({
    authorizationServer: { name: 'sdk-orders', description: 'Orders API', audiences: ['api://sdk-orders'] },
  });
  assert.match(server.id, /^aus/);
  const read = await as.getAuthorizationServer({ authServerId: server.id });
  assert.equal(read.name, 'sdk-orders');
  assert.deepEqual(read.audiences, ['api://sdk-orders']);
  assert.equal(read.issuer, `${orgUrl}/oauth2/${server.id}`);
  const byDefault = await as.getAuthorizationServer({ authServerId: 'default' });
  assert.deepEqual(byDefault.audiences, ['api://default']);
});

await step('create and read a scope', async () => {
  scope = await as.createOAuth2Scope({ authServerId: server.id, oAuth2Scope: { name: 'orders:read', consent: 'IMPLICIT' } });
  const read = await as.getOAuth2Scope({ authServerId: server.id, scopeId: scope.id });
  assert.equal(read.name, 'orders:read');
  const names = [];
  for await (const s of await as.listOAuth2Scopes({ authServerId: server.id })) names.push(s.name);
  assert.ok(names.includes('openid') && names.includes('orders:read'), names.join(','));
});

await step('create and read a claim', async () => {
  claim = await as.createOAuth2Claim({
    authServerId: server.id,
    oAuth2Claim: {
      name: 'tier', status: 'ACTIVE', claimType: 'RESOURCE', valueType: 'EXPRESSION',
      value: "app.profile.tier ?: 'free'", conditions: { scopes: ['orders:read'] },
    },
  });
  const read = await as.getOAuth2Claim({ authServerId: server.id, claimId: claim.id });
  assert.equal(read.value, "app.profile.tier ?: 'free'");
  assert.deepEqual(read.conditions.scopes, ['orders:read']);
});

await step('an invalid claim expression is a 400 with Okta error fields', async () => {
  await assert.rejects(
    as.createOAuth2Claim({ authServerId: server.id, oAuth2Claim: { name: 'bad', claimType: 'RESOURCE', valueType: 'EXPRESSION', value: 'user.email +' } }),
    (err) => err.status === 400 && err.errorCode === 'E0000001' && /column 13/.test(JSON.stringify(err.errorCauses)),
  );
});

await step('create and read a policy and a rule', async () => {
  policy = await as.createAuthorizationServerPolicy({
    authServerId: server.id,
    policy: { type: 'OAUTH_AUTHORIZATION_POLICY', name: 'sdk policy', description: 'from the SDK', priority: 1,
      conditions: { clients: { include: ['ALL_CLIENTS'] } } },
  });
  rule = await as.createAuthorizationServerPolicyRule({
    authServerId: server.id, policyId: policy.id,
    policyRule: { type: 'RESOURCE_ACCESS', name: 'sdk rule', priority: 1,
      conditions: { people: { groups: { include: ['EVERYONE'] } }, grantTypes: { include: ['client_credentials'] }, scopes: { include: ['orders:read'] } },
      actions: { token: { accessTokenLifetimeMinutes: 30, refreshTokenLifetimeMinutes: 0, refreshTokenWindowMinutes: 10080 } } },
  });
  const readPolicy = await as.getAuthorizationServerPolicy({ authServerId: server.id, policyId: policy.id });
  assert.equal(readPolicy.name, 'sdk policy');
  const readRule = await as.getAuthorizationServerPolicyRule({ authServerId: server.id, policyId: policy.id, ruleId: rule.id });
  assert.equal(readRule.actions.token.accessTokenLifetimeMinutes, 30);
  assert.deepEqual(readRule.conditions.grantTypes.include, ['client_credentials']);
});

await step('create and read an OIDC app', async () => {
  app = await client.applicationApi.createApplication({
    application: {
      name: 'oidc_client', label: 'SDK service', signOnMode: 'OPENID_CONNECT',
      credentials: { oauthClient: { token_endpoint_auth_method: 'client_secret_basic' } },
      settings: { oauthClient: { application_type: 'service', grant_types: ['client_credentials'] } },
    },
  });
  assert.match(app.id, /^0oa/);
  assert.ok(app.credentials.oauthClient.client_secret.length >= 32);
  const read = await client.applicationApi.getApplication({ appId: app.id });
  assert.equal(read.label, 'SDK service');
  assert.equal(read.signOnMode, 'OPENID_CONNECT');
  assert.equal(read.credentials.oauthClient.client_id, app.id);
  assert.deepEqual(read.settings.oauthClient.grant_types, ['client_credentials']);
});

await step("add and list the app's JWKs (listJwk reads Okta's {keys} shape)", async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'sdk-1', use: 'sig' };
  const added = await client.applicationSSOPublicKeysApi.addJwk({ appId: app.id, addJwkRequest: jwk });
  assert.ok(added.id);
  const listed = await client.applicationSSOPublicKeysApi.listJwk({ appId: app.id });
  assert.equal(listed.keys.length, 1);
  assert.equal(listed.keys[0].kid, 'sdk-1');
});

await step('trusted origins: create, list with q, deactivate, delete', async () => {
  const created = await client.trustedOriginApi.createTrustedOrigin({
    trustedOrigin: { name: 'SDK SPA', origin: 'https://spa.sdk.example', scopes: [{ type: 'CORS' }, { type: 'REDIRECT' }] },
  });
  assert.match(created.id, /^tos/);
  assert.equal(created.status, 'ACTIVE');
  const listed = [];
  for await (const o of await client.trustedOriginApi.listTrustedOrigins({ q: 'SDK' })) listed.push(o);
  assert.deepEqual(listed.map((o) => o.id), [created.id]);
  const off = await client.trustedOriginApi.deactivateTrustedOrigin({ trustedOriginId: created.id });
  assert.equal(off.status, 'INACTIVE');
  await client.trustedOriginApi.deleteTrustedOrigin({ trustedOriginId: created.id });
});

await step('create and read a user', async () => {
  user = await client.userApi.createUser({
    body: { profile: { firstName: 'Sdk', lastName: 'User', email: 'sdk.user@example.com', login: 'sdk.user@example.com' },
      credentials: { password: { value: 'Sdk-Passw0rd!' } } },
    activate: true,
  });
  assert.equal(user.status, 'ACTIVE');
  const read = await client.userApi.getUser({ userId: user.id });
  assert.equal(read.profile.login, 'sdk.user@example.com');
});

await step('create and read a group, add the user', async () => {
  group = await client.groupApi.createGroup({ group: { profile: { name: 'sdk-group', description: 'made by the SDK' } } });
  const read = await client.groupApi.getGroup({ groupId: group.id });
  assert.equal(read.profile.name, 'sdk-group');
  await client.groupApi.assignUserToGroup({ groupId: group.id, userId: user.id });
  const members = [];
  for await (const u of await client.groupApi.listGroupUsers({ groupId: group.id })) members.push(u.id);
  assert.deepEqual(members, [user.id]);
});

await step('list users across pages through Link headers', async () => {
  for (let i = 0; i < 3; i += 1) {
    await client.userApi.createUser({
      body: { profile: { firstName: 'P', lastName: `${i}`, email: `page${i}@example.com`, login: `page${i}@example.com` } },
      activate: false,
    });
  }
  const logins = [];
  for await (const u of await client.userApi.listUsers({ limit: 2, filter: 'status eq "STAGED"' })) logins.push(u.profile.login);
  assert.deepEqual(logins.sort(), ['page0@example.com', 'page1@example.com', 'page2@example.com']);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

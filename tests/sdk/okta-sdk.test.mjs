// Okta's own management SDK against Tessera: creates and reads back an authorization server,
// a scope, a claim, a policy, a rule, an OIDC app, a user and a group, and lists with
// pagination; searches users and groups, runs the password lifecycle, associates servers,
// replaces an inline hook, lists client secrets and polls the System Log with subscribe(). Run by the Rust test `okta_sdk` with TESSERA_ORG_URL and TESSERA_API_TOKEN set;
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

await step('search users and groups as Okta does (search, q, case-insensitive values)', async () => {
  const found = [];
  for await (const u of await client.userApi.listUsers({ search: 'profile.lastName eq "user" and status eq "active"' })) found.push(u.id);
  assert.deepEqual(found, [user.id]);
  const byPrefix = [];
  for await (const u of await client.userApi.listUsers({ q: 'Sdk' })) byPrefix.push(u.id);
  assert.deepEqual(byPrefix, [user.id]);
  const groups = [];
  for await (const g of await client.groupApi.listGroups({ search: 'profile.name sw "SDK-"' })) groups.push(g.id);
  assert.deepEqual(groups, [group.id]);
});

await step('password lifecycle: changePassword, expirePassword, unlockUser refused', async () => {
  const creds = await client.userApi.changePassword({
    userId: user.id,
    changePasswordRequest: { oldPassword: { value: 'Sdk-Passw0rd!' }, newPassword: { value: 'Sdk-Passw0rd-2' } },
  });
  assert.equal(creds.provider.type, 'OKTA');
  await assert.rejects(
    client.userApi.changePassword({
      userId: user.id,
      changePasswordRequest: { oldPassword: { value: 'Sdk-Passw0rd!' }, newPassword: { value: 'Sdk-Passw0rd-3' } },
    }),
    (err) => err.status === 403 && err.errorCode === 'E0000014',
  );
  const expired = await client.userApi.expirePassword({ userId: user.id });
  assert.equal(expired.status, 'PASSWORD_EXPIRED');
  await assert.rejects(client.userApi.unlockUser({ userId: user.id }), (err) => err.status === 403 && err.errorCode === 'E0000032');
});

await step("a group's apps, and an app's users and groups with q", async () => {
  await client.applicationApi.assignGroupToApplication({ appId: app.id, groupId: group.id, applicationGroupAssignment: {} });
  const apps = [];
  for await (const a of await client.groupApi.listAssignedApplicationsForGroup({ groupId: group.id })) apps.push(a.id);
  assert.deepEqual(apps, [app.id]);
  const assigned = [];
  for await (const g of await client.applicationApi.listApplicationGroupAssignments({ appId: app.id, q: 'sdk-' })) assigned.push(g.id);
  assert.deepEqual(assigned, [group.id]);
  const none = [];
  for await (const g of await client.applicationApi.listApplicationGroupAssignments({ appId: app.id, q: 'nothing' })) none.push(g.id);
  assert.deepEqual(none, []);
});

await step('associated servers: create, list trusted and untrusted, delete', async () => {
  const other = await as.createAuthorizationServer({
    authorizationServer: { name: 'sdk-billing', description: 'Billing API', audiences: ['api://sdk-billing'] },
  });
  const added = await as.createAssociatedServers({ authServerId: server.id, associatedServerMediated: { trusted: [other.id] } });
  const addedIds = [];
  for await (const s of added) addedIds.push(s.id);
  assert.deepEqual(addedIds, [other.id]);
  const trusted = [];
  for await (const s of await as.listAssociatedServersByTrustedType({ authServerId: server.id, trusted: true })) trusted.push(s.id);
  assert.deepEqual(trusted, [other.id]);
  const untrusted = [];
  for await (const s of await as.listAssociatedServersByTrustedType({ authServerId: server.id, trusted: false })) untrusted.push(s.name);
  assert.ok(!untrusted.includes('sdk-billing') && untrusted.includes('default'), untrusted.join());
  await as.deleteAssociatedServer({ authServerId: server.id, associatedServerId: other.id });
  const after = [];
  for await (const s of await as.listAssociatedServersByTrustedType({ authServerId: server.id, trusted: true })) after.push(s.id);
  assert.deepEqual(after, []);
});

await step('replaceInlineHook keeps the type it does not send', async () => {
  const hook = await client.inlineHookApi.createInlineHook({
    inlineHook: {
      name: 'sdk hook', type: 'com.okta.oauth2.tokens.transform', version: '1.0.0',
      channel: { type: 'HTTP', version: '1.0.0',
        config: { uri: 'https://hooks.sdk.example/tokens', method: 'POST', headers: [],
          authScheme: { type: 'HEADER', key: 'Authorization', value: 'sdk-secret' } } },
    },
  });
  const replaced = await client.inlineHookApi.replaceInlineHook({
    inlineHookId: hook.id,
    inlineHook: {
      name: 'sdk hook renamed', version: '1.0.0',
      channel: { type: 'HTTP', version: '1.0.0',
        config: { uri: 'https://hooks.sdk.example/tokens2', method: 'POST', headers: [],
          authScheme: { type: 'HEADER', key: 'Authorization', value: 'sdk-secret' } } },
    },
  });
  assert.equal(replaced.name, 'sdk hook renamed');
  assert.equal(replaced.type, 'com.okta.oauth2.tokens.transform');
});

await step("the app's client secret is shown as Okta shows it (app and secrets list)", async () => {
  const secrets = [];
  for await (const s of await client.applicationSSOPublicKeysApi.listOAuth2ClientSecrets({ appId: app.id })) secrets.push(s);
  assert.equal(secrets.length, 1);
  assert.equal(secrets[0].status, 'ACTIVE');
  assert.ok(secrets[0].secret_hash);
  assert.equal(secrets[0].client_secret, app.credentials.oauthClient.client_secret);
  const read = await client.applicationApi.getApplication({ appId: app.id });
  assert.equal(read.credentials.oauthClient.client_secret, app.credentials.oauthClient.client_secret);
});

await step('role targets: a USER_ADMIN narrowed to a group, an APP_ADMIN to an app', async () => {
  const admin = await client.userApi.createUser({
    body: { profile: { firstName: 'Target', lastName: 'Admin', email: 'target.admin@example.com', login: 'target.admin@example.com' },
      credentials: { password: { value: 'Target-Passw0rd' } } },
    activate: true,
  });
  const role = await client.roleAssignmentApi.assignRoleToUser({ userId: admin.id, assignRoleRequest: { type: 'USER_ADMIN' } });
  await client.roleTargetApi.assignGroupTargetToUserRole({ userId: admin.id, roleId: role.id, groupId: group.id });
  const targets = [];
  for await (const g of await client.roleTargetApi.listGroupTargetsForRole({ userId: admin.id, roleId: role.id })) targets.push(g.id);
  assert.deepEqual(targets, [group.id]);
  await assert.rejects(
    client.roleTargetApi.unassignGroupTargetFromUserAdminRole({ userId: admin.id, roleId: role.id, groupId: group.id }),
    (err) => err.status === 400,
  );
  const appRole = await client.roleAssignmentApi.assignRoleToUser({ userId: admin.id, assignRoleRequest: { type: 'APP_ADMIN' } });
  await client.roleTargetApi.assignAppInstanceTargetToAppAdminRoleForUser({ userId: admin.id, roleId: appRole.id, appName: 'oidc_client', applicationId: app.id });
  const apps = [];
  for await (const a of await client.roleTargetApi.listApplicationTargetsForApplicationAdministratorRoleForUser({ userId: admin.id, roleId: appRole.id })) apps.push(a);
  assert.equal(apps.length, 1);
  assert.equal(apps[0].name, 'oidc_client');
  assert.equal(apps[0].id, app.id);
});

await step('System Log: subscribe() delivers an event that happened after polling began', async () => {
  const since = new Date(Date.now() - 1000).toISOString();
  const events = await client.systemLogApi.listLogEvents({ since, filter: 'eventType eq "group.lifecycle.create"' });
  const seen = new Set();
  let created;
  const delivered = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the event never arrived')), 15000);
    const subscription = events.subscribe({
      interval: 200,
      next(event) {
        seen.add(event.target?.[0]?.id);
        if (created && seen.has(created.id)) {
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve();
        }
      },
      error(err) { clearTimeout(timer); reject(err); },
      complete() {},
    });
  });
  // Polling has begun (the first page is empty or holds only earlier groups); now a group is made.
  await new Promise((r) => setTimeout(r, 500));
  created = await client.groupApi.createGroup({ group: { profile: { name: 'sdk-polled' } } });
  await delivered;
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

"""Okta's Python management SDK (`okta` on PyPI) against a running Tessera, in its default
API-token (SSWS) mode. Every object is sent and read back through the SDK's typed (pydantic)
models, which validate what they parse: a field of the wrong type or a value outside Okta's
enums fails the step.

Environment: TESSERA_ORG_URL (the tenant's org URL) and TESSERA_API_TOKEN. The test server
speaks plain HTTP, so the SDK's own `testing.testingDisableHttpsCheck` switch is on (through its
`OKTA_TESTING_TESTINGDISABLEHTTPSCHECK` variable); nothing else is changed. Prints one line per step and "N passed, M failed" at the end; exits 1 on any failure.
"""

import asyncio
import datetime
import os
import sys
import traceback
import uuid

from okta.client import Client
from okta.models import (
    AuthorizationServer,
    AuthorizationServerPolicy,
    AuthorizationServerPolicyRuleRequest,
    CreateUserRequest,
    Group,
    AddGroupRequest,
    OAuth2Claim,
    OAuth2Scope,
    OpenIdConnectApplication,
)

ORG = os.environ["TESSERA_ORG_URL"]
TOKEN = os.environ["TESSERA_API_TOKEN"]
RUN = uuid.uuid4().hex[:8]

passed = 0
failed = 0


def check(ok, what):
    if not ok:
        raise AssertionError(what)


async def step(name, body):
    global passed, failed
    try:
        await body()
        passed += 1
        print(f"ok {passed + failed}: {name}")
    except Exception:  # a failed step is reported and the run goes on
        failed += 1
        print(f"FAILED {passed + failed}: {name}")
        traceback.print_exc(file=sys.stdout)


def done(result):
    """The SDK answers (value, response, error); a call must not have failed."""
    *values, err = result
    if err is not None:
        raise AssertionError(f"the SDK reported: {err}")
    return values[0] if values else None


async def main():
    # The SDK's documented switch for a plain-HTTP org, read from its environment.
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    client = Client({"orgUrl": ORG, "token": TOKEN})
    state = {}

    async def users():
        for first, last in [("Ada", "Lovelace"), ("Grace", "Hopper")]:
            login = f"{first.lower()}.{RUN}@example.com"
            body = CreateUserRequest.from_dict(
                {
                    "profile": {
                        "firstName": first,
                        "lastName": last,
                        "email": login,
                        "login": login,
                    },
                    "credentials": {"password": {"value": "Analytical1Engine"}},
                }
            )
            user = done(await client.create_user(body, activate=True))
            check(user.status.value == "ACTIVE", f"status {user.status}")
            check(user.profile.login == login, "login read back")
            state[last] = user
        found = done(await client.list_users(search='profile.lastName eq "hopper"'))
        check([u.id for u in found] == [state["Hopper"].id], f"search found {found}")
        prefix = done(await client.list_users(q="ada"))
        check(state["Lovelace"].id in [u.id for u in prefix], "q finds by first name")

    async def lifecycle():
        uid = state["Hopper"].id
        done(await client.suspend_user(uid))
        user = done(await client.get_user(uid))
        check(user.status.value == "SUSPENDED", f"suspended: {user.status}")
        done(await client.unsuspend_user(uid))
        expired = done(await client.expire_password(uid))
        check(expired.status.value == "PASSWORD_EXPIRED", f"expired: {expired.status}")
        user = done(await client.get_user(uid))
        check(user.status.value == "PASSWORD_EXPIRED", "read back expired")

    async def groups():
        body = AddGroupRequest.from_dict(
            {"profile": {"name": f"Engineering {RUN}", "description": "builders"}}
        )
        group = done(await client.add_group(body))
        check(isinstance(group, Group), "a typed group")
        found = done(
            await client.list_groups(search=f'profile.name eq "Engineering {RUN}"')
        )
        check([g.id for g in found] == [group.id], f"group search found {found}")

    async def service_app():
        # Okta's documented service app, verbatim.
        body = OpenIdConnectApplication.from_dict(
            {
                "name": "oidc_client",
                "label": f"Service {RUN}",
                "signOnMode": "OPENID_CONNECT",
                "credentials": {
                    "oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}
                },
                "settings": {
                    "oauthClient": {
                        "response_types": ["token"],
                        "grant_types": ["client_credentials"],
                        "application_type": "service",
                    }
                },
            }
        )
        app = done(await client.create_application(body))
        check(app.sign_on_mode.value == "OPENID_CONNECT", "signOnMode")
        check(isinstance(app, OpenIdConnectApplication), f"a typed OIDC app: {type(app)}")
        oauth = app.credentials.oauth_client
        check(bool(oauth.client_id), "a client_id")
        check(app.settings.oauth_client.application_type.value == "service", "service")
        state["app"] = app

    async def authorization_server():
        server = done(
            await client.create_authorization_server(
                AuthorizationServer.from_dict(
                    {
                        "name": f"Billing {RUN}",
                        "description": "billing API",
                        "audiences": [f"api://billing-{RUN}"],
                    }
                )
            )
        )
        check(server.status.value == "ACTIVE", f"server status {server.status}")
        sid = server.id
        scope = done(
            await client.create_o_auth2_scope(
                sid, OAuth2Scope.from_dict({"name": "invoices:read", "consent": "IMPLICIT"})
            )
        )
        check(scope.name == "invoices:read", "scope")
        claim = done(
            await client.create_o_auth2_claim(
                sid,
                OAuth2Claim.from_dict(
                    {
                        "name": "tier",
                        "claimType": "RESOURCE",
                        "valueType": "EXPRESSION",
                        "value": '"gold"',
                        "conditions": {"scopes": []},
                        "status": "ACTIVE",
                    }
                ),
            )
        )
        check(claim.claim_type.value == "RESOURCE", "claim")
        policy = done(
            await client.create_authorization_server_policy(
                sid,
                AuthorizationServerPolicy.from_dict(
                    {
                        "type": "OAUTH_AUTHORIZATION_POLICY",
                        "name": "Default",
                        "description": "all clients",
                        "priority": 1,
                        "conditions": {"clients": {"include": ["ALL_CLIENTS"]}},
                    }
                ),
            )
        )
        rule = done(
            await client.create_authorization_server_policy_rule(
                sid,
                policy.id,
                AuthorizationServerPolicyRuleRequest.from_dict(
                    {
                        "type": "RESOURCE_ACCESS",
                        "name": "service calls",
                        "priority": 1,
                        "conditions": {
                            "people": {"groups": {"include": ["EVERYONE"]}},
                            "grantTypes": {"include": ["client_credentials"]},
                            "scopes": {"include": ["*"]},
                        },
                        "actions": {
                            "token": {
                                "accessTokenLifetimeMinutes": 60,
                                "refreshTokenLifetimeMinutes": 0,
                                "refreshTokenWindowMinutes": 10080,
                            }
                        },
                    }
                ),
            )
        )
        check(rule.name == "service calls", "rule")

    async def keys_and_secrets():
        app_id = state["app"].id
        secrets = done(await client.list_o_auth2_client_secrets(app_id))
        check(len(secrets) == 1, f"one secret: {secrets}")
        status = secrets[0].status
        check(getattr(status, "value", status) == "ACTIVE", f"secret status {status}")
        # Shown as Okta shows it: the value, equal to the app's current secret.
        check(secrets[0].client_secret == state["app"].credentials.oauth_client.client_secret,
              "the secret's value is listed")
        # Not `list_jwk`: okta 3.4.6 models its answer as a bare array, the shape of an older
        # Okta spec; Okta's current spec (and the Node SDK 8 built from it) answer
        # `{"keys": [...]}`, which Tessera follows (docs/management-api.md).
        app = done(await client.get_application(app_id))
        check(app.credentials.oauth_client.token_endpoint_auth_method.value
              == "client_secret_basic", "auth method read back")

    async def system_log():
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        since_text = since.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        # Polling began; now something happens.
        name = f"Polled {RUN}"
        done(await client.add_group(AddGroupRequest.from_dict({"profile": {"name": name}})))
        for _ in range(50):
            events = done(
                await client.list_log_events(
                    since=since_text, filter='eventType eq "group.lifecycle.create"'
                )
            )
            if events:
                check(events[0].event_type == "group.lifecycle.create", "event type")
                check(events[0].published is not None, "published")
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the event never reached the poll")

    for name, body in [
        ("users: create and search", users),
        ("users: lifecycle", lifecycle),
        ("groups: create and search", groups),
        ("apps: Okta's documented service app", service_app),
        ("authorization server with scope, claim, policy and rule", authorization_server),
        ("app client secrets listed, app read back", keys_and_secrets),
        ("System Log polled for a later event", system_log),
    ]:
        await step(name, body)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


asyncio.run(main())

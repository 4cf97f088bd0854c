// The benchmark peer: oidc-provider 9 in one Node process with in-memory storage, configured
// like an Okta default authorization server for the client-credentials grant: one confidential
// client (client_secret_basic), JWT access tokens signed RS256 (resource api://rs) or ES256
// (resource api://es), opaque ones for resource api://opaque (for the introspection case), one
// hour lifetime, introspection enabled. Started by loadtest/bench.sh on PORT.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18481);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [{ ...rsa, kid: 'rs', use: 'sig', alg: 'RS256' }, { ...ec, kid: 'es', use: 'sig', alg: 'ES256' }] },
  cookies: { keys: ['bench-cookie-key-not-secret'] },
  scopes: ['bench.read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'api://rs',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'bench.read',
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: resource === 'api://opaque' ? 'opaque' : 'jwt',
        ...(resource === 'api://opaque' ? {} : { jwt: { sign: { alg: resource === 'api://es' ? 'ES256' : 'RS256' } } }),
      }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`peer listening on ${port}`));

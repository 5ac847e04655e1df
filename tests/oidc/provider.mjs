// A real OpenID provider (oidc-provider) for shuyu's single sign-on integration test.
//
//   node tests/oidc/provider.mjs <port> [redirect_uri]
//
// Listens on http://127.0.0.1:<port> only (port 0: a free one), with one confidential client that
// must use PKCE:
//   client_id     $OIDC_CLIENT_ID     (default shuyu-test)
//   client_secret $OIDC_CLIENT_SECRET (default shuyu-test-secret)
//   redirect_uri  argv[3] or $OIDC_REDIRECT_URI
//   ID token alg  $OIDC_ID_TOKEN_ALG (default RS256; ES256 and PS256 also work)
// and two accounts, signed in through oidc-provider's built-in development login and consent forms
// (devInteractions; any password is accepted):
//   alice: amr ["pwd", "otp"] (a second factor)
//   bob:   amr ["pwd"]
// Prints "ready <issuer>" on stdout once listening; exits when stdin closes (its parent died).
// For tests only: the signing keys are generated at each start and nothing is persisted.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number.parseInt(process.argv[2] ?? '', 10);
const redirectUri = process.argv[3] ?? process.env.OIDC_REDIRECT_URI;
if (!Number.isInteger(port) || port < 0 || port > 65535 || !redirectUri) {
  console.error('usage: node provider.mjs <port> <redirect_uri>  (or set OIDC_REDIRECT_URI)');
  process.exit(2);
}
const clientId = process.env.OIDC_CLIENT_ID ?? 'shuyu-test';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'shuyu-test-secret';

// Listen first, so that port 0 can be resolved before the issuer URL is fixed.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const ACCOUNTS = {
  alice: { name: 'Alice Li', amr: ['pwd', 'otp'] },
  bob: { name: 'Bob Wang', amr: ['pwd'] },
};

// One RSA and one EC signing key, made fresh at every start with fresh key ids (so a restart looks
// like a key rotation to a relying party that cached the old keys).
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: process.env.OIDC_ID_TOKEN_ALG ?? 'RS256',
    },
  ],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // `amr` with `sub` in the openid scope, so it is in the ID token.
  claims: { openid: ['sub', 'amr'], profile: ['name'] },
  async findAccount(_ctx, sub) {
    const account = ACCOUNTS[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, name: account.name };
      },
    };
  },
  jwks: {
    keys: [
      { ...rsa, kid: `rsa-${randomUUID()}`, use: 'sig' },
      { ...ec, kid: `ec-${randomUUID()}`, use: 'sig' },
    ],
  },
  cookies: { keys: ['shuyu-oidc-test-cookie-key'] },
  ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});

// The built-in login form records only the account id. A real unified identity system reports how
// the person authenticated (`amr`): add it per account when the login interaction finishes.
const finish = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  if (result?.login?.accountId && ACCOUNTS[result.login.accountId]) {
    result.login.amr = ACCOUNTS[result.login.accountId].amr;
  }
  return finish(req, res, result, options);
};

server.on('request', provider.callback());
console.log(`ready ${issuer}`);

const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// A real OpenID provider for the tests: the npm package oidc-provider (OpenID Certified), with one
// confidential client (the portal) and the people of an accounts file.
//
//   node tests/sso/oidc_provider.mjs CONFIG.json
//
// CONFIG.json: {"port", "issuer", "client_id", "client_secret", "redirect_uris", "accounts_file"}.
// The accounts file maps a login to its claims, e.g.
//   {"erin": {"email": "erin@example.com", "groups": ["data-approvers"]}}
// and is read again at every claims lookup, so a test changes someone's groups between two
// sign-ins by rewriting it. The login page is oidc-provider's development page: any password.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function accountsRead() {
  return JSON.parse(readFileSync(config.accounts_file, 'utf8'));
}

// A signing key made at start: the portal finds it through discovery's jwks_uri, as in production.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-provider-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['tests-only-cookie-key'] },
  // Every authorization request must carry a PKCE challenge (the portal sends S256).
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accountsRead(), id)) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        const account = accountsRead()[id] ?? {};
        return { sub: account.sub ?? id, preferred_username: id, email_verified: true, ...account };
      },
    };
  },
  // The portal is a first-party client: no consent page (oidc-provider's "skip consent" recipe).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.issuer}\n`);
});

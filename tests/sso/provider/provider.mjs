// A real OpenID provider for Keyledger's sign-in tests: node's oidc-provider on loopback.
// Never for production: its built-in login form (devInteractions) accepts any password.
//
// Environment: PORT (0: any free port), REDIRECT_URI and POST_LOGOUT_URI (Keyledger's, exact),
// ACCOUNTS_FILE (JSON {login: {email, email_verified, groups, forge_audience?}}), read at every
// sign-in so a test can change a person's groups between two sign-ins. Prints "READY <issuer>"
// once it listens.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const accountsFile = process.env.ACCOUNTS_FILE;
const readAccounts = () => JSON.parse(readFileSync(accountsFile, 'utf8'));

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'keyledger',
      client_secret: 'keyledger-test-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    scopes: ['openid', 'email', 'groups', 'profile'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { rpInitiatedLogout: { enabled: true }, devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const account = readAccounts()[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: account.email, email_verified: account.email_verified ?? true,
                   groups: account.groups || [] };
        },
      };
    },
  });
  // A test may ask for an ID token addressed to another client (a token substitution): the
  // relying party must refuse it by its audience. Only accounts that ask for it get one.
  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function patched(options = {}) {
    const account = readAccounts()[this.available?.sub];
    if (options.use === 'idtoken' && account?.forge_audience) {
      this.client = Object.create(this.client, { clientId: { value: 'another-application' } });
    }
    return issue.call(this, options);
  };
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});

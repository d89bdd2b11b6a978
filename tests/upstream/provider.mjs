// An upstream OpenID Provider for the federation tests: panva's oidc-provider on
// loopback, started by tests/src/upstream.rs as
//
//   node tests/upstream/provider.mjs PORT CONFIG
//
// CONFIG is JSON, or the path of a JSON file:
//
//   { "clients": [{ "client_id", "client_secret", "redirect_uris",
//                   "token_endpoint_auth_method" }],
//     "accounts": [{ "sub", "email", "email_verified", "name", ... }] }
//
// Every claim of an account is released as given (so `email_verified` may be the
// string "true"), by the scopes of OpenID Connect Core 1.0 §5.4, in the ID token
// as well as at UserInfo. The issuer is http://127.0.0.1:PORT; PKCE is required
// of every client (RFC 7636); RS256 keys are generated at start; the
// authorization response carries `iss` (RFC 9207).
//
// Sign-in and consent are one plain HTML form per step at /interaction/UID, for
// an HTTP user agent: POST `login=SUB` signs that account in (the login step),
// `action=approve` grants the scopes asked (the consent step), `action=deny`
// ends the request with `error=access_denied` (Core §3.1.2.6). `prompt=login`
// and `max_age` ask for the login step again (Core §3.1.2.1).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, source] = process.argv.slice(2);
if (!port || !source) {
  console.error('usage: node provider.mjs PORT CONFIG(JSON or file)');
  process.exit(2);
}
const config = JSON.parse(
  source.trimStart().startsWith('{') || !existsSync(source) ? source : readFileSync(source, 'utf8'),
);
const accounts = new Map((config.accounts ?? []).map((a) => [a.sub, a]));

const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...c,
  })),
  jwks: { keys: [{ ...key, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'locale'],
  },
  // The claims of the scopes asked go in the ID token too, not only UserInfo.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ ...account, sub }) };
  },
});

const escape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt } = details;
  if (ctx.method === 'GET') {
    const field = prompt.name === 'login'
      ? '<label>Account <input name="login"></label>'
      : `<p>Grant ${escape(details.params.scope)} to ${escape(details.params.client_id)}?</p>`;
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>${prompt.name}</title>
<form method="post" action="/interaction/${escape(details.uid)}">
<input type="hidden" name="prompt" value="${escape(prompt.name)}">
<input type="hidden" name="reasons" value="${escape(prompt.reasons.join(' '))}">
${field}
<button name="action" value="approve">Continue</button>
<button name="action" value="deny">Deny</button>
</form>`;
    return undefined;
  }
  if (ctx.method !== 'POST') return next();
  const submitted = await form(ctx.req);
  let result;
  if (submitted.action === 'deny') {
    result = { error: 'access_denied', error_description: 'the end-user denied the request' };
  } else if (prompt.name === 'login') {
    if (!accounts.has(submitted.login)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = `<!doctype html><p>No account ${escape(submitted.login ?? '')}</p>`;
      return undefined;
    }
    result = { login: { accountId: submitted.login } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    result = { consent: details.grantId ? {} : { grantId } };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  return undefined;
});

provider.listen(Number(port), '127.0.0.1');

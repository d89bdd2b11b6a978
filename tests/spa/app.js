// A single-page app signing in with Gatehouse through oauth4webapi, entirely in
// the browser: discovery, the authorization code flow with PKCE (S256) and a
// nonce, the token request by fetch (cross-origin, CORS), the ID token's
// validation and a UserInfo request (cross-origin, CORS). The test that serves
// it is tests/tests/browser_spa.rs; /config.json names the issuer, the client
// and the redirect URI.
import * as oauth from '/oauth4webapi.js';

// oauth4webapi refuses http:// endpoints unless told otherwise. The test's
// Gatehouse runs on a loopback http:// origin; a deployed one is https:// only,
// where this option must not be given.
const insecure = { [oauth.allowInsecureRequests]: true };

const SCOPE = 'openid profile email';
const FLOW = 'gatehouse-spa-flow';

const result = document.getElementById('result');

function report(status, value) {
  result.textContent = JSON.stringify(value, null, 2);
  result.dataset.status = status;
}

async function discover(config) {
  const issuer = new URL(config.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure });
  return oauth.processDiscoveryResponse(issuer, response);
}

// The start page: a new PKCE verifier, state and nonce, kept in this tab's
// session storage for the callback, then the authorization request.
async function signIn(as, config) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(FLOW, JSON.stringify({ codeVerifier, state, nonce }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('redirect_uri', config.redirect_uri);
  url.searchParams.set('scope', SCOPE);
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url.href);
}

// The callback: the code for tokens, the ID token checked, then UserInfo.
async function callback(as, config) {
  const flow = JSON.parse(sessionStorage.getItem(FLOW) ?? 'null');
  sessionStorage.removeItem(FLOW);
  if (!flow) {
    throw new Error('no authorization request was started in this tab');
  }
  const client = { client_id: config.client_id };
  // A public client: `token_endpoint_auth_method` `none`, the client_id alone.
  const clientAuth = oauth.None();
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), flow.state);
  const tokenResponse = await oauth.authorizationCodeGrantRequest(
    as, client, clientAuth, params, config.redirect_uri, flow.codeVerifier, insecure);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse, {
    expectedNonce: flow.nonce,
    requireIdToken: true,
  });
  // The claims are checked (issuer, audience, times, nonce); the signature
  // against the issuer's JWKS too.
  await oauth.validateApplicationLevelSignature(as, tokenResponse, insecure);
  const idToken = oauth.getValidatedIdTokenClaims(tokens);
  const userinfoResponse = await oauth.userInfoRequest(as, client, tokens.access_token, insecure);
  const userinfo = await oauth.processUserInfoResponse(as, client, idToken.sub, userinfoResponse);
  return { id_token: idToken, userinfo };
}

function failure(e) {
  return { name: e?.name, code: e?.code, message: String(e?.message ?? e) };
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const as = await discover(config);
  const url = new URL(location.href);
  if (url.pathname === new URL(config.redirect_uri).pathname) {
    report('done', await callback(as, config));
    return;
  }
  const button = document.getElementById('sign-in');
  button.addEventListener('click', () => {
    signIn(as, config).catch((e) => report('failed', failure(e)));
  });
  button.disabled = false;
}

main().catch((e) => report('failed', failure(e)));

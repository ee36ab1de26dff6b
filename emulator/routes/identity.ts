import type { Params } from '../http/params.js';
import type { Runtime } from '../http/server.js';

/** `/identity/oauth/token`: client-credentials grant; 401 with an OAuth body for bad credentials. */
export function identityHandler(rt: Runtime, params: Params): { status: number; body: Record<string, unknown> } {
  const grantType = params.string('grant_type');
  const clientId = params.string('client_id');
  const clientSecret = params.string('client_secret');
  if (grantType !== undefined && grantType !== 'client_credentials') {
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grantType}` } };
  }
  if (clientId !== rt.options.clientId) {
    return { status: 401, body: { error: 'invalid_client', error_description: clientId ? 'No client with requested id' : 'Bad client credentials' } };
  }
  if (clientSecret !== rt.options.clientSecret) return { status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } };
  const { token, expiresIn } = rt.tokens.issue();
  return { status: 200, body: { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: rt.options.apiUserEmail } };
}

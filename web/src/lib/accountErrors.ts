// How the self-service screens word a failed request. A 401 invalid_credentials on a request that
// carried current_password means the password was wrong (the session is fine: ApiClient's reauth
// option); the field errors of a 400 go next to their fields, so only the rest is worded here.
import { ApiError } from '../api/client';
import type { Translate } from '../i18n/i18n';

export const isWrongPassword = (e: unknown): boolean =>
  e instanceof ApiError && e.status === 401 && e.code === 'invalid_credentials';

export function explainError(e: unknown, t: Translate): string {
  if (isWrongPassword(e)) return t('account.wrongPassword');
  if (e instanceof ApiError) {
    if (e.status === 429 && e.retryAfterSeconds) return t('account.tooMany', { seconds: e.retryAfterSeconds });
    if (e.fields.length > 0) return t('register.fixFields');
    return e.message;
  }
  // fetch rejects with a TypeError when the server cannot be reached.
  if (e instanceof TypeError) return t('common.network');
  return e instanceof Error ? e.message : t('common.error');
}

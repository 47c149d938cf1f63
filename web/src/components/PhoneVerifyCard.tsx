import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import type { User } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { Field } from './Field';

/**
 * The guardian's number receives VitalGuard's SMS only once verified (docs/api.md, "Phone verification"):
 * until then this card says so, with one action — send the code — and then one field for the code the
 * guardian received. Shown to the wearer only, and only while the number is unverified.
 */
export function PhoneVerifyCard({ user, api, onVerified }: { user: User; api: ApiClient; onVerified: () => void }) {
  const { t } = useI18n();
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!user.guard_phone_num || user.guard_phone_verified) return null;

  const explain = (e: unknown) => {
    if (e instanceof ApiError && e.status === 429 && e.retryAfterSeconds) {
      return t('phone.wait', { seconds: String(e.retryAfterSeconds) });
    }
    if (e instanceof ApiError && e.status === 400) return t('phone.wrong');
    if (e instanceof ApiError && e.status === 409) return t('phone.used');
    return e instanceof Error ? e.message : t('common.error');
  };
  const send = async () => {
    setBusy(true);
    setError(null);
    try {
      const a = await api.sendPhoneCode();
      if (a.verified) onVerified();
      else setSent(true);
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };
  const confirm = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.confirmPhoneCode(code.trim());
      onVerified();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel phone-verify" aria-labelledby="phone-verify-title" data-testid="phone-verify">
      <h2 id="phone-verify-title">{t('phone.title')}</h2>
      <p className="phone-verify-text">{t('phone.unverified', { phone: user.guard_phone_num, name: user.guard_name })}</p>
      {!sent ? (
        <button type="button" className="btn btn-primary btn-block" onClick={send} disabled={busy} data-testid="phone-send">
          {t('phone.send')}
        </button>
      ) : (
        <form onSubmit={confirm} noValidate>
          <p role="status">{t('phone.sent', { phone: user.guard_phone_num })}</p>
          <Field
            label={t('phone.code')}
            value={code}
            onChange={(v) => setCode(v.replace(/[^0-9]/g, '').slice(0, 6))}
            inputMode="numeric"
            autoComplete="one-time-code"
            className="code-input"
            data-testid="phone-code"
          />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy || code.length !== 6} data-testid="phone-confirm">
            {t('phone.confirm')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={send} disabled={busy}>
            {t('phone.resend')}
          </button>
        </form>
      )}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}

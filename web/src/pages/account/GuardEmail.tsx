import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../api/client';
import type { User } from '../../api/types';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n/i18n';
import { explainError, isWrongPassword } from '../../lib/accountErrors';

/**
 * A plausible address, checked before asking the server (which decides: plain addr-spec, at most 254
 * bytes). Catches the common slips — a missing @, a space, no dot in the domain — while typing.
 */
export function looksLikeEmail(s: string): boolean {
  return new TextEncoder().encode(s).length <= 254 && /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;.]+$/.test(s);
}

type Mode = 'view' | 'edit' | 'remove';

/**
 * "Guardian e-mail": add, change or remove the guardian's address (PUT /api/me/guard_email, with the
 * password), then verify it with the code sent to it (the phone-verification routes with field
 * guard_email). Alerts go to the address only once it is verified; this panel says which it is.
 */
export function GuardEmail({ api, user, onChanged }: { api: ApiClient; user: User; onChanged: () => Promise<void> | void }) {
  const { t } = useI18n();
  const current = user.guard_email ?? '';
  const verified = !!user.guard_email_verified;
  const [mode, setMode] = useState<Mode>('view');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<string, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);

  const start = (m: Mode) => {
    setMode(m);
    setEmail(m === 'edit' ? current : '');
    setPassword('');
    setFieldErrors({});
    setError(null);
    setNotice(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const next = mode === 'remove' ? '' : email.trim();
    const problems: Record<string, string> = {};
    if (mode === 'edit' && !looksLikeEmail(next)) problems.guard_email = t(next === '' ? 'valid.required' : 'valid.email');
    if (password === '') problems.current_password = t('valid.required');
    setFieldErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      await api.setGuardEmail(next, password);
      await onChanged();
      setMode('view');
      setPassword('');
      setSent(false);
      setCode('');
      setNotice(next === '' ? t('email.removed') : t('email.saved'));
    } catch (err) {
      if (isWrongPassword(err)) setFieldErrors({ current_password: t('account.wrongPassword') });
      else if (err instanceof ApiError && err.fields.length > 0) setFieldErrors(err.fieldMap());
      setError(explainError(err, t));
    } finally {
      setBusy(false);
    }
  };

  const explainCode = (e: unknown) => {
    if (e instanceof ApiError && e.status === 503) return t('email.unavailable');
    if (e instanceof ApiError && e.status === 429 && e.retryAfterSeconds) return t('phone.wait', { seconds: String(e.retryAfterSeconds) });
    if (e instanceof ApiError && e.status === 400) return t('phone.wrong');
    if (e instanceof ApiError && e.status === 409) return t('phone.used');
    return explainError(e, t);
  };
  const send = async () => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const a = await api.sendPhoneCode('guard_email');
      if (a.verified) await onChanged();
      else setSent(true);
    } catch (e) {
      setError(explainCode(e));
    } finally {
      setBusy(false);
    }
  };
  const confirm = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.confirmPhoneCode(code.trim(), 'guard_email');
      await onChanged();
      setSent(false);
      setCode('');
      setNotice(t('email.nowVerified'));
    } catch (e) {
      setError(explainCode(e));
    } finally {
      setBusy(false);
    }
  };

  const passwordField = (
    <Field
      label={t('account.currentPassword')}
      hint={t('account.currentPassword.hint')}
      type="password"
      autoComplete="current-password"
      name="email_current_password"
      value={password}
      onChange={(x) => {
        setPassword(x);
        setFieldErrors((o) => ({ ...o, current_password: undefined }));
      }}
      error={fieldErrors.current_password ?? null}
    />
  );

  return (
    <section className="panel" aria-labelledby="email-title" data-testid="guard-email">
      <h2 id="email-title">{t('email.title')}</h2>
      <p className="field-hint">{t('email.hint')}</p>
      {mode === 'view' ? (
        <>
          {current ? (
            <div className={`email-state ${verified ? 'email-verified' : 'email-unverified'}`} data-verified={verified ? 'true' : 'false'}>
              <p className="email-value" data-testid="guard-email-value">{current}</p>
              <p className="email-status">
                <span aria-hidden="true">{verified ? '✓ ' : '⚠ '}</span>
                {verified ? t('email.verified') : t('email.unverified')}
              </p>
            </div>
          ) : (
            <p className="note">{t('email.none')}</p>
          )}
          {notice ? (
            <p className="notice" role="status">
              {notice}
            </p>
          ) : null}
          {current && !verified ? (
            !sent ? (
              <button type="button" className="btn btn-primary btn-block" onClick={() => void send()} disabled={busy} data-testid="email-send">
                {t('email.send')}
              </button>
            ) : (
              <form onSubmit={confirm} noValidate>
                <p role="status">{t('email.sent', { email: current })}</p>
                <Field
                  label={t('email.code')}
                  value={code}
                  onChange={(x) => setCode(x.replace(/[^0-9]/g, '').slice(0, 6))}
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  className="code-input"
                  data-testid="email-code"
                />
                <div className="btn-row">
                  <button type="submit" className="btn btn-primary" disabled={busy || code.length !== 6} data-testid="email-confirm">
                    {t('phone.confirm')}
                  </button>
                  <button type="button" className="btn btn-secondary" onClick={() => void send()} disabled={busy}>
                    {t('phone.resend')}
                  </button>
                </div>
              </form>
            )
          ) : null}
          {current ? (
            <div className="btn-row">
              <button type="button" className={verified ? 'btn btn-primary' : 'btn btn-secondary'} onClick={() => start('edit')}>
                {t('email.change')}
              </button>
              <button type="button" className="btn btn-secondary" onClick={() => start('remove')}>
                {t('email.remove')}
              </button>
            </div>
          ) : (
            <button type="button" className="btn btn-primary btn-block" onClick={() => start('edit')} data-testid="email-add">
              {t('email.add')}
            </button>
          )}
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          {mode === 'edit' ? (
            <Field
              label={t('email.address')}
              hint={t('email.address.hint')}
              type="email"
              name="guard_email"
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={254}
              value={email}
              onChange={(x) => {
                setEmail(x);
                setFieldErrors((o) => ({ ...o, guard_email: undefined }));
              }}
              error={fieldErrors.guard_email ?? null}
            />
          ) : (
            <p className="email-remove">{t('email.removeConfirm', { email: current })}</p>
          )}
          {passwordField}
          <div className="btn-row">
            <button type="submit" className={mode === 'remove' ? 'btn btn-call' : 'btn btn-primary'} disabled={busy} data-testid="email-save">
              {mode === 'remove' ? t('email.remove') : t('email.save')}
            </button>
            <button type="button" className="btn btn-secondary" onClick={() => start('view')} disabled={busy}>
              {t('account.cancel')}
            </button>
          </div>
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

import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../api/client';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n/i18n';
import { explainError, isWrongPassword } from '../../lib/accountErrors';
import { checkNewPassword } from '../../lib/profile';

/**
 * "Change password" (POST /api/me/password): the current password, the new one twice. The server ends
 * every other session of the account; this panel says how many, so a person who changed it because of
 * a lost phone knows the phone is logged out. `onChanged` lets the session list reload.
 */
export function PasswordChange({ api, userId, onChanged }: { api: ApiClient; userId: string; onChanged?: (sessionsEnded: number) => void }) {
  const { t } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Partial<Record<string, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const local = checkNewPassword(next, repeat, userId, current);
  const nextError = serverErrors.new_password ?? (submitted && local.next ? t(local.next.key, local.next.vars) : null);
  const repeatError = submitted && local.repeat ? t(local.repeat.key) : null;
  const currentError = serverErrors.current_password ?? (submitted && current === '' ? t('valid.required') : null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setError(null);
    setDone(null);
    setServerErrors({});
    if (current === '' || local.next || local.repeat) return;
    setBusy(true);
    try {
      const a = await api.changePassword(current, next);
      const n = a.sessions_ended;
      setDone(n === 0 ? t('password.doneNone') : t(n === 1 ? 'password.doneOne' : 'password.done', { n }));
      setCurrent('');
      setNext('');
      setRepeat('');
      setSubmitted(false);
      onChanged?.(n);
    } catch (err) {
      if (isWrongPassword(err)) setServerErrors({ current_password: t('account.wrongPassword') });
      else if (err instanceof ApiError && err.fields.length > 0) setServerErrors(err.fieldMap());
      setError(explainError(err, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="password-title" data-testid="password-change">
      <h2 id="password-title">{t('password.title')}</h2>
      <form onSubmit={submit} noValidate>
        <Field
          label={t('account.currentPassword')}
          type="password"
          autoComplete="current-password"
          name="pw_current"
          value={current}
          onChange={(x) => {
            setCurrent(x);
            setServerErrors((o) => ({ ...o, current_password: undefined }));
          }}
          error={currentError}
        />
        <Field
          label={t('password.new')}
          hint={t('register.password.hint')}
          type="password"
          autoComplete="new-password"
          name="pw_new"
          value={next}
          onChange={(x) => {
            setNext(x);
            setServerErrors((o) => ({ ...o, new_password: undefined }));
          }}
          error={nextError}
        />
        <Field label={t('password.repeat')} type="password" autoComplete="new-password" name="pw_repeat" value={repeat} onChange={setRepeat} error={repeatError} />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        {done ? (
          <p className="notice" role="status" data-testid="password-done">
            {done}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy} data-testid="password-submit">
          {t('password.submit')}
        </button>
      </form>
    </section>
  );
}

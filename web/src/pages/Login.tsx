import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import type { LoginAnswer } from '../api/types';
import { Field } from '../components/Field';
import { useI18n } from '../i18n/i18n';

export function Login({ api, onLoggedIn, notice }: { api: ApiClient; onLoggedIn: (a: LoginAnswer) => void; notice?: string | null }) {
  const { t } = useI18n();
  const [id, setId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await api.login(id.trim(), password));
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === 'rate_limited') setError(t('login.rateLimited', { seconds: err.retryAfterSeconds ?? 60 }));
        else if (err.status === 401) setError(t('login.invalid'));
        else setError(err.message);
      } else setError(t('common.network'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="narrow">
      <h1>{t('login.title')}</h1>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <form onSubmit={submit} noValidate>
        <Field label={t('login.id')} name="id" value={id} onChange={setId} autoComplete="username" autoCapitalize="none" spellCheck={false} />
        <Field label={t('login.password')} name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
        {error ? (
          <p className="form-error" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !id || !password}>
          {t('login.submit')}
        </button>
      </form>
      <p className="alt-action">
        <a href="#/register">{t('login.toRegister')}</a>
      </p>
    </main>
  );
}

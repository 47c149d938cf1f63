import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Device } from '../api/types';
import { Field } from '../components/Field';
import { useI18n } from '../i18n/i18n';
import type { Lang } from '../i18n/strings';
import { useRoute } from '../lib/route';
import { useSession } from '../session';
import { GuardEmail } from './account/GuardEmail';
import { MyDetails } from './account/MyDetails';
import { PasswordChange } from './account/PasswordChange';
import { Sessions } from './account/Sessions';

function Devices() {
  const { api } = useSession();
  const { t, formatTime } = useI18n();
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [name, setName] = useState('');
  const [token, setToken] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.listDevices().then((a) => setDevices(a.devices), (e: unknown) => setError(e instanceof Error ? e.message : t('common.error')));
  }, [api, t]);
  useEffect(load, [load]);

  const pair = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setCopied(null);
    try {
      const a = await api.pairDevice(name.trim());
      setToken(a.device_token);
      setName('');
      load();
    } catch (err) {
      setError(err instanceof Error ? err.message : t('common.error'));
    }
  };
  const copy = async () => {
    if (!token) return;
    try {
      await navigator.clipboard.writeText(token);
      setCopied(t('settings.devices.copied'));
    } catch {
      setCopied(t('settings.devices.copyFailed'));
    }
  };
  const revoke = async (d: Device) => {
    setError(null);
    try {
      await api.revokeDevice(d.device_id);
      load();
    } catch (err) {
      setError(err instanceof Error ? err.message : t('common.error'));
    }
  };

  return (
    <section className="panel" aria-labelledby="devices-title">
      <h2 id="devices-title">{t('settings.devices')}</h2>
      {devices === null ? <p>{t('common.loading')}</p> : null}
      {devices && devices.filter((d) => d.active).length === 0 ? <p className="note">{t('settings.devices.none')}</p> : null}
      <ul className="devices">
        {(devices ?? []).filter((d) => d.active).map((d) => (
          <li key={String(d.device_id)} className="device-row">
            <span>
              <strong>{d.name}</strong>
              <br />
              {d.last_seen_at ? t('settings.devices.lastSeen', { time: formatTime(d.last_seen_at) }) : t('settings.devices.neverSeen')}
              {' · '}
              {t('settings.devices.added', { time: formatTime(d.created_at) })}
            </span>
            <button type="button" className="btn btn-secondary" onClick={() => void revoke(d)}>
              {t('settings.devices.revoke')}
            </button>
          </li>
        ))}
      </ul>
      {token ? (
        <div className="token-box" role="status">
          <p>{t('settings.devices.token')}</p>
          <code data-testid="device-token">{token}</code>
          <button type="button" className="btn btn-primary" onClick={() => void copy()}>
            {t('settings.devices.copy')}
          </button>
          {copied ? <p aria-live="polite">{copied}</p> : null}
        </div>
      ) : null}
      <form onSubmit={pair} noValidate>
        <Field label={t('settings.devices.name')} value={name} onChange={setName} maxLength={64} />
        <button type="submit" className="btn btn-primary" disabled={!name.trim()}>
          {t('settings.devices.pair')}
        </button>
      </form>
      {error ? <p className="form-error" role="alert">{error}</p> : null}
    </section>
  );
}

function RuleProfile() {
  const { api, user, refreshMe } = useSession();
  const { t, has } = useI18n();
  const [profiles, setProfiles] = useState<string[] | null>(null);
  const [chosen, setChosen] = useState<string>(typeof user.rule_profile === 'string' ? user.rule_profile : '');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    api.ruleProfiles().then((a) => {
      setProfiles(a.rule_profiles);
      setChosen((c) => c || a.rule_profiles[0] || '');
    }, () => setProfiles([]));
  }, [api]);
  const nameOf = (p: string) => {
    const k = `settings.profile.${p}`;
    return has(k) ? t(k) : p;
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setMsg(null);
    try {
      await api.setRuleProfile(chosen);
      setMsg({ ok: true, text: t('common.saved') });
      void refreshMe();
    } catch (err) {
      setMsg({ ok: false, text: err instanceof Error ? err.message : t('common.error') });
    }
  };
  return (
    <section className="panel" aria-labelledby="profile-title">
      <h2 id="profile-title">{t('settings.profile')}</h2>
      <p className="field-hint">{t('settings.profile.hint')}</p>
      {typeof user.rule_profile === 'string' ? <p>{t('settings.profile.current', { name: nameOf(user.rule_profile) })}</p> : null}
      <form onSubmit={save}>
        <fieldset className="choices">
          <legend className="visually-hidden">{t('settings.profile')}</legend>
          {(profiles ?? []).map((p) => (
            <label key={p} className={chosen === p ? 'choice selected' : 'choice'}>
              <input type="radio" name="rule_profile" value={p} checked={chosen === p} onChange={() => setChosen(p)} />
              {nameOf(p)}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="btn btn-primary" disabled={!chosen}>
          {t('common.save')}
        </button>
        {msg ? <p className={msg.ok ? 'notice' : 'form-error'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p> : null}
      </form>
    </section>
  );
}

export function Settings() {
  const { api, user, refreshMe } = useSession();
  const { t, lang, setLang } = useI18n();
  const route = useRoute();
  // A password change ends the other sessions: the list below reloads.
  const [sessionsKey, setSessionsKey] = useState(0);
  return (
    <main id="main">
      <h1>{t('settings.title')}</h1>
      <MyDetails api={api} user={user} onChanged={refreshMe} startEditing={route.params.get('edit') === 'address'} />
      <GuardEmail api={api} user={user} onChanged={refreshMe} />
      <Devices />
      <RuleProfile />
      <PasswordChange api={api} userId={user.id} onChanged={() => setSessionsKey((k) => k + 1)} />
      <Sessions api={api} reloadKey={sessionsKey} />
      <section className="panel" aria-labelledby="lang-title">
        <h2 id="lang-title">{t('settings.language')}</h2>
        <fieldset className="choices">
          <legend className="visually-hidden">{t('settings.language')}</legend>
          {(['ko', 'en'] as Lang[]).map((l) => (
            <label key={l} className={lang === l ? 'choice selected' : 'choice'}>
              <input type="radio" name="lang" value={l} checked={lang === l} onChange={() => setLang(l)} />
              {t(`lang.${l}`)}
            </label>
          ))}
        </fieldset>
      </section>
    </main>
  );
}

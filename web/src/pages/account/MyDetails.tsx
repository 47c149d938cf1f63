import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../api/client';
import type { User } from '../../api/types';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n/i18n';
import { explainError, isWrongPassword } from '../../lib/accountErrors';
import {
  addressFor119,
  phonesChanged,
  profileChanges,
  profileValues,
  validateProfile,
  type ProfileField,
  type ProfileValues,
} from '../../lib/profile';
import { browserTimeZone, describeTimeZone, timeZoneChoices } from '../../lib/timezone';

type Notice = { ok: boolean; text: string } | null;

/**
 * "My details": what 119 and the guardian are told. Shown as a summary with one action (change);
 * the form shows the address 119 would hear as it is typed, asks the password once on save, and
 * sends only what changed (PATCH /api/me). Nothing changes on the server unless every field passes.
 * `startEditing` opens the form with the address focused (the dashboard's "Change it").
 */
export function MyDetails({
  api,
  user,
  onChanged,
  startEditing = false,
}: {
  api: ApiClient;
  user: User;
  onChanged: () => Promise<void> | void;
  startEditing?: boolean;
}) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(startEditing);
  const [v, setV] = useState<ProfileValues>(() => profileValues(user));
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState<Partial<Record<ProfileField, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Partial<Record<string, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);
  const addressRef = useRef<HTMLInputElement>(null);
  const editRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (editing && startEditing) addressRef.current?.focus();
  }, [editing, startEditing]);

  const problems = validateProfile(v);
  const open = () => {
    setV(profileValues(user));
    setPassword('');
    setTouched({});
    setSubmitted(false);
    setServerErrors({});
    setFormError(null);
    setNotice(null);
    setEditing(true);
  };
  const close = () => {
    setEditing(false);
    setPassword('');
    setFormError(null);
    // Back to the button that opened the form, so keyboard users are not lost at the top of the page.
    setTimeout(() => editRef.current?.focus(), 0);
  };

  const set = (f: ProfileField) => (value: string) => {
    setV((old) => ({ ...old, [f]: value }));
    setServerErrors((old) => ({ ...old, [f]: undefined }));
  };
  const errorFor = (f: ProfileField): string | null => {
    const server = serverErrors[f];
    if (server) return server;
    const p = problems[f];
    return p && (touched[f] || submitted) ? t(p.key, p.vars) : null;
  };
  const common = (f: ProfileField) => ({
    name: f,
    value: v[f],
    onChange: set(f),
    onBlur: () => setTouched((o) => ({ ...o, [f]: true })),
    error: errorFor(f),
  });

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setFormError(null);
    setNotice(null);
    const changes = profileChanges(user, v);
    if (Object.keys(problems).length > 0) {
      setFormError(t('register.fixFields'));
      return;
    }
    if (Object.keys(changes).length === 0) {
      setFormError(t('details.unchanged'));
      return;
    }
    if (password === '') {
      setServerErrors((o) => ({ ...o, current_password: t('valid.required') }));
      setFormError(t('register.fixFields'));
      return;
    }
    setBusy(true);
    try {
      await api.updateProfile(password, changes);
      await onChanged();
      setNotice({ ok: true, text: phonesChanged(changes) ? `${t('details.saved')} ${t('details.phoneUnverified')}` : t('details.saved') });
      close();
    } catch (err) {
      if (isWrongPassword(err)) {
        setServerErrors((o) => ({ ...o, current_password: t('account.wrongPassword') }));
      } else if (err instanceof ApiError && err.fields.length > 0) {
        setServerErrors(err.fieldMap());
      }
      setFormError(explainError(err, t));
    } finally {
      setBusy(false);
    }
  };

  const preview = addressFor119(v.address, v.detailed_address);
  return (
    <section className="panel" aria-labelledby="details-title" data-testid="my-details">
      <h2 id="details-title">{t('details.title')}</h2>
      <p className="field-hint">{t('details.hint')}</p>
      {!editing ? (
        <>
          <dl className="contact">
            <dt>{t('register.name')}</dt>
            <dd>{user.name}</dd>
            <dt>{t('register.age')}</dt>
            <dd>{user.age}</dd>
            <dt>{t('register.address')}</dt>
            <dd data-testid="details-address">{addressFor119(user.address, user.detailed_address)}</dd>
            <dt>{t('register.phone')}</dt>
            <dd>{user.phone_num}</dd>
            <dt>{t('details.timeZone')}</dt>
            <dd data-testid="details-time-zone">{describeTimeZone(user.time_zone ?? 'Asia/Seoul')}</dd>
            <dt>{t('details.guardian')}</dt>
            <dd>
              {user.guard_name || user.guard_phone_num ? (
                <>
                  {user.guard_name}
                  <br />
                  <a href={`tel:${user.guard_phone_num}`}>{user.guard_phone_num}</a>
                </>
              ) : (
                t('details.noGuardian')
              )}
            </dd>
          </dl>
          {notice ? (
            <p className={notice.ok ? 'notice' : 'form-error'} role="status" data-testid="details-notice">
              {notice.text}
            </p>
          ) : null}
          <button type="button" ref={editRef} className="btn btn-primary btn-block" onClick={open} data-testid="details-edit">
            {t('details.edit')}
          </button>
        </>
      ) : (
        <form onSubmit={save} noValidate data-testid="details-form">
          <fieldset>
            <legend>{t('details.you')}</legend>
            <Field label={t('register.name')} autoComplete="name" maxLength={100} {...common('name')} />
            <Field label={t('register.age')} inputMode="numeric" maxLength={3} {...common('age')} />
            <Field label={t('register.address')} autoComplete="street-address" maxLength={255} ref={addressRef} {...common('address')} />
            <Field label={t('register.detailedAddress')} optional maxLength={255} {...common('detailed_address')} />
            <div className="preview-119" data-testid="address-preview">
              <p className="preview-119-label">{t('details.preview')}</p>
              <p className="preview-119-address">{preview || '—'}</p>
            </div>
            <Field label={t('register.phone')} hint={t('register.phone.hint')} type="tel" autoComplete="tel" maxLength={20} {...common('phone_num')} />
            <div className="field">
              <label htmlFor="details-time-zone-select">{t('details.timeZone')}</label>
              <p className="field-hint" id="details-time-zone-hint">
                {t('details.timeZone.hint')}
              </p>
              <select
                id="details-time-zone-select"
                name="time_zone"
                aria-describedby="details-time-zone-hint"
                value={v.time_zone}
                onChange={(e) => set('time_zone')(e.target.value)}
                data-testid="details-time-zone-select"
              >
                {timeZoneChoices(v.time_zone).map((zone) => (
                  <option key={zone} value={zone}>
                    {zone === browserTimeZone() ? `${describeTimeZone(zone)} — ${t('details.timeZone.device')}` : describeTimeZone(zone)}
                  </option>
                ))}
              </select>
              {serverErrors.time_zone ? (
                <p className="field-error" role="alert">
                  {serverErrors.time_zone}
                </p>
              ) : null}
            </div>
          </fieldset>
          <fieldset>
            <legend>{t('details.guardian')}</legend>
            <p className="field-hint">{t('register.guard.hint')}</p>
            <Field label={t('register.guardName')} optional maxLength={100} {...common('guard_name')} />
            <Field label={t('register.guardPhone')} hint={t('register.phone.hint')} type="tel" optional maxLength={20} {...common('guard_phone_num')} />
          </fieldset>
          <Field
            label={t('account.currentPassword')}
            hint={t('account.currentPassword.hint')}
            type="password"
            autoComplete="current-password"
            name="current_password"
            value={password}
            onChange={(x) => {
              setPassword(x);
              setServerErrors((o) => ({ ...o, current_password: undefined }));
            }}
            error={serverErrors.current_password ?? null}
          />
          {formError ? (
            <p className="form-error" role="alert" data-testid="details-error">
              {formError}
            </p>
          ) : null}
          <div className="btn-row">
            <button type="submit" className="btn btn-primary" disabled={busy} data-testid="details-save">
              {t('details.save')}
            </button>
            <button type="button" className="btn btn-secondary" onClick={close} disabled={busy}>
              {t('account.cancel')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

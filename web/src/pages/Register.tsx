import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import type { SignupInput } from '../api/types';
import { Field } from '../components/Field';
import { useI18n } from '../i18n/i18n';
import { browserTimeZone } from '../lib/timezone';
import { checkId, validateRegister, type FieldName, type Problems, type RegisterValues } from '../lib/validation';

const EMPTY: RegisterValues = {
  id: '', password: '', name: '', age: '', address: '', detailed_address: '', phone_num: '', guard_name: '', guard_phone_num: '',
};

type IdCheck = 'idle' | 'checking' | 'available' | 'taken';

export function Register({ api, onRegistered, checkDelayMs = 400 }: { api: ApiClient; onRegistered: (id: string) => void; checkDelayMs?: number }) {
  const { t } = useI18n();
  const [v, setV] = useState<RegisterValues>(EMPTY);
  const [touched, setTouched] = useState<Partial<Record<FieldName, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Partial<Record<string, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [idCheck, setIdCheck] = useState<IdCheck>('idle');
  const [busy, setBusy] = useState(false);
  const checkSeq = useRef(0);

  const problems: Problems = validateRegister(v);

  // Live duplicate-id check, debounced; only for ids that pass the local rules.
  useEffect(() => {
    const seq = ++checkSeq.current;
    if (checkId(v.id) !== null) {
      setIdCheck('idle');
      return;
    }
    setIdCheck('checking');
    const timer = setTimeout(() => {
      api.checkId(v.id).then(
        (a) => {
          if (seq === checkSeq.current) setIdCheck(a.available ? 'available' : 'taken');
        },
        () => {
          if (seq === checkSeq.current) setIdCheck('idle'); // rate-limited or offline: the server re-checks on submit
        },
      );
    }, checkDelayMs);
    return () => clearTimeout(timer);
  }, [v.id, api, checkDelayMs]);

  const set = (f: FieldName) => (value: string) => {
    setV((old) => ({ ...old, [f]: value }));
    setServerErrors((old) => ({ ...old, [f]: undefined }));
  };
  const blur = (f: FieldName) => () => setTouched((old) => ({ ...old, [f]: true }));

  const errorFor = (f: FieldName): string | null => {
    const server = serverErrors[f];
    if (server) return server;
    if (f === 'id' && idCheck === 'taken') return t('register.id.taken');
    const p = problems[f];
    if (p && (touched[f] || submitted)) return t(p.key, p.vars);
    return null;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setFormError(null);
    if (Object.keys(problems).length > 0 || idCheck === 'taken') {
      setFormError(t('register.fixFields'));
      return;
    }
    const body: SignupInput = {
      id: v.id, password: v.password, name: v.name, age: Number(v.age), address: v.address, phone_num: v.phone_num,
      // Times in messages and on the dashboard are the wearer's local time; changeable in "My details".
      time_zone: browserTimeZone(),
    };
    if (v.detailed_address) body.detailed_address = v.detailed_address;
    if (v.guard_name) body.guard_name = v.guard_name;
    if (v.guard_phone_num) body.guard_phone_num = v.guard_phone_num;
    setBusy(true);
    try {
      await api.signup(body);
      onRegistered(v.id);
    } catch (err) {
      if (err instanceof ApiError) {
        const map = err.fieldMap();
        if (err.code === 'conflict' && !map.id) map.id = t('register.id.taken');
        setServerErrors(map);
        setFormError(Object.keys(map).length > 0 ? t('register.fixFields') : err.message);
      } else setFormError(t('common.network'));
    } finally {
      setBusy(false);
    }
  };

  const idInfo = idCheck === 'checking' ? t('register.id.checking') : idCheck === 'available' ? t('register.id.available') : null;
  const common = (f: FieldName) => ({ name: f, value: v[f], onChange: set(f), onBlur: blur(f), error: errorFor(f) });

  return (
    <main id="main" className="narrow">
      <h1>{t('register.title')}</h1>
      <p className="lead">{t('register.intro')}</p>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>{t('register.section.account')}</legend>
          <Field label={t('register.id')} hint={t('register.id.hint')} info={idInfo} autoComplete="username" autoCapitalize="none" spellCheck={false} {...common('id')} />
          <Field label={t('register.password')} hint={t('register.password.hint')} type="password" autoComplete="new-password" {...common('password')} />
        </fieldset>
        <fieldset>
          <legend>{t('register.section.person')}</legend>
          <Field label={t('register.name')} autoComplete="name" {...common('name')} />
          <Field label={t('register.age')} inputMode="numeric" {...common('age')} />
          <Field label={t('register.address')} autoComplete="street-address" {...common('address')} />
          <Field label={t('register.detailedAddress')} optional {...common('detailed_address')} />
          <Field label={t('register.phone')} hint={t('register.phone.hint')} type="tel" autoComplete="tel" {...common('phone_num')} />
        </fieldset>
        <fieldset>
          <legend>{t('register.section.guardian')}</legend>
          <p className="field-hint">{t('register.guard.hint')}</p>
          <Field label={t('register.guardName')} optional {...common('guard_name')} />
          <Field label={t('register.guardPhone')} hint={t('register.phone.hint')} type="tel" optional {...common('guard_phone_num')} />
        </fieldset>
        {formError ? (
          <p className="form-error" role="alert" data-testid="register-error">
            {formError}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {t('register.submit')}
        </button>
      </form>
      <p className="alt-action">
        <a href="#/login">{t('register.toLogin')}</a>
      </p>
    </main>
  );
}

// Client-side mirror of the server's sign-up rules (docs/api.md, src/domain/account.cpp), so
// people see problems as they type. The server stays the authority: its per-field errors are
// shown next to the same fields.
import type { StringKey } from '../i18n/strings';

export interface RegisterValues {
  id: string;
  password: string;
  name: string;
  age: string;
  address: string;
  detailed_address: string;
  phone_num: string;
  guard_name: string;
  guard_phone_num: string;
}

export type FieldName = keyof RegisterValues;
export interface Problem {
  key: StringKey;
  vars?: Record<string, string | number>;
}
export type Problems = Partial<Record<FieldName, Problem>>;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function checkId(id: string): Problem | null {
  if (id === '') return { key: 'valid.required' };
  if (id.length < 4 || id.length > 32) return { key: 'valid.idLength' };
  if (!/^[a-z0-9_.-]+$/.test(id)) return { key: 'valid.idChars' };
  return null;
}

export function checkPassword(pw: string, id: string): Problem | null {
  if (pw === '') return { key: 'valid.required' };
  if (new TextEncoder().encode(pw).length > 1024) return { key: 'valid.passwordLong' };
  if ([...pw].length < 8) return { key: 'valid.passwordShort' };
  if (id !== '' && pw === id) return { key: 'valid.passwordSameAsId' };
  return null;
}

export function checkText(text: string, required: boolean, max: number): Problem | null {
  if (text.trim() === '') {
    if (text === '') return required ? { key: 'valid.required' } : null;
    return required ? { key: 'valid.required' } : { key: 'valid.blank' };
  }
  if (CONTROL.test(text)) return { key: 'valid.control' };
  if ([...text].length > max) return { key: 'valid.tooLong', vars: { max } };
  if (/^\s|\s$/.test(text)) return { key: 'valid.spaces' };
  return null;
}

export function checkAge(age: string): Problem | null {
  if (age.trim() === '') return { key: 'valid.required' };
  if (!/^\d+$/.test(age.trim())) return { key: 'valid.age' };
  const n = Number(age);
  return n >= 1 && n <= 130 ? null : { key: 'valid.age' };
}

export function isPhoneNumber(phone: string): boolean {
  if (phone.startsWith('+')) return /^\+[1-9]\d{7,14}$/.test(phone);
  if (!/^[0-9-]+$/.test(phone)) return false;
  if (phone.startsWith('-') || phone.endsWith('-') || phone.includes('--')) return false;
  const digits = phone.replace(/-/g, '');
  const groups = phone.split('-').length;
  if (digits.length < 9 || digits.length > 11 || digits[0] !== '0' || digits[1] === '0') return false;
  return groups === 1 || groups === 3;
}

export function checkPhone(phone: string, required: boolean): Problem | null {
  if (phone === '') return required ? { key: 'valid.required' } : null;
  return isPhoneNumber(phone) ? null : { key: 'valid.phone' };
}

export function validateRegister(v: RegisterValues): Problems {
  const out: Problems = {};
  const set = (f: FieldName, p: Problem | null) => {
    if (p) out[f] = p;
  };
  set('id', checkId(v.id));
  set('password', checkPassword(v.password, v.id));
  set('name', checkText(v.name, true, 100));
  set('age', checkAge(v.age));
  set('address', checkText(v.address, true, 255));
  set('detailed_address', checkText(v.detailed_address, false, 255));
  set('phone_num', checkPhone(v.phone_num, true));
  const hasName = v.guard_name !== '';
  const hasPhone = v.guard_phone_num !== '';
  if (hasName || hasPhone) {
    set('guard_name', hasName ? checkText(v.guard_name, true, 100) : { key: 'valid.guardBoth' });
    set('guard_phone_num', hasPhone ? checkPhone(v.guard_phone_num, true) : { key: 'valid.guardBoth' });
    if (hasPhone && !out.guard_phone_num && v.guard_phone_num === v.phone_num) {
      out.guard_phone_num = { key: 'valid.guardPhoneSame' };
    }
  }
  return out;
}

// The account self-service screens' logic, kept out of the components so it can be tested alone:
// the profile form's values and checks (the sign-up rules of validation.ts, which mirror the server's),
// what PATCH /api/me is sent (only what changed), the address 119 is told, and a short name for a
// session's browser. The server stays the authority; its per-field errors are shown the same way.
import type { ProfileChanges, User } from '../api/types';
import { checkAge, checkPassword, checkPhone, checkText, type Problem } from './validation';

export interface ProfileValues {
  name: string;
  age: string;
  address: string;
  detailed_address: string;
  phone_num: string;
  guard_name: string;
  guard_phone_num: string;
  time_zone: string;
}
export type ProfileField = keyof ProfileValues;
export type ProfileProblems = Partial<Record<ProfileField, Problem>>;

export function profileValues(user: User): ProfileValues {
  return {
    name: user.name ?? '',
    age: user.age ? String(user.age) : '',
    address: user.address ?? '',
    detailed_address: user.detailed_address ?? '',
    phone_num: user.phone_num ?? '',
    guard_name: user.guard_name ?? '',
    guard_phone_num: user.guard_phone_num ?? '',
    time_zone: user.time_zone ?? 'Asia/Seoul',
  };
}

/** The sign-up rules, field by field; the guardian's name and number go together or not at all. */
export function validateProfile(v: ProfileValues): ProfileProblems {
  const out: ProfileProblems = {};
  const set = (f: ProfileField, p: Problem | null) => {
    if (p) out[f] = p;
  };
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
    if (hasPhone && !out.guard_phone_num && digits(v.guard_phone_num) === digits(v.phone_num)) {
      out.guard_phone_num = { key: 'valid.guardPhoneSame' };
    }
  }
  return out;
}

const digits = (phone: string) => phone.replace(/\D/g, '').replace(/^82/, '0');

/** Only the fields that differ from the saved profile: PATCH /api/me changes nothing else. */
export function profileChanges(user: User, v: ProfileValues): ProfileChanges {
  const before = profileValues(user);
  const out: ProfileChanges = {};
  for (const f of Object.keys(before) as ProfileField[]) {
    if (v[f] === before[f]) continue;
    if (f === 'age') out.age = Number(v.age.trim());
    else out[f] = v[f];
  }
  return out;
}

/** Numbers that change lose their verification (docs/api.md, "Phone verification"). */
export function phonesChanged(changes: ProfileChanges): boolean {
  return changes.phone_num !== undefined || changes.guard_phone_num !== undefined;
}

/**
 * The address as the emergency report gives it to 119: the address, a space, the detailed address
 * (src/escalation/escalation_service.cpp builds it the same way).
 */
export function addressFor119(address: string, detailed: string): string {
  const a = address.trim();
  const d = detailed.trim();
  return d ? `${a} ${d}` : a;
}

/** The new-password rules of sign-up, plus: typed the same twice, and not the current one. */
export function checkNewPassword(next: string, repeat: string, id: string, current: string): {
  next?: Problem;
  repeat?: Problem;
} {
  const p = checkPassword(next, id);
  if (p) return { next: p };
  if (current !== '' && next === current) return { next: { key: 'valid.passwordSameAsOld' } };
  if (repeat !== next) return { repeat: { key: 'valid.passwordRepeat' } };
  return {};
}

/**
 * "Chrome · Android" from a User-Agent header, so a person can tell their devices apart; the raw text
 * is long and means nothing to most people. Unknown browsers keep their first word.
 */
export function describeUserAgent(ua: string): string {
  if (!ua.trim()) return '';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iPhone/iPad'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'Mac'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : '';
  const browser = /SamsungBrowser\//.test(ua)
    ? 'Samsung Internet'
    : /Edg\//.test(ua)
      ? 'Edge'
      : /OPR\/|Opera/.test(ua)
        ? 'Opera'
        : /Firefox\//.test(ua)
          ? 'Firefox'
          : /KAKAOTALK/i.test(ua)
            ? 'KakaoTalk'
            : /Chrome\/|Chromium\/|CriOS\//.test(ua)
              ? 'Chrome'
              : /Safari\//.test(ua)
                ? 'Safari'
                : (ua.trim().split(/[\s/;(]/)[0] ?? '').slice(0, 40);
  return [browser, os].filter(Boolean).join(' · ');
}

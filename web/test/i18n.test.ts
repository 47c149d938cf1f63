import { describe, expect, it } from 'vitest';
import { en, format, ko } from '../src/i18n/strings';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n table', () => {
  it('has every key in both languages, none empty', () => {
    const koKeys = Object.keys(ko).sort();
    const enKeys = Object.keys(en).sort();
    expect(enKeys).toEqual(koKeys);
    for (const k of koKeys) {
      expect(ko[k as keyof typeof ko].trim(), `ko ${k}`).not.toBe('');
      expect(en[k as keyof typeof en].trim(), `en ${k}`).not.toBe('');
    }
  });

  it('uses the same placeholders in both languages', () => {
    for (const k of Object.keys(ko) as (keyof typeof ko)[]) {
      expect(placeholders(en[k]), k).toEqual(placeholders(ko[k]));
    }
  });

  it('really translates: the Korean table is Korean', () => {
    const hangul = Object.values(ko).filter((v) => /[\uac00-\ud7a3]/.test(v)).length;
    expect(hangul / Object.keys(ko).length).toBeGreaterThan(0.85);
  });

  it('formats placeholders and leaves unknown ones visible', () => {
    expect(format('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });
});

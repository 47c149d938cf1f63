import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { format, strings, type Lang, type StringKey } from './strings';
import { displayTimeZone } from '../lib/timezone';

export type Translate = (key: StringKey, vars?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: Translate;
  /** Has this key? For server-provided codes (causes, purposes) that may be new. */
  has: (key: string) => key is StringKey;
  /**
   * The IANA zone clock times are written in: the wearer's inside a TimeZoneScope (the wearer's own
   * dashboard, Trends and diary), else the browser's.
   */
  timeZone: string;
  /** "12월 5일 오후 03:05" / "5 Dec, 15:05": date and time in `timeZone`. */
  formatTime: (iso: string | null | undefined) => string;
  /** "15:05": the time of day in `timeZone` (an ISO time or milliseconds). */
  formatClock: (at: string | number | null | undefined) => string;
  relativeTime: (iso: string | null | undefined, now?: number) => string;
}

const STORAGE_KEY = 'vg.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'ko' || saved === 'en') return saved;
  } catch {
    // Storage may be unavailable (private mode); Korean is the default.
  }
  return 'ko';
}

export function makeI18n(lang: Lang, setLang: (l: Lang) => void = () => {}, zone?: string | null): I18n {
  const table = strings[lang];
  const t: Translate = (key, vars) => format(table[key], vars);
  const locale = lang === 'ko' ? 'ko-KR' : 'en-GB';
  const timeZone = displayTimeZone(zone);
  const timeFmt = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone });
  const clockFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });
  return {
    lang,
    setLang,
    t,
    has: (key: string): key is StringKey => key in table,
    timeZone,
    formatTime: (iso) => {
      if (!iso) return '—';
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? '—' : timeFmt.format(d);
    },
    formatClock: (at) => {
      if (at === null || at === undefined || at === '') return '—';
      const d = new Date(at);
      return Number.isNaN(d.getTime()) ? '—' : clockFmt.format(d);
    },
    relativeTime: (iso, now = Date.now()) => {
      if (!iso) return '—';
      const ms = now - new Date(iso).getTime();
      if (Number.isNaN(ms)) return '—';
      const min = Math.floor(ms / 60000);
      if (min < 1) return t('time.justNow');
      if (min < 60) return t('time.minutesAgo', { n: min });
      const h = Math.floor(min / 60);
      if (h < 48) return t('time.hoursAgo', { n: h });
      return t('time.daysAgo', { n: Math.floor(h / 24) });
    },
  };
}

const Ctx = createContext<I18n>(makeI18n('ko'));

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(fixed ?? initialLang);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // Not persisted; the choice still holds for this visit.
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo(() => makeI18n(lang, setLang), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/**
 * Clock times inside are written in `zone` (a wearer's IANA zone; unknown or absent: the browser's), in
 * the surrounding language.
 */
export function TimeZoneScope({ zone, children }: { zone?: string | null; children: ReactNode }) {
  const parent = useContext(Ctx);
  const value = useMemo(() => makeI18n(parent.lang, parent.setLang, zone), [parent.lang, parent.setLang, zone]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  return useContext(Ctx);
}

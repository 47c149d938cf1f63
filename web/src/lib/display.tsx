// How the dashboard is shown, for old eyes: the text size (three steps over the browser's own
// default size, which styles.css follows) and the high-contrast theme. Both are remembered in
// localStorage and applied as attributes on <html>, which styles.css reads:
//   data-text-size="normal" | "large" | "largest"   (root font size ×1, ×1.25, ×1.5)
//   data-theme="contrast"                            (present only while high contrast is on)
// Someone who never chose a theme gets high contrast when the system asks for more contrast
// (`prefers-contrast: more`), and follows it when that setting changes.
import { createContext, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useState, type ReactNode } from 'react';

export const TEXT_SIZES = ['normal', 'large', 'largest'] as const;
export type TextSize = (typeof TEXT_SIZES)[number];
/** What the person chose; null: never chose, follow the system. */
export type ThemeChoice = 'standard' | 'contrast' | null;

export const TEXT_SIZE_KEY = 'vg.textSize';
export const THEME_KEY = 'vg.theme';
const CONTRAST_QUERY = '(prefers-contrast: more)';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage unavailable (private mode): defaults, choices hold for this visit only
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not persisted; the choice still holds for this visit.
  }
}

export function savedTextSize(): TextSize {
  const s = read(TEXT_SIZE_KEY);
  return (TEXT_SIZES as readonly string[]).includes(s ?? '') ? (s as TextSize) : 'normal';
}

export function savedTheme(): ThemeChoice {
  const s = read(THEME_KEY);
  return s === 'standard' || s === 'contrast' ? s : null;
}

function systemWantsContrast(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia(CONTRAST_QUERY).matches;
}

export function effectiveContrast(choice: ThemeChoice, system = systemWantsContrast()): boolean {
  return choice === null ? system : choice === 'contrast';
}

/** Puts the choices on <html>. Also called before the first render (main.tsx), so nothing flashes. */
export function applyDisplay(size: TextSize = savedTextSize(), contrast: boolean = effectiveContrast(savedTheme())): void {
  const root = document.documentElement;
  root.dataset.textSize = size;
  if (contrast) root.dataset.theme = 'contrast';
  else delete root.dataset.theme;
}

interface Display {
  textSize: TextSize;
  setTextSize: (s: TextSize) => void;
  /** Whether high contrast is on now (chosen, or followed from the system). */
  contrast: boolean;
  setContrast: (on: boolean) => void;
  /** The root font size in CSS px now (20 at the browser's default 16 px and "normal"), for charts. */
  rootPx: number;
}

const Ctx = createContext<Display>({ textSize: 'normal', setTextSize: () => {}, contrast: false, setContrast: () => {}, rootPx: 20 });

function rootFontPx(): number {
  const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(px) && px > 0 ? px : 20;
}

export function DisplayProvider({ children }: { children: ReactNode }) {
  const [textSize, setSize] = useState<TextSize>(savedTextSize);
  const [choice, setChoice] = useState<ThemeChoice>(savedTheme);
  const [system, setSystem] = useState<boolean>(systemWantsContrast);

  useEffect(() => {
    if (typeof window.matchMedia !== 'function') return;
    const mq = window.matchMedia(CONTRAST_QUERY);
    const onChange = () => setSystem(mq.matches);
    mq.addEventListener?.('change', onChange);
    return () => mq.removeEventListener?.('change', onChange);
  }, []);

  const [rootPx, setRootPx] = useState(20);

  const contrast = effectiveContrast(choice, system);
  useLayoutEffect(() => {
    applyDisplay(textSize, contrast);
    setRootPx(rootFontPx());
  }, [textSize, contrast]);

  const setTextSize = useCallback((s: TextSize) => {
    setSize(s);
    write(TEXT_SIZE_KEY, s);
  }, []);
  const setContrast = useCallback((on: boolean) => {
    const c = on ? 'contrast' : 'standard';
    setChoice(c);
    write(THEME_KEY, c);
  }, []);

  const value = useMemo(
    () => ({ textSize, setTextSize, contrast, setContrast, rootPx }),
    [textSize, setTextSize, contrast, setContrast, rootPx],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useDisplay(): Display {
  return useContext(Ctx);
}

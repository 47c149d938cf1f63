import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/api/client';
import { App } from '../src/App';
import { DisplayControls } from '../src/components/DisplayControls';
import { I18nProvider } from '../src/i18n/i18n';
import type { Lang } from '../src/i18n/strings';
import { applyDisplay, DisplayProvider, TEXT_SIZE_KEY, THEME_KEY } from '../src/lib/display';

const html = document.documentElement;
const controls = (lang: Lang = 'ko') =>
  render(
    <I18nProvider lang={lang}>
      <DisplayProvider>
        <DisplayControls />
      </DisplayProvider>
    </I18nProvider>,
  );
const pressed = (el: HTMLElement) => el.getAttribute('aria-pressed');

/** window.matchMedia for (prefers-contrast: more), which jsdom lacks; `set` changes it and tells listeners. */
function stubContrastQuery(matches: boolean) {
  const listeners = new Set<() => void>();
  const mq = {
    get matches() {
      return matches;
    },
    media: '(prefers-contrast: more)',
    addEventListener: (_: string, l: () => void) => listeners.add(l),
    removeEventListener: (_: string, l: () => void) => listeners.delete(l),
  };
  vi.stubGlobal('matchMedia', vi.fn(() => mq));
  return {
    set(m: boolean) {
      matches = m;
      act(() => listeners.forEach((l) => l()));
    },
  };
}

beforeEach(() => {
  delete html.dataset.textSize;
  delete html.dataset.theme;
});
afterEach(() => vi.unstubAllGlobals());

describe('text size control', () => {
  it('offers three steps in a labelled group, "보통" pressed at first, applied to <html>', () => {
    controls();
    const group = screen.getByRole('group', { name: '글자 크기' });
    const steps = within(group).getAllByRole('button');
    expect(steps.map((b) => b.textContent?.replace('가', ''))).toEqual(['보통', '크게', '아주 크게']);
    expect(steps.map(pressed)).toEqual(['true', 'false', 'false']);
    expect(html.dataset.textSize).toBe('normal');
  });

  it('applies a choice to <html>, shows it pressed and remembers it', () => {
    controls();
    fireEvent.click(screen.getByRole('button', { name: '아주 크게' }));
    expect(html.dataset.textSize).toBe('largest');
    expect(pressed(screen.getByRole('button', { name: '아주 크게' }))).toBe('true');
    expect(pressed(screen.getByRole('button', { name: '보통' }))).toBe('false');
    expect(localStorage.getItem(TEXT_SIZE_KEY)).toBe('largest');
    fireEvent.click(screen.getByRole('button', { name: '크게' }));
    expect(html.dataset.textSize).toBe('large');
    expect(localStorage.getItem(TEXT_SIZE_KEY)).toBe('large');
  });

  it('restores the remembered size, and ignores what it does not know', () => {
    localStorage.setItem(TEXT_SIZE_KEY, 'large');
    const { unmount } = controls();
    expect(html.dataset.textSize).toBe('large');
    expect(pressed(screen.getByRole('button', { name: '크게' }))).toBe('true');
    unmount();
    localStorage.setItem(TEXT_SIZE_KEY, 'gigantic');
    controls();
    expect(html.dataset.textSize).toBe('normal');
  });

  it('is applied before the first render too (main.tsx), so nothing jumps', () => {
    localStorage.setItem(TEXT_SIZE_KEY, 'largest');
    localStorage.setItem(THEME_KEY, 'contrast');
    applyDisplay();
    expect(html.dataset.textSize).toBe('largest');
    expect(html.dataset.theme).toBe('contrast');
  });

  it('speaks English', () => {
    controls('en');
    const group = screen.getByRole('group', { name: 'Text size' });
    expect(within(group).getAllByRole('button').map((b) => b.textContent?.replace('A', ''))).toEqual(['Normal', 'Large', 'Largest']);
    fireEvent.click(screen.getByRole('button', { name: 'Largest' }));
    expect(html.dataset.textSize).toBe('largest');
    expect(screen.getByRole('button', { name: 'High contrast' })).toBeTruthy();
  });
});

describe('high-contrast theme', () => {
  it('is off by default; the switch turns it on and off, shown pressed and remembered', () => {
    controls();
    const toggle = screen.getByRole('button', { name: '고대비 화면' });
    expect(pressed(toggle)).toBe('false');
    expect(html.dataset.theme).toBeUndefined();
    fireEvent.click(toggle);
    expect(html.dataset.theme).toBe('contrast');
    expect(pressed(toggle)).toBe('true');
    expect(localStorage.getItem(THEME_KEY)).toBe('contrast');
    fireEvent.click(toggle);
    expect(html.dataset.theme).toBeUndefined();
    expect(pressed(toggle)).toBe('false');
    expect(localStorage.getItem(THEME_KEY)).toBe('standard');
  });

  it('restores the remembered choice', () => {
    localStorage.setItem(THEME_KEY, 'contrast');
    controls();
    expect(html.dataset.theme).toBe('contrast');
    expect(pressed(screen.getByRole('button', { name: '고대비 화면' }))).toBe('true');
  });

  it('follows prefers-contrast: more while the person never chose, and their choice after', () => {
    const system = stubContrastQuery(true);
    controls();
    const toggle = screen.getByRole('button', { name: '고대비 화면' });
    expect(html.dataset.theme).toBe('contrast');
    expect(pressed(toggle)).toBe('true');
    system.set(false);
    expect(html.dataset.theme).toBeUndefined();
    system.set(true);
    expect(html.dataset.theme).toBe('contrast');
    fireEvent.click(toggle); // "no, thank you": standard colours although the system asks for more contrast
    expect(html.dataset.theme).toBeUndefined();
    expect(localStorage.getItem(THEME_KEY)).toBe('standard');
    system.set(true);
    expect(html.dataset.theme).toBeUndefined();
  });

  it('a saved "standard" wins over the system setting', () => {
    stubContrastQuery(true);
    localStorage.setItem(THEME_KEY, 'standard');
    controls();
    expect(html.dataset.theme).toBeUndefined();
  });
});

describe('the header', () => {
  it('has the size control and the contrast switch before logging in', async () => {
    const api = new ApiClient({ fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch });
    render(
      <I18nProvider lang="ko">
        <App api={api} />
      </I18nProvider>,
    );
    const header = screen.getByRole('banner');
    expect(within(header).getByRole('group', { name: '글자 크기' })).toBeTruthy();
    expect(within(header).getByRole('button', { name: '고대비 화면' })).toBeTruthy();
    await screen.findByRole('heading', { name: '로그인' });
    fireEvent.click(within(header).getByRole('button', { name: '크게' }));
    expect(html.dataset.textSize).toBe('large');
  });
});

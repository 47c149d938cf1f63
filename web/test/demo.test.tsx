import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DemoBanner, loadDemoFlag } from '../src/components/DemoBanner';
import { I18nProvider } from '../src/i18n/i18n';

describe('DemoBanner', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows DEMO in both languages when the server is in demo mode', async () => {
    render(<I18nProvider lang="ko"><DemoBanner load={() => Promise.resolve(true)} /></I18nProvider>);
    const banner = await screen.findByTestId('demo-banner');
    expect(banner.textContent).toContain('데모 — 모의 데이터');
    expect(banner.textContent).toContain('DEMO — simulated data');
  });

  it('shows nothing outside demo mode or when /healthz cannot be read', async () => {
    const { container } = render(
      <I18nProvider lang="en">
        <DemoBanner load={() => Promise.resolve(false)} />
        <DemoBanner load={() => Promise.reject(new Error('offline'))} />
      </I18nProvider>,
    );
    await Promise.resolve();
    expect(container.querySelector('.demo-banner')).toBeNull();
  });

  it('reads "demo": true from /healthz and nothing else', async () => {
    const answer = (body: unknown) => vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status: 200 })));
    vi.stubGlobal('fetch', answer({ status: 'ok', version: '1', demo: true }));
    expect(await loadDemoFlag()).toBe(true);
    vi.stubGlobal('fetch', answer({ status: 'ok', version: '1', demo: false }));
    expect(await loadDemoFlag()).toBe(false);
    vi.stubGlobal('fetch', answer({ status: 'ok', version: '1' }));
    expect(await loadDemoFlag()).toBe(false);
  });
});

import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n/i18n';

/**
 * The demo mark (`vitalguard serve --demo`, docs/demo.md): on every page while the server says
 * `"demo": true` on GET /healthz, in Korean and English at once, so nobody mistakes the simulated
 * wearer for a real person. Nothing is shown when the server is not in demo mode or cannot be asked.
 * It stays at the top of the screen (sticky), above the full-screen incident alert too, which starts
 * below it: its height is published as the CSS variable --demo-banner-h.
 */
export function DemoBanner({ load = loadDemoFlag }: { load?: () => Promise<boolean> }) {
  const { t } = useI18n();
  const [demo, setDemo] = useState(false);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => { if (live) setDemo(d); },
      () => undefined,
    );
    return () => { live = false; };
  }, [load]);
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!demo || !el) return;
    const root = document.documentElement;
    const publish = () => root.style.setProperty('--demo-banner-h', `${el.offsetHeight}px`);
    publish();
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(publish);
    observer?.observe(el);
    return () => {
      observer?.disconnect();
      root.style.removeProperty('--demo-banner-h');
    };
  }, [demo]);
  if (!demo) return null;
  return (
    <div className="demo-banner" role="note" data-testid="demo-banner" ref={ref}>
      <strong>{t('demo.banner')}</strong>
      <span>{t('demo.detail')}</span>
    </div>
  );
}

export async function loadDemoFlag(): Promise<boolean> {
  const res = await fetch('/healthz', { credentials: 'same-origin' });
  if (!res.ok) return false;
  const body: unknown = await res.json();
  return typeof body === 'object' && body !== null && (body as { demo?: unknown }).demo === true;
}

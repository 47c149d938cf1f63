import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n';

/**
 * The demo mark (`vitalguard serve --demo`, docs/demo.md): on every page while the server says
 * `"demo": true` on GET /healthz, in Korean and English at once, so nobody mistakes the simulated
 * wearer for a real person. Nothing is shown when the server is not in demo mode or cannot be asked.
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
  if (!demo) return null;
  return (
    <div className="demo-banner" role="note" data-testid="demo-banner">
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

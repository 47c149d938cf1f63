import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n';

/**
 * When the countdown ends, as a local epoch-ms instant. `seconds_left` is taken relative to the
 * moment the incident was received, which is immune to a wrong clock on this device; `deadline`
 * is the fallback when the server sent no seconds_left.
 */
export function countdownEnd(incident: { seconds_left?: number; deadline?: string }, receivedAt: number): number | null {
  if (typeof incident.seconds_left === 'number') return receivedAt + incident.seconds_left * 1000;
  if (incident.deadline) {
    const d = new Date(incident.deadline).getTime();
    return Number.isNaN(d) ? null : d;
  }
  return null;
}

export function Countdown({ endsAt, hint, now: nowFn = Date.now }: { endsAt: number; hint?: string; now?: () => number }) {
  const { t } = useI18n();
  const [now, setNow] = useState(nowFn);
  useEffect(() => {
    const id = setInterval(() => setNow(nowFn()), 250);
    return () => clearInterval(id);
  }, [nowFn]);
  const seconds = Math.max(0, Math.ceil((endsAt - now) / 1000));
  // Screen readers hear it every 10 s (and in the last 5), not 4 times a second.
  const spoken = seconds <= 5 ? seconds : Math.ceil(seconds / 10) * 10;
  return (
    <div className="countdown" data-testid="countdown">
      <p className="countdown-label">{t('incident.countdown.label')}</p>
      <p className="countdown-number" aria-hidden="true" data-seconds={seconds}>
        {seconds}
      </p>
      <p className="countdown-text" aria-hidden="true">
        {t('incident.countdown', { seconds })}
      </p>
      <p className="visually-hidden" aria-live="assertive" aria-atomic="true">
        {t('incident.countdown', { seconds: spoken })}
      </p>
      <p className="countdown-hint">{hint ?? t('incident.countdown.hint')}</p>
    </div>
  );
}

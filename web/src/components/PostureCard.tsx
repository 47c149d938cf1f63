import { useI18n } from '../i18n/i18n';
import type { Incident } from '../api/types';
import { currentPosture, FALL, FALL_FLAG_TEXT, fallFlag, postureKey, postureSince, type PostureState } from '../lib/posture';
import { PostureIcon } from './PostureIcon';

/** Older than this, the card says "last known posture" rather than "posture now". */
export const POSTURE_STALE_MS = 5 * 60_000;

/** The wearer's posture now, big: a figure and a word, and a fall said plainly. */
export function PostureCard({ posture, incident, now }: { posture: PostureState; incident?: Incident | null; now: number }) {
  // Clock times in the wearer's zone (the dashboard's TimeZoneScope).
  const { t, formatTime, formatClock: clock, relativeTime } = useI18n();
  const cur = currentPosture(posture.rows);
  const since = postureSince(posture.rows);
  const flag = fallFlag(posture.fall, incident);
  const stale = cur !== null && now - Date.parse(cur.at) > POSTURE_STALE_MS;
  const tone = flag === 'confirmed' || (cur?.index === FALL && flag === 'suspected') ? 'danger' : flag ? 'caution' : 'calm';
  const state = posture.unavailable ? 'unavailable' : cur === null ? 'empty' : 'known';
  return (
    <section
      className={`posture-card tone-${tone}`}
      aria-labelledby="posture-card-title"
      data-testid="posture-card"
      data-state={state}
      data-posture={cur?.index ?? ''}
      data-fall={flag ?? 'none'}
    >
      <h2 id="posture-card-title" className="posture-card-title">
        {stale ? t('posture.card.last') : t('posture.card.title')}
      </h2>
      <div className="posture-card-body">
        <PostureIcon posture={state === 'known' ? cur!.index : null} size={state === 'known' ? 72 : 48} />
        <div>
          {state === 'unavailable' ? (
            <>
              <p className="posture-word posture-word-small" data-testid="posture-word">{t('posture.card.unavailable')}</p>
              <p className="posture-sub">{t('posture.card.unavailable.hint')}</p>
            </>
          ) : state === 'empty' ? (
            <>
              <p className="posture-word posture-word-small" data-testid="posture-word">{t('posture.card.empty')}</p>
              <p className="posture-sub">{t('posture.card.empty.hint')}</p>
            </>
          ) : (
            <>
              {/* Only the word is live: a screen reader hears a new posture, not the clock ticking. */}
              <p className={`posture-word${cur!.index === FALL ? ' posture-word-fall' : ''}`} data-testid="posture-word" role="status" aria-live="polite">
                {t(postureKey(cur!.index))}
              </p>
              <p className="posture-sub" title={formatTime(cur!.at)}>
                {t('posture.card.at', { ago: relativeTime(cur!.at, now), time: clock(cur!.at) })}
              </p>
              {since ? <p className="posture-sub">{t('posture.card.since', { time: clock(since) })}</p> : null}
            </>
          )}
        </div>
      </div>
      {flag ? (
        <p className={`posture-fall fall-${flag}`} role={flag === 'answered' ? undefined : 'alert'} data-testid="posture-fall">
          <span aria-hidden="true">{flag === 'answered' ? '✓ ' : '⚠ '}</span>
          {t(FALL_FLAG_TEXT[flag])}
          {posture.fallAt ? <span className="posture-fall-time"> ({clock(posture.fallAt)})</span> : null}
        </p>
      ) : null}
    </section>
  );
}

import type { Level } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { LevelIcon } from './LevelIcon';

export interface CurrentStatus {
  level: Level | null;
  explanation?: string;
  causes?: string[];
  at?: string | null;
  adviceOnly?: boolean;
}

export function StatusCard({ status, children }: { status: CurrentStatus; children?: React.ReactNode }) {
  const { t, has, formatTime } = useI18n();
  const level = status.level ?? 'unknown';
  const causes = (status.causes ?? []).map((c) => {
    const k = `cause.${c}`;
    return has(k) ? t(k) : c;
  });
  return (
    <section className={`status-card level-${level}`} aria-labelledby="status-card-title" data-level={level}>
      <h2 id="status-card-title" className="visually-hidden">
        {t('status.title')}
      </h2>
      <div className="status-card-head" role="status" aria-live="polite" aria-atomic="true">
        <LevelIcon level={level} size={64} />
        <div>
          <p className="status-level" data-testid="status-level">
            {t(`level.${level}`)}
          </p>
          <p className="status-desc">{t(`level.${level}.desc`)}</p>
        </div>
      </div>
      {status.explanation ? <p className="status-explanation">{status.explanation}</p> : null}
      {causes.length > 0 ? <p className="status-causes">{causes.join(', ')}</p> : null}
      {status.adviceOnly ? <p className="status-advice">{t('status.adviceOnly')}</p> : null}
      {status.at ? <p className="status-time">{t('status.updated', { time: formatTime(status.at) })}</p> : null}
      {children}
    </section>
  );
}

import type { Level } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { LevelIcon } from './LevelIcon';

export interface CurrentStatus {
  level: Level | null;
  explanation?: string;
  /** What was found in plain words, both languages (the server's message catalogue). */
  summary?: { ko: string; en: string };
  causes?: string[];
  at?: string | null;
  adviceOnly?: boolean;
}

export function StatusCard({ status, children }: { status: CurrentStatus; children?: React.ReactNode }) {
  const { t, has, formatTime, lang } = useI18n();
  const level = status.level ?? 'unknown';
  // Korean readers get the catalogue's Korean words; the rules' own explanation is English (with its numbers).
  const said = lang === 'ko' ? status.summary?.ko || status.explanation : status.explanation || status.summary?.en;
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
      {said ? (
        <p className="status-explanation" lang={said === status.summary?.ko ? 'ko' : 'en'}>
          {said}
        </p>
      ) : null}
      {causes.length > 0 ? <p className="status-causes">{causes.join(', ')}</p> : null}
      {status.adviceOnly ? <p className="status-advice">{t('status.adviceOnly')}</p> : null}
      {status.at ? <p className="status-time">{t('status.updated', { time: formatTime(status.at) })}</p> : null}
      {children}
    </section>
  );
}

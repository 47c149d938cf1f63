// "시간대: America/St Johns (UTC-02:30)": said once on a screen whose clock times are written in a wearer's
// zone that is not the browser's own, so that a time that differs from the device's clock is not a riddle.
import { useI18n } from '../i18n/i18n';
import { browserTimeZone, sameTimeZone, utcOffsetText } from '../lib/timezone';

export function TimeZoneNote() {
  const { t, timeZone } = useI18n();
  if (sameTimeZone(timeZone, browserTimeZone())) return null;
  // The zone's name may wrap; its offset "(UTC-03:30)" stays on one line.
  const [before = '', after = ''] = t('tz.note').split('{zone}');
  return (
    <p className="tz-note" data-testid="tz-note" data-zone={timeZone}>
      <strong>
        {before}
        {timeZone.replace(/_/g, ' ')} <span className="nowrap">({utcOffsetText(timeZone)})</span>
        {after}
      </strong>{' '}
      <span className="tz-note-hint">{t('tz.note.hint')}</span>
    </p>
  );
}

// The wearer's time zone (issue 19): the browser's zone at sign-up, shown and changed in "My details",
// offsets named the way the 119 report writes them.
import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/api/client';
import type { Incident, StatusRow, User } from '../src/api/types';
import { StatusChart } from '../src/components/Charts';
import { StatusCard } from '../src/components/StatusCard';
import { TimeZoneNote } from '../src/components/TimeZoneNote';
import { timeFormatter } from '../src/components/TrendChart';
import { I18nProvider, makeI18n, TimeZoneScope } from '../src/i18n/i18n';
import { buildDiary, dayBounds, dayKey, incidentsOfDay, isDayKey, shiftDay } from '../src/lib/diary';
import { profileChanges, profileValues } from '../src/lib/profile';
import {
  browserTimeZone,
  describeTimeZone,
  displayTimeZone,
  sameTimeZone,
  timeZoneChoices,
  utcOffsetText,
  wallClock,
  zonedDayStart,
  zoneOffsetMinutes,
} from '../src/lib/timezone';
import { MyDetails } from '../src/pages/account/MyDetails';

// The charts' options, as the (mocked) EChart wrapper is given them.
const charts: unknown[] = [];
vi.mock('../src/components/EChart', () => ({
  EChart: ({ option, label }: { option: unknown; label: string }) => {
    charts.push(option);
    return <div role="img" aria-label={label} />;
  },
}));

const user: User = {
  id: 'oma_berlin', name: 'Erika', age: 84, address: 'Unter den Linden 1', detailed_address: '',
  phone_num: '010-1234-5678', guard_name: '', guard_phone_num: '', danger_degree: 0,
  created_at: '2026-12-06T10:00:00.000Z', user_posture: null, rule_profile: 'adult-default',
  guard_phone_verified: false, phone_verified: true, address_confirmed_at: null, address_confirm_due: false,
  guard_email: '', guard_email_verified: false, time_zone: 'Europe/Berlin',
};

describe('time zones', () => {
  it('names offsets with daylight saving, as the 119 report does', () => {
    expect(utcOffsetText('Asia/Seoul', new Date('2026-11-23T07:30:00Z'))).toBe('UTC+09:00');
    expect(utcOffsetText('Europe/Berlin', new Date('2026-11-23T07:30:00Z'))).toBe('UTC+01:00');
    expect(utcOffsetText('Europe/Berlin', new Date('2026-07-01T12:00:00Z'))).toBe('UTC+02:00');
    expect(utcOffsetText('America/St_Johns', new Date('2026-07-01T12:00:00Z'))).toBe('UTC-02:30');
    expect(describeTimeZone('America/Los_Angeles', new Date('2026-11-23T07:30:00Z'))).toBe('America/Los Angeles (UTC-08:00)');
  });

  it('offers every zone, the current one and the browser’s always among them', () => {
    const choices = timeZoneChoices('Asia/Seoul');
    expect(choices).toContain('Asia/Seoul');
    expect(choices).toContain(browserTimeZone());
    expect(choices.length).toBeGreaterThan(100);
    expect([...choices].sort((a, b) => a.localeCompare(b))).toEqual(choices);
  });

  it('sends only a changed zone with PATCH /api/me', () => {
    const v = { ...profileValues(user), time_zone: 'Asia/Seoul' };
    expect(profileChanges(user, v)).toEqual({ time_zone: 'Asia/Seoul' });
    expect(profileChanges(user, profileValues(user))).toEqual({});
  });

  it('shows the zone in "My details" and changes it', async () => {
    const updateProfile = vi.fn().mockResolvedValue({ user: { ...user, time_zone: 'Asia/Seoul' }, csrf_token: 't' });
    const api = Object.assign(new ApiClient({ fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch }), {
      updateProfile,
    });
    render(
      <I18nProvider lang="ko">
        <MyDetails api={api} user={user} onChanged={() => {}} />
      </I18nProvider>,
    );
    expect(screen.getByTestId('details-time-zone').textContent).toMatch(/^Europe\/Berlin \(UTC\+0[12]:00\)$/);
    fireEvent.click(screen.getByTestId('details-edit'));
    const select = screen.getByLabelText('시간대') as HTMLSelectElement;
    expect(select.value).toBe('Europe/Berlin');
    fireEvent.change(select, { target: { value: 'Asia/Seoul' } });
    fireEvent.change(screen.getByLabelText(/^지금 쓰는 비밀번호/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByTestId('details-save'));
    expect(await screen.findByTestId('details-notice')).toBeTruthy();
    expect(updateProfile).toHaveBeenCalledWith('correct horse 1', { time_zone: 'Asia/Seoul' });
  });
});

// Times in the wearer's zone (issue 19): the wearer's own screens and a guardian's view of a wearer write
// clock times in the wearer's zone, and say the zone once where the browser's differs.
describe('times in the wearer\u2019s zone', () => {
  const instant = Date.parse('2026-12-07T15:30:00Z'); // 8 Dec 00:30 in Seoul, 7 Dec 12:00 in St. John's (UTC-03:30)
  const otherThanBrowser = browserTimeZone() === 'America/St_Johns' ? 'Asia/Seoul' : 'America/St_Johns';

  it('knows each zone\u2019s offset at an instant, half hours and daylight saving included', () => {
    expect(zoneOffsetMinutes('Asia/Seoul', instant)).toBe(540);
    expect(zoneOffsetMinutes('America/St_Johns', instant)).toBe(-210);
    expect(zoneOffsetMinutes('America/St_Johns', Date.parse('2026-07-01T12:00:00Z'))).toBe(-150);
    expect(zoneOffsetMinutes('UTC', instant)).toBe(0);
    expect(zoneOffsetMinutes('Not/A_Zone', instant)).toBe(0);
  });

  it('writes a UTC instant on the wearer\u2019s clock: Seoul and St. John\u2019s', () => {
    const seoul = makeI18n('ko', () => {}, 'Asia/Seoul');
    const stJohns = makeI18n('en', () => {}, 'America/St_Johns');
    expect(seoul.timeZone).toBe('Asia/Seoul');
    expect(seoul.formatClock('2026-12-07T15:30:00Z')).toBe('00:30');
    expect(seoul.formatClock(instant)).toBe('00:30');
    expect(stJohns.formatClock(instant)).toBe('12:00');
    expect(stJohns.formatClock(null)).toBe('—');
    expect(seoul.formatTime('2026-12-07T15:30:00Z')).toBe(
      new Intl.DateTimeFormat('ko-KR', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Seoul' }).format(instant),
    );
    expect(seoul.formatTime('2026-12-07T15:30:00Z')).toMatch(/^12월 8일/);
    expect(stJohns.formatTime('2026-12-07T15:30:00Z')).toBe('7 Dec, 12:00');
    expect(timeFormatter('ko', true, 'Asia/Seoul')(instant)).toBe('12월 8일 00:30');
    expect(timeFormatter('en', true, 'America/St_Johns')(instant)).toBe('7 Dec, 12:00');
    expect(timeFormatter('ko', false, 'America/St_Johns')(instant)).toBe('12:00');
    // Without a zone (or with one the browser does not know): the browser's.
    expect(makeI18n('en').timeZone).toBe(browserTimeZone());
    expect(makeI18n('en', () => {}, 'Not/A_Zone').timeZone).toBe(browserTimeZone());
    expect(displayTimeZone(undefined)).toBe(browserTimeZone());
    expect(sameTimeZone('Asia/Calcutta', 'Asia/Kolkata')).toBe(true);
    expect(sameTimeZone('Asia/Seoul', 'Asia/Tokyo')).toBe(false);
  });

  it('puts chart times on the wearer\u2019s wall clock (for ECharts\u2019 UTC mode)', () => {
    expect(wallClock(instant, 'Asia/Seoul')).toBe(Date.UTC(2026, 11, 8, 0, 30));
    expect(wallClock(instant, 'America/St_Johns')).toBe(Date.UTC(2026, 11, 7, 12, 0));
  });

  it('runs the diary\u2019s days from the wearer\u2019s midnight, 23 and 25 hours at daylight saving', () => {
    expect(dayKey(instant, 'Asia/Seoul')).toBe('2026-12-08');
    expect(dayKey(instant, 'America/St_Johns')).toBe('2026-12-07');
    expect(dayBounds('2026-12-08', 'Asia/Seoul')).toEqual({ start: Date.parse('2026-12-07T15:00:00Z'), end: Date.parse('2026-12-08T15:00:00Z') });
    expect(dayBounds('2026-12-07', 'America/St_Johns')).toEqual({ start: Date.parse('2026-12-07T03:30:00Z'), end: Date.parse('2026-12-08T03:30:00Z') });
    const spring = dayBounds('2026-03-08', 'America/St_Johns');
    expect((spring.end - spring.start) / 3600_000).toBe(23);
    const autumn = dayBounds('2026-11-01', 'America/St_Johns');
    expect((autumn.end - autumn.start) / 3600_000).toBe(25);
    expect(zonedDayStart(2026, 12, 32, 'Asia/Seoul')).toBe(Date.parse('2026-12-31T15:00:00Z')); // 1 January 2027
    expect(shiftDay('2026-12-31', 1)).toBe('2027-01-01');
    expect(isDayKey('2026-02-29')).toBe(false);
    expect(isDayKey('2028-02-29')).toBe(true);
  });

  it('the zone is said once, only where it is not the browser\u2019s', () => {
    const { unmount } = render(
      <I18nProvider lang="ko">
        <TimeZoneScope zone={otherThanBrowser}>
          <TimeZoneNote />
          <StatusCard status={{ level: 'normal', at: '2026-12-07T15:30:00Z' }} />
        </TimeZoneScope>
      </I18nProvider>,
    );
    const note = screen.getByTestId('tz-note');
    expect(note.dataset.zone).toBe(otherThanBrowser);
    expect(note.textContent).toContain(`시간대: ${describeTimeZone(otherThanBrowser)}`);
    expect(screen.getByText(/^마지막 측정:/).textContent).toBe(
      `마지막 측정: ${new Intl.DateTimeFormat('ko-KR', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: otherThanBrowser }).format(instant)}`,
    );
    unmount();
    render(
      <I18nProvider lang="en">
        <TimeZoneScope zone={browserTimeZone()}>
          <TimeZoneNote />
        </TimeZoneScope>
        <TimeZoneNote />
      </I18nProvider>,
    );
    expect(screen.queryByTestId('tz-note')).toBeNull();
  });

  it('in English: "Times in …"', () => {
    render(
      <I18nProvider lang="en">
        <TimeZoneScope zone="America/St_Johns">
          <TimeZoneNote />
        </TimeZoneScope>
      </I18nProvider>,
    );
    if (browserTimeZone() !== 'America/St_Johns') expect(screen.getByTestId('tz-note').textContent).toMatch(/^Times in America\/St Johns \(UTC-0[23]:30\)/);
  });

  it('the diary of a wearer in St. John\u2019s puts a late-evening incident on that day, at their time', () => {
    const { t, has } = makeI18n('ko', () => {}, 'America/St_Johns');
    const at = Date.parse('2026-12-08T01:30:00Z'); // 7 Dec 22:00 in St. John's, 8 Dec 10:30 in Seoul
    const inc = {
      id: 5, wearer: 'oma', kind: 'sos', phase: 'closed', status: 2, level: 'normal', max_status: 2, causes: [], rules: [],
      explanation: '', opened_at: new Date(at).toISOString(), updated_at: new Date(at).toISOString(), closed_at: new Date(at + 600_000).toISOString(),
      reraise_count: 0, acknowledged_by: '',
    } as unknown as Incident;
    const day = (d: string, zone: string) =>
      buildDiary({ day: d, timeZone: zone, incidents: [{ incident: inc }], statuses: [], trend: null }, t, has).entries.map((e) => timeFormatter('ko', false, zone)(e.at));
    expect(incidentsOfDay([inc], '2026-12-07', at + 3600_000, 'America/St_Johns')).toHaveLength(1);
    expect(day('2026-12-07', 'America/St_Johns')).toEqual(['22:00']);
    expect(day('2026-12-08', 'America/St_Johns')).toEqual([]);
    expect(day('2026-12-08', 'Asia/Seoul')).toEqual(['10:30']);
  });

  it('the status chart\u2019s axis runs on the wearer\u2019s clock', () => {
    charts.length = 0;
    const now = Date.parse('2026-12-07T15:30:00Z');
    render(
      <I18nProvider lang="ko">
        <TimeZoneScope zone="Asia/Seoul">
          <StatusChart statuses={[{ status: 2, level: 'danger', updated_at: '2026-12-07T15:00:00.000Z', reading_at: '2026-12-07T15:00:00.000Z' } as StatusRow]} range="hour" now={now} />
        </TimeZoneScope>
      </I18nProvider>,
    );
    const option = charts[0] as { useUTC: boolean; xAxis: { min: number; max: number }; series: { data: [number, number][] }[] };
    expect(option.useUTC).toBe(true);
    expect(option.xAxis.max).toBe(Date.UTC(2026, 11, 8, 0, 30));
    expect(option.xAxis.min).toBe(Date.UTC(2026, 11, 7, 23, 30));
    expect(option.series[0]!.data).toEqual([[Date.UTC(2026, 11, 8, 0, 0), 2]]);
  });
});

// Trends and the day diary (issue 19): the data shaping (gaps, bands, axis, summaries, the diary's
// lines in order, in both languages) and the views as a person uses them (jsdom, a fake API).
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from '../src/api/client';
import type { Incident, IncidentDetail, StatusRow, User, Vitals } from '../src/api/types';
import type { TrendBand, TrendBucket, VitalsTrend } from '../src/api/types';
import { VitalsTiles } from '../src/components/VitalsTiles';
import { I18nProvider, makeI18n, useI18n } from '../src/i18n/i18n';
import type { Lang } from '../src/i18n/strings';
import { buildDiary, dayBounds, dayKey, daySummary, incidentsOfDay, isDayKey, shiftDay, withUnit } from '../src/lib/diary';
import {
  bandAreas,
  episodes,
  incidentsIn,
  instantBands,
  isTrend,
  levelAt,
  metricSeries,
  metricsWithData,
  niceStep,
  summarize,
  sustainedBands,
  trendSummary,
  trendWindow,
  valueAxis,
  zoomBy,
  zoomWindow,
} from '../src/lib/trends';
import { Diary } from '../src/pages/Diary';
import { Trends } from '../src/pages/Trends';
import { SessionContext } from '../src/session';

const H = 3600_000;
const M = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Local midnight of 5 December 2026, whatever the machine's time zone: the diary's days are local. */
const DAY = '2026-12-05';
const base = new Date(2026, 11, 5).getTime();
const hhmm = (ms: number) => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

const HR_BANDS: TrendBand[] = [
  { rule: 'heart_rate.low.danger', level: 'danger', at_most: 40 },
  { rule: 'heart_rate.high.moderate', level: 'caution', at_least: 111 },
  { rule: 'heart_rate.high.danger', level: 'danger', at_least: 131 },
  { rule: 'heart_rate.low.mild', level: 'caution', at_most: 50, for_s: 1800 },
  { rule: 'heart_rate.high.mild', level: 'caution', at_least: 91, for_s: 1800 },
];
const SPO2_BANDS: TrendBand[] = [
  { rule: 'spo2.low.danger', level: 'danger', at_most: 91 },
  { rule: 'spo2.low.moderate', level: 'caution', at_most: 93 },
];
const stats = (count: number, min: number, max: number, mean: number) => ({ count, min, max, mean });

/** Hourly buckets from `start`: 0 h, 1 h, (none at 2 h and 3 h), a danger at 4 h, 5 h, 6 h without heart rate, 7 h alone. */
function hourly(start: number): VitalsTrend {
  const b = (h: number, rest: Partial<TrendBucket>): TrendBucket => ({ start: iso(start + h * H), readings: 60, ...rest });
  return {
    from: iso(start),
    to: iso(start + 24 * H),
    bucket_seconds: 3600,
    profile: 'adult-default',
    buckets: [
      b(0, { heart_rate: stats(60, 60, 80, 70), spo2: stats(60, 95, 99, 97) }),
      b(1, { heart_rate: stats(60, 62, 90, 72), spo2: stats(60, 95, 99, 97) }),
      b(4, { heart_rate: stats(30, 100, 165, 140), spo2: stats(30, 86, 95, 90) }),
      b(5, { heart_rate: stats(60, 58, 75, 66) }),
      b(6, { spo2: stats(60, 96, 98, 97) }),
      b(7, { heart_rate: stats(10, 60, 64, 62), readings: 10 }),
    ],
    bands: { heart_rate: HR_BANDS, spo2: SPO2_BANDS, skin_temp: [] },
    usual: { heart_rate: { low: 61.2, high: 78.9, mean: 69, hours: 150 } },
  };
}

describe('trend data shaping', () => {
  it('breaks the line where buckets (or the metric in them) are missing, and dots a lone bucket', () => {
    const s = metricSeries(hourly(base), 'heart_rate');
    expect(s.mean).toEqual([
      [base + 0.5 * H, 70],
      [base + 1.5 * H, 72],
      [base + 2 * H, null], // nothing at 2 h and 3 h
      [base + 4.5 * H, 140],
      [base + 5.5 * H, 66],
      [base + 6 * H, null], // the 6 h bucket has no heart rate
      [base + 7.5 * H, 62],
    ]);
    expect(s.low.map((v) => v[1])).toEqual([60, 62, null, 100, 58, null, 60]);
    expect(s.spread.map((v) => v[1])).toEqual([20, 28, null, 65, 17, null, 4]);
    expect(s.isolated).toEqual([6]);
    const sp = metricSeries(hourly(base), 'spo2');
    expect(sp.mean.filter((v) => v[1] === null)).toHaveLength(2); // 1 h → 4 h, and 4 h → 6 h (5 h has no SpO2)
  });

  it('does not break the line between readings of a watch that reports every 10 minutes, only after 15 minutes without', () => {
    const five = (minutes: number[]): Pick<VitalsTrend, 'buckets' | 'bucket_seconds'> => ({
      bucket_seconds: 300,
      buckets: minutes.map((m) => ({ start: iso(base + m * M), readings: 1, glucose: stats(1, 110, 110, 110) })),
    });
    expect(metricSeries(five([0, 10, 20, 30]), 'glucose').mean.some((v) => v[1] === null)).toBe(false);
    const holed = metricSeries(five([0, 10, 30, 40]), 'glucose');
    expect(holed.mean.filter((v) => v[1] === null)).toHaveLength(1); // 20 minutes without readings
    expect(holed.isolated).toEqual([]);
    expect(metricSeries(five([0, 60]), 'glucose').isolated).toEqual([0, 2]);
  });

  it('charts the metrics with data only; glucose only when the buckets carry it', () => {
    const tr = hourly(base);
    expect(metricsWithData(tr)).toEqual(['heart_rate', 'spo2']);
    tr.buckets[0]!.glucose = stats(1, 110, 110, 110);
    expect(metricsWithData(tr)).toEqual(['heart_rate', 'spo2', 'glucose']);
  });

  it('summarises the window: the average weighted by readings, the lowest and the highest', () => {
    const s = summarize(metricSeries(hourly(base), 'heart_rate').points)!;
    expect(s.count).toBe(220);
    expect(s.mean).toBeCloseTo(17300 / 220, 6);
    expect([s.min, s.max]).toEqual([58, 165]);
    expect(summarize([])).toBeNull();
  });

  it('draws the instantaneous bands only, each part of the axis at its most serious level', () => {
    expect(instantBands(HR_BANDS).map((b) => b.rule)).toEqual(['heart_rate.low.danger', 'heart_rate.high.moderate', 'heart_rate.high.danger']);
    expect(sustainedBands(HR_BANDS).map((b) => b.rule)).toEqual(['heart_rate.low.mild', 'heart_rate.high.mild']);
    expect(bandAreas(HR_BANDS, 30, 150)).toEqual([
      { level: 'danger', from: 30, to: 40 },
      { level: 'caution', from: 111, to: 131 },
      { level: 'danger', from: 131, to: 150 },
    ]);
    expect(bandAreas(SPO2_BANDS, 85, 100)).toEqual([
      { level: 'danger', from: 85, to: 91 },
      { level: 'caution', from: 91, to: 93 },
    ]);
    expect(bandAreas([], 0, 10)).toEqual([]);
    expect(levelAt(HR_BANDS, 131)).toBe('danger');
    expect(levelAt(HR_BANDS, 120)).toBe('caution');
    expect(levelAt(HR_BANDS, 95)).toBeNull(); // 91–110 counts only sustained
    expect(levelAt([{ rule: 'x', level: 'caution', above: 37.5 }], 37.5)).toBeNull();
    expect(levelAt([{ rule: 'x', level: 'caution', below: 10 }], 9.9)).toBe('caution');
  });

  it('puts the axis on whole ticks around the data, the usual range and the nearest bounds', () => {
    const calm = metricSeries({ ...hourly(base), buckets: hourly(base).buckets.slice(0, 2) }, 'heart_rate').points;
    expect(valueAxis(calm, HR_BANDS)).toEqual({ min: 20, max: 120, interval: 20 });
    // With the danger episode the data reaches past 131 itself.
    const all = metricSeries(hourly(base), 'heart_rate').points;
    const a = valueAxis(all, HR_BANDS, { low: 61, high: 79 });
    expect(a.min).toBeLessThanOrEqual(40);
    expect(a.max).toBeGreaterThanOrEqual(165);
    expect(niceStep(79.5)).toBe(20);
    expect(niceStep(2)).toBe(0.5);
    // A flat line still gets distinct whole-number ticks (not "97, 97, 97"), skin temperature tenths.
    expect(valueAxis([{ at: 0, start: 0, stats: stats(1, 97, 97, 97) }], [], { low: 97, high: 97 })).toEqual({ min: 94, max: 100, interval: 2 });
    const skin = valueAxis([{ at: 0, start: 0, stats: stats(1, 33.5, 33.5, 33.5) }], [], null, 0.1);
    expect(skin.interval).toBeGreaterThanOrEqual(0.1);
    expect(skin.max).toBeGreaterThan(skin.min);
    expect(niceStep(0.4, 4, 1)).toBe(1);
  });

  it('counts the times the values reached a band: neighbouring buckets are one episode', () => {
    const pts = metricSeries(hourly(base), 'heart_rate').points;
    expect(episodes(pts, HR_BANDS, 3600)).toEqual([{ level: 'danger', from: base + 4 * H, to: base + 5 * H }]);
    const b = (m: number, max: number) => ({ at: base + m * M + 30_000, start: base + m * M, stats: stats(1, max, max, max) });
    expect(episodes([b(0, 115), b(1, 140), b(2, 115), b(5, 120)], HR_BANDS, 60)).toEqual([
      { level: 'danger', from: base, to: base + 3 * M },
      { level: 'caution', from: base + 5 * M, to: base + 6 * M },
    ]);
  });

  it('says the numbers in words, in Korean and in English', () => {
    const ko = makeI18n('ko').t;
    const en = makeI18n('en').t;
    expect(trendSummary(hourly(base), 'heart_rate', 'day', ko, hhmm)).toBe(
      '지난 1일 심박수: 평균 79, 58–165 (회/분). 평소 범위는 61–79이에요. 위험 범위에 든 때가 1번 있었어요 (처음: 04:00).',
    );
    expect(trendSummary(hourly(base), 'heart_rate', 'week', en, hhmm)).toBe(
      'Heart rate, last week: average 79, range 58–165 (bpm). The usual range is 61–79. Times in the danger range: 1 (first at 04:00).',
    );
    // SpO2: no usual range yet, and a danger bucket (86 at 4 h).
    expect(trendSummary(hourly(base), 'spo2', 'hour', ko, hhmm)).toBe(
      '지난 1시간 산소포화도: 평균 96, 86–99 (%). 평소 범위는 하루 넘게 기록이 쌓이면 보여 드려요. 위험 범위에 든 때가 1번 있었어요 (처음: 04:00).',
    );
    const calm = { ...hourly(base), buckets: hourly(base).buckets.slice(0, 2) };
    expect(trendSummary(calm, 'heart_rate', 'month', en, hhmm)).toBe(
      'Heart rate, last month: average 71, range 60–90 (bpm). The usual range is 61–79. It never reached the caution or danger range.',
    );
    expect(trendSummary(calm, 'glucose', 'day', ko, hhmm)).toBe('지난 1일 동안 혈당 측정값이 없어요.');
    const steady = { ...calm, usual: { heart_rate: { low: 70.2, high: 69.8, mean: 70, hours: 30 } } };
    expect(trendSummary(steady, 'heart_rate', 'day', ko, hhmm)).toContain('평소 값은 70 안팎이에요.');
  });

  it('asks for a window ending at the next whole minute, and zooms within 0–100 %', () => {
    const now = Date.UTC(2026, 11, 7, 9, 30, 15);
    expect(trendWindow('hour', now)).toEqual({ from: Date.UTC(2026, 11, 7, 8, 31), to: Date.UTC(2026, 11, 7, 9, 31) });
    expect(trendWindow('month', now).to - trendWindow('month', now).from).toBe(30 * 24 * H);
    expect(zoomBy({ start: 0, end: 100 }, 0.5)).toEqual({ start: 25, end: 75 });
    expect(zoomBy({ start: 80, end: 100 }, 2)).toEqual({ start: 60, end: 100 });
    expect(zoomBy({ start: 0, end: 10 }, 4)).toEqual({ start: 0, end: 40 });
    expect(zoomBy({ start: 49, end: 51 }, 0.5)).toEqual({ start: 49, end: 51 }); // 2 % at least
    expect(zoomWindow(0, 1000, { start: 25, end: 75 })).toEqual({ from: 250, to: 750 });
  });

  it('tells the trend answer from the old form of GET /api/vitals', () => {
    expect(isTrend(hourly(base))).toBe(true);
    expect(isTrend({ vitals: [] })).toBe(false);
    expect(isTrend(null)).toBe(false);
  });
});

// ---- the diary ----

const at = (h: number, m: number, s = 0) => new Date(2026, 11, 5, h, m, s).getTime();

const incident: Incident = {
  id: 7, wearer: 'kim01', kind: 'vitals', phase: 'closed', status: 2, level: 'danger', max_status: 2,
  causes: ['heart_rate'], rules: ['heart_rate.high.danger'], explanation: 'Heart rate 165 bpm is at or above 131 bpm.',
  opened_at: iso(at(3, 5, 10)), updated_at: iso(at(3, 40)), reraise_count: 0, acknowledged_by: 'daughter01',
  close_reason: 'all_clear', closed_at: iso(at(3, 40)),
} as Incident;
const detail: IncidentDetail = {
  incident,
  role: 'guardian',
  events: [
    { at: iso(at(3, 40)), type: 'all_clear', actor: 'system', detail: 'The values are back to normal.' },
    { at: iso(at(3, 5, 10)), type: 'opened', actor: 'system', detail: 'Heart rate 165 bpm is at or above 131 bpm.' },
    { at: iso(at(3, 5, 10)), type: 'guardians_notified', actor: 'system', detail: 'Danger' },
    { at: iso(at(3, 5, 10)), type: 'countdown_started', actor: 'system', detail: '60 s' },
    { at: iso(at(3, 6, 10)), type: 'dispatched', actor: 'system', detail: 'countdown ended' },
    { at: iso(at(3, 7)), type: 'acknowledged', actor: 'daughter01', detail: 'daughter01 acknowledged.' },
  ],
  notifications: [
    { channel: 'sms', to: '010-****-5432', purpose: 'guardians_alert', state: 'delivered', attempts: 1, last_error_code: null, last_error: null, created_at: iso(at(3, 5, 10)), delivered_at: iso(at(3, 5, 20)) },
    { channel: 'emergency', to: '119 dispatch', purpose: 'emergency_dispatch', state: 'delivered', attempts: 1, last_error_code: null, last_error: null, created_at: iso(at(3, 6, 10)), delivered_at: iso(at(3, 6, 12)) },
    { channel: 'email', to: 'k***@example.com', purpose: 'guardians_alert', state: 'failed', attempts: 3, last_error_code: 'unavailable', last_error: 'down', created_at: iso(at(3, 5, 11)), delivered_at: null },
  ],
};
const row = (ms: number, level: StatusRow['level'], causes: string[] = []): StatusRow =>
  ({ status: { normal: 0, caution: 1, danger: 2 }[level], level, updated_at: iso(ms), reading_at: iso(ms), causes, explanation: '' }) as StatusRow;
const statuses: StatusRow[] = [
  row(at(15, 30), 'normal'),
  row(at(15, 0), 'caution', ['spo2']),
  row(at(3, 40), 'normal'),
  row(at(3, 5), 'danger', ['heart_rate']),
  row(at(2, 0), 'normal'),
  row(at(0, 0) - 10 * M, 'normal'), // the evening before
];
const dayTrend: VitalsTrend = {
  from: iso(base),
  to: iso(base + 24 * H),
  bucket_seconds: 300,
  profile: 'adult-default',
  buckets: [
    { start: iso(at(3, 5)), readings: 2, heart_rate: stats(2, 160, 165, 162.5), spo2: stats(2, 95, 95, 95) },
    { start: iso(at(15, 0)), readings: 1, spo2: stats(1, 92, 92, 92) },
  ],
  bands: { heart_rate: HR_BANDS, spo2: SPO2_BANDS },
  usual: {},
};

describe('day diary', () => {
  it('knows local days', () => {
    expect(dayBounds(DAY)).toEqual({ start: base, end: new Date(2026, 11, 6).getTime() });
    expect(shiftDay(DAY, -1)).toBe('2026-12-04');
    expect(shiftDay('2026-12-31', 1)).toBe('2027-01-01');
    expect(dayKey(at(23, 59))).toBe(DAY);
    expect(isDayKey('2026-02-30')).toBe(false);
    expect(isDayKey(DAY)).toBe(true);
    expect(isDayKey(null)).toBe(false);
    expect(withUnit('72', 'bpm')).toBe('72 bpm');
    expect(withUnit('98', '%')).toBe('98%');
    expect(withUnit('165', '회/분')).toBe('165회/분');
  });

  it('picks the incidents open at some time of the day', () => {
    const before = { ...incident, id: 1, opened_at: iso(base - 30 * H), closed_at: iso(base - 29 * H) };
    const across = { ...incident, id: 2, opened_at: iso(base - 2 * H), closed_at: iso(base + H) };
    const open = { ...incident, id: 3, opened_at: iso(base - 50 * H), closed_at: undefined, phase: 'guardians' as const };
    expect(incidentsOfDay([before, across, open, incident], DAY, base + 10 * H).map((i) => i.id)).toEqual([2, 3, 7]);
  });

  it('reads like a diary, oldest first: the incident with its values, its timeline, then the other status changes (ko)', () => {
    const { t, has } = makeI18n('ko');
    const { entries, statusesComplete } = buildDiary({ day: DAY, incidents: [{ incident, detail }], statuses, trend: dayTrend }, t, has);
    expect(entries.map((e) => `${hhmm(e.at)} ${e.text}`)).toEqual([
      '03:05 심박수 165회/분, 위험',
      '03:05 보호자에게 알렸어요',
      '03:05 119 자동 신고까지 초읽기를 시작했어요',
      '03:05 보호자 알림 전달 실패 (이메일, k***@example.com)',
      '03:05 보호자 알림 전달됨 (문자, 010-****-5432)',
      '03:06 119에 신고했어요',
      '03:06 구조 요청 전달됨 (119 신고, 119 dispatch)',
      '03:07 보호자 daughter01 님이 확인했어요',
      '03:40 수치가 정상으로 돌아와 상황이 끝났어요',
      '15:00 상태: 주의 — 산소포화도 92%',
      '15:30 상태: 정상',
    ]);
    expect(entries[0]!.detail).toBe('그때 다른 측정값: 산소포화도 95%');
    expect(entries[0]!.level).toBe('danger');
    expect(entries.find((e) => e.type === 'dispatched')!.level).toBe('danger');
    expect(entries.find((e) => e.type === 'all_clear')!.level).toBe('normal');
    expect(statusesComplete).toBe(true);
    // Who acknowledged, by name when the page knows it; "I" for the one reading.
    const named = buildDiary({ day: DAY, incidents: [{ incident, detail }], statuses: [], trend: dayTrend, names: { daughter01: '김지은' } }, t, has).entries;
    expect(named.find((e) => e.type === 'acknowledged')!.text).toBe('보호자 김지은 님이 확인했어요');
    const mine = buildDiary({ day: DAY, incidents: [{ incident, detail }], statuses: [], trend: dayTrend, me: 'daughter01' }, t, has).entries;
    expect(mine.find((e) => e.type === 'acknowledged')!.text).toBe('내가 확인했어요');
    // Sorted by time, whatever order the server's lists came in.
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort((a, b) => a - b));
  });

  it('speaks English', () => {
    const { t, has } = makeI18n('en');
    const { entries } = buildDiary({ day: DAY, incidents: [{ incident, detail }], statuses, trend: dayTrend }, t, has);
    expect(entries.map((e) => `${hhmm(e.at)} ${e.text}`)).toEqual([
      '03:05 Heart rate 165 bpm, Danger',
      '03:05 Guardians alerted',
      '03:05 Countdown to the automatic 119 call started',
      '03:05 Guardian alert not delivered (E-mail, k***@example.com)',
      '03:05 Guardian alert delivered (Text message, 010-****-5432)',
      '03:06 119 called',
      '03:06 Emergency call delivered (119 call, 119 dispatch)',
      '03:07 Guardian daughter01 acknowledged',
      '03:40 Values back to normal: the alert ended',
      '15:00 Status: Caution — Blood oxygen 92%',
      '15:30 Status: Normal',
    ]);
    expect(daySummary(dayTrend, t)).toEqual(['Heart rate: average 163 bpm (160–165)', 'Blood oxygen: average 94% (92–95)']);
  });

  it('stands without the timeline or the readings, and says when older status rows may be missing', () => {
    const { t, has } = makeI18n('ko');
    const { entries, statusesComplete } = buildDiary(
      { day: DAY, incidents: [{ incident, detail: null }], statuses: statuses.slice(0, 2), statusesTruncated: true, trend: null },
      t,
      has,
    );
    expect(entries.map((e) => `${hhmm(e.at)} ${e.text}`)).toEqual(['03:05 위험: 심박수', '15:00 상태: 주의', '15:30 상태: 정상']);
    expect(statusesComplete).toBe(false);
    const sos = { ...incident, kind: 'sos' as const, causes: [] };
    const sosDetail = { ...detail, incident: sos, events: [
      { at: iso(at(9, 0)), type: 'opened', actor: 'wearer', detail: 'The wearer pressed SOS.' },
      { at: iso(at(9, 0)), type: 'sos', actor: 'wearer', detail: 'The wearer pressed SOS.' },
      { at: iso(at(9, 0, 1)), type: 'location', actor: 'wearer', detail: '' },
      { at: iso(at(9, 1)), type: 'wearer_ok', actor: 'wearer', detail: '' },
      { at: iso(at(9, 2)), type: 'resolved', actor: 'wearer', detail: '' },
      { at: iso(at(9, 3)), type: 'something_new', actor: 'system', detail: '' },
      { at: iso(at(9, 4)), type: 'sms_skipped', actor: 'system', detail: 'No SMS to 010-****-5432: the number is not verified (its owner has not entered the code sent to it).' },
      { at: iso(at(9, 5)), type: 'sms_skipped', actor: 'system', detail: '' },
    ], notifications: [
      { channel: 'emergency' as const, to: '', purpose: 'emergency_call', state: 'failed' as const, attempts: 1, last_error_code: 'unavailable', last_error: 'x', created_at: iso(at(9, 6)), delivered_at: null },
    ] };
    expect(buildDiary({ day: DAY, incidents: [{ incident: sos, detail: sosDetail }], statuses: [], trend: null }, t, has).entries.map((e) => e.text)).toEqual([
      '신고 버튼을 눌렀어요',
      '위치를 함께 보냈어요',
      '"괜찮아요"라고 답했어요',
      '상황을 끝냈어요 (본인)',
      '기록: something_new',
      '010-****-5432: 아직 확인되지 않은 번호라 문자는 보내지 않았어요',
      '보호자 번호가 아직 확인되지 않아 문자는 보내지 않았어요',
      '알림 전달 실패 (119 신고)',
    ]);
  });

  it('never shows calm numbers beside "danger": readings sent late open an incident when they arrive', () => {
    const { t, has } = makeI18n('ko');
    // The server judged a danger episode of two days ago when it was uploaded: the readings around that
    // moment are normal ones.
    const late = { ...incident, opened_at: iso(at(18, 9)), closed_at: iso(at(18, 9, 1)) };
    const calm = { ...dayTrend, buckets: [{ start: iso(at(18, 5)), readings: 5, heart_rate: stats(5, 70, 74, 72), spo2: stats(5, 97, 98, 97) }] };
    const { entries } = buildDiary({ day: DAY, incidents: [{ incident: late, detail: null }], statuses: [], trend: calm }, t, has);
    expect(entries[0]!.text).toBe('위험: 심박수');
    expect(entries[0]!.detail).toBe('그때 다른 측정값: 산소포화도 97%');
    // A caution for silence: the watch had sent nothing "for days" between two batches of old readings.
    const silence = { ...late, level: 'caution' as const, max_status: 1 as const, causes: [], rules: ['signal_loss'] };
    expect(buildDiary({ day: DAY, incidents: [{ incident: silence, detail: null }], statuses: [], trend: null }, t, has).entries[0]!.text).toBe('시계 신호가 끊겼어요');
  });
});

// ---- the views ----

const user = { id: 'daughter01', name: '김지은' } as User;

function fakeApi(overrides: Partial<Record<keyof ApiClient, unknown>>) {
  const api = new ApiClient({ fetch: (() => Promise.reject(new Error('offline'))) as unknown as typeof fetch });
  return Object.assign(api, overrides) as ApiClient;
}

function renderAs(api: ApiClient, ui: ReactNode, lang: Lang = 'ko') {
  return render(
    <I18nProvider lang={lang}>
      <SessionContext.Provider value={{ api, user, refreshMe: async () => {}, logout: async () => {} }}>{ui}</SessionContext.Provider>
    </I18nProvider>,
  );
}

/** A trend whose buckets lie within the hour before now. */
function recent(withGlucose = false): VitalsTrend {
  const end = Math.floor(Date.now() / H) * H;
  const tr = hourly(end - 8 * H);
  if (withGlucose) tr.buckets[0]!.glucose = stats(1, 110, 110, 110);
  return tr;
}

// Rendering charts in jsdom takes a second or two on a busy machine.
describe('Trends view', { timeout: 20_000 }, () => {
  afterEach(() => {
    window.location.hash = '';
  });

  it('draws one chart per metric with data, says the numbers, and asks once per range change', async () => {
    const opened = Date.now() - 4 * H;
    const getVitalsTrend = vi.fn().mockResolvedValue(recent());
    const listIncidents = vi.fn().mockResolvedValue({ incidents: [{ ...incident, opened_at: iso(opened) }] });
    renderAs(fakeApi({ getVitalsTrend, listIncidents }), <Trends wearer="kim01" wearerName="김영희" />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('김영희 님의 건강 추세');
    await waitFor(() => expect(screen.getByTestId('trend-heart_rate')).toBeTruthy());
    expect(screen.getByTestId('trend-spo2')).toBeTruthy();
    expect(screen.queryByTestId('trend-glucose')).toBeNull();
    expect(screen.queryByTestId('trend-respiration_rate')).toBeNull();
    expect(screen.getByTestId('trend-heart_rate').dataset.gaps).toBe('2');
    expect(screen.getByTestId('trend-summary-heart_rate').textContent).toMatch(/^지난 1일 심박수: 평균 79, 58–165 \(회\/분\)\./);
    // The chart's text alternative is the summary; the legend says the bands in words.
    const panel = within(screen.getByTestId('trend-heart_rate'));
    expect(panel.getByRole('img').getAttribute('aria-label')).toMatch(/^지난 1일 심박수/);
    expect(panel.getByText('주의: 111 이상')).toBeTruthy();
    expect(panel.getByText('위험: 40 이하 · 131 이상')).toBeTruthy();
    expect(panel.getByText('평소 범위: 61–79')).toBeTruthy();
    expect(panel.getByText('91 이상: 30분 넘게 이어질 때만 주의')).toBeTruthy();
    expect(panel.getByText('세로 점선: 상황이 생긴 때')).toBeTruthy();
    // The incident in words, linking to that day's diary.
    const link = within(screen.getByTestId('trend-incidents')).getByRole('link');
    expect(link.textContent).toMatch(/위험: 심박수$/);
    expect(link.getAttribute('href')).toBe(`#/diary?wearer=kim01&name=${encodeURIComponent('김영희')}&day=${dayKey(opened)}`);

    expect(getVitalsTrend).toHaveBeenCalledTimes(1);
    const first = getVitalsTrend.mock.calls[0]![0] as { from: string; to: string; wearer?: string };
    expect(Date.parse(first.to) - Date.parse(first.from)).toBe(24 * H);
    expect(first.wearer).toBe('kim01');
    fireEvent.click(screen.getByRole('radio', { name: '1주' }));
    await waitFor(() => expect(getVitalsTrend).toHaveBeenCalledTimes(2));
    const second = getVitalsTrend.mock.calls[1]![0] as { from: string; to: string };
    expect(Date.parse(second.to) - Date.parse(second.from)).toBe(7 * 24 * H);
    await waitFor(() => expect(screen.getByTestId('trend-summary-heart_rate').textContent).toMatch(/^지난 1주 심박수/));
    expect(listIncidents).toHaveBeenCalledTimes(1);
  });

  it('switches language without asking the server again', async () => {
    const getVitalsTrend = vi.fn().mockResolvedValue(recent());
    const listIncidents = vi.fn().mockResolvedValue({ incidents: [] });
    function Switch() {
      const { setLang } = useI18n();
      return <button type="button" onClick={() => setLang('en')}>switch</button>;
    }
    const api = fakeApi({ getVitalsTrend, listIncidents });
    render(
      <I18nProvider lang={undefined}>
        <Switch />
        <SessionContext.Provider value={{ api, user, refreshMe: async () => {}, logout: async () => {} }}>
          <Trends />
        </SessionContext.Provider>
      </I18nProvider>,
    );
    await waitFor(() => expect(screen.getByTestId('trend-summary-heart_rate').textContent).toMatch(/^지난 1일 심박수/));
    fireEvent.click(screen.getByRole('button', { name: 'switch' }));
    await waitFor(() => expect(screen.getByTestId('trend-summary-heart_rate').textContent).toMatch(/^Heart rate, last day/));
    expect(getVitalsTrend).toHaveBeenCalledTimes(1);
    expect(listIncidents).toHaveBeenCalledTimes(1);
  });

  it('zooms all charts together with big buttons, and says what is shown', async () => {
    renderAs(fakeApi({ getVitalsTrend: vi.fn().mockResolvedValue(recent()), listIncidents: vi.fn().mockResolvedValue({ incidents: [] }) }), <Trends />, 'en');
    await waitFor(() => expect(screen.getByTestId('trend-zoom')).toBeTruthy());
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Trends');
    const zoom = screen.getByTestId('trend-zoom');
    const before = screen.getByTestId('trend-visible').textContent;
    expect((screen.getByRole('button', { name: 'Show all' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: /Zoom in/ }));
    expect([zoom.dataset.start, zoom.dataset.end]).toEqual(['25', '75']);
    expect(screen.getByTestId('trend-visible').textContent).not.toBe(before);
    fireEvent.click(screen.getByRole('button', { name: /Zoom out/ }));
    expect([zoom.dataset.start, zoom.dataset.end]).toEqual(['0', '100']);
    expect(screen.getByText('No alerts in this period.')).toBeTruthy();
  });

  it('charts glucose for a wearer whose readings carry it', async () => {
    renderAs(fakeApi({ getVitalsTrend: vi.fn().mockResolvedValue(recent(true)), listIncidents: vi.fn().mockResolvedValue({ incidents: [] }) }), <Trends />);
    await waitFor(() => expect(screen.getByTestId('trend-glucose')).toBeTruthy());
    expect(screen.getByRole('heading', { name: '혈당 (mg/dL)' })).toBeTruthy();
  });

  it('waits out a 429 as the server asks, and says so calmly', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const getVitalsTrend = vi
        .fn()
        .mockRejectedValueOnce(new ApiError(429, 'rate_limited', 'Too many trend requests.', [], 5))
        .mockResolvedValue(recent());
      renderAs(fakeApi({ getVitalsTrend, listIncidents: vi.fn().mockResolvedValue({ incidents: [] }) }), <Trends />);
      await vi.waitFor(() => expect(screen.getByText('요청이 많아서 5초 뒤에 다시 불러올게요.')).toBeTruthy());
      expect(getVitalsTrend).toHaveBeenCalledTimes(1);
      await act(async () => {
        vi.advanceTimersByTime(5000);
      });
      await vi.waitFor(() => expect(screen.getByTestId('trend-heart_rate')).toBeTruthy());
      expect(getVitalsTrend).toHaveBeenCalledTimes(2);
      expect(screen.queryByText(/요청이 많아서/)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('says so when the server answers the old form (no trends yet), or nothing was measured', async () => {
    renderAs(fakeApi({ getVitalsTrend: vi.fn().mockResolvedValue({ vitals: [] }), listIncidents: vi.fn().mockResolvedValue({ incidents: [] }) }), <Trends />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('이 서버는 아직 추세를 보여 줄 수 없어요.'));
  });

  it('says when the period has no readings', async () => {
    const empty = { ...recent(), buckets: [] };
    renderAs(fakeApi({ getVitalsTrend: vi.fn().mockResolvedValue(empty), listIncidents: vi.fn().mockResolvedValue({ incidents: [] }) }), <Trends />);
    await waitFor(() => expect(screen.getByTestId('trend-empty').textContent).toBe('이 기간에는 측정값이 없어요.'));
    expect(screen.queryByTestId('trend-zoom')).toBeNull();
  });
});

describe('Day diary view', { timeout: 20_000 }, () => {
  afterEach(() => {
    window.location.hash = '';
  });

  it('shows the day as lines, newest last, and moves a day back by its button', async () => {
    const getIncident = vi.fn().mockResolvedValue(detail);
    const getVitalsTrend = vi.fn().mockResolvedValue(dayTrend);
    const api = fakeApi({
      getStatuses: vi.fn().mockResolvedValue({ statuses }),
      listIncidents: vi.fn().mockResolvedValue({ incidents: [incident] }),
      getIncident,
      getVitalsTrend,
    });
    renderAs(api, <Diary wearer="kim01" wearerName="김영희" day={DAY} />);
    const list = await screen.findByTestId('diary-list');
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(11);
    expect(items[0]!.textContent).toBe('03:05 심박수 165회/분, 위험그때 다른 측정값: 산소포화도 95%');
    expect(items[5]!.textContent).toBe('03:06 119에 신고했어요');
    expect(items[7]!.textContent).toBe('03:07 내가 확인했어요'); // daughter01 is the one reading
    expect(items[10]!.textContent).toBe('15:30 상태: 정상');
    expect(items[0]!.className).toContain('level-danger');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('김영희 님의 하루 기록');
    expect(getIncident).toHaveBeenCalledWith(7);
    const q = getVitalsTrend.mock.calls[0]![0] as { from: string; to: string };
    expect([Date.parse(q.from), Date.parse(q.to)]).toEqual([base, new Date(2026, 11, 6).getTime()]);
    expect(within(screen.getByTestId('diary-summary')).getByText('심박수 평균 163회/분 (160–165)')).toBeTruthy();
    fireEvent.click(screen.getByTestId('diary-prev'));
    expect(window.location.hash).toBe(`#/diary?wearer=kim01&name=${encodeURIComponent('김영희')}&day=2026-12-04`);
  });

  it('is today by default, cannot go past today, and says when nothing happened', async () => {
    const api = fakeApi({
      getStatuses: vi.fn().mockResolvedValue({ statuses: [] }),
      listIncidents: vi.fn().mockResolvedValue({ incidents: [] }),
      getVitalsTrend: vi.fn().mockResolvedValue({ ...dayTrend, buckets: [] }),
    });
    renderAs(api, <Diary day="2999-01-01" />, 'en');
    expect(await screen.findByText('Nothing out of the ordinary this day.')).toBeTruthy();
    expect(screen.getByTestId('diary').dataset.day).toBe(dayKey(Date.now()));
    expect((screen.getByTestId('diary-next') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('No readings were received this day.')).toBeTruthy();
    expect(screen.getByText('today')).toBeTruthy();
  });
});

describe('glucose tile', () => {
  const reading = (extra: Partial<Vitals>): Vitals => ({ timestamp: new Date().toISOString(), heart_rate: 72, ...extra }) as Vitals;
  const wrap = (ui: ReactNode, lang: Lang = 'ko') => render(<I18nProvider lang={lang}>{ui}</I18nProvider>);

  it('appears with mg/dL when the readings carry glucose, abnormal like the others', () => {
    wrap(<VitalsTiles readings={[reading({ glucose: 212 })]} abnormal={['glucose']} />);
    const tile = screen.getByTestId('tile-glucose');
    expect(tile.textContent).toContain('혈당');
    expect(tile.textContent).toContain('212');
    expect(tile.textContent).toContain('mg/dL');
    expect(tile.className).toContain('tile-abnormal');
    expect(tile.textContent).toContain('⚠ 이상');
  });

  it('is absent for a wearer without a glucose sensor', () => {
    wrap(<VitalsTiles readings={[reading({})]} abnormal={[]} />, 'en');
    expect(screen.queryByTestId('tile-glucose')).toBeNull();
    expect(screen.getByTestId('tile-heart_rate').textContent).toContain('72');
  });
});

describe('incidentsIn', () => {
  it('keeps the incidents opened in the window, oldest first', () => {
    const a = { ...incident, id: 1, opened_at: iso(base + 2 * H) };
    const b = { ...incident, id: 2, opened_at: iso(base + H) };
    const c = { ...incident, id: 3, opened_at: iso(base - H) };
    expect(incidentsIn([a, b, c], base, base + 3 * H).map((i) => i.id)).toEqual([2, 1]);
  });
});

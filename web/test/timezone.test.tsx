// The wearer's time zone (issue 19): the browser's zone at sign-up, shown and changed in "My details",
// offsets named the way the 119 report writes them.
import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/api/client';
import type { User } from '../src/api/types';
import { I18nProvider } from '../src/i18n/i18n';
import { profileChanges, profileValues } from '../src/lib/profile';
import { browserTimeZone, describeTimeZone, timeZoneChoices, utcOffsetText } from '../src/lib/timezone';
import { MyDetails } from '../src/pages/account/MyDetails';

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

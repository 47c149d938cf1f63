// Account self-service (issues 15 and 16): the profile logic, the client's re-authentication rule, and
// the Settings panels and the dashboard's address check as a person uses them (jsdom, a fake API).
import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from '../src/api/client';
import type { SessionInfo, User } from '../src/api/types';
import { AddressConfirmBanner } from '../src/components/AddressConfirmBanner';
import { I18nProvider } from '../src/i18n/i18n';
import {
  addressFor119,
  checkNewPassword,
  describeUserAgent,
  phonesChanged,
  profileChanges,
  profileValues,
  validateProfile,
} from '../src/lib/profile';
import { GuardEmail, looksLikeEmail } from '../src/pages/account/GuardEmail';
import { MyDetails } from '../src/pages/account/MyDetails';
import { PasswordChange } from '../src/pages/account/PasswordChange';
import { Sessions } from '../src/pages/account/Sessions';

const user: User = {
  id: 'grandma_kim', name: '김영희', age: 78, address: '서울특별시 종로구 세종대로 175', detailed_address: '101동 1203호',
  phone_num: '010-1234-5678', guard_name: '김민수', guard_phone_num: '010-9876-5432', danger_degree: 0,
  created_at: '2026-12-06T10:00:00.000Z', user_posture: null, rule_profile: 'adult-default', guard_phone_verified: true,
  phone_verified: true, address_confirmed_at: null, address_confirm_due: true, guard_email: '', guard_email_verified: false,
  time_zone: 'Asia/Seoul',
};

function fakeApi(overrides: Partial<ApiClient>) {
  const api = new ApiClient({ fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch });
  return Object.assign(api, overrides);
}
const me = (u: User) => ({ user: u, csrf_token: 't', session_expires_at: '2026-12-06T22:00:00.000Z' });
const wrongPassword = () => new ApiError(401, 'invalid_credentials', 'Wrong id or password.', [], null);

function json(status: number, body: unknown) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('profile logic', () => {
  it('sends only what changed, age as a number', () => {
    const v = { ...profileValues(user), address: '부산광역시 해운대구 1', age: '79' };
    expect(profileChanges(user, v)).toEqual({ address: '부산광역시 해운대구 1', age: 79 });
    expect(profileChanges(user, profileValues(user))).toEqual({});
    expect(phonesChanged({ address: 'x' })).toBe(false);
    expect(phonesChanged({ guard_phone_num: '010-1111-2222' })).toBe(true);
  });

  it('checks like sign-up: required fields, guardian name and number together, numbers that differ by digits', () => {
    const base = profileValues(user);
    expect(validateProfile(base)).toEqual({});
    expect(validateProfile({ ...base, address: '' }).address?.key).toBe('valid.required');
    expect(validateProfile({ ...base, guard_name: '' }).guard_name?.key).toBe('valid.guardBoth');
    expect(validateProfile({ ...base, guard_name: '', guard_phone_num: '' })).toEqual({});
    expect(validateProfile({ ...base, guard_phone_num: '+821012345678' }).guard_phone_num?.key).toBe('valid.guardPhoneSame');
    expect(validateProfile({ ...base, phone_num: '010-12345678' }).phone_num?.key).toBe('valid.phone');
    expect(validateProfile({ ...base, name: 'Kim\u202e' }).name?.key).toBeUndefined(); // the server refuses format characters; it names the field
  });

  it("gives 119's address as the report does: address, a space, the detailed address", () => {
    expect(addressFor119('서울 종로구 1', '101동')).toBe('서울 종로구 1 101동');
    expect(addressFor119(' 서울 종로구 1 ', '')).toBe('서울 종로구 1');
  });

  it('checks a new password: the sign-up rules, not the current one, typed the same twice', () => {
    expect(checkNewPassword('short', 'short', 'kim01', 'old password').next?.key).toBe('valid.passwordShort');
    expect(checkNewPassword('old password', 'old password', 'kim01', 'old password').next?.key).toBe('valid.passwordSameAsOld');
    expect(checkNewPassword('new password 1', 'new password 2', 'kim01', 'old').repeat?.key).toBe('valid.passwordRepeat');
    expect(checkNewPassword('new password 1', 'new password 1', 'kim01', 'old')).toEqual({});
  });

  it('names browsers and systems briefly', () => {
    expect(describeUserAgent('Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0 Mobile Safari/537.36')).toBe('Samsung Internet · Android');
    expect(describeUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1')).toBe('Safari · iPhone/iPad');
    expect(describeUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.0.0 Safari/537.36')).toBe('Chrome · Linux');
    expect(describeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0')).toBe('Edge · Windows');
    expect(describeUserAgent('curl/8.5.0')).toBe('curl');
    expect(describeUserAgent('')).toBe('');
  });

  it('tells plausible e-mail addresses from slips', () => {
    expect(looksLikeEmail('minsu@example.com')).toBe(true);
    expect(looksLikeEmail('minsu@example')).toBe(false);
    expect(looksLikeEmail('Minsu <minsu@example.com>')).toBe(false);
    expect(looksLikeEmail('min su@example.com')).toBe(false);
    expect(looksLikeEmail(`${'a'.repeat(250)}@example.com`)).toBe(false);
  });
});

describe('ApiClient re-authentication', () => {
  it('a wrong current password is an error for the form, not the end of the session; PATCH carries the CSRF token', async () => {
    const responses = [
      json(200, me(user)),
      json(401, { error: { code: 'invalid_credentials', message: 'wrong' } }),
      json(401, { error: { code: 'session_expired', message: 'expired' } }),
    ];
    const calls: RequestInit[] = [];
    const fetchImpl = (async (_u: RequestInfo | URL, init?: RequestInit) => {
      calls.push(init ?? {});
      return responses.shift()!;
    }) as typeof fetch;
    const onUnauthorized = vi.fn();
    const api = new ApiClient({ fetch: fetchImpl, onUnauthorized });
    await api.me();
    await expect(api.updateProfile('nope', { name: 'x' })).rejects.toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(calls[1]!.method).toBe('PATCH');
    expect((calls[1]!.headers as Record<string, string>)['X-CSRF-Token']).toBe('t');
    expect(JSON.parse(String(calls[1]!.body))).toEqual({ current_password: 'nope', name: 'x' });
    expect(onUnauthorized).not.toHaveBeenCalled();
    await expect(api.changePassword('a', 'b')).rejects.toMatchObject({ code: 'session_expired' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });
});

describe('MyDetails', () => {
  it('shows the address 119 will hear while typing, asks the password once, and sends only the change', async () => {
    const updateProfile = vi.fn().mockResolvedValue(me(user));
    const onChanged = vi.fn();
    render(
      <I18nProvider lang="en">
        <MyDetails api={fakeApi({ updateProfile })} user={user} onChanged={onChanged} />
      </I18nProvider>,
    );
    expect(screen.getByTestId('details-address').textContent).toBe('서울특별시 종로구 세종대로 175 101동 1203호');
    fireEvent.click(screen.getByRole('button', { name: 'Change my details' }));
    fireEvent.change(screen.getByLabelText(/^Address \(required/), { target: { value: '부산광역시 해운대구 센텀중앙로 79' } });
    fireEvent.change(screen.getByLabelText(/^Address details/), { target: { value: '' } });
    expect(screen.getByTestId('address-preview').textContent).toBe('If you call 119, they will be told:부산광역시 해운대구 센텀중앙로 79');
    fireEvent.click(screen.getByRole('button', { name: 'Save the changes' }));
    expect(await screen.findByTestId('error-current_password')).toBeTruthy();
    expect(updateProfile).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText(/^Your current password/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save the changes' }));
    expect((await screen.findByTestId('details-notice')).textContent).toBe('Your details are saved.');
    expect(updateProfile).toHaveBeenCalledWith('correct horse 1', { address: '부산광역시 해운대구 센텀중앙로 79', detailed_address: '' });
    expect(onChanged).toHaveBeenCalled();
  });

  it('keeps the form on a wrong password and shows the server’s field errors next to their fields', async () => {
    const updateProfile = vi
      .fn()
      .mockRejectedValueOnce(wrongPassword())
      .mockRejectedValueOnce(new ApiError(400, 'validation_failed', 'Some fields', [{ field: 'name', problem: 'must not contain invisible formatting characters' }], null));
    render(
      <I18nProvider lang="ko">
        <MyDetails api={fakeApi({ updateProfile })} user={user} onChanged={() => {}} startEditing />
      </I18nProvider>,
    );
    expect(document.activeElement).toBe(screen.getByLabelText(/^주소/));
    fireEvent.change(screen.getByLabelText(/^이름/), { target: { value: '김영자' } });
    fireEvent.change(screen.getByLabelText(/^지금 쓰는 비밀번호/), { target: { value: 'wrong one' } });
    fireEvent.click(screen.getByRole('button', { name: '바꾼 내용 저장하기' }));
    expect((await screen.findByTestId('error-current_password')).textContent).toContain('비밀번호가 맞지 않아요');
    fireEvent.change(screen.getByLabelText(/^지금 쓰는 비밀번호/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByRole('button', { name: '바꾼 내용 저장하기' }));
    expect((await screen.findByTestId('error-name')).textContent).toContain('invisible formatting');
    expect(screen.getByTestId('details-form')).toBeTruthy();
  });

  it('says when a changed phone number must be verified again, and when nothing changed', async () => {
    const updateProfile = vi.fn().mockResolvedValue(me(user));
    render(
      <I18nProvider lang="en">
        <MyDetails api={fakeApi({ updateProfile })} user={user} onChanged={() => {}} startEditing />
      </I18nProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Save the changes' }));
    expect((await screen.findByTestId('details-error')).textContent).toBe('Nothing has changed.');
    fireEvent.change(screen.getByLabelText(/^Guardian phone number/), { target: { value: '010-2222-3333' } });
    fireEvent.change(screen.getByLabelText(/^Your current password/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save the changes' }));
    expect((await screen.findByTestId('details-notice')).textContent).toContain('once it is verified');
  });
});

describe('PasswordChange', () => {
  it('checks the repeat, then says how many other devices were logged out', async () => {
    const changePassword = vi.fn().mockResolvedValue({ sessions_ended: 2 });
    const onChanged = vi.fn();
    render(
      <I18nProvider lang="en">
        <PasswordChange api={fakeApi({ changePassword })} userId="grandma_kim" onChanged={onChanged} />
      </I18nProvider>,
    );
    fireEvent.change(screen.getByLabelText(/^Your current password/), { target: { value: 'correct horse 1' } });
    fireEvent.change(screen.getByLabelText(/^New password \(/), { target: { value: 'battery staple 2' } });
    fireEvent.change(screen.getByLabelText(/^New password again/), { target: { value: 'battery stapel 2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect((await screen.findByText('The two new passwords are not the same.'))).toBeTruthy();
    expect(changePassword).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText(/^New password again/), { target: { value: 'battery staple 2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect((await screen.findByTestId('password-done')).textContent).toBe('Password changed. 2 other devices were logged out.');
    expect(changePassword).toHaveBeenCalledWith('correct horse 1', 'battery staple 2');
    expect(onChanged).toHaveBeenCalledWith(2);
    expect((screen.getByLabelText(/^Your current password/) as HTMLInputElement).value).toBe('');
  });

  it('marks a wrong current password on its field', async () => {
    const changePassword = vi.fn().mockRejectedValue(wrongPassword());
    render(
      <I18nProvider lang="ko">
        <PasswordChange api={fakeApi({ changePassword })} userId="grandma_kim" />
      </I18nProvider>,
    );
    fireEvent.change(screen.getByLabelText(/^지금 쓰는 비밀번호/), { target: { value: 'not it at all' } });
    fireEvent.change(screen.getByLabelText(/^새 비밀번호 \(/), { target: { value: 'battery staple 2' } });
    fireEvent.change(screen.getByLabelText(/^새 비밀번호 한 번 더/), { target: { value: 'battery staple 2' } });
    fireEvent.click(screen.getByRole('button', { name: '비밀번호 바꾸기' }));
    expect((await screen.findByTestId('error-pw_current')).textContent).toContain('비밀번호가 맞지 않아요');
  });
});

describe('Sessions', () => {
  const rows: SessionInfo[] = [
    { id: 'a1', current: false, created_at: '2026-12-06T01:00:00.000Z', last_seen_at: '2026-12-06T02:00:00.000Z', expires_at: '2026-12-06T13:00:00.000Z', client_address: '203.0.113.7', user_agent: 'Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36' },
    { id: 'b2', current: true, created_at: '2026-12-06T00:00:00.000Z', last_seen_at: '2026-12-06T03:00:00.000Z', expires_at: '2026-12-06T12:00:00.000Z', client_address: '127.0.0.1', user_agent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36' },
  ];

  it('lists this device first and marked, logs out one other device, then everywhere else', async () => {
    const listSessions = vi.fn().mockResolvedValueOnce({ sessions: rows }).mockResolvedValueOnce({ sessions: rows }).mockResolvedValue({ sessions: [rows[1]] });
    const endSession = vi.fn().mockResolvedValue(undefined);
    const endOtherSessions = vi.fn().mockResolvedValue({ sessions_ended: 1 });
    render(
      <I18nProvider lang="en">
        <Sessions api={fakeApi({ listSessions, endSession, endOtherSessions })} />
      </I18nProvider>,
    );
    const current = await screen.findByTestId('session-current');
    expect(within(current).getByText('This device')).toBeTruthy();
    expect(within(current).getByText('Chrome · Windows')).toBeTruthy();
    expect(screen.getAllByRole('listitem')[0]).toBe(current);
    expect(within(current).queryByRole('button')).toBeNull();
    const other = screen.getByTestId('session-other');
    expect(other.textContent).toContain('From 203.0.113.7');
    fireEvent.click(within(other).getByRole('button', { name: 'Log out Chrome · Android' }));
    expect((await screen.findByTestId('sessions-notice')).textContent).toBe('That device is logged out.');
    expect(endSession).toHaveBeenCalledWith('a1');
    fireEvent.click(screen.getByRole('button', { name: 'Log out everywhere else' }));
    await vi.waitFor(() => expect(screen.getByTestId('sessions-notice').textContent).toBe('Logged out on 1 other device.'));
    expect(await screen.findByText('You are logged in only on this device.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Log out everywhere else' })).toBeNull();
  });
});

describe('GuardEmail', () => {
  it('adds an address with the password, then verifies it with the code', async () => {
    let u = user;
    const setGuardEmail = vi.fn().mockResolvedValue(me(user));
    const sendPhoneCode = vi.fn().mockResolvedValue({ field: 'guard_email', verified: false, attempts_left: 5, code_expires_at: null, resend_at: null });
    const confirmPhoneCode = vi.fn().mockResolvedValue({ field: 'guard_email', verified: true, attempts_left: 0, code_expires_at: null, resend_at: null });
    const api = fakeApi({ setGuardEmail, sendPhoneCode, confirmPhoneCode });
    const view = (x: User) => (
      <I18nProvider lang="en">
        <GuardEmail api={api} user={x} onChanged={onChanged} />
      </I18nProvider>
    );
    const onChanged = vi.fn(() => {
      u = { ...u, guard_email: 'minsu@example.com', guard_email_verified: confirmPhoneCode.mock.calls.length > 0 };
      rerender(view(u));
    });
    const { rerender } = render(view(u));
    expect(screen.getByText('No guardian e-mail address yet.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: "Add your guardian's e-mail" }));
    fireEvent.change(screen.getByLabelText(/^Guardian's e-mail address/), { target: { value: 'minsu@example' } });
    fireEvent.change(screen.getByLabelText(/^Your current password/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Enter an e-mail address such as minsu@example.com.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText(/^Guardian's e-mail address/), { target: { value: 'minsu@example.com' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Saved. Now send the code.')).toBeTruthy();
    expect(setGuardEmail).toHaveBeenCalledWith('minsu@example.com', 'correct horse 1');
    expect(screen.getByTestId('guard-email-value').textContent).toBe('minsu@example.com');
    fireEvent.click(screen.getByRole('button', { name: 'Send the code' }));
    fireEvent.change(await screen.findByLabelText(/^6-digit code/), { target: { value: '123 456' } });
    fireEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('The e-mail address is verified. Alerts now go there too.')).toBeTruthy();
    expect(sendPhoneCode).toHaveBeenCalledWith('guard_email');
    expect(confirmPhoneCode).toHaveBeenCalledWith('123456', 'guard_email');
  });

  it('says plainly when the server cannot send e-mail, and removes an address with the password', async () => {
    const sendPhoneCode = vi.fn().mockRejectedValue(new ApiError(503, 'unavailable', 'E-mail is not configured', [], 30));
    const setGuardEmail = vi.fn().mockResolvedValue(me(user));
    render(
      <I18nProvider lang="ko">
        <GuardEmail api={fakeApi({ sendPhoneCode, setGuardEmail })} user={{ ...user, guard_email: 'minsu@example.com' }} onChanged={() => {}} />
      </I18nProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: '확인 코드 보내기' }));
    expect((await screen.findByRole('alert')).textContent).toContain('이메일을 보낼 수 없어요');
    fireEvent.click(screen.getByRole('button', { name: '이메일 지우기' }));
    fireEvent.change(screen.getByLabelText(/^지금 쓰는 비밀번호/), { target: { value: 'correct horse 1' } });
    fireEvent.click(screen.getByRole('button', { name: '이메일 지우기' }));
    expect(await screen.findByText('보호자 이메일을 지웠어요.')).toBeTruthy();
    expect(setGuardEmail).toHaveBeenCalledWith('', 'correct horse 1');
  });
});

describe('AddressConfirmBanner', () => {
  it('asks only when due, says the address, confirms with one press, and offers the change form', async () => {
    const confirmAddress = vi.fn().mockResolvedValue(me({ ...user, address_confirm_due: false }));
    const onConfirmed = vi.fn();
    const { container, rerender } = render(
      <I18nProvider lang="en">
        <AddressConfirmBanner user={{ ...user, address_confirm_due: false }} api={fakeApi({ confirmAddress })} onConfirmed={onConfirmed} />
      </I18nProvider>,
    );
    expect(container.textContent).toBe('');
    rerender(
      <I18nProvider lang="en">
        <AddressConfirmBanner user={user} api={fakeApi({ confirmAddress })} onConfirmed={onConfirmed} />
      </I18nProvider>,
    );
    expect(screen.getByRole('heading', { name: 'Is this still your address?' })).toBeTruthy();
    expect(screen.getByTestId('address-confirm-address').textContent).toBe('서울특별시 종로구 세종대로 175 101동 1203호');
    expect(screen.getByRole('link', { name: 'Change it' }).getAttribute('href')).toBe('#/settings?edit=address');
    fireEvent.click(screen.getByRole('button', { name: "Yes, that's right" }));
    expect((await screen.findByTestId('address-confirmed')).textContent).toContain('Thank you');
    expect(confirmAddress).toHaveBeenCalledTimes(1);
    expect(onConfirmed).toHaveBeenCalled();
  });
});

import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from '../src/api/client';
import type { User } from '../src/api/types';
import { PhoneVerifyCard } from '../src/components/PhoneVerifyCard';
import { I18nProvider } from '../src/i18n/i18n';

const user = {
  id: 'grandma_kim', name: '김영희', age: 78, address: '서울특별시 종로구', detailed_address: '', phone_num: '010-1234-5678',
  guard_name: '김철수', guard_phone_num: '010-9876-5432', danger_degree: 0, created_at: '2026-12-06T10:00:00.000Z',
  user_posture: null, rule_profile: 'adult-default', guard_phone_verified: false,
} as User;

function fakeApi(overrides: Partial<ApiClient>) {
  const api = new ApiClient({ fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch });
  return Object.assign(api, overrides);
}

describe('PhoneVerifyCard', () => {
  it('says the guardian number is not verified, sends the code with one action, and confirms it', async () => {
    const sendPhoneCode = vi.fn().mockResolvedValue({ field: 'guard_phone_num', verified: false, attempts_left: 5 });
    const confirmPhoneCode = vi.fn().mockResolvedValue({ field: 'guard_phone_num', verified: true, attempts_left: 0 });
    const onVerified = vi.fn();
    render(
      <I18nProvider lang="ko">
        <PhoneVerifyCard user={user} api={fakeApi({ sendPhoneCode, confirmPhoneCode })} onVerified={onVerified} />
      </I18nProvider>,
    );
    expect(screen.getByText('보호자 번호 확인이 필요해요')).toBeTruthy();
    expect(screen.getByText(/010-9876-5432/).textContent).toContain('확인되지 않아');
    expect(screen.getAllByRole('button')).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: '인증번호 보내기' }));
    const field = await screen.findByLabelText(/^인증번호 6자리/);
    expect(sendPhoneCode).toHaveBeenCalledTimes(1);
    fireEvent.change(field, { target: { value: '48 29 13x' } });
    expect((field as HTMLInputElement).value).toBe('482913');
    fireEvent.click(screen.getByRole('button', { name: '확인' }));
    await vi.waitFor(() => expect(onVerified).toHaveBeenCalled());
    expect(confirmPhoneCode).toHaveBeenCalledWith('482913');
  });

  it('says how long to wait when the code was sent a moment ago, and what a wrong code means', async () => {
    const sendPhoneCode = vi
      .fn()
      .mockResolvedValueOnce({ field: 'guard_phone_num', verified: false, attempts_left: 5 })
      .mockRejectedValueOnce(new ApiError(429, 'rate_limited', 'wait', [], 42));
    const confirmPhoneCode = vi.fn().mockRejectedValue(new ApiError(400, 'validation_failed', 'wrong', [], null));
    render(
      <I18nProvider lang="en">
        <PhoneVerifyCard user={user} api={fakeApi({ sendPhoneCode, confirmPhoneCode })} onVerified={() => {}} />
      </I18nProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Send the code' }));
    fireEvent.change(await screen.findByLabelText(/^6-digit code/), { target: { value: '111111' } });
    fireEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect((await screen.findByRole('alert')).textContent).toBe('That code is not right. Please check it.');
    fireEvent.click(screen.getByRole('button', { name: 'Send again' }));
    expect(await screen.findByText('You can send another code soon. Try again in 42 seconds.')).toBeTruthy();
  });

  it('shows nothing once the number is verified, or when there is no guardian number', () => {
    const { container, rerender } = render(
      <I18nProvider lang="ko">
        <PhoneVerifyCard user={{ ...user, guard_phone_verified: true }} api={fakeApi({})} onVerified={() => {}} />
      </I18nProvider>,
    );
    expect(container.textContent).toBe('');
    rerender(
      <I18nProvider lang="ko">
        <PhoneVerifyCard user={{ ...user, guard_name: '', guard_phone_num: '' }} api={fakeApi({})} onVerified={() => {}} />
      </I18nProvider>,
    );
    expect(container.textContent).toBe('');
  });
});

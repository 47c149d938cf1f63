import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from '../src/api/client';
import { I18nProvider } from '../src/i18n/i18n';
import { isPhoneNumber, validateRegister, type RegisterValues } from '../src/lib/validation';
import { Register } from '../src/pages/Register';

const good: RegisterValues = {
  id: 'grandma_kim', password: 'correct horse', name: '김영희', age: '78', address: '서울특별시 종로구', detailed_address: '',
  phone_num: '010-1234-5678', guard_name: '', guard_phone_num: '',
};

describe('register validation mirrors the server', () => {
  it('accepts a valid form', () => {
    expect(validateRegister(good)).toEqual({});
  });

  it.each([
    [{ id: 'ab' }, 'id', 'valid.idLength'],
    [{ id: 'Grandma' }, 'id', 'valid.idChars'],
    [{ password: 'short' }, 'password', 'valid.passwordShort'],
    [{ password: 'grandma_kim' }, 'password', 'valid.passwordSameAsId'],
    [{ name: ' Kim' }, 'name', 'valid.spaces'],
    [{ name: 'Kim\nLee' }, 'name', 'valid.control'],
    [{ name: 'a'.repeat(101) }, 'name', 'valid.tooLong'],
    [{ age: '0' }, 'age', 'valid.age'],
    [{ age: '131' }, 'age', 'valid.age'],
    [{ age: '7.5' }, 'age', 'valid.age'],
    [{ address: '' }, 'address', 'valid.required'],
    [{ detailed_address: '   ' }, 'detailed_address', 'valid.blank'],
    [{ phone_num: '010-12345678' }, 'phone_num', 'valid.phone'],
    [{ guard_name: '김민수' }, 'guard_phone_num', 'valid.guardBoth'],
    [{ guard_phone_num: '010-9999-8888' }, 'guard_name', 'valid.guardBoth'],
    [{ guard_name: '김민수', guard_phone_num: '010-1234-5678' }, 'guard_phone_num', 'valid.guardPhoneSame'],
  ] as const)('%o → %s %s', (patch, field, key) => {
    expect(validateRegister({ ...good, ...patch })[field]?.key).toBe(key);
  });

  it('checks phone numbers exactly as the server tests do', () => {
    for (const ok of ['+821012345678', '+14155552671', '010-1234-5678', '01012345678', '02-123-4567', '031-1234-5678', '0212345678']) {
      expect(isPhoneNumber(ok), ok).toBe(true);
    }
    for (const bad of ['', '12345', '+0123456789', '+12', '010 1234 5678', '010--1234-5678', '-010-1234-5678', '010-12345678', '(010)1234-5678', '119', '+8210123456789012', '0012345678']) {
      expect(isPhoneNumber(bad), bad).toBe(false);
    }
  });
});

function fakeApi(overrides: Partial<ApiClient>) {
  const api = new ApiClient({ fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch });
  return Object.assign(api, overrides);
}

function fill(label: RegExp, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

describe('Register form', () => {
  it('shows inline errors after leaving a field, and does not submit an invalid form', async () => {
    const signup = vi.fn();
    const api = fakeApi({ signup, checkId: vi.fn().mockResolvedValue({ id: 'x', available: true }) });
    render(<I18nProvider lang="ko"><Register api={api} onRegistered={() => {}} checkDelayMs={0} /></I18nProvider>);
    fill(/^나이/, '200');
    fireEvent.blur(screen.getByLabelText(/^나이/));
    expect(await screen.findByText('1에서 130 사이의 숫자로 입력해 주세요.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: '가입하기' }));
    expect(await screen.findByText('표시된 칸을 확인해 주세요.')).toBeTruthy();
    expect(signup).not.toHaveBeenCalled();
    expect(screen.getByLabelText(/^나이/).getAttribute('aria-invalid')).toBe('true');
  });

  it('checks the id live and says when it is taken', async () => {
    const checkId = vi.fn().mockResolvedValue({ id: 'grandma_kim', available: false });
    const api = fakeApi({ checkId });
    render(<I18nProvider lang="ko"><Register api={api} onRegistered={() => {}} checkDelayMs={0} /></I18nProvider>);
    fill(/^아이디/, 'grandma_kim');
    expect(await screen.findByText('이미 쓰이고 있는 아이디예요.')).toBeTruthy();
    expect(checkId).toHaveBeenCalledWith('grandma_kim');
  });

  it("puts the server's per-field errors next to the fields", async () => {
    const signup = vi.fn().mockRejectedValue(
      new ApiError(400, 'validation_failed', 'Some fields need to be corrected.', [{ field: 'address', problem: 'server says no' }], null),
    );
    const onRegistered = vi.fn();
    const api = fakeApi({ signup, checkId: vi.fn().mockResolvedValue({ id: 'x', available: true }) });
    render(<I18nProvider lang="ko"><Register api={api} onRegistered={onRegistered} checkDelayMs={0} /></I18nProvider>);
    fill(/^아이디/, good.id);
    fill(/^비밀번호/, good.password);
    fill(/^이름/, good.name);
    fill(/^나이/, good.age);
    fill(/^주소/, good.address);
    fill(/^휴대전화 번호/, good.phone_num);
    await screen.findByText('사용할 수 있는 아이디예요.');
    fireEvent.click(screen.getByRole('button', { name: '가입하기' }));
    await waitFor(() => expect(signup).toHaveBeenCalledTimes(1));
    expect(signup.mock.calls[0]![0]).toEqual({
      id: good.id, password: good.password, name: good.name, age: 78, address: good.address, phone_num: good.phone_num,
      time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone, // the browser's, for the wearer's local times
    });
    const err = await screen.findByTestId('error-address');
    expect(err.textContent).toContain('server says no');
    expect(onRegistered).not.toHaveBeenCalled();
  });
});

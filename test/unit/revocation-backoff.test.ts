import { revocationBackoff } from '../../src/jobs/expiry-worker';

describe('revocationBackoff', () => {
  const exact = () => 0.5; // no jitter: 0.8 + 0.4 * 0.5 = 1

  it('doubles from one second', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => revocationBackoff(attempt, exact))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('caps at five minutes however many attempts failed', () => {
    expect(revocationBackoff(20, exact)).toBe(300_000);
    expect(revocationBackoff(10_000, exact)).toBe(300_000);
  });

  it('spreads retries by ±20% so failing grants do not retry in lockstep', () => {
    expect(revocationBackoff(3, () => 0)).toBe(3200);
    expect(revocationBackoff(3, () => 0.999999)).toBe(4800);
  });
});

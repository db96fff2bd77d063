import { MAX_DURATION_SECONDS, formatDuration, parseDuration } from '../../src/domain/duration';

describe('parseDuration', () => {
  it.each([
    ['45s', 45],
    ['30m', 1_800],
    ['2h', 7_200],
    ['1d', 86_400],
    ['1h30m', 5_400],
    ['1d2h3m4s', 93_784],
    ['1h 30m', 5_400],
    ['2H', 7_200],
    ['  15M ', 900],
    ['90m', 5_400],
    ['365d', MAX_DURATION_SECONDS],
  ])('reads %j as %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '   ', '0s', '0h0m', '-5m', '1.5h', '30', '2x', '2 hours', 'h', '30m1h', '1h1h', '366d', '8761h', '99999999999999999999d'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [45, '45s'],
    [1_800, '30m'],
    [3_600, '1h'],
    [5_400, '1h 30m'],
    [2 * 86_400 + 3 * 3_600, '2d 3h'],
    [86_400 + 5 * 60, '1d 5m'],
    [86_400 + 3_600 + 60 + 1, '1d 1h'],
    [0, '0s'],
  ])('shows %d seconds as %j', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const seconds of [45, 1_800, 5_400, 93_600, 7 * 86_400]) {
      expect(parseDuration(formatDuration(seconds))).toBe(seconds);
    }
  });
});

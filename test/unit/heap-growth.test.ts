import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/app/heap-growth';

describe('limitHeapGrowth', () => {
  it('sets the growing percent when node was started without one', () => {
    expect(limitHeapGrowth(HEAP_GROWING_PERCENT, ['--enable-source-maps'])).toBe(true);
    expect(HEAP_GROWING_PERCENT).toBeGreaterThan(0);
  });

  it.each([['--heap-growing-percent=50'], ['--heap-growing-percent']])('leaves an operator’s %s alone', (flag) => {
    expect(limitHeapGrowth(HEAP_GROWING_PERCENT, ['--enable-source-maps', flag])).toBe(false);
  });

  it('does not mistake a longer flag for it', () => {
    expect(limitHeapGrowth(HEAP_GROWING_PERCENT, ['--heap-growing-percentage-of-something=1'])).toBe(true);
  });

  it('leaves V8 its own heuristics for 0 (HEAP_GROWING_PERCENT=0)', () => {
    expect(limitHeapGrowth(0, [])).toBe(false);
  });
});

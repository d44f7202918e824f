import { describe, expect, it } from 'vitest';
import { MIN_THREADPOOL_SIZE, threadpoolProblem } from './native.ts';

describe('threadpoolProblem', () => {
  it("refuses Node's default pool and anything below the minimum, naming the variable", () => {
    expect(threadpoolProblem({})).toMatch(/^UV_THREADPOOL_SIZE is unset \(4\).*UV_THREADPOOL_SIZE=16/);
    expect(threadpoolProblem({ UV_THREADPOOL_SIZE: '' })).toMatch(/unset \(4\)/);
    expect(threadpoolProblem({ UV_THREADPOOL_SIZE: String(MIN_THREADPOOL_SIZE - 1) })).toMatch(/^UV_THREADPOOL_SIZE is "7"/);
    expect(threadpoolProblem({ UV_THREADPOOL_SIZE: 'sixteen' })).toMatch(/"sixteen"/);
  });

  it('accepts the minimum and more', () => {
    expect(threadpoolProblem({ UV_THREADPOOL_SIZE: String(MIN_THREADPOOL_SIZE) })).toBeUndefined();
    expect(threadpoolProblem({ UV_THREADPOOL_SIZE: '16' })).toBeUndefined();
  });
});

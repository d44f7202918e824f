import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_POLICY, policyProblems, riskCategory } from './policy.ts';

describe('decision policy', () => {
  it.each([
    [0, 'LOW', 'APPROVE', 0],
    [0.2999, 'LOW', 'APPROVE', 0],
    [0.3, 'MEDIUM', 'REVIEW', 0],
    [0.4999, 'MEDIUM', 'REVIEW', 0],
    [0.5, 'MEDIUM', 'REVIEW', 1],
    [0.5999, 'MEDIUM', 'REVIEW', 1],
    [0.6, 'HIGH', 'DECLINE', 1],
    [1, 'HIGH', 'DECLINE', 1],
  ] as const)('p=%s -> %s / %s / class %s at the default thresholds', (p, risk, decision, cls) => {
    expect(decide(p, DEFAULT_POLICY)).toEqual({ riskCategory: risk, decision, predictedClass: cls });
  });

  it('follows configured thresholds', () => {
    const policy = { classificationThreshold: 0.2, risk: { mediumAt: 0.1, highAt: 0.2 }, decision: { reviewAt: 0.05, declineAt: 0.5 } };
    expect(riskCategory(0.15, policy)).toBe('MEDIUM');
    expect(decide(0.3, policy)).toEqual({ riskCategory: 'HIGH', decision: 'REVIEW', predictedClass: 1 });
  });

  it('reports inconsistent thresholds', () => {
    expect(policyProblems(DEFAULT_POLICY)).toEqual([]);
    expect(policyProblems({ ...DEFAULT_POLICY, risk: { mediumAt: 0.7, highAt: 0.6 } })).toHaveLength(1);
    expect(policyProblems({ ...DEFAULT_POLICY, classificationThreshold: 1.5 })).toHaveLength(1);
  });
});

/** Decision policy: probability -> predicted class, risk category, decision. Pure; thresholds from config. */
export type RiskCategory = 'LOW' | 'MEDIUM' | 'HIGH';
export type Decision = 'APPROVE' | 'REVIEW' | 'DECLINE';

export interface DecisionPolicy {
  /** predicted_class is 1 when p >= this. */
  readonly classificationThreshold: number;
  /** LOW below mediumAt, MEDIUM in [mediumAt, highAt), HIGH from highAt. */
  readonly risk: { readonly mediumAt: number; readonly highAt: number };
  /** APPROVE below reviewAt, REVIEW in [reviewAt, declineAt), DECLINE from declineAt. */
  readonly decision: { readonly reviewAt: number; readonly declineAt: number };
  /** At most this many adverse-action reasons on a REVIEW/DECLINE decision (REASONS_MAX; default 4, 0 = none). */
  readonly reasonsMax?: number;
}

export const DEFAULT_REASONS_MAX = 4;

export const DEFAULT_POLICY: DecisionPolicy = Object.freeze({
  classificationThreshold: 0.5,
  risk: Object.freeze({ mediumAt: 0.3, highAt: 0.6 }),
  decision: Object.freeze({ reviewAt: 0.3, declineAt: 0.6 }),
  reasonsMax: DEFAULT_REASONS_MAX,
});

/** Returns the names of the inconsistent settings, empty when the policy is valid. */
export function policyProblems(p: DecisionPolicy): string[] {
  const problems: string[] = [];
  const inUnit = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;
  if (!inUnit(p.classificationThreshold)) problems.push('classification threshold must be in [0, 1]');
  if (!(inUnit(p.risk.mediumAt) && inUnit(p.risk.highAt) && p.risk.mediumAt <= p.risk.highAt)) problems.push('risk thresholds must satisfy 0 <= medium <= high <= 1');
  if (!(inUnit(p.decision.reviewAt) && inUnit(p.decision.declineAt) && p.decision.reviewAt <= p.decision.declineAt)) problems.push('decision thresholds must satisfy 0 <= review <= decline <= 1');
  return problems;
}

export function riskCategory(p: number, policy: DecisionPolicy): RiskCategory {
  return p >= policy.risk.highAt ? 'HIGH' : p >= policy.risk.mediumAt ? 'MEDIUM' : 'LOW';
}

export function decide(p: number, policy: DecisionPolicy): { predictedClass: 0 | 1; riskCategory: RiskCategory; decision: Decision } {
  return {
    predictedClass: p >= policy.classificationThreshold ? 1 : 0,
    riskCategory: riskCategory(p, policy),
    decision: p >= policy.decision.declineAt ? 'DECLINE' : p >= policy.decision.reviewAt ? 'REVIEW' : 'APPROVE',
  };
}

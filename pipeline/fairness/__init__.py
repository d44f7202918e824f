"""Fair-lending rules and metrics: the elderly-age rule (Regulation B) and disparate-impact figures (docs/fairness.md)."""

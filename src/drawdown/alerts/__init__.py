"""Balance alerts: thresholds with state (fire once going down, re-arm past the margin), evaluated
inside every credits transaction for the accounts it moved (:mod:`drawdown.alerts.evaluate`)."""

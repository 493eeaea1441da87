"""Balance alerts (DESIGN rule 16): thresholds with state, evaluated inside every credits
transaction for the accounts it moved (:mod:`drawdown.alerts.evaluate`)."""

"""Credits: grants, the ledger, and drawdown of usage against grants."""

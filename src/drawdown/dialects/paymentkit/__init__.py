"""Blocklet Payment Kit's credit-billing API (meters, meter events, credit grants, credit
transactions) at ``/paymentkit/api/...``, translated onto drawdown's services."""

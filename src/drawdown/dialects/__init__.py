"""Wire dialects of peer billing APIs: translation layers over drawdown's services that
hold no business rule of their own."""

"""The PostgreSQL backend: one connection pool per process behind the ledger, budget and audit
stores, so several gateway instances share one spend, one budget and one audit trail."""

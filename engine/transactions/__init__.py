"""The transaction coordinator: transactional ids, their producer ids and epochs, and the
two-phase end of each transaction (state in `__transaction_state`, markers to partition leaders)."""

"""SubsidyService: claims, the ledger, crashes."""

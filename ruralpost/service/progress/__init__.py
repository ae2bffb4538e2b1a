"""Filing quotas and progress (GetProgress): count, then let the rules decide."""

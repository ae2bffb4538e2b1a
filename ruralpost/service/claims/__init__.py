"""Subsidy claims (方案 五): validate, facts, evaluate, commit."""

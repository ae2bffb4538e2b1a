"""The client commands of `ruralpost` (check, claim, progress, rules, template)."""

"""ruralpost: checks rural delivery stations and subsidy claims against the programme's rules."""

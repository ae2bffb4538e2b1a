"""The web console at `/`: 站点核验, 进度, 补贴, 规则 for inspectors and reviewers in a browser."""

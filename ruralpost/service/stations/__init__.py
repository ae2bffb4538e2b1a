"""Stations (乡镇快递综合服务站, 村级快递便民服务点): validate, facts, check."""

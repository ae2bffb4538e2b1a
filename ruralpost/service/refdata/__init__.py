"""Reference data: the subsidy data the county offices keep (roster, products, platforms, brands, rates)."""

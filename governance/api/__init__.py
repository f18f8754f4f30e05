"""The JSON API under /api/v1/ (DRF): the same selectors, filters and services as the pages."""

"""Dashboard views, one module per page family. Each starts from a ``visible_to`` queryset."""

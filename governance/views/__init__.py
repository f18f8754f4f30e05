"""Dashboard views, one module per page family. Each is an access check (a decorator or a
``*_for`` fetcher of ``governance.access``), reads through ``governance.selectors``, and
renders; writes go through ``governance.services``."""

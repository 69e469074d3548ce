"""Offline stand-ins for external services, checked against their published contracts.

- :mod:`tests.fakes.supabase_auth`: a fake Supabase Auth (GoTrue) server;
  :mod:`tests.fakes.spec` validates its traffic against ``supabase_auth_openapi.yaml``
  (a copy of supabase/auth's ``openapi.yaml``, MIT licence, commit bc32168).
- :mod:`tests.fakes.fixtures`: pytest fixtures (``fake_supabase``) serving the fake with
  uvicorn on 127.0.0.1; import them into a test module or conftest.
"""

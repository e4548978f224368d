"""gunicorn settings for kb (`gunicorn -c gunicorn.conf.py wsgi:app`)."""

import os

# Two workers fit a 2-core machine; each keeps its own open search index.
workers = 2
threads = 2
bind = "127.0.0.1:8000"
# No request should hold a worker for seconds: inputs are capped before search and rendering.
timeout = 30
graceful_timeout = 10
keepalive = 5
# Load the app before forking so start-up errors (e.g. a missing secret key) stop the master.
preload_app = True
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
loglevel = "info"


def when_ready(server):
    """With KB_PREPARE_ON_START=1 (`make run`): migrate and refresh the index in the master,
    whose app is already loaded, before the workers fork (`kb.cli.prepare_to_serve`)."""
    if os.environ.get("KB_PREPARE_ON_START") == "1":
        from kb.cli import prepare_to_serve

        prepare_to_serve(server.app.wsgi())

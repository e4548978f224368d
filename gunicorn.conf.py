"""gunicorn settings for kb (`gunicorn -c gunicorn.conf.py wsgi:app`)."""

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

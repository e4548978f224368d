"""kb: a self-service help center. ``create_app`` is the only way to get an app."""

from __future__ import annotations

from flask import Flask

from kb.config import PROJECT_ROOT, load_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config -> extensions -> blueprints -> errors -> CLI. No I/O here."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "kb" / "static"),
    )
    load_config(app, test_config)

    from kb import cli, extensions, web
    from kb.insights import rollups

    extensions.init_app(app)
    rollups.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app

"""The intake API for other systems (`ztc api serve`, or inside `ztc run` with ZTC_API_PORT):
the HTTP layer over models/service_requests.py and models/api_keys.py."""

from __future__ import annotations

from bot.api.server import api_app
from bot.serving import Serving, serve, stop_serving

RunningApi = Serving  # the API's server, as bot/serving.py serves any
start_api = serve
stop_api = stop_serving


__all__ = ["RunningApi", "api_app", "start_api", "stop_api"]

"""The portal's URLs plus the framework floor: the cheapest Django JSON view on the same server,
through the same middleware. Only the benchmark's settings (bench/settings.py) use this."""

from django.http import JsonResponse
from django.urls import include, path


def floor(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("", include("portal.urls")),
]

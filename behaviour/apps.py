from django.apps import AppConfig


class BehaviourConfig(AppConfig):
    """Shopper events and what is learned from them: bought together, also viewed, trending."""

    name = "behaviour"
    verbose_name = "Shopper behaviour"

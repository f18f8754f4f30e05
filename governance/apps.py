from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "AWS key governance"

    def ready(self):
        from accounts.signals import people_changed

        from .evaluation import evaluate_keys

        def reevaluate(**_kwargs):
            # Who is active, and whose e-mail a tag names, decides every key's ownership.
            evaluate_keys()

        people_changed.connect(reevaluate, dispatch_uid="governance.reevaluate_on_people")

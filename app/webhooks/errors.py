from app.core.errors import Conflict, NotFound


class WebhookNotFound(NotFound):
    template = "webhook {subscription_id} does not exist"

    def __init__(self, subscription_id: object) -> None:
        super().__init__(self.template.format(subscription_id=subscription_id))


class DeliveryNotFound(NotFound):
    template = "webhook {subscription_id} has no delivery {delivery_id}"

    def __init__(self, subscription_id: object, delivery_id: object) -> None:
        super().__init__(
            self.template.format(subscription_id=subscription_id, delivery_id=delivery_id)
        )


class StillPending(Conflict):
    pass


class TooManyWebhooks(Conflict):
    pass

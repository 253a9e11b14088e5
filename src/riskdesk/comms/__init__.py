"""Communication: notifications of alerts through an outbox, delivered by signed webhooks and e-mail over SMTP.

Sits above monitoring: monitoring records ``AlertRaised`` and the composition root hands them to
``comms.service.enqueue_alerts`` (a batch's alerts together) in the same transaction; ``comms.deliverer`` sends what
is due (docs/notifications.md).
"""
